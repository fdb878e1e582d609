"""Handlers that fail in the ways a user's code fails."""

import os
import time
from typing import Any


class OrderRejectedError(Exception):
    """A user-defined error: its class name is what the caller sees."""


def raise_error(event: Any, context: Any) -> None:
    """Raise a user-defined exception with a message."""
    _inner(event)


def _inner(event: Any) -> None:
    raise OrderRejectedError("order {} rejected".format(event.get("order", "?")))


def exit_process(event: Any, context: Any) -> None:
    """Exit the whole process mid-invoke, as a crashing extension module would."""
    os._exit(7)


def sleep(event: Any, context: Any) -> dict[str, float]:
    """Sleep for event["seconds"], then answer."""
    time.sleep(float(event.get("seconds", 0)))

    return {"slept": float(event.get("seconds", 0))}


def huge(event: Any, context: Any) -> str:
    """Answer a JSON string of event["bytes"] characters."""
    return "x" * int(event["bytes"])


def rendezvous(event: Any, context: Any) -> dict[str, Any]:
    """
    Create event["mine"], then wait (at most 5 s) for event["other"].

    Two invokes meet only if they run at the same time, in two workers.
    """
    with open(event["mine"], "w") as marker:
        marker.write(context.aws_request_id)
    give_up = time.monotonic() + 5
    while time.monotonic() < give_up:
        if os.path.exists(event["other"]):
            return {"met": True, "pid": os.getpid()}
        time.sleep(0.01)

    return {"met": False, "pid": os.getpid()}
