"""Start the runtime: read the environment, load the handler, run the loop.

Exit codes: 1 for a missing or invalid setting, a handler that cannot be loaded
(after reporting it to /runtime/init/error), or a broken Runtime API.
"""

from __future__ import annotations

import gc
import os
import sys

from bootstrap import logs
from bootstrap.client import ErrorReport, RuntimeClient
from bootstrap.context import FunctionSettings
from bootstrap.errors import (
    BootstrapError,
    ConfigurationError,
    ErrorType,
    HandlerLoadError,
)
from bootstrap.loader import load_handler
from bootstrap.loop import serve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from bootstrap.telemetry.invocation import Telemetry

_log = logs.get_logger(__name__)


def _concurrency(environ: Mapping[str, str]) -> int:
    """AWS_LAMBDA_MAX_CONCURRENCY as a positive number of workers (default 1)."""
    raw = environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 0 < int(raw) <= 1024:
        raise ConfigurationError(
            f"AWS_LAMBDA_MAX_CONCURRENCY must be a number from 1 to 1024, got {raw!r}"
        )

    return int(raw)


def _start_telemetry(environ: Mapping[str, str], runtime_api: str) -> Telemetry | None:
    """Traces, metrics and log ids (bootstrap.telemetry), unless turned off."""
    if environ.get("BOOTSTRAP_TELEMETRY", "").strip().lower() == "off":
        return None
    # Imported here so that BOOTSTRAP_TELEMETRY=off keeps it off the cold path.
    from bootstrap.telemetry.invocation import Telemetry  # noqa: PLC0415

    telemetry = Telemetry.from_env(environ)
    # Registers the SIGTERM flush during init, as the Extensions API requires.
    telemetry.enable_shutdown_flush(runtime_api)

    return telemetry


def main(environ: Mapping[str, str] | None = None) -> int:
    """
    Run the runtime until the Runtime API breaks.

    Args:
        environ: the process environment (os.environ by default).

    Returns:
        The process exit code; 0 never happens: the loop only ends on failure.
    """
    environ = os.environ if environ is None else environ
    logs.configure(logs.settings_from_environ(dict(environ)))
    # Lambda collects output line by line; a block-buffered stdout would hold a
    # handler's print() until the process ends.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)

    runtime_api = environ.get("AWS_LAMBDA_RUNTIME_API")
    if not runtime_api:
        _log.error("AWS_LAMBDA_RUNTIME_API is not set; exiting: nothing to serve")
        return 1
    try:
        client = RuntimeClient(runtime_api)
        concurrency = _concurrency(environ)
    except ConfigurationError as exc:
        _log.error("%s; exiting", exc)
        return 1

    # Init allocates and rarely frees: the collector would only walk the new
    # modules and objects over and over (bootstrap/__main__.py turns it off
    # before the runtime's own imports). It runs again from the first invoke,
    # without init's objects: see the end of init below.
    gc.disable()
    try:
        try:
            if not environ.get("_HANDLER"):
                raise HandlerLoadError(
                    ErrorType.MALFORMED_HANDLER_NAME, "_HANDLER is not set"
                )
            handler = load_handler(
                environ.get("_HANDLER", ""), environ.get("LAMBDA_TASK_ROOT")
            )
        except HandlerLoadError as exc:
            _log.error(
                "%s: %s; reporting the init error and exiting", exc.error_type, exc
            )
            try:
                client.post_init_error(
                    ErrorReport.from_exception(exc, None, exc.error_type)
                )
            except BootstrapError as post_exc:
                _log.error("cannot report the init error (%s)", post_exc)
            return 1
        telemetry = _start_telemetry(environ, runtime_api)
    finally:
        # Everything init made (modules, classes, the botocore client) lives
        # as long as the process, and it is all in the youngest generation:
        # the first collection after enable() would walk every one of those
        # objects for no garbage (a 10.7 ms pause for a botocore handler
        # frozen, 27.6 ms on CPython). freeze() moves them to the permanent
        # generation, which collections skip; invokes' garbage is collected
        # as usual.
        gc.freeze()
        gc.enable()

    if environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
        try:
            client.restore_next()
        except BootstrapError as exc:
            _log.error("cannot resume after the snapshot (%s); exiting", exc)
            return 1
    # The loop opens its own connection per worker.
    client.close()

    return serve(
        runtime_api, handler, FunctionSettings(dict(environ)), concurrency, telemetry
    )
