"""A client span and a latency sample per DynamoDB call, from botocore's event hooks.

`instrument_client(client)` registers three handlers on one client's event
system, so nothing is patched globally and no botocore module is imported here:

    before-parameter-build.dynamodb   the API parameters: table names
    before-call.dynamodb              the span starts (retries included inside)
    after-call.dynamodb               status, request id, retries; the span ends
    after-call-error.dynamodb         the connection failed; the span ends as an error

Attributes follow the OpenTelemetry semantic conventions for DynamoDB client
spans: db.system.name "aws.dynamodb" (and the older db.system "dynamodb", which
many backends still key on), db.operation.name, aws.dynamodb.table_names,
rpc.system "aws-api", rpc.service, rpc.method, aws.request_id,
http.response.status_code, cloud.region. No key, item or condition value is
recorded: they are users' data.
"""

from __future__ import annotations

import time

from bootstrap.telemetry import active
from bootstrap.telemetry.spans import Span, SpanKind, StatusCode, start_span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# Keys of botocore's per-request context dict that this module owns.
_SPAN_KEY = "bootstrap_telemetry_span"
_TABLES_KEY = "bootstrap_telemetry_tables"
_START_KEY = "bootstrap_telemetry_start"
_TOKEN_KEY = "bootstrap_telemetry_token"  # noqa: S105 - a contextvar token, no secret

# Parameters that hold several tables: their keys (batch calls) or items.
_TRANSACT_ACTIONS = ("ConditionCheck", "Put", "Delete", "Update", "Get")


def table_names(params: dict[str, Any]) -> list[str]:
    """
    The tables a DynamoDB call touches, from its API parameters.

    TableName for single-table calls, the RequestItems keys of batch calls, the
    tables of each TransactItems entry; sorted, without duplicates.
    """
    names: set[str] = set()
    table = params.get("TableName")
    if isinstance(table, str):
        names.add(table)
    request_items = params.get("RequestItems")
    if isinstance(request_items, dict):
        names.update(key for key in request_items if isinstance(key, str))
    for item in params.get("TransactItems") or ():
        if isinstance(item, dict):
            for action in _TRANSACT_ACTIONS:
                target = item.get(action)
                if isinstance(target, dict) and isinstance(
                    target.get("TableName"), str
                ):
                    names.add(target["TableName"])

    return sorted(names)


def _on_parameters(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Note the tables before botocore serializes the parameters."""
    context[_TABLES_KEY] = table_names(params)


def _on_before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
    """Start the client span; it becomes the current span for log lines."""
    operation = str(getattr(model, "name", "") or "")
    tables = context.get(_TABLES_KEY) or []
    attributes: dict[str, Any] = {
        "db.system.name": "aws.dynamodb",
        "db.system": "dynamodb",
        "db.operation.name": operation,
        "rpc.system": "aws-api",
        "rpc.service": "DynamoDB",
        "rpc.method": operation,
    }
    if tables:
        attributes["aws.dynamodb.table_names"] = tables
    region = context.get("client_region")
    if region:
        attributes["cloud.region"] = region

    parent = active.current_span()
    span = start_span(f"DynamoDB.{operation}", parent, SpanKind.CLIENT, attributes)
    context[_SPAN_KEY] = span
    context[_START_KEY] = time.perf_counter()
    context[_TOKEN_KEY] = active.span.set(span)


def _end(context: dict[str, Any]) -> Span | None:
    """Take the call's span out of the context, restore the parent, count latency."""
    span: Span | None = context.pop(_SPAN_KEY, None)
    token = context.pop(_TOKEN_KEY, None)
    start = context.pop(_START_KEY, None)
    if token is not None:
        try:
            active.span.reset(token)
        except ValueError:
            # The call ended in another context than it began (not seen with
            # botocore, which calls back in the caller's thread).
            pass
    if span is not None and start is not None:
        scope = active.current_scope()
        if scope is not None:
            scope.record_dynamodb_call((time.perf_counter() - start) * 1000.0)

    return span


def _on_after_call(
    http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
) -> None:
    """End the span with the HTTP status, the request id and the error code."""
    span = _end(context)
    if span is None:
        return

    status = getattr(http_response, "status_code", None)
    if isinstance(status, int):
        span.set_attribute("http.response.status_code", status)
    metadata = parsed.get("ResponseMetadata") or {}
    span.set_attribute("aws.request_id", metadata.get("RequestId"))
    retries = metadata.get("RetryAttempts")
    if retries:
        span.set_attribute("aws.retries", retries)
    if isinstance(status, int) and status >= 400:
        code = (parsed.get("Error") or {}).get("Code") or str(status)
        # Client spans: any failed call is an error, 4xx included.
        span.set_attribute("error.type", code)
        span.set_status(StatusCode.ERROR, code)
    span.end()


def _on_after_call_error(
    exception: BaseException, context: dict[str, Any], **_: Any
) -> None:
    """End the span of a call that never got an answer (timeout, refused)."""
    span = _end(context)
    if span is None:
        return

    span.set_attribute("error.type", type(exception).__name__)
    span.set_status(StatusCode.ERROR, str(exception))
    if span.recording:
        span.record_exception(exception)
    span.end()


def instrument_client(client: Any) -> Any:
    """
    Give a botocore/boto3 DynamoDB client a span and a latency sample per call.

    Cheap (four handler registrations), idempotent, and a no-op for calls
    made outside an invocation.

    Args:
        client: `boto3.client("dynamodb")` or a botocore client.

    Returns:
        The same client, for chaining.
    """
    events = client.meta.events
    for event_name, handler in (
        ("before-parameter-build.dynamodb", _on_parameters),
        ("before-call.dynamodb", _on_before_call),
        ("after-call.dynamodb", _on_after_call),
        ("after-call-error.dynamodb", _on_after_call_error),
    ):
        # A unique id makes a second instrument_client() call a no-op.
        events.register(event_name, handler, unique_id="bootstrap." + event_name)

    return client
