"""Telemetry end to end: the sessions handler on our runtime under the emulator,
against DynamoDB Local, exporting to a local OTLP receiver and a local UDP
"X-Ray daemon", with its log lines read back from the process output."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from emulator import Emulator
from tests.plugins.dynamodb import http_api_event
from tests.unit.telemetry.receivers import OTLPReceiver, UDPReceiver, split_datagram
from tests.unit.telemetry.test_metrics import validate_emf

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
XRAY_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
XRAY_PARENT = "53995c3f42cd8ad8"
BEARER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig-not-for-logs"
COOKIE_VALUE = "sid-cookie-value-not-for-logs"
BODY_MARKER = "metadata-marker-only-at-debug"
EMULATOR_SECRETS = (
    "emulator-fake-secret-access-key-not-real",
    "emulator-fake-session-token",
)


def attributes(span: ProtoSpan) -> dict[str, Any]:
    """A decoded span's attributes as plain Python values."""
    values: dict[str, Any] = {}
    for item in span.attributes:
        kind = item.value.WhichOneof("value")
        if kind == "array_value":
            values[item.key] = [v.string_value for v in item.value.array_value.values]
        else:
            values[item.key] = getattr(item.value, kind)

    return values


@pytest.fixture
def otlp() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture
def xray_daemon() -> Iterator[UDPReceiver]:
    receiver = UDPReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def traced_function(
    sessions_function: Callable[..., Emulator],
    otlp: OTLPReceiver,
    xray_daemon: UDPReceiver,
) -> Callable[..., Emulator]:
    """Factory: the sessions function with both exporters and JSON logs on."""

    def start(**env: str) -> Emulator:
        settings = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.base_endpoint,
            "AWS_XRAY_DAEMON_ADDRESS": xray_daemon.address,
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_LOG_LEVEL": "INFO",
        }
        settings.update(env)

        return sessions_function(**settings)

    return start


def invoke(
    emulator: Emulator,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    trace_id: str | None = None,
    user: str = "alice",
) -> dict[str, Any]:
    """One API Gateway HTTP API request through the emulator; its answer."""
    all_headers = {"content-type": "application/json", **(headers or {})}
    event = http_api_event(
        method,
        path,
        body=None if body is None else json.dumps(body),
        headers=all_headers,
        authorizer={"jwt": {"claims": {"sub": user}, "scopes": None}},
    )
    result = emulator.invoke(json.dumps(event).encode(), trace_id=trace_id)
    assert result.function_error is None, (result, emulator.logs()[-3000:])
    answer: dict[str, Any] = json.loads(result.body)

    return answer


