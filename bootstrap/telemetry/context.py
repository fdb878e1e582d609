"""Trace context: W3C traceparent and X-Ray headers, new ids, and sampling.

Both wire formats name the same thing, a trace and the span a request came from,
in two spellings::

    traceparent       00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01
                      version-trace id (32 hex)-parent span id (16 hex)-flags
    X-Amzn-Trace-Id   Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;
                      Sampled=1;Lineage=...

An X-Ray trace id is the OpenTelemetry one split after its first 8 hex digits,
which X-Ray requires to be the trace's start time in epoch seconds; the ids this
module creates keep that rule so that one trace shows in both backends.

Parsing is string work only (no `re`): it runs on every invocation.
"""

from __future__ import annotations

import os
import time

from bootstrap.telemetry.errors import TelemetryConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


_HEX = frozenset("0123456789abcdef")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16
# W3C Trace Context level 1: a version-00 traceparent is exactly this long, and
# a tracestate longer than this may be dropped.
_TRACEPARENT_LENGTH = 55
_TRACESTATE_MAX_LENGTH = 512
_SAMPLED_FLAG = 0x01


def _is_lower_hex(value: str, length: int) -> bool:
    """Tell whether a string is exactly `length` lower-case hex digits."""
    return len(value) == length and _HEX.issuperset(value)


class TraceContext:
    """Where a span sits in a trace: the ids, the sampling flag, the vendor state.

    Args:
        trace_id: 32 lower-case hex digits, not all zero.
        span_id: 16 lower-case hex digits, not all zero.
        sampled: whether this trace is recorded and exported.
        trace_state: the W3C tracestate carried along unchanged, or "".
        remote: True when the context came from a caller, not from this process.
    """

    __slots__ = ("remote", "sampled", "span_id", "trace_id", "trace_state")

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        sampled: bool,
        trace_state: str = "",
        remote: bool = False,
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.sampled = sampled
        self.trace_state = trace_state
        self.remote = remote

    def __repr__(self) -> str:
        """Show the context as its traceparent, which is how operators read it."""
        return f"TraceContext({format_traceparent(self)}, remote={self.remote})"

    def __eq__(self, other: object) -> bool:
        """Compare every field: two contexts are equal when they propagate alike."""
        if not isinstance(other, TraceContext):
            return NotImplemented

        return (
            self.trace_id == other.trace_id
            and self.span_id == other.span_id
            and self.sampled == other.sampled
            and self.trace_state == other.trace_state
            and self.remote == other.remote
        )

    __hash__ = None  # type: ignore[assignment]  # mutable value object


class XRayHeader:
    """The parsed X-Ray tracing header (`Lambda-Runtime-Trace-Id`, `_X_AMZN_TRACE_ID`).

    Args:
        root: the X-Ray trace id, "1-<8 hex>-<24 hex>".
        parent: the id of the segment that called us (16 hex), or None.
        sampled: True or False when decided upstream, None when it is left to us
            ("Sampled=?" or no Sampled field).
        lineage: the Lambda recursion-detection field, kept for logs, or None.
    """

    __slots__ = ("lineage", "parent", "root", "sampled")

    def __init__(
        self,
        root: str,
        parent: str | None,
        sampled: bool | None,
        lineage: str | None = None,
    ) -> None:
        self.root = root
        self.parent = parent
        self.sampled = sampled
        self.lineage = lineage

    @property
    def trace_id(self) -> str:
        """The same trace id in OpenTelemetry's spelling (32 hex digits)."""
        return xray_to_trace_id(self.root)

    def __repr__(self) -> str:
        """Show the header fields."""
        fields = f"root={self.root}, parent={self.parent}, sampled={self.sampled}"

        return f"XRayHeader({fields})"


def new_trace_id() -> str:
    """
    Make a random trace id that X-Ray accepts as well.

    Returns:
        32 hex digits: the current epoch seconds (8 digits, as X-Ray requires),
        then 96 random bits.
    """
    return "%08x" % (int(time.time()) & 0xFFFFFFFF) + os.urandom(12).hex()


def new_span_id() -> str:
    """
    Make a random span id.

    Returns:
        16 hex digits, never all zero (W3C forbids it).
    """
    while True:
        span_id = os.urandom(8).hex()
        if span_id != _INVALID_SPAN_ID:
            return span_id


def xray_to_trace_id(root: str) -> str:
    """Turn "1-5759e988-bd862e3fe1be46a994272793" into the 32-digit trace id."""
    return root[2:10] + root[11:]


def trace_id_to_xray(trace_id: str) -> str:
    """Turn a 32-digit trace id into X-Ray's "1-<8 hex>-<24 hex>" root."""
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def parse_traceparent(  # noqa: PLR0911 - one early return per W3C rule
    value: str | None, tracestate: str | None = None
) -> TraceContext | None:
    """
    Parse a W3C traceparent header as Trace Context level 1 defines it.

    Args:
        value: the header value; surrounding whitespace is allowed.
        tracestate: the tracestate header that came with it, kept when short enough.

    Returns:
        The remote parent context, or None when the header is absent or invalid
        (a caller's malformed header starts a new trace; it never fails a request).
    """
    if not value:
        return None

    value = value.strip()
    parts = value.split("-")
    if len(parts) < 4:
        return None

    version, trace_id, span_id, flags = parts[0], parts[1], parts[2], parts[3]
    if not _is_lower_hex(version, 2) or version == "ff":
        return None
    # Version 00 is exactly four fields; a later version may append fields, which
    # a version-00 reader ignores, but its first four keep this layout.
    if version == "00" and (len(parts) != 4 or len(value) != _TRACEPARENT_LENGTH):
        return None
    if not _is_lower_hex(trace_id, 32) or trace_id == _INVALID_TRACE_ID:
        return None
    if not _is_lower_hex(span_id, 16) or span_id == _INVALID_SPAN_ID:
        return None
    if not _is_lower_hex(flags, 2):
        return None

    state = ""
    if tracestate and len(tracestate) <= _TRACESTATE_MAX_LENGTH:
        state = tracestate.strip()

    return TraceContext(
        trace_id,
        span_id,
        sampled=bool(int(flags, 16) & _SAMPLED_FLAG),
        trace_state=state,
        remote=True,
    )


