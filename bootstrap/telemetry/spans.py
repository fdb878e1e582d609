"""Spans on the OpenTelemetry data model, and the buffer they wait in until a flush.

A span here is exactly what OTLP carries (ids as hex, times in epoch nanoseconds,
attributes, events, a status, a kind) plus one X-Ray link: the X-Ray trace it is
reported under when Lambda sampled the invocation for X-Ray, which may differ
from the OpenTelemetry trace when a caller sent its own traceparent.
"""

from __future__ import annotations

import time
from _thread import RLock

from bootstrap.telemetry.context import TraceContext, new_span_id, new_trace_id
from bootstrap.telemetry.records import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    AttributeValue = (
        str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]
    )


class SpanKind:
    """The OTLP SpanKind values (opentelemetry/proto/trace/v1/trace.proto)."""

    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode:
    """The OTLP Status.StatusCode values."""

    UNSET = 0
    OK = 1
    ERROR = 2


class SpanEvent:
    """A timestamped note on a span, e.g. the "exception" event."""

    __slots__ = ("attributes", "name", "time_ns")

    def __init__(
        self, name: str, time_ns: int, attributes: dict[str, AttributeValue]
    ) -> None:
        self.name = name
        self.time_ns = time_ns
        self.attributes = attributes


class XRayLink:
    """Where a span goes in X-Ray: the X-Ray trace and the parent segment id.

    Args:
        root: the X-Ray trace id ("1-...").
        parent_id: the X-Ray parent of this span: Lambda's function segment for
            the invocation span, the parent span's id for the others.
    """

    __slots__ = ("parent_id", "root")

    def __init__(self, root: str, parent_id: str | None) -> None:
        self.root = root
        self.parent_id = parent_id


class Span:
    """
    One operation in a trace.

    Spans are made by `start_span`; `end()` hands a recorded span to the sink
    (the buffer). A span that is not recorded still carries ids, so that logs
    and propagated headers name it.

    Args:
        name: low-cardinality operation name ("GET /sessions/{session_id}").
        context: this span's ids and sampling flag.
        parent: the parent's context, or None for a root span.
        kind: one of SpanKind.
        start_ns: start time in epoch nanoseconds.
        attributes: initial attributes.
        sink: receives the span when it ends, if it is recorded.
        xray: where X-Ray gets this span, or None when X-Ray did not sample it.
    """

    __slots__ = (
        "attributes",
        "context",
        "end_ns",
        "events",
        "kind",
        "name",
        "parent",
        "scope_name",
        "sink",
        "start_ns",
        "status_code",
        "status_message",
        "xray",
    )

    def __init__(  # noqa: PLR0913, PLR0917 - the OTLP span's fields
        self,
        name: str,
        context: TraceContext,
        parent: TraceContext | None,
        kind: int,
        start_ns: int,
        attributes: dict[str, AttributeValue] | None = None,
        sink: Callable[[Span], None] | None = None,
        xray: XRayLink | None = None,
        scope_name: str = "bootstrap",
    ) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        self.kind = kind
        self.start_ns = start_ns
        self.end_ns = 0
        self.attributes: dict[str, AttributeValue] = attributes or {}
        self.events: list[SpanEvent] = []
        self.status_code = StatusCode.UNSET
        self.status_message = ""
        self.sink = sink
        self.xray = xray
        self.scope_name = scope_name

    @property
    def recording(self) -> bool:
        """True when the span will be exported (OTLP sampled, or X-Ray sampled)."""
        return self.sink is not None and (self.context.sampled or self.xray is not None)

    @property
    def ended(self) -> bool:
        """True once end() ran."""
        return self.end_ns != 0

    def set_attribute(self, key: str, value: AttributeValue | None) -> None:
        """Set one attribute; None leaves it unset, as OpenTelemetry prescribes."""
        if value is not None:
            self.attributes[key] = value

    def set_status(self, code: int, message: str = "") -> None:
        """Set the status; a description only goes with ERROR, as in OTLP."""
        self.status_code = code
        self.status_message = (
            _redactor().text(message) if code == StatusCode.ERROR else ""
        )

    def record_exception(self, exc: BaseException) -> None:
        """Add the "exception" event the semantic conventions define."""
        # Formatting a traceback needs `traceback`; only a failing span pays.
        import traceback  # noqa: PLC0415 - cold path: only a failing span pays

        stacktrace = "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)
        )
        # Exception texts can quote a header or a key: the log redaction applies.
        redact = _redactor().text
        self.events.append(
            SpanEvent(
                "exception",
                time.time_ns(),
                {
                    "exception.type": _qualified_name(type(exc)),
                    "exception.message": redact(str(exc)),
                    "exception.stacktrace": redact(stacktrace),
                },
            )
        )

    def end(self, end_ns: int | None = None) -> None:
        """End the span once; a recorded span goes to its sink."""
        if self.end_ns:
            return

        self.end_ns = end_ns or time.time_ns()
        if self.recording and self.sink is not None:
            self.sink(self)

    def __repr__(self) -> str:
        """Show the name and ids."""
        ids = self.context

        return f"Span({self.name!r}, trace_id={ids.trace_id}, span_id={ids.span_id})"


