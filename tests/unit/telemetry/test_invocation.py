"""The runtime hooks: server span, parent, sampling, access and EMF lines, flush."""

from __future__ import annotations

import io
import json
import threading

import pytest

from bootstrap.telemetry import annotate_http, current_scope
from bootstrap.telemetry.context import Sampler
from bootstrap.telemetry.errors import ExportError
from bootstrap.telemetry.invocation import Telemetry, otlp_endpoint, parse_key_values
from bootstrap.telemetry.metrics import MetricsWriter
from bootstrap.telemetry.spans import Span, SpanKind, StatusCode

from .conftest import (
    FUNCTION_ARN,
    TRACEPARENT,
    XRAY_PARENT,
    XRAY_ROOT,
    CapturingExporter,
    FakeContext,
)

XRAY_SAMPLED = f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=1"
XRAY_UNSAMPLED = f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=0"
HTTP_EVENT = {"requestContext": {"http": {"method": "GET"}}, "headers": {}}


def run_invocation(
    telemetry: Telemetry,
    event: object = None,
    trace: str | None = None,
    status: int = 200,
    error: BaseException | None = None,
) -> Span:
    scope = telemetry.start_invocation(FakeContext(trace_id=trace), event or HTTP_EVENT)
    annotate_http("GET", "/sessions/{session_id}", status)
    scope.finish(error=error)

    return scope.span


def test_server_span_has_faas_and_http_attributes(exporter: CapturingExporter) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    run_invocation(telemetry)
    telemetry.flush()
    (span,) = exporter.spans

    assert span.name == "GET /sessions/{session_id}"
    assert span.kind == SpanKind.SERVER
    assert span.attributes == {
        "faas.invocation_id": "req-1",
        "faas.coldstart": True,
        "faas.trigger": "http",
        "cloud.resource_id": FUNCTION_ARN,
        "cloud.account.id": "123456789012",
        "http.request.method": "GET",
        "http.route": "/sessions/{session_id}",
        "http.response.status_code": 200,
    }
    assert span.status_code == StatusCode.UNSET


def test_only_the_first_invocation_is_a_cold_start(exporter: CapturingExporter) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    first = run_invocation(telemetry)
    second = run_invocation(telemetry)

    assert first.attributes["faas.coldstart"] is True
    assert second.attributes["faas.coldstart"] is False


def test_traceparent_in_event_headers_is_the_parent(
    exporter: CapturingExporter,
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])
    event = {"requestContext": {}, "headers": {"traceparent": TRACEPARENT}}

    span = run_invocation(telemetry, event, trace=XRAY_SAMPLED)

    assert span.context.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert span.parent is not None
    assert span.parent.span_id == "b7ad6b7169203331"
    assert span.parent.remote is True


def test_rest_api_multi_value_traceparent_is_found(exporter: CapturingExporter) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])
    event = {"httpMethod": "GET", "multiValueHeaders": {"TraceParent": [TRACEPARENT]}}

    span = run_invocation(telemetry, event)

    assert span.context.trace_id == "0af7651916cd43dd8448eb211c80319c"


