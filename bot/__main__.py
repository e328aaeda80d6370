"""``python -m bot``: the same as the ``normwacht`` command."""

import sys

from bot.cli.main import main

sys.exit(main())