_REDACTOR: list[Redactor] = []


def _redactor() -> Redactor:
    """The process's Redactor, built on first use (it reads the credentials)."""
    if not _REDACTOR:
        _REDACTOR.append(Redactor())

    return _REDACTOR[0]


def _qualified_name(cls: type) -> str:
    """Name an exception class as errorType does: module-qualified unless builtin."""
    module = cls.__module__
    if module in ("builtins", "__main__"):
        return cls.__qualname__

    return f"{module}.{cls.__qualname__}"


def start_span(  # noqa: PLR0913, PLR0917 - the parts of a new span
    name: str,
    parent: Span | None,
    kind: int,
    attributes: dict[str, AttributeValue] | None = None,
    start_ns: int | None = None,
    scope_name: str = "bootstrap",
) -> Span:
    """
    Start a child span: same trace, same sampling decision, same sink.

    Args:
        name: the operation name.
        parent: the span it runs under; None gives a span that records nothing.
        kind: one of SpanKind.
        attributes: initial attributes.
        start_ns: start time in epoch nanoseconds; now when None.
        scope_name: the instrumentation scope reported in OTLP.

    Returns:
        The started span.
    """
    if parent is None:
        # No invocation is active (code running at init, or in a thread of its
        # own): a detached span keeps callers simple and records nothing.
        context = TraceContext(new_trace_id(), new_span_id(), sampled=False)
        return Span(name, context, None, kind, start_ns or time.time_ns(), attributes)

    context = TraceContext(
        parent.context.trace_id,
        new_span_id(),
        sampled=parent.context.sampled,
        trace_state=parent.context.trace_state,
    )
    xray = None
    if parent.xray is not None:
        xray = XRayLink(parent.xray.root, parent.context.span_id)

    return Span(
        name,
        context,
        parent.context,
        kind,
        start_ns or time.time_ns(),
        attributes,
        sink=parent.sink,
        xray=xray,
        scope_name=scope_name,
    )


class SpanBuffer:
    """
    Ended spans waiting for the next flush; safe to share between worker threads.

    The buffer is bounded so that a collector that stays down cannot grow the
    function's memory without end: past the bound the oldest spans are dropped
    and counted, and the next flush logs how many.

    Args:
        max_spans: how many spans may wait at once.
    """

    def __init__(self, max_spans: int = 2048) -> None:
        self.max_spans = max_spans
        self.dropped = 0
        self._spans: list[Span] = []
        # _thread, not threading: the runtime does not load threading unless it
        # runs several workers. Re-entrant because the SIGTERM handler runs in
        # the main thread, possibly while that thread holds this lock.
        self._lock = RLock()

    def add(self, span: Span) -> None:
        """Keep an ended span until the next flush."""
        with self._lock:
            self._spans.append(span)
            self._trim()

    def requeue(self, spans: Sequence[Span]) -> None:
        """Put back spans a failed export could not deliver, ahead of newer ones."""
        with self._lock:
            self._spans[:0] = spans
            self._trim()

    def drain(self) -> list[Span]:
        """Take every waiting span."""
        with self._lock:
            spans, self._spans = self._spans, []

        return spans

    def __len__(self) -> int:
        """How many spans are waiting."""
        return len(self._spans)

    def _trim(self) -> None:
        """Drop the oldest spans past the bound (the lock is held)."""
        excess = len(self._spans) - self.max_spans
        if excess > 0:
            del self._spans[:excess]
            self.dropped += excess
