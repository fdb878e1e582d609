"""Logs, traces and metrics of every invocation, at no cold-path cost when unused.

The runtime drives it (see bootstrap.telemetry.invocation)::

    telemetry = Telemetry.from_env()
    telemetry.enable_shutdown_flush(runtime_api)     # at init, main thread
    scope = telemetry.start_invocation(context, event)
    scope.finish(error=None)
    telemetry.flush()                                # after the response is posted

Other layers call the module-level hooks, which do nothing outside an invocation:
`annotate_http(method, route, status_code)` from the router, and
`instrument_client(client)` on a boto3 DynamoDB client.

Settings (environment):

    BOOTSTRAP_TELEMETRY=off            no telemetry at all (the runtime skips it)
    AWS_LAMBDA_LOG_FORMAT, _LOG_LEVEL  JSON or Text lines; TRACE..FATAL
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT full OTLP/HTTP traces URL, or
    OTEL_EXPORTER_OTLP_ENDPOINT        base URL, "/v1/traces" appended
    OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _TIMEOUT (ms, default 10000)
    OTEL_TRACES_SAMPLER, _SAMPLER_ARG  parentbased_always_on by default
    OTEL_PROPAGATORS                   parent lookup order: tracecontext, xray
    OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_SDK_DISABLED=true
    AWS_XRAY_DAEMON_ADDRESS            X-Ray segments for sampled invocations
                                       (AWS_XRAY_SDK_ENABLED=false turns off)
    BOOTSTRAP_METRICS=off              no EMF lines
    BOOTSTRAP_METRICS_NAMESPACE        CloudWatch namespace (default "Bootstrap")
"""

from __future__ import annotations

from bootstrap.telemetry.active import current_scope, current_span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    from bootstrap.telemetry.invocation import InvocationScope, Telemetry

    ClientT = TypeVar("ClientT")

__all__ = [
    "InvocationScope",
    "Telemetry",
    "annotate_http",
    "current_scope",
    "current_span",
    "instrument_client",
]


def annotate_http(
    method: str, route: str | None, status_code: int | None = None
) -> None:
    """
    Tell the running invocation what the router matched and answered.

    Args:
        method: the request method, upper case.
        route: the route template ("/sessions/{session_id}"); None keeps the
            one recorded before (or none: no route matched, 404 and 405).
        status_code: the response status, when known.
    """
    scope = current_scope()
    if scope is not None:
        scope.set_http(method, route, status_code)


def instrument_client(client: ClientT) -> ClientT:
    """
    Make one DynamoDB client span and time each of its calls.

    Args:
        client: a boto3 or botocore DynamoDB client.

    Returns:
        The same client.
    """
    # The hook module is small, but only functions with a DynamoDB client need it.
    from bootstrap.telemetry.dynamodb import (  # noqa: PLC0415 - see comment
        instrument_client as instrument,
    )

    return instrument(client)  # type: ignore[no-any-return]  # same object back


def __getattr__(name: str) -> object:
    """
    Load Telemetry and InvocationScope on first use.

    The router and the runtime's log writer import this package for its hooks;
    they must not pull in the invocation machinery (and bootstrap.logs, which
    it uses, imports this package's records module).
    """
    if name in ("Telemetry", "InvocationScope"):
        from bootstrap.telemetry import invocation  # noqa: PLC0415 - see above

        return getattr(invocation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