def test_xray_header_is_the_parent_without_traceparent(
    exporter: CapturingExporter,
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    span = run_invocation(telemetry, trace=XRAY_SAMPLED)

    assert span.context.trace_id == "5759e988bd862e3fe1be46a994272793"
    assert span.parent is not None
    assert span.parent.span_id == XRAY_PARENT
    assert span.context.sampled is True


def test_propagator_order_can_prefer_xray(exporter: CapturingExporter) -> None:
    telemetry = Telemetry(
        "sessions", exporters=[exporter], propagators=("xray", "tracecontext")
    )
    event = {"requestContext": {}, "headers": {"traceparent": TRACEPARENT}}

    span = run_invocation(telemetry, event, trace=XRAY_SAMPLED)

    assert span.context.trace_id == "5759e988bd862e3fe1be46a994272793"


def test_unsampled_parent_is_honoured_and_nothing_is_exported(
    exporter: CapturingExporter,
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    span = run_invocation(telemetry, trace=XRAY_UNSAMPLED)
    telemetry.flush()

    assert span.context.sampled is False
    assert exporter.batches == []


def test_root_traces_follow_the_sampler(exporter: CapturingExporter) -> None:
    telemetry = Telemetry(
        "sessions", sampler=Sampler("always_off"), exporters=[exporter]
    )

    span = run_invocation(telemetry)
    telemetry.flush()

    assert span.parent is None
    assert span.context.sampled is False
    assert exporter.batches == []


def test_5xx_and_handler_errors_mark_the_span_as_error(
    exporter: CapturingExporter,
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    server_error = run_invocation(telemetry, status=503)
    client_error = run_invocation(telemetry, status=404)
    crashed = run_invocation(telemetry, error=ZeroDivisionError("x"))

    assert server_error.status_code == StatusCode.ERROR
    assert server_error.attributes["error.type"] == "503"
    assert client_error.status_code == StatusCode.UNSET
    assert crashed.status_code == StatusCode.ERROR
    assert crashed.attributes["error.type"] == "ZeroDivisionError"
    assert [event.name for event in crashed.events] == ["exception"]


def test_access_line_names_method_route_status_duration_cold_start(
    runtime_log: io.StringIO,
) -> None:
    telemetry = Telemetry("sessions")

    run_invocation(telemetry, status=201)
    (line,) = [
        json.loads(text)
        for text in runtime_log.getvalue().splitlines()
        if json.loads(text)["logger"] == "bootstrap.access"
    ]

    assert line["method"] == "GET"
    assert line["route"] == "/sessions/{session_id}"
    assert line["status"] == 201
    assert isinstance(line["durationMs"], float)
    assert line["coldStart"] is True
    assert line["requestId"] == "req-1"


def test_event_payload_is_logged_only_at_debug_and_redacted(
    runtime_log: io.StringIO,
) -> None:
    telemetry = Telemetry("sessions")
    event = {"requestContext": {}, "headers": {"authorization": "Bearer abcdefghijkl"}}

    scope = telemetry.start_invocation(FakeContext(), event)
    scope.finish()
    debug = [
        json.loads(text)
        for text in runtime_log.getvalue().splitlines()
        if json.loads(text)["level"] == "DEBUG"
    ]

    assert debug[0]["event"]["headers"]["authorization"] == "[REDACTED]"
    assert "abcdefghijkl" not in runtime_log.getvalue()


def test_emf_line_counts_status_and_dynamodb_latency() -> None:
    stream = io.StringIO()
    telemetry = Telemetry(
        "sessions", metrics=MetricsWriter("Bootstrap", "sessions", stream)
    )

    scope = telemetry.start_invocation(FakeContext(), HTTP_EVENT)
    annotate_http("GET", "/sessions/{session_id}", 404)
    scope.record_dynamodb_call(5.0)
    scope.finish()
    record = json.loads(stream.getvalue())

    assert record["4xx"] == 1
    assert record["5xx"] == 0
    assert record["ColdStart"] == 1
    assert record["DynamoDBLatency"] == [5.0]
    assert record["requestId"] == "req-1"


def test_retryable_export_failure_keeps_spans_for_next_flush() -> None:
    class FlakyExporter(CapturingExporter):
        failures = 1

        def export(self, spans: list[Span]) -> None:
            if self.failures:
                self.failures -= 1
                raise ExportError("down", retryable=True)
            super().export(spans)

    flaky = FlakyExporter()
    telemetry = Telemetry("sessions", exporters=[flaky])

    span = run_invocation(telemetry)
    telemetry.flush()
    telemetry.flush()

    assert flaky.spans == [span]


def test_permanent_export_failure_drops_spans() -> None:
    class RefusingExporter(CapturingExporter):
        def export(self, spans: list[Span]) -> None:
            raise ExportError("bad request", status=400)

    telemetry = Telemetry("sessions", exporters=[RefusingExporter()])

    run_invocation(telemetry)
    telemetry.flush()

    assert len(telemetry.buffer) == 0


def test_shutdown_ends_invocations_in_flight_and_flushes(
    exporter: CapturingExporter,
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    scope = telemetry.start_invocation(FakeContext(), HTTP_EVENT)
    telemetry.shutdown("SIGTERM")

    (span,) = exporter.spans
    assert span is scope.span
    assert span.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "SIGTERM"


def test_finish_leaves_no_invocation_behind() -> None:
    telemetry = Telemetry("sessions")

    scope = telemetry.start_invocation(FakeContext(), {})
    assert current_scope() is scope
    scope.finish()
    scope.finish()

    assert current_scope() is None


def test_concurrent_workers_see_only_their_own_invocation() -> None:
    telemetry = Telemetry("sessions")
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(4)

    def worker(request_id: str) -> None:
        scope = telemetry.start_invocation(FakeContext(request_id), {})
        barrier.wait(timeout=10)
        current = current_scope()
        seen[request_id] = current.request_id if current else None
        scope.finish()

    threads = [threading.Thread(target=worker, args=(f"req-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert seen == {f"req-{n}": f"req-{n}" for n in range(4)}


def test_from_env_without_endpoints_exports_nothing() -> None:
    telemetry = Telemetry.from_env({"AWS_LAMBDA_FUNCTION_NAME": "sessions"})

    assert telemetry.exporting is False
    assert telemetry.metrics is not None


def test_from_env_builds_both_exporters_and_resource() -> None:
    telemetry = Telemetry.from_env(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "sessions",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_REGION": "eu-west-1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=a%2Cb",
            "BOOTSTRAP_METRICS": "off",
        }
    )

    assert [type(e).__name__ for e in telemetry.exporters] == [
        "OTLPExporter",
        "XRayExporter",
    ]
    assert telemetry.metrics is None
    assert telemetry.resource["service.name"] == "sessions"
    assert telemetry.resource["faas.max_memory"] == 128 * 1024 * 1024
    assert telemetry.resource["cloud.region"] == "eu-west-1"
    assert telemetry.resource["team"] == "a,b"


def test_sdk_disabled_turns_exporters_off() -> None:
    telemetry = Telemetry.from_env(
        {
            "OTEL_SDK_DISABLED": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
        }
    )

    assert telemetry.exporting is False


def test_malformed_endpoint_is_reported_and_left_off(runtime_log: io.StringIO) -> None:
    telemetry = Telemetry.from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://x"})

    assert telemetry.exporting is False
    assert "not an http" in runtime_log.getvalue()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:1/t"}, "http://c:1/t"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1"}, "http://c:1/v1/traces"),
        ({}, None),
    ],
)
def test_otlp_endpoint_resolution(
    environ: dict[str, str], expected: str | None
) -> None:
    assert otlp_endpoint(environ) == expected


def test_header_lists_are_percent_decoded_and_errors_do_not_echo_values() -> None:
    assert parse_key_values("api-key=a%3Db, x = y", "H") == {"api-key": "a=b", "x": "y"}
    with pytest.raises(Exception, match="without key=value") as caught:
        parse_key_values("secretvalue", "H")
    assert "secretvalue" not in str(caught.value)
