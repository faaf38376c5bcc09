"""`python -m bot` is the `unavoz` command."""

import sys

from bot.cli import main

sys.exit(main())
