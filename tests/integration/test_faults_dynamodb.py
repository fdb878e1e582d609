"""DynamoDB slow, silent or cutting connections, through a TCP fault proxy: the
sessions function on our runtime under the emulator keeps its client timeouts,
answers 503 with Retry-After before its own deadline, and recovers in the same
process once DynamoDB is healthy again. No secret reaches its output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator import Emulator
from emulator.dynamodb_local import DynamoDBLocal
from tests.tools.fault_proxy import FaultProxy, Mode
from tests.tools.faults import api_event, leaked_secrets, secret_env

# The function's DynamoDB budget here: 2 attempts of 0.5 s connect and 1 s read
# (plus botocore's backoff), far inside the 10 s function timeout.
FUNCTION_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 2
BUDGET = {
    "DYNAMODB_CONNECT_TIMEOUT_S": "0.5",
    "DYNAMODB_READ_TIMEOUT_S": "1",
    "DYNAMODB_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
}


@pytest.fixture
def proxy(dynamodb_local: DynamoDBLocal) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session's DynamoDB Local."""
    port = int(dynamodb_local.endpoint_url.rsplit(":", 1)[1])
    with FaultProxy(("127.0.0.1", port)) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def function(
    lambda_runtime: Callable[..., Emulator],
    sessions_env: dict[str, str],
    proxy: FaultProxy,
) -> Callable[..., Emulator]:
    """Factory: the sessions function reaching DynamoDB through the proxy."""

    def start(**env: str) -> Emulator:
        return lambda_runtime(
            "handler.app.lambda_handler",
            env={
                **sessions_env,
                **secret_env(),
                **BUDGET,
                "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,
                **env,
            },
            timeout_s=FUNCTION_TIMEOUT_S,
        )

    return start


def call(
    emulator: Emulator, method: str, path: str, body: Any = None
) -> dict[str, Any]:
    """One request through the function; its API Gateway answer.

    A function error (a timeout, a crash) fails the test here: under every
    fault below the function itself must answer.
    """
    result = emulator.invoke(api_event(method, path, body=body))
    assert result.function_error is None, (result, emulator.logs()[-3000:])
    answer: dict[str, Any] = json.loads(result.body)

    return answer


def assert_unavailable(answer: dict[str, Any]) -> None:
    """A 503 problem with Retry-After, as the store promises."""
    assert answer["statusCode"] == 503, answer
    assert answer["headers"]["Retry-After"] == "1"
    assert answer["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(answer["body"])["status"] == 503


@pytest.mark.parametrize("log_level", ["INFO", "DEBUG"])
def test_silent_dynamodb_is_503_within_the_attempt_budget_then_recovers(
    function: Callable[..., Emulator], proxy: FaultProxy, log_level: str
) -> None:
    emulator = function(AWS_LAMBDA_LOG_LEVEL=log_level)
    created = call(emulator, "POST", "/sessions", {"metadata": {"n": 1}})
    session_path = "/sessions/" + json.loads(created["body"])["session_id"]

    proxy.mode = Mode.BLACKHOLE
    requests_before = proxy.requests_seen
    silent_read = call(emulator, "GET", session_path)
    attempts = proxy.requests_seen - requests_before
    silent_create = call(emulator, "POST", "/sessions", {})

    proxy.mode = Mode.PASS
    read_after = call(emulator, "GET", session_path)
    created_after = call(emulator, "POST", "/sessions", {})

    assert created["statusCode"] == 201
    assert_unavailable(silent_read)
    assert_unavailable(silent_create)
    # DYNAMODB_MAX_ATTEMPTS holds: each attempt timed out and none more was made.
    assert attempts == MAX_ATTEMPTS
    assert read_after["statusCode"] == 200
    assert json.loads(read_after["body"])["metadata"] == {"n": 1}
    assert created_after["statusCode"] == 201
    assert emulator.process_starts == 1
    assert leaked_secrets(emulator.logs()) == []


def test_dynamodb_slower_than_the_read_timeout_is_503_and_fast_enough_is_served(
    function: Callable[..., Emulator], proxy: FaultProxy
) -> None:
    emulator = function()
    call(emulator, "POST", "/sessions", {})  # warm: the connection is open

    proxy.mode = Mode.DELAY
    proxy.delay_s = 0.05
    slightly_slow = call(emulator, "POST", "/sessions", {})
    proxy.delay_s = 2.5
    requests_before = proxy.requests_seen
    too_slow = call(emulator, "POST", "/sessions", {})
    attempts = proxy.requests_seen - requests_before
    proxy.mode = Mode.PASS
    proxy.reset_all()  # the delayed relays hold stale answers: cut them
    healthy = call(emulator, "POST", "/sessions", {})

    assert slightly_slow["statusCode"] == 201
    assert_unavailable(too_slow)
    assert attempts <= MAX_ATTEMPTS
    assert healthy["statusCode"] == 201
    assert emulator.process_starts == 1
    assert leaked_secrets(emulator.logs()) == []


def test_dynamodb_cutting_connections_is_503_then_recovers(
    function: Callable[..., Emulator], proxy: FaultProxy
) -> None:
    emulator = function()
    created = call(emulator, "POST", "/sessions", {})
    session_path = "/sessions/" + json.loads(created["body"])["session_id"]

    proxy.mode = Mode.DROP
    cut_read = call(emulator, "GET", session_path)
    cut_patch = call(emulator, "PATCH", session_path, {"metadata": {"x": 1}})
    proxy.mode = Mode.PASS
    read_after = call(emulator, "GET", session_path)

    assert_unavailable(cut_read)
    assert_unavailable(cut_patch)
    assert read_after["statusCode"] == 200
    # The cut PATCH never reached DynamoDB: nothing was half-written.
    assert json.loads(read_after["body"])["version"] == 1
    assert emulator.process_starts == 1
    assert leaked_secrets(emulator.logs()) == []


def test_client_budget_beyond_the_deadline_times_out_and_a_fresh_process_serves(
    lambda_runtime: Callable[..., Emulator],
    sessions_env: dict[str, str],
    proxy: FaultProxy,
) -> None:
    # Misconfigured on purpose: one DynamoDB read may take longer than the
    # function may run. The deadline wins, as on Lambda.
    emulator = lambda_runtime(
        "handler.app.lambda_handler",
        env={
            **sessions_env,
            **secret_env(),
            "AWS_ENDPOINT_URL_DYNAMODB": proxy.url,
            "DYNAMODB_READ_TIMEOUT_S": "30",
            "DYNAMODB_MAX_ATTEMPTS": "1",
        },
        timeout_s=3.0,
    )
    call(emulator, "POST", "/sessions", {})

    proxy.mode = Mode.BLACKHOLE
    timed_out = emulator.invoke(api_event("POST", "/sessions", body={}))
    proxy.mode = Mode.PASS
    fresh = call(emulator, "POST", "/sessions", {})

    assert timed_out.function_error == "Unhandled"
    assert timed_out.body == b"Task timed out after 3.00 seconds"
    assert fresh["statusCode"] == 201
    assert emulator.process_starts == 2
    assert leaked_secrets(emulator.logs()) == []
