"""HTTP/1.1 client connection in pure Python: the twin of `_wire_c`.

Selected by `bootstrap.wire` when BOOTSTRAP_NO_EXTENSIONS=1 or the extension is
not built. It keeps the parser of `_wire_c.pyx` line for line and swaps libc
sockets for the `socket` module, which is why it is never the default: importing
`socket` costs a cold start about 14 ms (DESIGN section 6).
"""

from __future__ import annotations

import socket

from bootstrap.errors import ConnectionClosedError, MalformedResponseError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    Headers = Sequence[tuple[str, str]]

# Status line and headers larger than this are not a Runtime API answer.
MAX_HEAD_BYTES = 64 * 1024
# A chunk-size line: 16 hex digits address more than any body, plus extensions.
MAX_CHUNK_LINE_BYTES = 1024
# Interim (1xx) answers tolerated before the final one.
MAX_INTERIM_RESPONSES = 8
RECV_BYTES = 64 * 1024
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_TOKEN_EXCLUDED = frozenset(b' \t"(),/:;<=>?@[\\]{}')


class Response:
    """
    One HTTP response.

    Attributes:
        status: the status code.
        reason: the reason phrase.
        headers: field names in lower case; repeated fields joined with ", ".
        body: the whole body, de-chunked.
    """

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: str, headers: dict[str, str], body: bytes
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        """Status and body size: bodies can be megabytes."""
        return f"Response(status={self.status}, {len(self.body)} bytes)"


def _encode_head(
    method: str, path: str, host: str, headers: Headers, framing: str
) -> bytes:
    """Write the request line and headers; refuse anything that could split them."""
    lines = [f"{method} {path} HTTP/1.1", "Host: " + host]
    for name, value in headers:
        lines.append(f"{name}: {value}")
    lines.append(framing)
    head = "\r\n".join(lines) + "\r\n\r\n"
    # A CR or LF inside a field would start a new header or a new request.
    if head.count("\n") != len(lines) + 1 or head.count("\r") != len(lines) + 1:
        raise ValueError("request line or header contains a line break")

    return head.encode("latin-1")


def _is_token(name: bytes) -> bool:
    """True for a valid header field name (RFC 9110 token)."""
    return bool(name) and all(33 <= c <= 126 and c not in _TOKEN_EXCLUDED for c in name)


