"""`python -m hivemind` runs the CLI (works even where the console script is not on PATH)."""

import sys

from hivemind.cli.main import main

sys.exit(main())
