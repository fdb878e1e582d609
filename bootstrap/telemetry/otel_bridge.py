"""Spans the handler starts through `opentelemetry-api` join the invocation's trace.

When handler code has imported `opentelemetry.trace` and set no tracer provider
of its own, the runtime installs this one (install()). Its tracers make our
spans, exported with the rest of the invocation:

- a span started with no current OpenTelemetry span becomes a child of the
  innermost span of the invocation (the server span, or a DynamoDB call);
- a span started under another of these spans, or under a remote context the
  handler extracted itself, keeps that parent;
- spans the handler makes current (start_as_current_span, use_span) are the
  parents of the DynamoDB spans and the ids of the log lines inside them.

This module imports `opentelemetry`; it is loaded only when the handler did.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace as otel
from opentelemetry.trace import (
    SpanContext,
    TraceFlags,
    Tracer,
    TracerProvider,
    TraceState,
)
from opentelemetry.trace.status import Status
from opentelemetry.trace.status import StatusCode as OtelStatusCode

from bootstrap.telemetry import active
from bootstrap.telemetry.context import TraceContext, new_span_id
from bootstrap.telemetry.spans import Span, SpanEvent, StatusCode, start_span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Any

    from opentelemetry.context import Context
    from opentelemetry.util import types


# OpenTelemetry API SpanKind values are OTLP's minus one.
_KIND_OFFSET = 1
_STATUS_CODES = {
    OtelStatusCode.UNSET: StatusCode.UNSET,
    OtelStatusCode.OK: StatusCode.OK,
    OtelStatusCode.ERROR: StatusCode.ERROR,
}


def _clean_attributes(attributes: types.Attributes | None) -> dict[str, Any]:
    """Keep the attribute values OTLP can carry (scalars and homogeneous lists)."""
    return {
        key: list(value) if isinstance(value, (list, tuple)) else value
        for key, value in (attributes or {}).items()
        if value is not None
    }


class BridgeSpan(otel.Span):
    """An `opentelemetry.trace.Span` backed by one of our spans."""

    def __init__(self, span: Span) -> None:
        self.span = span
        state = span.context.trace_state
        self._context = SpanContext(
            int(span.context.trace_id, 16),
            int(span.context.span_id, 16),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED if span.context.sampled else 0),
            trace_state=TraceState.from_header([state]) if state else TraceState(),
        )

    def get_span_context(self) -> SpanContext:
        """The ids, in the API's integer form."""
        return self._context

    def end(self, end_time: int | None = None) -> None:
        """End the span (end_time in epoch nanoseconds)."""
        self.span.end(end_time)

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        """Set several attributes."""
        for key, value in _clean_attributes(attributes).items():
            self.span.set_attribute(key, value)

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        """Set one attribute."""
        self.set_attributes({key: value})

    def add_event(
        self,
        name: str,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
    ) -> None:
        """Add a timestamped event."""
        self.span.events.append(
            SpanEvent(name, timestamp or time.time_ns(), _clean_attributes(attributes))
        )

    def update_name(self, name: str) -> None:
        """Rename the span."""
        self.span.name = name

    def is_recording(self) -> bool:
        """True until the span ends, when it will be exported."""
        return self.span.recording and not self.span.ended

    def set_status(
        self, status: Status | OtelStatusCode, description: str | None = None
    ) -> None:
        """Set the status from a Status or a StatusCode."""
        if isinstance(status, Status):
            code, description = status.status_code, status.description
        else:
            code = status
        self.span.set_status(
            _STATUS_CODES.get(code, StatusCode.UNSET), description or ""
        )

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """Add the "exception" event."""
        self.span.record_exception(exception)
        if attributes:
            self.span.events[-1].attributes.update(_clean_attributes(attributes))


def _parent_span(context: Context | None) -> Span | TraceContext | None:
    """Our parent for a new span: the OpenTelemetry current span, else ours."""
    current = otel.get_current_span(context)
    if isinstance(current, BridgeSpan):
        return current.span
    remote = current.get_span_context()
    if remote.is_valid:
        return TraceContext(
            f"{remote.trace_id:032x}",
            f"{remote.span_id:016x}",
            sampled=remote.trace_flags.sampled,
            trace_state=remote.trace_state.to_header(),
            remote=remote.is_remote,
        )

    return active.current_span()


class BridgeTracer(Tracer):
    """Makes our spans for one instrumentation scope."""

    def __init__(self, scope_name: str) -> None:
        self.scope_name = scope_name

    def start_span(  # noqa: PLR0913, PLR0917 - the opentelemetry-api signature
        self,
        name: str,
        context: Context | None = None,
        kind: otel.SpanKind = otel.SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[otel.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> otel.Span:
        """Start a span in the invocation's trace (links are not kept)."""
        parent = _parent_span(context)
        otlp_kind = kind.value + _KIND_OFFSET
        if isinstance(parent, TraceContext):
            # A context the handler extracted itself: same trace, our sink.
            invocation_span = active.current_span()
            span = Span(
                name,
                TraceContext(
                    parent.trace_id, new_span_id(), parent.sampled, parent.trace_state
                ),
                parent,
                otlp_kind,
                start_time or time.time_ns(),
                _clean_attributes(attributes),
                sink=invocation_span.sink if invocation_span is not None else None,
                scope_name=self.scope_name,
            )
        else:
            span = start_span(
                name,
                parent,
                otlp_kind,
                _clean_attributes(attributes),
                start_time,
                scope_name=self.scope_name,
            )

        return BridgeSpan(span)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]  # noqa: PLR0913, PLR0917 - API
        self,
        name: str,
        context: Context | None = None,
        kind: otel.SpanKind = otel.SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[otel.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[otel.Span]:
        """Start a span and make it current for the block."""
        span = self.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )
        with otel.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class BridgeTracerProvider(TracerProvider):
    """Hands out BridgeTracers."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> Tracer:
        """A tracer whose spans report this instrumentation scope."""
        return BridgeTracer(instrumenting_module_name or "unknown")


def _otel_current_span() -> Span | None:
    """Our span behind the OpenTelemetry current span, if it is one of ours."""
    current = otel.get_current_span()

    return current.span if isinstance(current, BridgeSpan) else None


def attach(span: Span) -> object:
    """
    Make the invocation's span OpenTelemetry's current span in this context.

    Handler code then sees it in `trace.get_current_span()`, and propagators
    (`propagate.inject`) send its traceparent on outgoing calls.

    Returns:
        The token detach() takes.
    """
    return otel_context.attach(otel.set_span_in_context(BridgeSpan(span)))


def detach(token: object) -> None:
    """Undo attach() in the context that made it."""
    otel_context.detach(token)  # type: ignore[arg-type]  # attach()'s own token


def install() -> bool:
    """
    Make our provider the global one, unless the handler set its own.

    Returns:
        True when installed now or before.
    """
    provider = otel.get_tracer_provider()
    if isinstance(provider, BridgeTracerProvider):
        return True
    if not isinstance(provider, otel.ProxyTracerProvider):
        return False

    otel.set_tracer_provider(BridgeTracerProvider())
    active.otel_current_span = _otel_current_span

    return isinstance(otel.get_tracer_provider(), BridgeTracerProvider)
