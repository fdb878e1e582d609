"""The invocation and span active in the running thread, for logs and child spans.

Context variables rather than globals: with AWS_LAMBDA_MAX_CONCURRENCY each
worker thread runs its own invocation, and every thread starts with an empty
context, so one worker never sees another's request id.
"""

from __future__ import annotations

from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from bootstrap.telemetry.invocation import InvocationScope
    from bootstrap.telemetry.spans import Span


invocation: ContextVar[InvocationScope | None] = ContextVar(
    "bootstrap_telemetry_invocation", default=None
)
span: ContextVar[Span | None] = ContextVar("bootstrap_telemetry_span", default=None)


def current_scope() -> InvocationScope | None:
    """The invocation running in this thread, or None (init, or no runtime hooks)."""
    return invocation.get()


# Set by otel_bridge.install(): our span behind OpenTelemetry's current span.
otel_current_span: Callable[[], Span | None] | None = None


def current_span() -> Span | None:
    """
    The innermost span running in this thread, or None.

    That is ours (the server span, a DynamoDB call) or, with the OpenTelemetry
    bridge, a span the handler made current; spans nest, so the innermost is
    the one that started last.
    """
    ours = span.get()
    if otel_current_span is None:
        return ours
    theirs = otel_current_span()
    if theirs is None or theirs.ended:
        return ours
    if ours is None or theirs.start_ns >= ours.start_ns:
        return theirs

    return ours


def log_fields() -> dict[str, str]:
    """
    The ids every log line of the running invocation carries.

    Returns:
        requestId, tenantId when set, xrayTraceId when Lambda sent one, and the
        OpenTelemetry traceId and spanId of the innermost span; {} outside an
        invocation.
    """
    scope = invocation.get()
    if scope is None:
        return {}

    fields = {"requestId": scope.request_id}
    if scope.tenant_id:
        fields["tenantId"] = scope.tenant_id
    if scope.xray is not None:
        fields["xrayTraceId"] = scope.xray.root
    current = current_span() or scope.span
    fields["traceId"] = current.context.trace_id
    fields["spanId"] = current.context.span_id

    return fields
