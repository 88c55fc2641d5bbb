"""``python -m client`` is ``refinire-flow``."""

import sys

from client.cli import main

sys.exit(main())
