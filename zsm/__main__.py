"""``python -m zsm``: see :mod:`zsm.cli`."""
import sys

from .cli import main

sys.exit(main())
