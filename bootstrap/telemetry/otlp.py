"""OTLP/HTTP trace export, with the protobuf encoding written by hand.

Why by hand: the protobuf runtime and the generated OTLP classes cost tens of
milliseconds to import and megabytes to ship, and the JSON form of OTLP needs
the same attribute walk plus a JSON encoder. The subset of protobuf a trace
export uses is small: varints, fixed64 timestamps, doubles and nested
length-delimited messages. Field numbers follow
opentelemetry/proto/collector/trace/v1/trace_service.proto and
opentelemetry/proto/trace/v1/trace.proto; the tests decode every payload with
the official generated classes.

The request is `POST <endpoint>` with `Content-Type: application/x-protobuf`,
the default OTLP/HTTP protocol, which the Lambda collector extension accepts.
"""

from __future__ import annotations

import struct

from bootstrap import logs
from bootstrap.telemetry import transport
from bootstrap.telemetry.errors import ExportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from bootstrap.telemetry.spans import AttributeValue, Span


# The runtime's own writer, not stdlib logging: `logging` costs the first
# export tens of ms (re, enum, traceback) in a function that may never load it.
_log = logs.get_logger(__name__)

# Wire types of the protobuf encoding.
_VARINT = 0
_FIXED64 = 1
_LENGTH_DELIMITED = 2
_FIXED32 = 5

# Span.flags: the low byte carries the W3C trace flags; bit 8 says that bit 9
# (the parent is remote) is known. Receivers use it to tell entry spans apart.
_FLAG_HAS_IS_REMOTE = 0x100
_FLAG_IS_REMOTE = 0x200

# A collector answering these may take the same batch later (OTLP/HTTP spec).
_RETRYABLE_STATUSES = frozenset((429, 502, 503, 504))

_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_pack_double = struct.Struct("<d").pack


