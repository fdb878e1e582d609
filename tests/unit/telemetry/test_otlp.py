"""The hand-written OTLP protobuf encoding, checked with the official classes."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from bootstrap.telemetry.context import TraceContext
from bootstrap.telemetry.errors import ExportError
from bootstrap.telemetry.otlp import OTLPExporter, encode_request
from bootstrap.telemetry.spans import Span, SpanKind, StatusCode, start_span

from .receivers import OTLPReceiver

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


def make_server_span() -> Span:
    parent = TraceContext(
        TRACE_ID, PARENT_ID, sampled=True, trace_state="k=v", remote=True
    )
    span = Span(
        "GET /sessions/{session_id}",
        TraceContext(TRACE_ID, "1111111111111111", True, "k=v"),
        parent,
        SpanKind.SERVER,
        1_700_000_000_000_000_000,
        {
            "faas.coldstart": True,
            "http.response.status_code": 503,
            "ratio": 0.5,
            "negative": -7,
            "aws.dynamodb.table_names": ["a", "b"],
            "unicode": "héllo ✓",
        },
        sink=lambda span: None,
    )
    span.set_status(StatusCode.ERROR, "boom")
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        span.record_exception(exc)
    span.end(1_700_000_000_500_000_000)

    return span


def decode_single(span: Span) -> ProtoSpan:
    request = encode_request({"service.name": "sessions"}, [span])

    decoded = ExportTraceServiceRequest.FromString(request)
    (resource_spans,) = decoded.resource_spans
    (scope_spans,) = resource_spans.scope_spans
    (proto_span,) = scope_spans.spans

    return proto_span


def test_encoded_span_decodes_with_ids_parent_and_times() -> None:
    proto = decode_single(make_server_span())

    assert proto.trace_id.hex() == TRACE_ID
    assert proto.span_id.hex() == "1111111111111111"
    assert proto.parent_span_id.hex() == PARENT_ID
    assert proto.trace_state == "k=v"
    assert proto.name == "GET /sessions/{session_id}"
    assert proto.kind == ProtoSpan.SPAN_KIND_SERVER
    assert proto.start_time_unix_nano == 1_700_000_000_000_000_000
    assert proto.end_time_unix_nano == 1_700_000_000_500_000_000


def test_encoded_attributes_keep_their_types() -> None:
    proto = decode_single(make_server_span())
    attributes = {item.key: item.value for item in proto.attributes}

    assert attributes["faas.coldstart"].bool_value is True
    assert attributes["http.response.status_code"].int_value == 503
    assert attributes["ratio"].double_value == 0.5
    assert attributes["negative"].int_value == -7
    assert [
        v.string_value
        for v in attributes["aws.dynamodb.table_names"].array_value.values
    ] == [
        "a",
        "b",
    ]
    assert attributes["unicode"].string_value == "héllo ✓"


def test_encoded_status_event_and_remote_parent_flags() -> None:
    proto = decode_single(make_server_span())
    (event,) = proto.events
    event_attributes = {item.key: item.value.string_value for item in event.attributes}

    assert proto.status.code == Status.STATUS_CODE_ERROR
    assert proto.status.message == "boom"
    assert event.name == "exception"
    assert event_attributes["exception.type"] == "ValueError"
    assert event_attributes["exception.message"] == "bad value"
    assert "raise ValueError" in event_attributes["exception.stacktrace"]
    # sampled (0x01), has-is-remote (0x100), is-remote (0x200)
    assert proto.flags == 0x301


def test_child_span_is_local_and_in_its_own_scope() -> None:
    server = make_server_span()
    child = start_span("DynamoDB.GetItem", server, SpanKind.CLIENT, scope_name="db")
    child.end()

    decoded = ExportTraceServiceRequest.FromString(encode_request({}, [server, child]))
    scopes = {
        scope.scope.name: scope.spans for scope in decoded.resource_spans[0].scope_spans
    }

    assert set(scopes) == {"bootstrap", "db"}
    (proto_child,) = scopes["db"]
    assert proto_child.parent_span_id.hex() == "1111111111111111"
    assert proto_child.kind == ProtoSpan.SPAN_KIND_CLIENT
    assert proto_child.flags == 0x101


def test_exporter_posts_protobuf_with_configured_headers() -> None:
    with OTLPReceiver() as receiver:
        exporter = OTLPExporter(
            receiver.endpoint, {"x-api-key": "k1"}, 5.0, {"service.name": "sessions"}
        )
        exporter.export([make_server_span()])
        (request,) = receiver.wait_for(1)

    resource = {
        item.key: item.value.string_value
        for item in request.decode().resource_spans[0].resource.attributes
    }
    assert request.path == "/v1/traces"
    assert request.headers["content-type"] == "application/x-protobuf"
    assert request.headers["x-api-key"] == "k1"
    assert resource == {"service.name": "sessions"}


def test_exporter_skips_unsampled_spans() -> None:
    span = make_server_span()
    span.context.sampled = False
    with OTLPReceiver() as receiver:
        OTLPExporter(receiver.endpoint, {}, 5.0, {}).export([span])

        assert receiver.wait_for(1, timeout_s=0.5) == []


@pytest.mark.parametrize(
    ("status", "retryable"), [(503, True), (429, True), (400, False)]
)
def test_exporter_reports_refusals_with_retry_advice(
    status: int, retryable: bool
) -> None:
    with OTLPReceiver([status]) as receiver:
        exporter = OTLPExporter(receiver.endpoint, {}, 5.0, {})
        with pytest.raises(ExportError) as caught:
            exporter.export([make_server_span()])

    assert caught.value.status == status
    assert caught.value.retryable is retryable


def test_unreachable_collector_is_a_retryable_error() -> None:
    with OTLPReceiver() as receiver:
        endpoint = receiver.endpoint
    exporter = OTLPExporter(endpoint, {}, 2.0, {})

    with pytest.raises(ExportError) as caught:
        exporter.export([make_server_span()])

    assert caught.value.retryable is True
    assert caught.value.status is None


def test_exception_texts_in_spans_are_redacted() -> None:
    span = make_server_span()
    try:
        raise PermissionError("rejected header Authorization: Bearer abcdefgh12345678")
    except PermissionError as exc:
        span.record_exception(exc)
    span.set_status(StatusCode.ERROR, "token Bearer abcdefgh12345678 refused")

    encoded = encode_request({}, [span])

    assert b"abcdefgh12345678" not in encoded
    assert b"Bearer [REDACTED]" in encoded
