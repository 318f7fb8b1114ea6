"""Entry point for ``python -m derivations``."""

import sys

from derivations.cli import main

sys.exit(main())
