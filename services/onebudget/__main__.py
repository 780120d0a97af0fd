"""`python -m onebudget` is the `onebudget` command."""

from __future__ import annotations

import sys

from onebudget.cli import main

if __name__ == "__main__":
    sys.exit(main())