class Connection:
    """
    One keep-alive HTTP/1.1 connection to host:port, opened on first use.

    Args:
        host: an IPv4/IPv6 address or a name.
        port: the TCP port.

    Every failure of the peer raises ConnectionClosedError or
    MalformedResponseError with the endpoint, and the status and body when they
    were received. A connection the peer closed while idle is reopened once.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._received = 0
        self._endpoint = ""

    @classmethod
    def from_fd(cls, fd: int) -> Connection:
        """
        Wrap a connected stream socket; it is owned and closed by the connection.

        Such a connection is never reopened: there is no address to reopen.
        """
        connection = cls("", 0)
        connection._sock = socket.socket(fileno=fd)

        return connection

    # -- transport ---------------------------------------------------------

    def _open(self) -> None:
        """Connect, with Nagle off so each streamed chunk leaves at once."""
        if not self.port:
            raise ConnectionClosedError(
                "the connection is closed and has no address", self._endpoint
            )
        try:
            sock = socket.create_connection((self.host, self.port))
        except OSError as exc:
            raise ConnectionClosedError(
                f"cannot connect to {self.host}:{self.port}: {exc}",
                self._endpoint,
            ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._buffer.clear()

    def _socket(self) -> socket.socket:
        """The open socket; callers run only after _prepare() opened it."""
        if self._sock is None:
            raise ConnectionClosedError("the connection is not open", self._endpoint)

        return self._sock

    def _send_all(self, data: bytes) -> None:
        """Write every byte; OSError when the peer is gone."""
        self._socket().sendall(data)

    def _recv_some(self) -> int:
        """Append what the peer sends next to the buffer; 0 means closed."""
        sock = self._socket()
        try:
            data = sock.recv(RECV_BYTES)
        except ConnectionResetError:
            return 0
        self._buffer += data
        self._received += len(data)

        return len(data)

    def _is_stale(self) -> bool:
        """True when the idle connection was closed by the peer (or has junk)."""
        sock = self._socket()
        sock.setblocking(False)
        try:
            sock.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            sock.setblocking(True)

        # Readable while idle: either closed (b"") or bytes nobody asked for.
        return True

    def close(self) -> None:
        """Close the socket; the next request opens a new one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer.clear()

    # -- requests ----------------------------------------------------------

    def _prepare(self, method: str, path: str) -> bool:
        """Open or check the connection; True when it is a reused one."""
        self._endpoint = f"{method} {path}"
        if self._sock is not None and self.port and self._is_stale():
            self.close()
        if self._sock is None:
            self._open()
            return False

        return True

    def request(
        self, method: str, path: str, headers: Headers = (), body: bytes = b""
    ) -> Response:
        """
        Send a request with a Content-Length body and read the whole response.

        Args:
            method: GET or POST.
            path: the request target.
            headers: extra fields, in order.
            body: the request body.

        Returns:
            The response.

        Raises:
            ConnectionClosedError: unreachable, or closed before a full answer.
            MalformedResponseError: the answer is not HTTP/1.1.
            ValueError: a header would break the request apart.
        """
        head = _encode_head(
            method, path, self.host, headers, f"Content-Length: {len(body)}"
        )
        reused = self._prepare(method, path)
        try:
            return self._exchange(method, head, body)
        except ConnectionClosedError:
            # A kept-alive connection closed between the check and the send:
            # nothing was answered, so the request was not seen. Retry once.
            if not reused or self._received or not self.port:
                raise
            self.close()
            self._open()

            return self._exchange(method, head, body)

    def _exchange(self, method: str, head: bytes, body: bytes) -> Response:
        """Send head and body, then read the answer (even after a failed send)."""
        self._received = 0
        try:
            self._send_all(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                self._send_all(body)
        except OSError:
            # The peer may have answered (413) and closed before reading it all.
            pass

        return self._read_response(method)

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

        Args:
            method: POST.
            path: the request target.
            headers: extra fields; declare trailers here with `Trailer`.
            chunks: the body; each chunk is sent at once; empty ones are skipped.
            trailers: called after the last chunk; its fields end the body.

        Returns:
            The response.

        Raises:
            ConnectionClosedError, MalformedResponseError: as for request().
            Anything `chunks` raises, after closing the connection.
        """
        head = _encode_head(
            method, path, self.host, headers, "Transfer-Encoding: chunked"
        )
        self._prepare(method, path)
        self._received = 0
        try:
            self._send_all(head)
            for chunk in chunks:
                if chunk:
                    self._send_all(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            fields = trailers() if trailers is not None else ()
            self._send_all(_encode_trailers(fields))
        except OSError:
            pass
        except BaseException:
            # Half a request is on the wire: this connection cannot be reused.
            self.close()
            raise

        return self._read_response(method)

    # -- response parser -----------------------------------------------------

    def _read_response(self, method: str) -> Response:
        """Read one final response; close afterwards when it cannot be reused."""
        try:
            response, keep_alive = self._parse_response(method)
        except BaseException:
            self.close()
            raise
        if not keep_alive:
            self.close()

        return response

    def _closed(self, what: str, status: int | None = None) -> ConnectionClosedError:
        """The error for a peer that stopped before the answer was complete."""
        return ConnectionClosedError(
            "the Runtime API closed the connection " + what, self._endpoint, status
        )

    def _malformed(
        self, what: str, status: int | None = None, body: bytes | None = None
    ) -> MalformedResponseError:
        """The error for bytes that are not an HTTP/1.1 response."""
        return MalformedResponseError(
            "malformed HTTP response: " + what, self._endpoint, status, body
        )

    def _read_head(self) -> bytes:
        """Take the status line and headers, up to the blank line, off the buffer."""
        searched = 0
        while True:
            end = self._buffer.find(b"\r\n\r\n", max(searched - 3, 0))
            if end >= 0:
                break
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise self._malformed(f"headers larger than {MAX_HEAD_BYTES} bytes")
            searched = len(self._buffer)
            if not self._recv_some():
                if self._received == 0:
                    raise self._closed("before answering")
                raise self._closed("in the middle of the headers")
        if end > MAX_HEAD_BYTES:
            raise self._malformed(f"headers larger than {MAX_HEAD_BYTES} bytes")
        head = bytes(self._buffer[:end])
        del self._buffer[: end + 4]

        return head

    def _parse_head(self, head: bytes) -> tuple[int, str, dict[str, str], bool]:
        """Status line and fields; also whether the peer speaks HTTP/1.1."""
        lines = head.split(b"\r\n")
        status_line = lines[0]
        if not (
            status_line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 "))
            and len(status_line) >= 12
            and status_line[9:12].isdigit()
            and (len(status_line) == 12 or status_line[12:13] == b" ")
        ):
            raise self._malformed(f"bad status line {status_line[:80]!r}")
        status = int(status_line[9:12])
        if status < 100:
            raise self._malformed(f"bad status code {status}")
        reason = status_line[13:].decode("latin-1")

        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not _is_token(name):
                raise self._malformed(f"bad header line {line[:80]!r}", status)
            if b"\r" in value or b"\n" in value or b"\0" in value:
                raise self._malformed(f"bad header value {line[:80]!r}", status)
            key = name.decode("latin-1").lower()
            text = value.strip(b" \t").decode("latin-1")
            headers[key] = headers[key] + ", " + text if key in headers else text

        return status, reason, headers, status_line.startswith(b"HTTP/1.1")

    def _parse_response(self, method: str) -> tuple[Response, bool]:
        """Read interim answers, then the final one with its body."""
        for _ in range(MAX_INTERIM_RESPONSES + 1):
            status, reason, headers, http11 = self._parse_head(self._read_head())
            if status >= 200:
                break
        else:
            raise self._malformed("too many interim responses")

        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (
            http11 or "keep-alive" in connection
        )
        encoding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif encoding is not None:
            if encoding.lower() != "chunked" or length is not None:
                raise self._malformed(
                    f"unsupported transfer-encoding {encoding!r}", status
                )
            body = self._read_chunked(status)
        elif length is not None:
            if not (length.isdigit() and length.isascii() and len(length) <= 18):
                raise self._malformed(f"bad content-length {length[:40]!r}", status)
            body = self._read_exact(int(length), status)
        else:
            body = self._read_to_close()
            keep_alive = False

        return Response(status, reason, headers, body), keep_alive

    def _read_exact(self, size: int, status: int) -> bytes:
        """Take `size` bytes off the buffer, receiving as they come."""
        # The buffer grows with what arrives: a huge announced length is never
        # allocated up front.
        while len(self._buffer) < size:
            if not self._recv_some():
                raise self._closed("in the middle of the body", status)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]

        return data

    def _read_line(self, status: int) -> bytes:
        """Take one CRLF-terminated line of a chunked body off the buffer."""
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                break
            if len(self._buffer) > MAX_CHUNK_LINE_BYTES:
                raise self._malformed("chunk line too long", status)
            if not self._recv_some():
                raise self._closed("in the middle of a chunked body", status)
        if end > MAX_CHUNK_LINE_BYTES:
            raise self._malformed("chunk line too long", status)
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]

        return line

    def _read_chunked(self, status: int) -> bytes:
        """De-chunk a body: size lines in hex, data, CRLF; trailers are dropped."""
        parts = []
        while True:
            size_field = self._read_line(status).split(b";", 1)[0].rstrip(b" \t")
            if not size_field or len(size_field) > 16:
                raise self._malformed(f"bad chunk size {size_field[:40]!r}", status)
            if not all(c in _HEX_DIGITS for c in size_field):
                raise self._malformed(f"bad chunk size {size_field[:40]!r}", status)
            size = int(size_field, 16)
            if size == 0:
                break
            parts.append(self._read_exact(size, status))
            if self._read_exact(2, status) != b"\r\n":
                raise self._malformed("chunk not followed by CRLF", status)

        # Trailer fields until the blank line; the Runtime API sends none we use.
        trailer_bytes = 0
        while True:
            line = self._read_line(status)
            if not line:
                break
            trailer_bytes += len(line)
            if trailer_bytes > MAX_HEAD_BYTES:
                raise self._malformed("trailers too large", status)

        return b"".join(parts)

    def _read_to_close(self) -> bytes:
        """A body framed by the end of the connection (no length, not chunked)."""
        while self._recv_some():
            pass
        data = bytes(self._buffer)
        self._buffer.clear()

        return data


def _encode_trailers(fields: Headers) -> bytes:
    """The last chunk, the trailer fields, and the blank line that ends the body."""
    lines = ["0"]
    for name, value in fields:
        lines.append(f"{name}: {value}")
    text = "\r\n".join(lines) + "\r\n\r\n"
    if text.count("\n") != len(lines) + 1 or text.count("\r") != len(lines) + 1:
        raise ValueError("trailer field contains a line break")

    return text.encode("latin-1")
