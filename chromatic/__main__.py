"""``python -m chromatic``: the same command line as the ``chromatic`` script."""

import sys

from chromatic.cli import main

sys.exit(main())