def _varint(value: int) -> bytes:
    """Encode an unsigned varint; negative int64 values use their 64-bit form."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)

    return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    """Encode a field key."""
    return _varint((field << 3) | wire_type)


def _message(field: int, payload: bytes) -> bytes:
    """Encode a length-delimited field (bytes, string or embedded message)."""
    return _tag(field, _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def _string(field: int, value: str) -> bytes:
    """Encode a string field; proto3 leaves empty strings out."""
    return _message(field, value.encode("utf-8", "replace")) if value else b""


def _uint(field: int, value: int) -> bytes:
    """Encode a varint field; proto3 leaves zeros out."""
    return _tag(field, _VARINT) + _varint(value) if value else b""


def _fixed64(field: int, value: int) -> bytes:
    """Encode a fixed64 field (timestamps in nanoseconds)."""
    return _tag(field, _FIXED64) + _pack_fixed64(value)


def _any_value(value: AttributeValue) -> bytes:
    """Encode an AnyValue: string 1, bool 2, int 3, double 4, array 5."""
    if isinstance(value, str):
        return _message(1, value.encode("utf-8", "replace"))
    if isinstance(value, bool):
        return _tag(2, _VARINT) + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        return _tag(3, _VARINT) + _varint(value)
    if isinstance(value, float):
        return _tag(4, _FIXED64) + _pack_double(value)
    if isinstance(value, (list, tuple)):
        # ArrayValue { repeated AnyValue values = 1; }
        array = b"".join(_message(1, _any_value(item)) for item in value)
        return _message(5, array)

    return _message(1, str(value).encode("utf-8", "replace"))


def _attributes(field: int, attributes: Mapping[str, AttributeValue]) -> bytes:
    """Encode repeated KeyValue { string key = 1; AnyValue value = 2; }."""
    return b"".join(
        _message(field, _string(1, key) + _message(2, _any_value(value)))
        for key, value in attributes.items()
    )


def encode_span(span: Span) -> bytes:
    """Encode one Span message."""
    flags = 0x01 if span.context.sampled else 0x00
    parent_span_id = b""
    if span.parent is not None:
        parent_span_id = _message(4, bytes.fromhex(span.parent.span_id))
        flags |= _FLAG_HAS_IS_REMOTE
        if span.parent.remote:
            flags |= _FLAG_IS_REMOTE

    events = b"".join(
        # Event { fixed64 time_unix_nano = 1; string name = 2; attributes = 3; }
        _message(
            11,
            _fixed64(1, event.time_ns)
            + _string(2, event.name)
            + _attributes(3, event.attributes),
        )
        for event in span.events
    )
    # Status { string message = 2; StatusCode code = 3; }
    status = _string(2, span.status_message) + _uint(3, span.status_code)

    return b"".join(
        (
            _message(1, bytes.fromhex(span.context.trace_id)),
            _message(2, bytes.fromhex(span.context.span_id)),
            _string(3, span.context.trace_state),
            parent_span_id,
            _string(5, span.name),
            _uint(6, span.kind),
            _fixed64(7, span.start_ns),
            _fixed64(8, span.end_ns),
            _attributes(9, span.attributes),
            events,
            _message(15, status) if status else b"",
            _tag(16, _FIXED32) + _pack_fixed32(flags),
        )
    )


def encode_request(
    resource: Mapping[str, AttributeValue],
    spans: Sequence[Span],
    scope_version: str = "",
) -> bytes:
    """
    Encode an ExportTraceServiceRequest: one resource, one scope per span origin.

    Args:
        resource: resource attributes (service.name, cloud.*, faas.*).
        spans: ended spans.
        scope_version: the version reported with each instrumentation scope.

    Returns:
        The protobuf bytes of the request.
    """
    by_scope: dict[str, list[bytes]] = {}
    for span in spans:
        by_scope.setdefault(span.scope_name, []).append(encode_span(span))

    scope_spans = b"".join(
        # ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
        _message(
            2,
            _message(1, _string(1, name) + _string(2, scope_version))
            + b"".join(_message(2, encoded) for encoded in encoded_spans),
        )
        for name, encoded_spans in by_scope.items()
    )
    # Resource { repeated KeyValue attributes = 1; }
    resource_spans = _message(1, _attributes(1, resource)) + scope_spans

    # ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    return _message(1, resource_spans)


class OTLPExporter:
    """
    Sends spans to an OTLP/HTTP endpoint.

    Args:
        endpoint: the full traces URL (".../v1/traces").
        headers: extra request headers (OTEL_EXPORTER_OTLP_HEADERS); they often
            hold API keys, so they are never logged.
        timeout_s: bound on one export, connect included.
        resource: resource attributes sent with every batch.
    """

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        timeout_s: float,
        resource: Mapping[str, AttributeValue],
    ) -> None:
        self.endpoint = endpoint
        self.headers = dict(headers)
        self.timeout_s = timeout_s
        self.resource = dict(resource)

    def export(self, spans: Sequence[Span]) -> None:
        """
        Send one batch of sampled spans.

        Raises:
            ExportError: the collector refused the batch or could not be reached;
                `retryable` says whether keeping the spans may help.
        """
        sampled = [span for span in spans if span.context.sampled]
        if not sampled:
            return

        body = encode_request(self.resource, sampled)
        headers = {"Content-Type": "application/x-protobuf"}
        headers.update(self.headers)
        try:
            response = transport.request(
                "POST", self.endpoint, body, headers, timeout_s=self.timeout_s
            )
        except OSError as exc:
            raise ExportError(
                f"OTLP collector unreachable: {exc}",
                endpoint=self.endpoint,
                retryable=True,
            ) from exc

        if not 200 <= response.status < 300:
            raise ExportError(
                f"OTLP collector refused {len(sampled)} spans",
                endpoint=self.endpoint,
                status=response.status,
                retryable=response.status in _RETRYABLE_STATUSES,
            )
        _log.debug("Exported %d spans to %s", len(sampled), self.endpoint)
