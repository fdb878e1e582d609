"""X-Ray segment documents and their delivery over UDP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bootstrap.telemetry.context import TraceContext
from bootstrap.telemetry.errors import TelemetryConfigError
from bootstrap.telemetry.spans import Span, SpanKind, StatusCode, XRayLink, start_span
from bootstrap.telemetry.xray import (
    XRayExporter,
    parse_daemon_address,
    segment_document,
    segment_name,
)

from .conftest import XRAY_PARENT, XRAY_ROOT
from .receivers import UDPReceiver, split_datagram


@pytest.fixture
def daemon() -> Iterator[UDPReceiver]:
    receiver = UDPReceiver()
    yield receiver
    receiver.close()


def make_invocation_span(status: int = 200) -> Span:
    span = Span(
        "GET /sessions/{session_id}",
        TraceContext("5759e988bd862e3fe1be46a994272793", "1111111111111111", True),
        None,
        SpanKind.SERVER,
        1_700_000_000_000_000_000,
        {
            "http.request.method": "GET",
            "http.route": "/sessions/{session_id}",
            "http.response.status_code": status,
            "faas.coldstart": True,
        },
        sink=lambda span: None,
        xray=XRayLink(XRAY_ROOT, XRAY_PARENT),
    )
    span.end(1_700_000_000_250_000_000)

    return span


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:2000", ("127.0.0.1", 2000)),
        ("tcp:127.0.0.1:2000 udp:169.254.79.129:2001", ("169.254.79.129", 2001)),
        ("udp:10.0.0.1:2000 tcp:10.0.0.1:2000", ("10.0.0.1", 2000)),
    ],
)
def test_daemon_address_forms_are_understood(
    value: str, expected: tuple[str, int]
) -> None:
    assert parse_daemon_address(value) == expected


@pytest.mark.parametrize(
    "value", ["127.0.0.1", "tcp:127.0.0.1:2000", "host:port", ":2000"]
)
def test_unusable_daemon_address_is_refused(value: str) -> None:
    with pytest.raises(TelemetryConfigError):
        parse_daemon_address(value)


def test_invocation_span_becomes_subsegment_of_lambdas_segment() -> None:
    document = segment_document(make_invocation_span(), "sessions")

    assert document["name"] == "sessions"
    assert document["id"] == "1111111111111111"
    assert document["trace_id"] == XRAY_ROOT
    assert document["parent_id"] == XRAY_PARENT
    assert document["type"] == "subsegment"
    assert document["start_time"] == pytest.approx(1_700_000_000.0)
    assert document["end_time"] == pytest.approx(1_700_000_000.25)
    assert document["http"] == {
        "request": {"method": "GET"},
        "response": {"status": 200},
    }
    assert document["annotations"] == {
        "http_route": "/sessions/{session_id}",
        "faas_coldstart": True,
    }
    assert document["error"] is False
    assert document["fault"] is False


@pytest.mark.parametrize(
    ("status", "error", "throttle", "fault"),
    [(404, True, False, False), (429, True, True, False), (503, False, False, True)],
)
def test_status_sets_error_throttle_and_fault(
    status: int, error: bool, throttle: bool, fault: bool
) -> None:
    document = segment_document(make_invocation_span(status), "sessions")

    assert (document["error"], document["throttle"], document["fault"]) == (
        error,
        throttle,
        fault,
    )


def test_dynamodb_span_is_an_aws_subsegment_with_table() -> None:
    server = make_invocation_span()
    server.end_ns = 0
    call = start_span(
        "DynamoDB.GetItem",
        server,
        SpanKind.CLIENT,
        {
            "rpc.system": "aws-api",
            "rpc.service": "DynamoDB",
            "rpc.method": "GetItem",
            "aws.dynamodb.table_names": ["sessions"],
            "cloud.region": "eu-west-1",
            "aws.request_id": "RID",
        },
    )
    call.set_status(StatusCode.ERROR, "ConditionalCheckFailedException")
    call.end()

    document = segment_document(call, "sessions")

    assert document["name"] == "DynamoDB"
    assert document["namespace"] == "aws"
    assert document["parent_id"] == server.context.span_id
    assert document["trace_id"] == XRAY_ROOT
    assert document["aws"] == {
        "operation": "GetItem",
        "table_name": "sessions",
        "region": "eu-west-1",
        "request_id": "RID",
    }
    assert document["fault"] is True


def test_exception_becomes_the_cause() -> None:
    span = make_invocation_span()
    try:
        raise RuntimeError("database on fire")
    except RuntimeError as exc:
        span.record_exception(exc)

    document = segment_document(span, "sessions")

    assert document["fault"] is True
    assert document["cause"] == {
        "exceptions": [
            {
                "id": span.context.span_id,
                "type": "RuntimeError",
                "message": "database on fire",
            }
        ]
    }


def test_segment_names_lose_characters_xray_refuses() -> None:
    assert segment_name("GET /sessions/{id}") == "GET /sessions/_id_"
    assert len(segment_name("x" * 300)) == 200


def test_exporter_sends_one_datagram_per_xray_span(daemon: UDPReceiver) -> None:
    exporter = XRayExporter(parse_daemon_address(daemon.address), "sessions")
    sampled = make_invocation_span()
    not_for_xray = make_invocation_span()
    not_for_xray.xray = None

    exporter.export([sampled, not_for_xray])
    datagrams = daemon.receive(2, timeout_s=1.0)

    assert len(datagrams) == 1
    header, document = split_datagram(datagrams[0])
    assert header == {"format": "json", "version": 1}
    assert document["id"] == sampled.context.span_id
    assert document["trace_id"] == XRAY_ROOT
