"""Every place Unavoz speaks, one folder or module each (phone, web, X, Telegram, webhooks).

Each defines a `Channel` (`bot.channel`) and is listed once, as an entry point of
the `unavoz.channels` group in `pyproject.toml`; the core finds them there and never
imports this package.
"""
