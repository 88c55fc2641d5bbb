"""``python -m client`` is ``refinire-flow``."""

import sys

from client.operations.cli import main

sys.exit(main())
