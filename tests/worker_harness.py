"""Moved to the `devtools` package (shared with bench/); kept so existing imports still work."""

from devtools import *  # noqa: F403
from devtools import __all__  # noqa: F401
