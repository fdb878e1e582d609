"""
A minimal Lambda Runtime API that timestamps each step of an invoke.

The general emulator answers like the real service; this server only has to be
exact about time. It runs in the benchmark's own thread, on one selector, so no
other thread of the harness competes with the function for the GIL or a core,
and every timestamp is `time.perf_counter_ns()` taken when the bytes moved:

    exec ─────────────► /next arrives ─► /next served ─────────► response received
         time to /next                   first-invoke duration
    └──────────────────────── cold start ────────────────────────┘

It speaks HTTP/1.1 with keep-alive, `Expect: 100-continue` and chunked request
bodies (streamed responses), which covers the official client (libcurl), our
runtime and the C floor. Listens on 127.0.0.1 only.
"""

import os
import selectors
import socket
import time
import uuid
from dataclasses import dataclass, field

from bench.errors import RunFailedError

API_PREFIX = b"/2018-06-01/runtime"
EXTENSION_PREFIX = b"/2020-01-01/extension"

# Deadline the runtime sees; generous so that no runtime cuts an invoke short.
INVOKE_DEADLINE_MS = 900_000
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench"

# A request head larger than this is not a Runtime API client: drop it.
MAX_HEAD_BYTES = 64 * 1024
RECV_BYTES = 256 * 1024


@dataclass
class Invocation:
    """One event handed to the function and what came back, with timestamps."""

    request_id: str
    payload: bytes
    queued_ns: int
    served_ns: int | None = None
    response_ns: int | None = None
    response_body: bytes | None = None
    error_type: str | None = None
    error_body: bytes | None = None
    sampled: bool = True

    @property
    def done(self) -> bool:
        """True once the function posted a response or an error for it."""
        return self.response_ns is not None


@dataclass
class _Connection:
    """Parsing state of one client connection."""

    sock: socket.socket
    inbuf: bytearray = field(default_factory=bytearray)
    outbuf: bytearray = field(default_factory=bytearray)
    parked_next: bool = False
    parked_extension: bool = False
    continue_sent: bool = False
    close_after_write: bool = False


@dataclass
class _Request:
    """A complete request: method, target, lower-cased headers and body."""

    method: bytes
    target: bytes
    headers: dict[bytes, bytes]
    body: bytes
    received_ns: int