def format_traceparent(context: TraceContext) -> str:
    """Write a context as a version-00 traceparent header value."""
    return "00-{}-{}-{}".format(
        context.trace_id,
        context.span_id,
        "01" if context.sampled else "00",
    )


def parse_xray_header(value: str | None) -> XRayHeader | None:
    """
    Parse an X-Ray tracing header ("Root=...;Parent=...;Sampled=...").

    Args:
        value: the header value, or None.

    Returns:
        The header, or None when it is absent or has no valid Root.
    """
    if not value:
        return None

    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, field = part.partition("=")
        if sep:
            fields[key.strip()] = field.strip()

    root = fields.get("Root", "")
    # "1-" + 8 hex digits of epoch seconds + "-" + 24 random hex digits.
    if not (
        len(root) == 35
        and root[:2] == "1-"
        and root[10] == "-"
        and _is_lower_hex(root[2:10], 8)
        and _is_lower_hex(root[11:], 24)
    ):
        return None

    parent: str | None = fields.get("Parent", "").lower()
    if not (parent and _is_lower_hex(parent, 16) and parent != _INVALID_SPAN_ID):
        parent = None

    sampled_field = fields.get("Sampled")
    sampled = True if sampled_field == "1" else False if sampled_field == "0" else None

    return XRayHeader(root, parent, sampled, fields.get("Lineage"))


def xray_to_context(header: XRayHeader) -> TraceContext | None:
    """
    Turn an X-Ray header into the remote parent context it describes.

    Returns:
        The context, or None when the header names no parent segment (then the
        trace id is reused but the decision and the parent span are ours).
    """
    if header.parent is None:
        return None

    return TraceContext(
        header.trace_id,
        header.parent,
        sampled=bool(header.sampled),
        remote=True,
    )


def find_header(headers: object, name: str) -> str | None:
    """
    Find one header in an event's headers, whatever the case of its name.

    API Gateway HTTP APIs and ALB send lower-case names; REST APIs keep the
    caller's case and may send multiValueHeaders only.

    Args:
        headers: the event's "headers" or "multiValueHeaders" value (any type).
        name: the lower-case header name.

    Returns:
        The first value, or None.
    """
    if not isinstance(headers, dict):
        return None

    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == name:
                value = candidate
                break
    if isinstance(value, list):
        value = value[0] if value else None

    return value if isinstance(value, str) else None


class Sampler:
    """The OpenTelemetry sampler named by OTEL_TRACES_SAMPLER.

    Supported: always_on, always_off, traceidratio and their parentbased_ forms
    (the default is parentbased_always_on, as in the OpenTelemetry SDKs). A
    parent's decision, from traceparent or X-Ray, is honoured by the parentbased
    samplers; the root decision applies only to traces that start here.

    Args:
        name: the sampler name.
        ratio: for traceidratio, the fraction of new traces to record (0 to 1).
    """

    __slots__ = ("_bound", "name", "parent_based", "ratio")

    _ROOTS = ("always_on", "always_off", "traceidratio")

    def __init__(self, name: str = "parentbased_always_on", ratio: float = 1.0) -> None:
        root = name.removeprefix("parentbased_")
        if root not in self._ROOTS:
            raise TelemetryConfigError(
                "OTEL_TRACES_SAMPLER {!r} is not one of {} or their "
                "parentbased_ forms".format(name, ", ".join(self._ROOTS))
            )
        if not 0.0 <= ratio <= 1.0:
            raise TelemetryConfigError(
                f"OTEL_TRACES_SAMPLER_ARG {ratio!r} is not a ratio between 0 and 1"
            )

        self.name = name
        self.parent_based = name.startswith("parentbased_")
        self.ratio = (
            ratio if root == "traceidratio" else 1.0 if root == "always_on" else 0.0
        )
        # traceidratio compares the low 64 bits of the trace id with this bound,
        # so a given trace gets the same decision in every process.
        self._bound = int(self.ratio * 0xFFFFFFFFFFFFFFFF)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Sampler:
        """
        Build the sampler from OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.

        Raises:
            TelemetryConfigError: unknown sampler or a ratio that is not 0 to 1.
        """
        name = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower()
        argument = environ.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
        try:
            ratio = float(argument) if argument else 1.0
        except ValueError as exc:
            raise TelemetryConfigError(
                f"OTEL_TRACES_SAMPLER_ARG {argument!r} is not a number"
            ) from exc

        return cls(name or "parentbased_always_on", ratio)

    def should_sample(self, trace_id: str, parent: TraceContext | None) -> bool:
        """Decide whether a new span in `trace_id` under `parent` is recorded."""
        if self.parent_based and parent is not None:
            return parent.sampled

        return int(trace_id[16:], 16) <= self._bound and self._bound > 0
