"""``python -m processor.localkafka start|stop|status|logs``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
