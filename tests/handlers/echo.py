"""Answers with the event and what the context and environment told the handler."""

import os
from typing import Any


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Echo the event with the context's fields and the trace variable."""
    client = context.client_context
    identity = context.identity

    return {
        "event": event,
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "tenant_id": context.tenant_id,
        "trace_id": context.trace_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_custom": client.custom if client else None,
        "cognito_identity_id": identity.cognito_identity_id if identity else None,
        "env_trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "pid": os.getpid(),
    }


def unserializable(event: Any, context: Any) -> Any:
    """Return something JSON cannot hold."""
    return {"value": object()}


def printing(event: Any, context: Any) -> str:
    """Print a line, so tests can see the function's output in the logs."""
    print("printed by the handler", event)

    return "printed"
