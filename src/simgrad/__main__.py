"""``python -m simgrad ...``: the same as the ``simgrad`` command (:func:`simgrad.cli.main`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
