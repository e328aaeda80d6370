"""``python -m bot``: the same as the ``normwacht`` command."""

import sys

from bot.cli import main

sys.exit(main())
