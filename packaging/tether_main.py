"""Entry point of the frozen ``tether`` executable: the ``tether`` console script, unchanged."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
