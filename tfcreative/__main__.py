"""`python -m tfcreative`: the same as the `tfcreative` command."""

import sys

from tfcreative.cli.main import main

sys.exit(main())
