"""The context object a handler receives."""

import time

from bootstrap.context import FunctionSettings, LambdaContext

ENVIRON = {
    "AWS_LAMBDA_FUNCTION_NAME": "sessions",
    "AWS_LAMBDA_FUNCTION_VERSION": "7",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/sessions",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/03/[7]abc",
}


def make_context(**overrides: object) -> LambdaContext:
    fields: dict[str, object] = {
        "aws_request_id": "req-1",
        "deadline_ms": int(time.time() * 1000) + 60_000,
    }
    fields.update(overrides)

    return LambdaContext(FunctionSettings(ENVIRON), **fields)  # type: ignore[arg-type]


def test_context_carries_function_settings_and_invoke_ids() -> None:
    context = make_context(
        invoked_function_arn="arn:aws:lambda:eu-west-1:1:function:sessions",
        trace_id="Root=1-abc",
        tenant_id="tenant-9",
    )

    assert context.aws_request_id == "req-1"
    assert context.function_name == "sessions"
    assert context.function_version == "7"
    assert context.memory_limit_in_mb == "256"
    assert context.log_group_name == "/aws/lambda/sessions"
    assert context.log_stream_name == "2026/12/03/[7]abc"
    assert context.invoked_function_arn.endswith(":sessions")
    assert context.trace_id == "Root=1-abc"
    assert context.tenant_id == "tenant-9"


def test_remaining_time_counts_down_to_the_deadline_and_stops_at_zero() -> None:
    future = make_context()
    past = make_context(deadline_ms=1)

    assert 0 < future.get_remaining_time_in_millis() <= 60_000
    assert past.get_remaining_time_in_millis() == 0


def test_client_context_and_identity_are_parsed_from_their_headers() -> None:
    context = make_context(
        client_context='{"client": {"app_title": "shop"}, "custom": {"k": "v"}, '
        '"env": {"locale": "fr"}}',
        cognito_identity='{"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "p"}',
    )

    assert context.client_context is not None
    assert context.client_context.client is not None
    assert context.client_context.client.app_title == "shop"
    assert context.client_context.custom == {"k": "v"}
    assert context.client_context.env == {"locale": "fr"}
    assert context.identity is not None
    assert context.identity.cognito_identity_id == "id-1"
    assert context.identity.cognito_identity_pool_id == "p"


def test_malformed_or_absent_client_headers_give_none() -> None:
    context = make_context(client_context="{not json", cognito_identity="[1]")

    assert context.client_context is None
    assert context.identity is None
    assert make_context().client_context is None
