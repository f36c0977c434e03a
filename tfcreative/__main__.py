import sys

from tfcreative.cli import main

sys.exit(main())
