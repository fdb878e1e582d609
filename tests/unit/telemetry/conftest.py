"""Fixtures of the telemetry unit tests: a fake Lambda context, capturing exporters."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bootstrap import logs
from bootstrap.telemetry import active
from bootstrap.telemetry.spans import Span

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:sessions"
XRAY_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
XRAY_PARENT = "53995c3f42cd8ad8"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class FakeContext:
    """The attributes of the runtime's LambdaContext that telemetry reads."""

    def __init__(
        self,
        request_id: str = "req-1",
        trace_id: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = FUNCTION_ARN
        self.trace_id = trace_id
        self.tenant_id = tenant_id


class CapturingExporter:
    """Keeps every batch it is given."""

    def __init__(self) -> None:
        self.batches: list[list[Span]] = []

    def export(self, spans: list[Span]) -> None:
        self.batches.append(list(spans))

    @property
    def spans(self) -> list[Span]:
        return [span for batch in self.batches for span in batch]


@pytest.fixture
def exporter() -> CapturingExporter:
    return CapturingExporter()


@pytest.fixture
def runtime_log() -> Iterator[io.StringIO]:
    """The runtime's own log lines (access lines, warnings), as JSON, captured."""
    stream = io.StringIO()
    previous = logs._settings
    logs.configure(logs.LogSettings("JSON", "DEBUG", stream))
    yield stream
    logs.configure(previous)


@pytest.fixture(autouse=True)
def no_invocation_leaks() -> Iterator[None]:
    """Every test starts and ends outside any invocation."""
    assert active.current_scope() is None
    yield
    # A test that leaves an invocation open (shutdown, errors) is closed here,
    # which also detaches its span from the OpenTelemetry context.
    scope = active.current_scope()
    if scope is not None:
        scope.finish()
    active.invocation.set(None)
    active.span.set(None)


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """Telemetry installs its log handler on first use; undo it after each test."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
