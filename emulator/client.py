"""Invoking through the emulator's endpoint, the way an AWS SDK caller would.

A small HTTP/1.1 client of our own rather than `http.client`: a streamed answer
reports a mid-stream failure in its trailers, which `http.client` discards.
"""

import base64
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import HTTPException, parse_headers
from types import TracebackType

from emulator.errors import InvokeError, ProtocolError
from emulator.wire import SLICE_BYTES, ChunkedReader

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


@dataclass(frozen=True)
class InvokeResult:
    """
    What the caller of an invoke got back.

    `headers` have lower-case names; `function_error` is the
    X-Amz-Function-Error value ("Unhandled") or None; `trailers` (lower case)
    are those of a streamed answer.
    """

    status_code: int
    body: bytes
    headers: dict[str, str]
    function_error: str | None
    request_id: str = ""
    trailers: dict[str, str] = field(default_factory=dict)


def invoke_headers(
    trace_id: str | None = None,
    client_context: str | None = None,
    cognito_identity: str | None = None,
    tenant_id: str | None = None,
) -> dict[str, str]:
    """The Invoke API request headers for the optional Lambda invoke fields."""
    # The Invoke API carries the client context (JSON) base64-encoded.
    encoded_context = (
        base64.b64encode(client_context.encode()).decode() if client_context else None
    )
    headers = {
        "X-Amzn-Trace-Id": trace_id,
        "X-Amz-Client-Context": encoded_context,
        "X-Amz-Cognito-Identity": cognito_identity,
        "X-Amz-Tenant-Id": tenant_id,
    }

    return {name: value for name, value in headers.items() if value}


class StreamedInvoke:
    """
    An invoke whose answer is read as it arrives.

    Iterate for the body's chunks; `status_code` and `headers` are known from
    the start, `trailers` and `function_error` once iteration has ended.
    Use as a context manager (or exhaust it) so the connection is closed.

    Raises:
        InvokeError: when the endpoint cannot be reached or answers garbage
            (from the constructor and while iterating).
    """

    def __init__(
        self,
        host: str,
        port: int,
        payload: bytes,
        headers: dict[str, str],
        read_timeout_s: float,
    ) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=read_timeout_s)
        except OSError as exc:
            raise InvokeError(f"cannot reach {host}:{port}: {exc}") from exc
        self._rfile = self._sock.makefile("rb")
        self.trailers: dict[str, str] = {}
        try:
            self._send(host, port, payload, headers)
            self.status_code, self.headers = self._read_head()
        except (OSError, HTTPException, ValueError, ProtocolError) as exc:
            self.close()
            raise InvokeError(f"invoke failed: {exc}") from exc
        self.request_id = self.headers.get("x-amzn-requestid", "")
        self._function_error = self.headers.get("x-amz-function-error")

    @property
    def function_error(self) -> str | None:
        """X-Amz-Function-Error from the headers or, when streamed, the trailers."""
        return self.trailers.get("x-amz-function-error") or self._function_error

    def __iter__(self) -> Iterator[bytes]:
        try:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                reader = ChunkedReader(self._rfile)
                yield from reader
                self.trailers = reader.trailers
            else:
                remaining = int(self.headers.get("content-length", "0"))
                while remaining:
                    piece = self._rfile.read(min(remaining, SLICE_BYTES))
                    if not piece:
                        raise ProtocolError(
                            "endpoint closed before the end of the body"
                        )
                    remaining -= len(piece)
                    yield piece
        except (OSError, ProtocolError, ValueError) as exc:
            raise InvokeError(f"reading the answer failed: {exc}") from exc
        finally:
            self.close()

    def error_body(self) -> bytes | None:
        """The decoded Lambda-Runtime-Function-Error-Body trailer, if any."""
        encoded = self.trailers.get("lambda-runtime-function-error-body")
        if not encoded:
            return None

        return base64.b64decode(encoded)

    def close(self) -> None:
        """Close the connection (the invoke itself runs on regardless)."""
        self._rfile.close()
        self._sock.close()

    def __enter__(self) -> "StreamedInvoke":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self, host: str, port: int, payload: bytes, headers: dict[str, str]
    ) -> None:
        lines = [
            f"POST {INVOKE_PATH} HTTP/1.1",
            f"Host: {host}:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            "Connection: close",
            *("{}: {}".format(*item) for item in headers.items()),
        ]
        self._sock.sendall(
            ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        )

    def _read_head(self) -> tuple[int, dict[str, str]]:
        status_line = self._rfile.readline(65537).decode("latin-1")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1."):
            raise ProtocolError(f"bad status line {status_line[:60]!r}")
        status_code = int(rest.split(" ", 1)[0])
        message = parse_headers(self._rfile)

        return status_code, {name.lower(): value for name, value in message.items()}


def invoke(
    host: str,
    port: int,
    payload: bytes,
    headers: dict[str, str],
    read_timeout_s: float,
) -> InvokeResult:
    """
    Invoke and wait for the whole answer.

    Raises:
        InvokeError: when the endpoint cannot be reached or answers garbage.
    """
    with StreamedInvoke(host, port, payload, headers, read_timeout_s) as streamed:
        body = b"".join(streamed)

    return InvokeResult(
        status_code=streamed.status_code,
        body=body,
        headers=streamed.headers,
        function_error=streamed.function_error,
        request_id=streamed.request_id,
        trailers=streamed.trailers,
    )
