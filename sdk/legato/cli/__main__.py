"""``python -m legato.cli``: the same as the ``legato`` console script."""

import sys

from legato.cli.main import main

sys.exit(main())
