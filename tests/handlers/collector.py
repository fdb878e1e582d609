"""Reports whether the garbage collector ran during init and runs during invokes."""

import gc
from typing import Any

# Read while the runtime imports this module, that is during init.
ENABLED_AT_IMPORT = gc.isenabled()


def handler(event: Any, context: Any) -> dict[str, bool]:
    """The collector's state at import time and now."""
    return {"at_import": ENABLED_AT_IMPORT, "at_invoke": gc.isenabled()}