class RuntimeAPIServer:
    """
    Single-threaded, instrumented Runtime API for one function process at a time.

    Use `queue()` to hand out an event, `watch_process()` to learn when the child
    exits, and `poll()` to move bytes; `reset()` between processes.
    """

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._connections: dict[int, _Connection] = {}
        self._pending: list[Invocation] = []
        self._by_id: dict[str, Invocation] = {}
        self.invocations: list[Invocation] = []
        self._pidfd: int | None = None
        self.next_calls_ns: list[int] = []
        self.init_error: bytes | None = None
        self.exited_ns: int | None = None

    @property
    def address(self) -> str:
        """The value of AWS_LAMBDA_RUNTIME_API: "127.0.0.1:port"."""
        host, port = self._listener.getsockname()

        return f"{host}:{port}"

    def close(self) -> None:
        """Close every connection and the listening socket."""
        self.reset()
        self._selector.unregister(self._listener)
        self._listener.close()
        self._selector.close()

    def __enter__(self) -> "RuntimeAPIServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def reset(self) -> None:
        """Forget the previous process: its connections, events and records."""
        for conn in list(self._connections.values()):
            self._drop(conn)
        self._stop_watching()
        self._pending.clear()
        self._by_id.clear()
        self.invocations.clear()
        self.next_calls_ns.clear()
        self.init_error = None
        self.exited_ns = None

    def queue(self, payload: bytes, *, sampled: bool = True) -> Invocation:
        """
        Hand an event to the function: now if it waits on /next, else later.

        Args:
            payload: the event.
            sampled: the X-Ray sampling decision in the trace header. With
                active tracing Lambda samples the first request each second
                (a cold start, usually) and 5 % of the rest.
        """
        invocation = Invocation(
            request_id=str(uuid.uuid4()),
            payload=payload,
            queued_ns=time.perf_counter_ns(),
            sampled=sampled,
        )
        self._by_id[invocation.request_id] = invocation
        self.invocations.append(invocation)
        self._pending.append(invocation)
        for conn in self._connections.values():
            if conn.parked_next:
                self._serve_next(conn)
                break

        return invocation

    def watch_process(self, pid: int) -> None:
        """Record in `exited_ns` the moment the process exits (it is not reaped)."""
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            # Already exited and reaped (e.g. exec failed): nothing to watch.
            self.exited_ns = time.perf_counter_ns()
            return
        self._selector.register(self._pidfd, selectors.EVENT_READ, "exit")

    def _stop_watching(self) -> None:
        if self._pidfd is not None:
            self._selector.unregister(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    def poll(self, timeout_s: float) -> None:
        """Wait at most timeout_s for socket or process events and handle them."""
        for key, events in self._selector.select(max(timeout_s, 0.0)):
            now_ns = time.perf_counter_ns()
            if key.data == "accept":
                self._accept()
            elif key.data == "exit":
                if self.exited_ns is None:
                    self.exited_ns = now_ns
                self._stop_watching()
            else:
                conn = self._connections.get(key.fd)
                if conn is None:
                    continue
                if events & selectors.EVENT_WRITE:
                    self._flush(conn)
                if events & selectors.EVENT_READ and key.fd in self._connections:
                    self._read(conn, now_ns)

    def wait_for(self, invocation: Invocation, timeout_s: float) -> None:
        """
        Serve until the invocation is answered.

        Raises:
            RunFailedError: the process exited, reported an init error, or the
                timeout passed first.
        """
        deadline = time.monotonic() + timeout_s
        while not invocation.done:
            if self.init_error is not None:
                raise RunFailedError(
                    "init error: {}".format(
                        self.init_error[:300].decode(errors="replace")
                    )
                )
            if self.exited_ns is not None:
                raise RunFailedError("the process exited before responding")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunFailedError(f"no response within {timeout_s:.0f} s")
            self.poll(remaining)

    def wait_for_next_call(self, count: int, timeout_s: float) -> bool:
        """Serve until /next was called `count` times; False on exit or timeout."""
        deadline = time.monotonic() + timeout_s
        while len(self.next_calls_ns) < count:
            remaining = deadline - time.monotonic()
            if self.exited_ns is not None or remaining <= 0:
                return False
            self.poll(remaining)

        return True

    # -- connections ------------------------------------------------------------

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(sock)
        self._connections[sock.fileno()] = conn
        self._selector.register(sock, selectors.EVENT_READ, "conn")

    def _drop(self, conn: _Connection) -> None:
        fd = conn.sock.fileno()
        if fd in self._connections:
            del self._connections[fd]
            self._selector.unregister(conn.sock)
        conn.sock.close()

    def _read(self, conn: _Connection, now_ns: int) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.inbuf += data
        while conn.sock.fileno() in self._connections:
            request = self._parse(conn, now_ns)
            if request is None:
                break
            self._dispatch(conn, request)

    def _send(self, conn: _Connection, data: bytes) -> None:
        conn.outbuf += data
        self._flush(conn)

    def _flush(self, conn: _Connection) -> None:
        try:
            sent = conn.sock.send(conn.outbuf)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(conn)
            return
        del conn.outbuf[:sent]
        events = selectors.EVENT_READ
        if conn.outbuf:
            events |= selectors.EVENT_WRITE
        elif conn.close_after_write:
            self._drop(conn)
            return
        self._selector.modify(conn.sock, events, "conn")

    # -- HTTP/1.1 parsing -------------------------------------------------------

    def _parse(self, conn: _Connection, now_ns: int) -> _Request | None:
        """Return the next complete request in the buffer, or None for more."""
        head_end = conn.inbuf.find(b"\r\n\r\n")
        if head_end < 0:
            if len(conn.inbuf) > MAX_HEAD_BYTES:
                self._drop(conn)
            return None
        lines = bytes(conn.inbuf[:head_end]).split(b"\r\n")
        try:
            method, target, _version = lines[0].split(b" ", 2)
        except ValueError:
            self._drop(conn)
            return None
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()

        # libcurl waits for this before sending a large body.
        if (
            headers.get(b"expect", b"").lower() == b"100-continue"
            and not conn.continue_sent
        ):
            conn.continue_sent = True
            self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")

        body_start = head_end + 4
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parsed = _parse_chunked(conn.inbuf, body_start)
            if parsed is None:
                return None
            body, consumed = parsed
        else:
            length = int(headers.get(b"content-length", b"0"))
            if len(conn.inbuf) < body_start + length:
                return None
            body = bytes(conn.inbuf[body_start : body_start + length])
            consumed = body_start + length
        del conn.inbuf[:consumed]
        conn.continue_sent = False
        if headers.get(b"connection", b"").lower() == b"close":
            conn.close_after_write = True

        return _Request(method, target, headers, body, now_ns)

    # -- Runtime API ------------------------------------------------------------

    def _dispatch(self, conn: _Connection, request: _Request) -> None:
        target = request.target.split(b"?", 1)[0]
        if target.startswith(API_PREFIX):
            self._dispatch_runtime(conn, request, target[len(API_PREFIX) :])
        elif target.startswith(EXTENSION_PREFIX):
            self._dispatch_extension(conn, request, target[len(EXTENSION_PREFIX) :])
        elif request.method == b"PUT":
            # Telemetry and Logs API subscriptions: accepted, nothing is sent.
            self._respond(conn, 200, b"{}")
        else:
            self._respond(conn, 404, b'{"errorMessage":"unknown path"}')

    def _dispatch_runtime(
        self, conn: _Connection, request: _Request, path: bytes
    ) -> None:
        if request.method == b"GET" and path == b"/invocation/next":
            self.next_calls_ns.append(request.received_ns)
            conn.parked_next = True
            if self._pending:
                self._serve_next(conn)
            return
        if request.method == b"POST" and path == b"/init/error":
            self.init_error = request.body or b"(empty init error)"
            self._respond(conn, 202, b'{"status":"OK"}')
            return
        parts = path.split(b"/")
        # b"/invocation/<id>/response" splits into ["", "invocation", id, kind]
        if request.method == b"POST" and len(parts) == 4 and parts[1] == b"invocation":
            invocation = self._by_id.get(parts[2].decode(errors="replace"))
            if invocation is None:
                self._respond(conn, 400, b'{"errorMessage":"unknown request id"}')
                return
            if invocation.done:
                self._respond(conn, 403, b'{"errorMessage":"already answered"}')
                return
            if parts[3] == b"response":
                invocation.response_body = request.body
            elif parts[3] == b"error":
                invocation.error_type = request.headers.get(
                    b"lambda-runtime-function-error-type", b"Unknown"
                ).decode(errors="replace")
                invocation.error_body = request.body
            else:
                self._respond(conn, 404, b'{"errorMessage":"unknown path"}')
                return
            invocation.response_ns = request.received_ns
            self._respond(conn, 202, b'{"status":"OK"}')
            return
        self._respond(conn, 404, b'{"errorMessage":"unknown path"}')

    def _dispatch_extension(
        self, conn: _Connection, request: _Request, path: bytes
    ) -> None:
        if request.method == b"POST" and path == b"/register":
            body = b'{"functionName":"bench","functionVersion":"$LATEST"}'
            self._respond(
                conn, 200, body, [(b"Lambda-Extension-Identifier", b"bench-ext")]
            )
        elif request.method == b"GET" and path == b"/event/next":
            # An internal extension waits here until shutdown: never answered.
            conn.parked_extension = True
        else:
            self._respond(conn, 404, b'{"errorMessage":"unknown path"}')

    def _serve_next(self, conn: _Connection) -> None:
        invocation = self._pending.pop(0)
        conn.parked_next = False
        deadline_ms = int(time.time() * 1000) + INVOKE_DEADLINE_MS
        # X-Ray trace header: Root=1-<epoch seconds, hex>-<96 random bits, hex>,
        # Parent=<64-bit segment id, hex>, Sampled=<0|1>.
        epoch_hex = f"{int(time.time()):08x}"
        random_hex = uuid.uuid4().hex
        trace_id = (
            f"Root=1-{epoch_hex}-{random_hex[:24]};Parent={uuid.uuid4().hex[:16]};"
            f"Sampled={int(invocation.sampled)}"
        )
        headers = [
            (b"Content-Type", b"application/json"),
            (b"Lambda-Runtime-Aws-Request-Id", invocation.request_id.encode()),
            (b"Lambda-Runtime-Deadline-Ms", str(deadline_ms).encode()),
            (b"Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN.encode()),
            (b"Lambda-Runtime-Trace-Id", trace_id.encode()),
            (b"Lambda-Runtime-Invocation-Id", invocation.request_id.encode()),
        ]
        self._respond(conn, 200, invocation.payload, headers)
        invocation.served_ns = time.perf_counter_ns()

    def _respond(
        self,
        conn: _Connection,
        status: int,
        body: bytes,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        reason = _REASONS.get(status, b"Status")
        head = [b"HTTP/1.1 %d %s" % (status, reason)]
        head.extend(b"%s: %s" % pair for pair in headers or [])
        if not headers or all(name != b"Content-Type" for name, _ in headers):
            head.append(b"Content-Type: application/json")
        head.append(b"Content-Length: %d" % len(body))
        self._send(conn, b"\r\n".join(head) + b"\r\n\r\n" + body)


_REASONS = {
    200: b"OK",
    202: b"Accepted",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
}


def _parse_chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """
    Decode a chunked body that starts at `start`.

    Returns the body and the offset just past the trailers, or None while the
    body is incomplete. Trailers (a streamed error's type and body) are skipped.
    """
    body = bytearray()
    offset = start
    while True:
        line_end = buffer.find(b"\r\n", offset)
        if line_end < 0:
            return None
        size = int(bytes(buffer[offset:line_end]).split(b";", 1)[0], 16)
        offset = line_end + 2
        if size == 0:
            trailers_end = buffer.find(b"\r\n\r\n", offset - 2)
            if trailers_end < 0:
                return None
            return bytes(body), trailers_end + 4
        if len(buffer) < offset + size + 2:
            return None
        body += buffer[offset : offset + size]
        offset += size + 2
