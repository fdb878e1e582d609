"""A minimal HTTP/1.1 client for exporters and the extension registration.

Each request opens its own connection with `Connection: close`, so the answer
ends where the peer closes and no pooling state survives a freeze of the
execution environment. `http.client` would pull the `email` package into the
process; this needs only `socket` (and `ssl` for https endpoints), both imported
on first use, after the response that made the spans was already posted.
"""

from __future__ import annotations

from bootstrap.telemetry.errors import TelemetryConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from socket import socket as Socket


# A peer that answers more than this is not a collector or the Extensions API.
_MAX_RESPONSE_BYTES = 1 << 20


class Response:
    """An HTTP answer: status, headers (lower-case names), body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class URL:
    """The parts of an http(s) URL a request needs.

    Raises:
        TelemetryConfigError: not http or https, no host, or a bad port.
    """

    __slots__ = ("host", "path", "port", "tls")

    def __init__(self, url: str) -> None:
        scheme, sep, rest = url.partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in ("http", "https"):
            raise TelemetryConfigError(f"{url!r} is not an http:// or https:// URL")

        authority, slash, path = rest.partition("/")
        # Credentials in the URL would end up in logs; the userinfo part is refused.
        if "@" in authority:
            raise TelemetryConfigError(f"URL {url!r} must not carry credentials")
        if authority.startswith("["):
            host, _, port_text = authority[1:].partition("]")
            port_text = port_text.removeprefix(":")
        else:
            host, _, port_text = authority.partition(":")
        if not host:
            raise TelemetryConfigError(f"URL {url!r} has no host")
        try:
            port = int(port_text) if port_text else (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise TelemetryConfigError(f"URL {url!r} has a bad port") from exc
        if not 0 < port < 65536:
            raise TelemetryConfigError(f"URL {url!r} has a bad port")

        self.host = host
        self.port = port
        self.path = slash + path if slash else "/"
        self.tls = scheme == "https"


def _connect(url: URL, timeout_s: float | None) -> Socket:
    """Open the connection, wrapped in TLS for https."""
    # socket costs the cold path milliseconds; only exporting code gets here.
    import socket  # noqa: PLC0415 - cold path: first export or registration only

    sock = socket.create_connection((url.host, url.port), timeout=timeout_s)
    if url.tls:
        import ssl  # noqa: PLC0415 - cold path: https endpoints only

        context = ssl.create_default_context()
        sock = context.wrap_socket(sock, server_hostname=url.host)

    return sock


def _check_header(name: str, value: str) -> None:
    """Refuse CR or LF in a header: they would split the request."""
    if any(char in name or char in value for char in "\r\n\0"):
        raise TelemetryConfigError(f"header {name!r} has a line break in it")


def _decode_chunked(data: bytes) -> bytes:
    """Join the chunks of a chunked body; trailers are ignored."""
    body = bytearray()
    position = 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            break
        size = int(data[position:line_end].split(b";")[0] or b"0", 16)
        if size == 0:
            break
        start = line_end + 2
        body += data[start : start + size]
        position = start + size + 2

    return bytes(body)


def request(
    method: str,
    url: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout_s: float | None = 5.0,
) -> Response:
    """
    Send one request and read the whole answer.

    Args:
        method: "GET" or "POST".
        url: http:// or https:// URL.
        body: request body.
        headers: extra headers.
        timeout_s: bound on connect and on each read; None waits for ever (the
            Extensions API long poll, which must not time out).

    Returns:
        The response.

    Raises:
        TelemetryConfigError: the URL or a header is malformed.
        OSError: the connection failed, timed out, or the answer was not HTTP.
    """
    target = URL(url)
    lines = [
        f"{method} {target.path} HTTP/1.1",
        f"Host: {target.host}:{target.port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    for name, value in (headers or {}).items():
        _check_header(name, value)
        lines.append(f"{name}: {value}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    with _connect(target, timeout_s) as sock:
        sock.sendall(head + body)
        received = bytearray()
        while len(received) < _MAX_RESPONSE_BYTES:
            data = sock.recv(65536)
            if not data:
                break
            received += data

    return _parse_response(bytes(received))


def _parse_response(data: bytes) -> Response:
    """Split a complete HTTP/1.1 answer into status, headers and body."""
    head, sep, body = data.partition(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise OSError(f"not an HTTP/1.1 response: {data[:80]!r}")
    try:
        status = int(parts[1])
    except ValueError as exc:
        raise OSError(f"bad HTTP status line: {status_line[:80]!r}") from exc

    headers: dict[str, str] = {}
    for line in header_block.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon:
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode(
                "latin-1"
            )
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _decode_chunked(body)
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]

    return Response(status, headers, body)
