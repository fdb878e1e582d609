"""Reports the modules a frozen process holds before its handler imports any."""

import sys
from typing import Any


def handler(event: Any, context: Any) -> list[str]:
    """The names in sys.modules when the first invoke arrives."""
    return sorted(sys.modules)
