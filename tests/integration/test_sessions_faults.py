"""DynamoDB going away and coming back, through the runtime under the emulator:
503 with Retry-After meanwhile, and recovery in the same function process."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from emulator.dynamodb_local import DynamoDBLocal
from handler.table import ensure_table
from tests.plugins.dynamodb import REGION, http_api_event, make_client

# The function's DynamoDB budget in this test: 2 attempts of 0.5 s connect and
# 1 s read, so a dead endpoint is answered well inside the 10 s invoke timeout.
FUNCTION_TIMEOUT_S = 10.0
SECRET = "fake-secret-that-must-not-be-logged"


def create_event() -> bytes:
    event = http_api_event(
        "POST", "/sessions", authorizer={"jwt": {"claims": {"sub": "alice"}}}
    )

    return json.dumps(event).encode()


def test_dynamodb_stopped_then_back_is_503_then_served_by_the_same_process(
    lambda_runtime: Callable[..., Any],
) -> None:
    dynamodb = DynamoDBLocal().start()
    try:
        port = int(dynamodb.endpoint_url.rsplit(":", 1)[1])
        ensure_table(make_client(dynamodb.endpoint_url), "sessions-faults")
        emulator = lambda_runtime(
            "handler.app.lambda_handler",
            env={
                "SESSIONS_TABLE": "sessions-faults",
                "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint_url,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                # DynamoDB Local checks no secret; this one must never be logged.
                "AWS_SECRET_ACCESS_KEY": SECRET,
                "DYNAMODB_CONNECT_TIMEOUT_S": "0.5",
                "DYNAMODB_READ_TIMEOUT_S": "1",
                "DYNAMODB_MAX_ATTEMPTS": "2",
            },
            timeout_s=FUNCTION_TIMEOUT_S,
        )
        before = json.loads(emulator.invoke(create_event()).body)

        dynamodb.stop()
        during = emulator.invoke(create_event())

        # Same port, empty memory: the table comes back, the data does not.
        dynamodb = DynamoDBLocal(port=port).start()
        ensure_table(make_client(dynamodb.endpoint_url), "sessions-faults")
        after = json.loads(emulator.invoke(create_event()).body)
    finally:
        dynamodb.stop()

    assert before["statusCode"] == 201
    # Answered by the function (no timeout, no crash), as a 503.
    assert during.function_error is None
    answer = json.loads(during.body)
    assert answer["statusCode"] == 503
    assert answer["headers"]["Retry-After"] == "1"
    assert after["statusCode"] == 201
    assert emulator.process_starts == 1
    logs = emulator.logs()
    assert "answering 503" in logs
    assert SECRET not in logs
