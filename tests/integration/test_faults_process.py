"""The function's process under faults test_runtime.py leaves out: memory that
runs out under the emulator's address-space limit, and SIGTERM in the middle
of an invoke (telemetry flushed, the process gone at once, the next invoke
served by a fresh process). No secret reaches the output or the exports."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from emulator import Emulator, InvokeResult
from emulator.dynamodb_local import DynamoDBLocal
from tests.tools.fault_proxy import FaultProxy, Mode
from tests.tools.faults import api_event, function_pids, leaked_secrets, secret_env
from tests.unit.telemetry.receivers import OTLPReceiver

Start = Callable[..., Emulator]
FAULT_HANDLER = "tests.tools.fault_handlers.handler"
# Enough address space for the interpreter, its threads and the runtime.
MEMORY_MB = 256


def wait_until_gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Wait (bounded) until the process no longer exists."""
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.01)

    return False


# ------------------------------------------------------------------ memory


def test_unbounded_allocation_is_reported_as_out_of_memory_and_service_goes_on(
    lambda_runtime: Start,
) -> None:
    emulator = lambda_runtime(
        FAULT_HANDLER, memory_mb=MEMORY_MB, limit_memory=True, timeout_s=20.0
    )
    before = emulator.invoke(b'{"n": 1}')

    greedy = emulator.invoke(b'{"allocate_mib": "unbounded"}')
    after = emulator.invoke(b'{"n": 2}')

    error = json.loads(greedy.body)
    assert greedy.function_error == "Unhandled"
    assert error["errorType"] == "Runtime.OutOfMemory"
    assert error["requestId"] == greedy.request_id
    assert json.loads(after.body)["event"] == {"n": 2}
    assert json.loads(before.body)["event"] == {"n": 1}
    assert "MemoryError" in emulator.logs()


def test_unbounded_allocation_gets_the_next_invoke_a_fresh_process(
    lambda_runtime: Start,
) -> None:
    emulator = lambda_runtime(
        FAULT_HANDLER, memory_mb=MEMORY_MB, limit_memory=True, timeout_s=20.0
    )
    first_pid = json.loads(emulator.invoke(b"{}").body)["pid"]

    emulator.invoke(b'{"allocate_mib": "unbounded"}')
    after = emulator.invoke(b"{}")

    assert json.loads(after.body)["pid"] != first_pid
    assert emulator.process_starts == 2


# ------------------------------------------------------------------ SIGTERM


@pytest.fixture
def otlp() -> Iterator[OTLPReceiver]:
    """A local OTLP/HTTP receiver."""
    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture
def proxy(dynamodb_local: DynamoDBLocal) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's DynamoDB Local."""
    port = int(dynamodb_local.endpoint_url.rsplit(":", 1)[1])
    with FaultProxy(("127.0.0.1", port)) as fault_proxy:
        yield fault_proxy


def server_spans(otlp: OTLPReceiver) -> list[ProtoSpan]:
    """The invocation spans received so far."""
    return [s for s in otlp.spans() if s.kind == ProtoSpan.SPAN_KIND_SERVER]


def test_sigterm_during_an_invoke_flushes_its_span_and_exits_at_once(
    lambda_runtime: Start,
    sessions_env: dict[str, str],
    proxy: FaultProxy,
    otlp: OTLPReceiver,
) -> None:
    # DynamoDB goes silent mid-run with a long read timeout, so the invoke is
    # still waiting on it when SIGTERM comes.
    emulator = lambda_runtime(
        "handler.app.lambda_handler",
        env={
            **sessions_env,
            **secret_env(),
            "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,
            "DYNAMODB_READ_TIMEOUT_S": "8",
            "DYNAMODB_MAX_ATTEMPTS": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.base_endpoint,
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
        },
        timeout_s=20.0,
    )
    warm = emulator.invoke(api_event("POST", "/sessions", body={}))
    otlp.wait_for(1)
    (leader, *_) = function_pids(emulator)
    proxy.mode = Mode.BLACKHOLE
    requests_before = proxy.requests_seen
    answers: list[InvokeResult] = []
    invoker = threading.Thread(
        target=lambda: answers.append(
            emulator.invoke(api_event("POST", "/sessions", body={}))
        )
    )

    invoker.start()
    assert proxy.wait_for_request(requests_before), "no call reached DynamoDB"
    signalled_at = time.monotonic()
    os.kill(leader, signal.SIGTERM)
    gone = wait_until_gone(leader)
    exit_s = time.monotonic() - signalled_at
    invoker.join(30)
    flushed = otlp.wait_for(2)
    proxy.mode = Mode.PASS
    fresh = emulator.invoke(api_event("POST", "/sessions", body={}))

    assert json.loads(warm.body)["statusCode"] == 201
    assert gone, "the function ignored SIGTERM"
    print(f"exited {exit_s * 1000:.0f} ms after SIGTERM")
    # The cut invoke is reported as Lambda does; exit status 0 says the
    # process left by itself (a kill would read "signal: killed").
    (cut,) = answers
    assert cut.function_error == "Unhandled"
    assert json.loads(cut.body)["errorType"] == "Runtime.ExitError"
    assert "exited without providing a reason" in json.loads(cut.body)["errorMessage"]
    assert len(flushed) >= 2
    spans = server_spans(otlp)
    cut_spans = [s for s in spans if s.status.code == Status.STATUS_CODE_ERROR]
    assert [s.name for s in cut_spans] == ["POST /sessions"]
    assert json.loads(fresh.body)["statusCode"] == 201
    assert emulator.process_starts == 2
    exported = b"".join(request.body for request in otlp.requests)
    assert leaked_secrets(emulator.logs()) == []
    assert leaked_secrets(exported.decode("latin-1")) == []


def test_shutdown_with_an_invoke_in_flight_leaves_no_process(
    lambda_runtime: Start,
    sessions_env: dict[str, str],
    proxy: FaultProxy,
    otlp: OTLPReceiver,
) -> None:
    emulator = lambda_runtime(
        "handler.app.lambda_handler",
        env={
            **sessions_env,
            "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,
            "DYNAMODB_READ_TIMEOUT_S": "8",
            "DYNAMODB_MAX_ATTEMPTS": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.base_endpoint,
        },
        timeout_s=20.0,
    )
    emulator.invoke(api_event("POST", "/sessions", body={}))
    pids = function_pids(emulator)
    proxy.mode = Mode.BLACKHOLE
    requests_before = proxy.requests_seen
    answers: list[Any] = []
    invoker = threading.Thread(
        target=lambda: answers.append(
            emulator.invoke(api_event("POST", "/sessions", body={}))
        )
    )

    invoker.start()
    assert proxy.wait_for_request(requests_before), "no call reached DynamoDB"
    # The emulator's shutdown: SIGTERM (an extension is registered), a grace
    # period, then SIGKILL for whatever is left.
    emulator.close()
    invoker.join(30)

    assert pids
    assert all(wait_until_gone(pid) for pid in pids)
    (answer,) = answers
    assert answer.status_code == 503  # the emulator shut down under it
    assert any(s.status.code == Status.STATUS_CODE_ERROR for s in server_spans(otlp))
