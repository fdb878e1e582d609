"""The Lambda Runtime API client (types and docs of client.pyx)."""

from collections.abc import Iterable

from bootstrap._wire_c import Connection

def parse_runtime_api(address: str) -> tuple[str, int]:
    """
    Split AWS_LAMBDA_RUNTIME_API ("127.0.0.1:9001", "[::1]:9001") into host, port.

    Raises:
        ConfigurationError: the address has no valid port.
    """

class ErrorReport:
    """The error JSON, its errorType header and an X-Ray cause, for one failure."""

    @property
    def error_type(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def stack_trace(self) -> list[str]: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def xray_cause(self) -> str | None: ...
    def __init__(
        self,
        error_type: str,
        message: str,
        stack_trace: list[str] | None = None,
        request_id: str | None = None,
        xray_cause: str | None = None,
    ) -> None: ...
    @classmethod
    def from_exception(
        cls,
        exc: BaseException,
        request_id: str | None = None,
        error_type: str | None = None,
    ) -> ErrorReport:
        """
        Describe an exception: class name as errorType (unless given), message,
        and the stack without the runtime's own frames.
        """
    def body(self) -> bytes:
        """The error JSON: errorMessage, errorType, stackTrace, requestId."""
    def headers(self) -> list[tuple[str, str]]:
        """Content-Type, the errorType header, and the X-Ray cause if any."""

class Invocation:
    """One invoke as /next hands it out: its headers and the raw event bytes."""

    @property
    def request_id(self) -> str: ...
    @property
    def deadline_ms(self) -> int: ...
    @property
    def invoked_function_arn(self) -> str | None: ...
    @property
    def trace_id(self) -> str | None: ...
    @property
    def client_context(self) -> str | None: ...
    @property
    def cognito_identity(self) -> str | None: ...
    @property
    def tenant_id(self) -> str | None: ...
    @property
    def invocation_id(self) -> str | None: ...
    @property
    def event(self) -> bytes: ...
    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        event: bytes,
        invoked_function_arn: str | None = None,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        invocation_id: str | None = None,
    ) -> None: ...

class RuntimeClient:
    """
    The Runtime API over one keep-alive connection.

    2xx answers to a post are accepted; 410 (the invoke already timed out) and
    other 4xx (413 for a response over 6 MB) are logged and the caller goes on;
    5xx, and anything but 200 on /next, raise RuntimeAPIError.
    """

    @property
    def connection(self) -> Connection: ...
    def __init__(self, runtime_api: str, connection: object | None = None) -> None: ...
    def close(self) -> None:
        """Close the connection."""
    def next_invocation(self) -> Invocation:
        """Wait for the next invoke; no timeout."""
    def post_response(
        self,
        invocation: Invocation,
        body: bytes,
        content_type: str = "application/json",
    ) -> None:
        """Post a buffered result (the Runtime API takes up to 6 MB)."""
    def post_streaming_response(
        self,
        invocation: Invocation,
        chunks: Iterable[bytes | str],
        content_type: str = "application/octet-stream",
        prelude: bytes | None = None,
    ) -> ErrorReport | None:
        """
        Stream a result chunk by chunk; a failure mid-stream becomes the error
        trailers, and its report is returned (None when the stream completed).
        """
    def post_error(self, invocation: Invocation, report: ErrorReport) -> None:
        """Report that an invoke failed."""
    def post_init_error(self, report: ErrorReport) -> None:
        """Report that init failed; the process exits afterwards."""
    def restore_next(self) -> None:
        """Tell SnapStart the runtime resumed."""
    def post_restore_error(self, report: ErrorReport) -> None:
        """Report that a restore hook failed."""
