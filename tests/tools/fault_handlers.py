"""Handlers that misbehave the way user code does under faults.

`_HANDLER=tests.tools.fault_handlers.handler`; the event says what to do:

    {"allocate_mib": "unbounded"}   hold 8 MiB more until memory runs out
    {"sleep_s": 2.5}                sleep, then answer
    anything else                   answer {"pid": ..., "event": ...}
"""

from __future__ import annotations

import os
import time
from typing import Any

ALLOCATION_STEP_BYTES = 8 * 1024 * 1024


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Do what the event asks, then answer with this process's pid."""
    if isinstance(event, dict) and event.get("allocate_mib") == "unbounded":
        held: list[bytes] = []
        while True:
            # Touch every page: memory that is only reserved proves nothing.
            held.append(b"\x01" * ALLOCATION_STEP_BYTES)
    if isinstance(event, dict) and "sleep_s" in event:
        time.sleep(float(event["sleep_s"]))

    return {"pid": os.getpid(), "event": event}
