"""The context object a handler receives: the invoke's ids, limits and deadline."""

from __future__ import annotations

import time

from bootstrap import codec
from bootstrap.errors import CodecError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Client:
    """The mobile app that invoked the function (client context `client`)."""

    __slots__ = (
        "app_package_name",
        "app_title",
        "app_version_code",
        "app_version_name",
        "installation_id",
    )

    def __init__(self, fields: dict[str, Any]) -> None:
        self.installation_id = fields.get("installation_id")
        self.app_title = fields.get("app_title")
        self.app_version_name = fields.get("app_version_name")
        self.app_version_code = fields.get("app_version_code")
        self.app_package_name = fields.get("app_package_name")


class ClientContext:
    """The Lambda-Runtime-Client-Context header: client, custom and env fields."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, fields: dict[str, Any]) -> None:
        client = fields.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = fields.get("custom")
        self.env = fields.get("env")


class CognitoIdentity:
    """The Lambda-Runtime-Cognito-Identity header."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, fields: dict[str, Any]) -> None:
        self.cognito_identity_id = fields.get("cognitoIdentityId")
        self.cognito_identity_pool_id = fields.get("cognitoIdentityPoolId")


def _parse_header_json(raw: str | None) -> dict[str, Any] | None:
    """Decode an optional JSON header; a malformed one is dropped, not fatal."""
    if not raw:
        return None
    try:
        value = codec.loads(raw)
    except CodecError:
        return None

    return value if isinstance(value, dict) else None


class FunctionSettings:
    """
    What the environment says about the function; read once, shared by invokes.

    Args:
        environ: the process environment (AWS_LAMBDA_FUNCTION_NAME and friends).
    """

    __slots__ = (
        "function_name",
        "function_version",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
    )

    def __init__(self, environ: dict[str, str]) -> None:
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")


class LambdaContext:
    """
    The context of one invoke, with the attributes Python Lambda handlers use.

    Args:
        settings: the function-wide settings.
        aws_request_id: Lambda-Runtime-Aws-Request-Id.
        deadline_ms: Lambda-Runtime-Deadline-Ms, epoch milliseconds.
        invoked_function_arn: Lambda-Runtime-Invoked-Function-Arn.
        trace_id: Lambda-Runtime-Trace-Id, also kept here because the
            _X_AMZN_TRACE_ID variable is wrong when workers run concurrently.
        client_context: the raw Lambda-Runtime-Client-Context JSON.
        cognito_identity: the raw Lambda-Runtime-Cognito-Identity JSON.
        tenant_id: Lambda-Runtime-Aws-Tenant-Id.
    """

    __slots__ = (
        "_deadline_ms",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
        "tenant_id",
        "trace_id",
    )

    # One parameter per Runtime API header: the loop builds it in one call.
    def __init__(  # noqa: PLR0913, PLR0917
        self,
        settings: FunctionSettings,
        aws_request_id: str,
        deadline_ms: int,
        invoked_function_arn: str | None = None,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self._deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.trace_id = trace_id
        self.tenant_id = tenant_id
        self.function_name = settings.function_name
        self.function_version = settings.function_version
        self.memory_limit_in_mb = settings.memory_limit_in_mb
        self.log_group_name = settings.log_group_name
        self.log_stream_name = settings.log_stream_name

        client_fields = _parse_header_json(client_context)
        self.client_context = ClientContext(client_fields) if client_fields else None
        identity_fields = _parse_header_json(cognito_identity)
        self.identity = CognitoIdentity(identity_fields) if identity_fields else None

    def get_remaining_time_in_millis(self) -> int:
        """
        Milliseconds left before Lambda stops this invoke.

        Returns:
            The time to the deadline, never negative.
        """
        now_ms = int(time.time() * 1000)

        return max(self._deadline_ms - now_ms, 0)

    def __repr__(self) -> str:
        """Identify the invoke without dumping client data."""
        return (
            f"LambdaContext(aws_request_id={self.aws_request_id!r}, "
            f"function_name={self.function_name!r})"
        )