def output_lines(
    emulator: Emulator, *, expected_records: int = 0, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    """
    Every line the function wrote, each parsed as JSON (a failure fails).

    The emulator reads the function's output on a thread of its own, so the
    lines of the last invoke may land just after its answer: wait until at
    least `expected_records` metric (EMF) lines, one per invoke, are there.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [
            json.loads(text) for text in emulator.logs().splitlines() if text.strip()
        ]
        records = sum(1 for line in lines if "_aws" in line)
        if records >= expected_records or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_server_span_has_traceparent_parent_and_dynamodb_child(
    traced_function: Callable[..., Emulator], otlp: OTLPReceiver, sessions_table: str
) -> None:
    emulator = traced_function()

    created = invoke(
        emulator, "POST", "/sessions", headers={"traceparent": TRACEPARENT}, body={}
    )
    otlp.wait_for(1)
    spans = otlp.spans()

    assert created["statusCode"] == 201
    (server,) = [s for s in spans if s.kind == ProtoSpan.SPAN_KIND_SERVER]
    clients = [s for s in spans if s.kind == ProtoSpan.SPAN_KIND_CLIENT]
    assert server.trace_id.hex() == TRACE_ID
    assert server.parent_span_id.hex() == PARENT_SPAN_ID
    assert server.name == "POST /sessions"
    server_attributes = attributes(server)
    assert server_attributes["faas.coldstart"] is True
    assert server_attributes["faas.trigger"] == "http"
    assert server_attributes["faas.invocation_id"]
    assert server_attributes["cloud.resource_id"].startswith("arn:aws:lambda:")
    assert server_attributes["http.request.method"] == "POST"
    assert server_attributes["http.route"] == "/sessions"
    assert server_attributes["http.response.status_code"] == 201
    assert server.status.code == Status.STATUS_CODE_UNSET
    assert clients, "no DynamoDB span"
    for client in clients:
        client_attributes = attributes(client)
        assert client.trace_id.hex() == TRACE_ID
        assert client.parent_span_id == server.span_id
        assert client_attributes["db.system.name"] == "aws.dynamodb"
        assert client_attributes["aws.dynamodb.table_names"] == [sessions_table]
        assert client_attributes["db.operation.name"] == client.name.split(".")[1]
    assert "PutItem" in {attributes(c)["db.operation.name"] for c in clients}


def test_second_invocation_is_warm_and_its_404_is_not_an_error(
    traced_function: Callable[..., Emulator], otlp: OTLPReceiver
) -> None:
    emulator = traced_function()

    invoke(emulator, "GET", "/sessions/does-not-exist")
    invoke(emulator, "GET", "/sessions/does-not-exist-either")
    otlp.wait_for(2)
    servers = [s for s in otlp.spans() if s.kind == ProtoSpan.SPAN_KIND_SERVER]

    assert [attributes(s)["faas.coldstart"] for s in servers] == [True, False]
    assert {attributes(s)["http.response.status_code"] for s in servers} == {404}
    assert {s.name for s in servers} == {"GET /sessions/{session_id}"}
    assert {s.status.code for s in servers} == {Status.STATUS_CODE_UNSET}


def test_unreachable_dynamodb_gives_error_spans(
    traced_function: Callable[..., Emulator], otlp: OTLPReceiver
) -> None:
    # Port 9 (discard) is closed on loopback: every call is refused at once.
    emulator = traced_function(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9")

    answer = invoke(emulator, "POST", "/sessions", body={})
    otlp.wait_for(1)
    spans = otlp.spans()

    assert answer["statusCode"] == 503
    (server,) = [s for s in spans if s.kind == ProtoSpan.SPAN_KIND_SERVER]
    (client,) = [s for s in spans if s.kind == ProtoSpan.SPAN_KIND_CLIENT]
    assert server.status.code == Status.STATUS_CODE_ERROR
    assert attributes(server)["http.response.status_code"] == 503
    assert client.status.code == Status.STATUS_CODE_ERROR
    assert attributes(client)["error.type"]
    assert [event.name for event in client.events] == ["exception"]


def test_xray_segments_arrive_for_sampled_invocations_only(
    traced_function: Callable[..., Emulator],
    xray_daemon: UDPReceiver,
    sessions_table: str,
) -> None:
    emulator = traced_function()
    unsampled_root = "1-5759e988-000000000000000000000001"

    invoke(
        emulator,
        "POST",
        "/sessions",
        body={},
        trace_id=f"Root={unsampled_root};Parent={XRAY_PARENT};Sampled=0",
    )
    invoke(
        emulator,
        "POST",
        "/sessions",
        body={},
        trace_id=f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=1",
    )
    documents = [split_datagram(d)[1] for d in xray_daemon.receive(2)]

    assert len(documents) == 2
    assert {d["trace_id"] for d in documents} == {XRAY_ROOT}
    (function,) = [d for d in documents if d.get("parent_id") == XRAY_PARENT]
    (call,) = [d for d in documents if d.get("namespace") == "aws"]
    assert function["type"] == "subsegment"
    assert function["http"]["response"]["status"] == 201
    assert function["start_time"] <= function["end_time"]
    assert call["parent_id"] == function["id"]
    assert call["name"] == "DynamoDB"
    assert call["aws"]["operation"] == "PutItem"
    assert call["aws"]["table_name"] == sessions_table


def test_every_line_is_json_with_ids_and_one_access_line_per_invocation(
    traced_function: Callable[..., Emulator],
) -> None:
    emulator = traced_function()
    trace = f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=1"

    invoke(emulator, "POST", "/sessions", body={}, trace_id=trace)
    invoke(emulator, "GET", "/sessions/missing", trace_id=trace)
    lines = output_lines(emulator, expected_records=2)
    logs = [line for line in lines if "_aws" not in line]
    access = [line for line in logs if line["logger"] == "bootstrap.access"]

    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("POST", "/sessions", 201),
        ("GET", "/sessions/{session_id}", 404),
    ]
    assert [a["coldStart"] for a in access] == [True, False]
    assert all(isinstance(a["durationMs"], float) for a in access)
    for line in logs:
        assert {"timestamp", "level", "message", "logger"} <= set(line), line
        assert line["timestamp"].endswith("Z")
    for line in access:
        assert line["requestId"]
        assert line["xrayTraceId"] == XRAY_ROOT
        assert line["traceId"] == "5759e988bd862e3fe1be46a994272793"
        assert len(line["spanId"]) == 16


def test_emf_lines_validate_and_count_cold_start_errors_and_latency(
    traced_function: Callable[..., Emulator],
) -> None:
    emulator = traced_function()

    invoke(emulator, "POST", "/sessions", body={})
    invoke(emulator, "GET", "/sessions/missing")
    lines = output_lines(emulator, expected_records=2)
    records = [line for line in lines if "_aws" in line]

    assert len(records) == 2
    for record in records:
        validate_emf(record)
        assert record["FunctionName"]
    assert [r["ColdStart"] for r in records] == [1, 0]
    assert [r["4xx"] for r in records] == [0, 1]
    assert [r["5xx"] for r in records] == [0, 0]
    # The create wrote to DynamoDB; a malformed id is refused before any call.
    assert len(records[0]["DynamoDBLatency"]) >= 1
    assert "DynamoDBLatency" not in records[1]


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_secret_reaches_any_output(
    traced_function: Callable[..., Emulator],
    otlp: OTLPReceiver,
    sessions_env: dict[str, str],
    level: str,
) -> None:
    emulator = traced_function(AWS_LAMBDA_LOG_LEVEL=level)
    secret_headers = {
        "authorization": f"Bearer {BEARER_TOKEN}",
        "cookie": f"sid={COOKIE_VALUE}",
    }

    invoke(
        emulator,
        "POST",
        "/sessions",
        headers=secret_headers,
        body={"metadata": {"note": BODY_MARKER}},
    )
    invoke(
        emulator,
        "POST",
        "/sessions",
        headers=secret_headers,
        body=["not", "an", "object"],
    )
    otlp.wait_for(2)
    output = emulator.logs()
    exported = b"".join(request.body for request in otlp.requests)

    output_lines(emulator)  # every line is JSON
    for secret in (
        BEARER_TOKEN,
        COOKIE_VALUE,
        sessions_env["AWS_SECRET_ACCESS_KEY"],
        *EMULATOR_SECRETS,
    ):
        assert secret not in output
        assert secret.encode() not in exported
    # Event payloads appear at DEBUG only.
    assert (BODY_MARKER in output) is (level == "DEBUG")


def test_sigterm_flushes_spans_a_failed_export_kept(
    sessions_function: Callable[..., Emulator], sessions_env: dict[str, str]
) -> None:
    with OTLPReceiver(statuses=[503]) as otlp:
        emulator = sessions_function(OTEL_EXPORTER_OTLP_ENDPOINT=otlp.base_endpoint)

        invoke(emulator, "POST", "/sessions", body={})
        (refused,) = otlp.wait_for(1)
        os.kill(function_pid(emulator), signal.SIGTERM)
        received = otlp.wait_for(2)
        assert len(received) == 2, emulator.logs()[-4000:]
        refused, flushed = received

    first = {s.span_id for s in refused.decode().resource_spans[0].scope_spans[0].spans}
    resent = {
        span.span_id
        for scope in flushed.decode().resource_spans[0].scope_spans
        for span in scope.spans
    }
    assert first <= resent


def test_telemetry_off_writes_no_metrics_and_exports_nothing(
    traced_function: Callable[..., Emulator], otlp: OTLPReceiver
) -> None:
    emulator = traced_function(BOOTSTRAP_TELEMETRY="off")

    answer = invoke(emulator, "POST", "/sessions", body={})
    lines = output_lines(emulator)

    assert answer["statusCode"] == 201
    assert [line for line in lines if "_aws" in line] == []
    assert [line for line in lines if line.get("logger") == "bootstrap.access"] == []
    assert otlp.requests == []


def function_pid(emulator: Emulator) -> int:
    """The pid of the emulator's function process, found by its Runtime API."""
    marker = f"AWS_LAMBDA_RUNTIME_API={emulator.runtime_api}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and int(entry.name) != os.getpid():
            return int(entry.name)
    raise AssertionError("no function process found")
