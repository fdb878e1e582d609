"""Spans the handler starts through opentelemetry-api join the invocation's trace."""

from __future__ import annotations

import io
import json
import logging

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bootstrap.telemetry import active
from bootstrap.telemetry import logging as bridge_logging
from bootstrap.telemetry.invocation import Telemetry
from bootstrap.telemetry.spans import SpanKind, StatusCode, start_span

from .conftest import TRACEPARENT, CapturingExporter, FakeContext

# Obtained before the bridge is installed, as handler modules do at import.
tracer = trace.get_tracer("handler.module")


def test_handler_spans_are_children_of_the_invocation(
    exporter: CapturingExporter,
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])
    event = {"requestContext": {}, "headers": {"traceparent": TRACEPARENT}}

    scope = telemetry.start_invocation(FakeContext(), event)
    with tracer.start_as_current_span(
        "load profile", kind=trace.SpanKind.CLIENT
    ) as outer:
        outer.set_attribute("profile.size", 3)
        with tracer.start_as_current_span("parse") as inner:
            inner.add_event("parsed", {"fields": 2})
            ids = active.log_fields()
    scope.finish()
    telemetry.flush()

    by_name = {span.name: span for span in exporter.spans}
    server, outer_span, inner_span = (
        by_name["sessions"],
        by_name["load profile"],
        by_name["parse"],
    )
    assert outer_span.context.trace_id == "0af7651916cd43dd8448eb211c80319c"
    assert outer_span.parent is not None
    assert outer_span.parent.span_id == server.context.span_id
    assert inner_span.parent is not None
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert outer_span.kind == SpanKind.CLIENT
    assert outer_span.scope_name == "handler.module"
    assert outer_span.attributes["profile.size"] == 3
    assert [event.name for event in inner_span.events] == ["parsed"]
    assert ids["spanId"] == inner_span.context.span_id


def test_our_spans_nest_under_the_handlers_current_span(
    exporter: CapturingExporter,
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    scope = telemetry.start_invocation(FakeContext(), {})
    with tracer.start_as_current_span("business step") as step:
        call = start_span("DynamoDB.GetItem", active.current_span(), SpanKind.CLIENT)
        call.end()
    scope.finish()
    telemetry.flush()

    step_span = next(s for s in exporter.spans if s.name == "business step")
    assert call.parent is not None
    assert call.parent.span_id == step_span.context.span_id
    assert step.get_span_context().span_id == int(step_span.context.span_id, 16)


def test_exception_in_a_handler_span_marks_it(exporter: CapturingExporter) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])

    scope = telemetry.start_invocation(FakeContext(), {})
    try:
        with tracer.start_as_current_span("risky"):
            raise ValueError("nope")
    except ValueError:
        pass
    scope.finish()
    telemetry.flush()

    risky = next(s for s in exporter.spans if s.name == "risky")
    assert risky.status_code == StatusCode.ERROR
    assert [event.name for event in risky.events] == ["exception"]


def test_log_lines_inside_a_handler_span_carry_its_id() -> None:
    stream = io.StringIO()
    telemetry = Telemetry("sessions", environ={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    bridge_logging.configure({"AWS_LAMBDA_LOG_FORMAT": "JSON"}, stream)

    scope = telemetry.start_invocation(FakeContext(), {})
    with tracer.start_as_current_span("step") as step:
        logging.getLogger("handler").info("inside")
    scope.finish()

    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["spanId"] == format(step.get_span_context().span_id, "016x")


def test_invocation_span_is_current_for_propagators() -> None:
    telemetry = Telemetry("sessions")
    event = {"requestContext": {}, "headers": {"traceparent": TRACEPARENT}}

    scope = telemetry.start_invocation(FakeContext(), event)
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    scope.finish()

    assert carrier["traceparent"] == (
        f"00-0af7651916cd43dd8448eb211c80319c-{scope.span.context.span_id}-01"
    )
    assert not trace.get_current_span().get_span_context().is_valid
