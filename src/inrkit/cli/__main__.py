"""``python -m inrkit.cli``: the ``inrkit`` command."""
import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
