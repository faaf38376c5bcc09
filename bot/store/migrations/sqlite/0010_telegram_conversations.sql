-- The operators' guided chats (/open, /update, /resolve on Telegram) in the making: one per
-- chat and person, so a restart or a failover mid-conversation loses nothing. `body` is the
-- draft (JSON), `updated_at` its last step (the channel's clock, epoch seconds): a draft
-- left for an hour is over, and deleted.
CREATE TABLE operator_drafts (
    chat_id    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX operator_drafts_age ON operator_drafts (updated_at);
-- The language a person chose on a channel (the customer bot's /language), subscribed or
-- not: the address and the locale, nothing else. /forget deletes it.
CREATE TABLE chat_languages (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    locale  TEXT NOT NULL,
    PRIMARY KEY (channel, address)
);
