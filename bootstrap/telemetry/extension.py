"""An internal no-op Lambda extension, so that SIGTERM reaches the runtime.

Lambda sends SIGTERM to the runtime before it shuts an execution environment
down only when at least one extension is registered; without it the process is
killed and buffered spans are lost. An internal extension (a thread of the
runtime process) registers with no events:

    POST /2020-01-01/extension/register
         Lambda-Extension-Name: bootstrap-telemetry      {"events": []}
      -> 200, Lambda-Extension-Identifier: <id>
    GET  /2020-01-01/extension/event/next
         Lambda-Extension-Identifier: <id>
      -> never answers: no events were asked for

Registration has to happen during init, and Lambda finishes init only once
every registered extension waits on /event/next, so the thread starts polling
right away. With only internal extensions Lambda leaves the runtime about
500 ms between SIGTERM and SIGKILL: enough for one flush with a short timeout.

Both requests go to the Runtime API host through the runtime's own HTTP/1.1
connection type (libc sockets, GIL released while blocked), so registering
costs the cold start one local round trip and no `socket` or `threading` import.
"""

from __future__ import annotations

import os
import sys
from _thread import start_new_thread

from bootstrap import codec, logs
from bootstrap.errors import BootstrapError
from bootstrap.wire import Connection

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable
    from types import FrameType
else:
    # The C module that `signal` wraps: `signal` turns its constants into
    # enums, and importing enum (with functools and collections) costs a hello
    # cold start about as much as the rest of the telemetry. Same functions,
    # same values.
    import _signal as signal


_log = logs.get_logger(__name__)

EXTENSION_NAME = "bootstrap-telemetry"
_BASE_PATH = "/2020-01-01/extension"


def register_internal_extension(
    runtime_api: str, name: str = EXTENSION_NAME
) -> str | None:
    """
    Register a no-event internal extension and keep its /event/next poll open.

    Args:
        runtime_api: AWS_LAMBDA_RUNTIME_API ("host:port").
        name: the Lambda-Extension-Name.

    Returns:
        The extension id, or None when the Extensions API is not there (a local
        emulator without it) or refused: SIGTERM is then not guaranteed, which
        is logged, and the function runs on.
    """
    host, _, port = runtime_api.rpartition(":")
    try:
        connection = Connection(host, int(port))
        response = connection.request(
            "POST",
            _BASE_PATH + "/register",
            [("Lambda-Extension-Name", name), ("Content-Type", "application/json")],
            codec.dumps({"events": []}),
        )
    except (BootstrapError, ValueError) as exc:
        _log.warning(
            "Extension registration failed, SIGTERM may not arrive: %s", str(exc)
        )
        return None

    extension_id = response.headers.get("lambda-extension-identifier")
    if response.status == 404:
        # Lambda always has the Extensions API; a local emulator may not.
        _log.info("No Extensions API here (404): spans are flushed after each invoke")
        return None
    if response.status != 200 or not extension_id:
        _log.warning(
            "Extension registration answered %d, SIGTERM may not arrive",
            response.status,
        )
        return None

    # A bare _thread thread: `threading` costs the cold start ms, and this one
    # needs no join (the process never waits for it on exit).
    start_new_thread(_wait_for_events, (connection, extension_id))
    _log.debug("Registered internal extension %s", name)

    return extension_id


def _wait_for_events(connection: Connection, extension_id: str) -> None:
    """Poll /event/next for ever; with no events registered it never returns."""
    headers = [("Lambda-Extension-Identifier", extension_id)]
    while True:
        try:
            response = connection.request("GET", _BASE_PATH + "/event/next", headers)
        except BootstrapError as exc:
            _log.warning("Extension event poll stopped: %s", str(exc))
            return
        if response.status != 200:
            _log.warning("Extension event poll answered %d; stopped", response.status)
            return


def install_sigterm_handler(on_shutdown: Callable[[], None]) -> None:
    """
    Run `on_shutdown` on SIGTERM, then exit 0.

    Must run in the main thread (Python delivers signals there). The previous
    handler, if it was a Python function, runs after ours.

    Args:
        on_shutdown: flushes telemetry; its failures are logged, never raised.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def handle_sigterm(signum: int, frame: FrameType | None) -> None:
        """Flush, hand over to a previous handler, and leave."""
        try:
            on_shutdown()
        except Exception as exc:
            _log.error("Flush on SIGTERM failed: %s: %s", type(exc).__name__, str(exc))
        if callable(previous):
            previous(signum, frame)
        sys.stdout.flush()
        sys.stderr.flush()
        # os._exit: the main thread may be inside the handler or a blocking call
        # of the runtime loop; unwinding it could post a half-made response.
        os._exit(0)

    signal.signal(signal.SIGTERM, handle_sigterm)
