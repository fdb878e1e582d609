"""Reports whether the garbage collector ran during init, runs during invokes,
and skips what init made."""

import gc
from typing import Any

# Read while the runtime imports this module, that is during init.
ENABLED_AT_IMPORT = gc.isenabled()


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The collector's state at import time and now."""
    return {
        "at_import": ENABLED_AT_IMPORT,
        "at_invoke": gc.isenabled(),
        # Objects in the permanent generation, which collections skip.
        "frozen_objects": gc.get_freeze_count(),
    }
