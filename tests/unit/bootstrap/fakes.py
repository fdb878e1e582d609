"""A small scripted HTTP/1.1 server and socket pairs for the runtime's unit tests."""

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Bounds every blocking call of the fakes: a broken client fails, never hangs.
IO_TIMEOUT_S = 10.0


@dataclass
class ReceivedRequest:
    """A request as the fake server read it."""

    request_line: str
    headers: dict[str, str]
    body: bytes
    trailers: dict[str, str] = field(default_factory=dict)


def _read_until(sock: socket.socket, buffer: bytearray, marker: bytes) -> bytes:
    while marker not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("client closed")
        buffer += data
    end = buffer.index(marker)
    taken = bytes(buffer[:end])
    del buffer[: end + len(marker)]

    return taken


def _read_exact(sock: socket.socket, buffer: bytearray, size: int) -> bytes:
    while len(buffer) < size:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("client closed")
        buffer += data
    taken = bytes(buffer[:size])
    del buffer[:size]

    return taken


def read_request(sock: socket.socket, buffer: bytearray) -> ReceivedRequest:
    """Read one request (Content-Length or chunked body) off a socket."""
    head = _read_until(sock, buffer, b"\r\n\r\n").decode("latin-1")
    request_line, *lines = head.split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    trailers = {}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(_read_until(sock, buffer, b"\r\n").split(b";")[0], 16)
            if size == 0:
                break
            parts.append(_read_exact(sock, buffer, size))
            assert _read_exact(sock, buffer, 2) == b"\r\n"
        while True:
            line = _read_until(sock, buffer, b"\r\n").decode("latin-1")
            if not line:
                break
            name, _, value = line.partition(":")
            trailers[name.strip().lower()] = value.strip()
        body = b"".join(parts)
    else:
        body = _read_exact(sock, buffer, int(headers.get("content-length", "0")))

    return ReceivedRequest(request_line, headers, body, trailers)


Script = list[bytes | Callable[[ReceivedRequest], bytes] | None]


class FakeServer:
    """
    A loopback server that answers requests from a script.

    Each connection it accepts takes the next script (a list of answers, one per
    request; an answer is bytes, a function of the request, or None to close
    the connection without answering). Requests are recorded in `requests`.
    """

    def __init__(self, *scripts: Script) -> None:
        self._scripts = list(scripts)
        self.requests: list[ReceivedRequest] = []
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(IO_TIMEOUT_S)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for script in self._scripts:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(IO_TIMEOUT_S)
            buffer = bytearray()
            with conn:
                for answer in script:
                    try:
                        request = read_request(conn, buffer)
                    except (OSError, ConnectionError):
                        break
                    self.requests.append(request)
                    if answer is None:
                        break
                    conn.sendall(answer(request) if callable(answer) else answer)

    def close(self) -> None:
        """Stop accepting and wait for the serving thread."""
        self._listener.close()
        self._thread.join(IO_TIMEOUT_S)


@contextmanager
def fake_server(*scripts: Script) -> Iterator[FakeServer]:
    """A FakeServer closed at the end of the block."""
    server = FakeServer(*scripts)
    try:
        yield server
    finally:
        server.close()


def ok(body: bytes = b"", status: str = "200 OK", headers: str = "") -> bytes:
    """A Content-Length response."""
    return (
        f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode()
        + body
    )


@contextmanager
def canned_connection(wire: Any, answer: bytes) -> Iterator[Any]:
    """
    A connection over a socket pair whose peer has already written `answer` and
    shut its side: the client reads exactly those bytes, then end of stream.
    """
    ours, theirs = socket.socketpair()
    with theirs:
        theirs.sendall(answer)
        theirs.shutdown(socket.SHUT_WR)
        # The peer stays open until the end of the block: the request the
        # client writes needs somewhere to go.
        connection = wire.Connection.from_fd(ours.detach())
        try:
            yield connection
        finally:
            connection.close()
