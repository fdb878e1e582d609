"""Handlers whose responses are streamed."""

import os
import time
from collections.abc import Iterator
from typing import Any

from bootstrap.streaming import StreamingBody


def chunks(event: Any, context: Any) -> Iterator[bytes]:
    """A generator: each of event["chunks"] is sent as it is produced."""
    for chunk in event["chunks"]:
        yield chunk.encode("utf-8")


def wait_for_file(event: Any, context: Any) -> Iterator[bytes]:
    """Send a first chunk, then wait (at most 10 s) for the caller's file."""
    yield b"first"
    if _wait_for(event["file"]):
        yield b"after the file"
    else:
        yield b"gave up waiting"


def _wait_for(path: str) -> bool:
    """Wait at most 10 s for a file; True when it appeared."""
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        if os.path.exists(path):
            return True
        time.sleep(0.01)

    return False


def http_prelude(event: Any, context: Any) -> StreamingBody:
    """An HTTP integration response: status and headers, then the body."""
    return StreamingBody(
        iter([b"hello ", b"world"]),
        prelude={"statusCode": 201, "headers": {"X-Stream": "yes"}},
    )


def fail_midway(event: Any, context: Any) -> Iterator[bytes]:
    """Send one chunk, then raise."""
    yield b"partial"
    raise ValueError("stream broke after one chunk")


def not_bytes(event: Any, context: Any) -> Iterator[Any]:
    """Yield something that is neither bytes nor str."""
    yield b"ok"
    yield 42
