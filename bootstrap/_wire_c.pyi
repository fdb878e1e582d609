"""HTTP/1.1 client connection over libc sockets (types and docs of _wire_c.pyx)."""

from collections.abc import Callable, Iterable, Sequence

Headers = Sequence[tuple[str, str]]

class Response:
    """One HTTP response."""

    @property
    def status(self) -> int:
        """The status code."""
    @property
    def reason(self) -> str:
        """The reason phrase."""
    @property
    def headers(self) -> dict[str, str]:
        """Field names in lower case; repeated fields joined with ", "."""
    @property
    def body(self) -> bytes:
        """The whole body, de-chunked."""
    def __init__(
        self, status: int, reason: str, headers: dict[str, str], body: bytes
    ) -> None: ...

class Connection:
    """
    One keep-alive HTTP/1.1 connection to host:port, opened on first use.

    Every failure of the peer raises ConnectionClosedError or
    MalformedResponseError (bootstrap.errors) with the endpoint, and the status
    and body when they were received; never a hang on a peer that closes, never
    a bare OSError. A connection the peer closed while idle is reopened once.
    Blocking calls release the GIL and have no timeout (/next is a long poll).
    """

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    def __init__(self, host: str, port: int) -> None: ...
    @classmethod
    def from_fd(cls, fd: int) -> Connection:
        """
        Wrap a connected stream socket; it is owned and closed by the connection.

        Such a connection is never reopened: there is no address to reopen.
        """
    def request(
        self, method: str, path: str, headers: Headers = (), body: bytes = b""
    ) -> Response:
        """
        Send a request with a Content-Length body and read the whole response.

        Raises:
            ConnectionClosedError: unreachable, or closed before a full answer.
            MalformedResponseError: the answer is not HTTP/1.1.
            ValueError: a header would break the request apart.
        """
    def request_streaming(
        self,
        method: str,
        path: str,
        headers: Headers,
        chunks: Iterable[bytes],
        trailers: Callable[[], Headers] | None = None,
    ) -> Response:
        """
        Send a chunked request body as it is produced, then read the response.

        Each chunk is sent at once (empty ones are skipped); `trailers` is called
        after the last chunk and its fields end the body. Anything `chunks` raises
        propagates after the connection is closed.
        """
    def close(self) -> None:
        """Close the socket; the next request opens a new one."""
