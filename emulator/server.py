"""The emulator's HTTP server: the Runtime API and the invoke endpoint, one port.

Routes (as on the reference emulator, but on one loopback port):

    GET  /2018-06-01/runtime/invocation/next
    POST /2018-06-01/runtime/invocation/{request_id}/response
    POST /2018-06-01/runtime/invocation/{request_id}/error
    POST /2018-06-01/runtime/init/error
    GET  /2018-06-01/runtime/restore/next
    POST /2018-06-01/runtime/restore/error
    POST /2015-03-31/functions/function/invocations
    POST /2020-01-01/extension/register
    GET  /2020-01-01/extension/event/next
    POST /2020-01-01/extension/init/error
    POST /2020-01-01/extension/exit/error

Every Runtime API exchange is recorded (`RuntimeExchange`) so that tests can
check what the runtime sent, such as the invocation id it echoes.
"""

import base64
import binascii
import json
import logging
import select
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from emulator.environment import (
    ERROR_TRAILERS,
    EXTENSION_EVENTS,
    FUNCTION_NAME,
    FUNCTION_VERSION,
    MAX_BUFFERED_RESPONSE_BYTES,
    Answer,
    Chunk,
    End,
    ExecutionEnvironment,
    Head,
    Invocation,
    NextCursor,
    PostRefusedError,
    error_body,
)
from emulator.errors import ProtocolError
from emulator.wire import (
    ChunkedReader,
    LoopbackHTTPServer,
    encode_chunk,
    encode_last_chunk,
)

logger = logging.getLogger(__name__)

RUNTIME_PREFIX = "/2018-06-01/runtime/"
EXTENSION_PREFIX = "/2020-01-01/extension/"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"

# Invoke payloads are limited like Lambda's synchronous invokes.
MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024

# Error documents the runtime may post are limited like responses; what is over
# the limit is still read (so the connection stays usable) but thrown away.
DRAIN_SLICE_BYTES = 256 * 1024

STREAMING_MODE = "streaming"

# Exchanges kept for inspection; a long `serve` session forgets the oldest.
KEPT_EXCHANGES = 10_000

INIT_ERROR_PATHS = (RUNTIME_PREFIX + "init/error", RUNTIME_PREFIX + "restore/error")


@dataclass(frozen=True)
class RuntimeExchange:
    """
    One Runtime API request and the emulator's answer.

    Header names are lower case. `at_s` is time.monotonic() when the emulator
    answered (for `/next`: when it handed the invoke out).
    """

    method: str
    path: str
    request_headers: dict[str, str]
    status_code: int
    response_headers: dict[str, str]
    at_s: float


class EmulatorServer(LoopbackHTTPServer):
    """A threading HTTP server bound to loopback that knows its environment."""

    def __init__(self, environment: ExecutionEnvironment, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), RequestHandler)
        self.environment = environment
        self.exchanges: deque[RuntimeExchange] = deque(maxlen=KEPT_EXCHANGES)
        self.exchanges_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port actually bound (useful when 0 was asked for)."""
        return int(self.server_address[1])

    def record(self, exchange: RuntimeExchange) -> None:
        """Keep one Runtime API exchange for later inspection."""
        with self.exchanges_lock:
            self.exchanges.append(exchange)


class RequestHandler(BaseHTTPRequestHandler):
    """Routes one connection's requests; keep-alive, like the real endpoints."""

    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def setup(self) -> None:
        """Start each connection with no invoke handed out on it yet."""
        super().setup()
        # Headers and body leave in separate writes; with Nagle's algorithm
        # and the peer's delayed ACK each answer would wait ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.cursor = NextCursor()

    # ----------------------------------------------------------------- routing

    def do_GET(self) -> None:
        """Runtime API long poll and restore check."""
        path = self.path.split("?", 1)[0]
        if path == RUNTIME_PREFIX + "invocation/next":
            self._next()
        elif path == EXTENSION_PREFIX + "event/next":
            self._extension_next()
        elif path == RUNTIME_PREFIX + "restore/next":
            # No snapshot is ever taken here: restoring is immediately done.
            self._answer_runtime(200, b"")
        elif path == INVOKE_PATH or _invocation_post(path) or path in INIT_ERROR_PATHS:
            self._wrong_method()
        else:
            self._not_found()

    def do_POST(self) -> None:
        """Runtime API posts and the invoke endpoint."""
        path = self.path.split("?", 1)[0]
        post = _invocation_post(path)
        if path == INVOKE_PATH:
            self._invoke()
        elif path in INIT_ERROR_PATHS:
            self._init_error()
        elif path == EXTENSION_PREFIX + "register":
            self._register_extension()
        elif path in (EXTENSION_PREFIX + "init/error", EXTENSION_PREFIX + "exit/error"):
            self._extension_error()
        elif post is not None:
            self._post(*post)
        elif path in (
            RUNTIME_PREFIX + "invocation/next",
            RUNTIME_PREFIX + "restore/next",
        ):
            self._wrong_method()
        else:
            self._not_found()

    def do_PUT(self) -> None:
        """Nothing takes PUT; answer so the client is not left waiting."""
        self._not_found()

    do_DELETE = do_PUT
    do_PATCH = do_PUT

    # ------------------------------------------------------------ runtime API

    def _next(self) -> None:
        environment = self.server.environment
        try:
            invocation = environment.next_invocation(self.cursor, self._peer_gone)
        except PostRefusedError as refused:
            self._refuse(refused)
            return
        if invocation is None:
            # The process this poll belongs to is gone: drop the connection.
            self.close_connection = True
            return

        headers = invocation.runtime_headers(environment.function_arn())
        headers["Content-Type"] = "application/json"
        try:
            self._answer_runtime(200, invocation.payload, headers)
        except OSError:
            logger.info(
                "runtime left before invoke %s was handed out", invocation.request_id
            )
            environment.hand_back(invocation)
            self.close_connection = True

    def _post(self, request_id: str, kind: str) -> None:
        environment = self.server.environment
        try:
            invocation = environment.claim(request_id)
        except PostRefusedError as refused:
            self._drain_body()
            self._refuse(refused)
            return

        streaming = (
            kind == "response"
            and (
                self.headers.get("Lambda-Runtime-Function-Response-Mode") or ""
            ).lower()
            == STREAMING_MODE
        )
        if streaming:
            self._stream(invocation)
            return

        try:
            body, size = self._read_body(MAX_BUFFERED_RESPONSE_BYTES)
        except (ProtocolError, OSError) as exc:
            environment.abandon(invocation)
            self._protocol_error(exc)
            return

        if body is None:
            message = (
                f"Response payload size ({size} bytes) exceeded maximum allowed "
                f"payload size ({MAX_BUFFERED_RESPONSE_BYTES} bytes)."
            )
            environment.answer(
                invocation,
                Answer(
                    200,
                    error_body("Function.ResponseSizeTooLarge", message),
                    function_error="Unhandled",
                ),
            )
            self._answer_runtime(
                413,
                error_body(
                    "RequestEntityTooLarge",
                    "Exceeded maximum allowed payload size "
                    f"({MAX_BUFFERED_RESPONSE_BYTES} bytes).",
                ),
            )
            return

        if kind == "response":
            content_type = self.headers.get("Content-Type") or "application/json"
            environment.answer(invocation, Answer(200, body, content_type))
        else:
            environment.answer(
                invocation,
                Answer(200, self._error_document(body), function_error="Unhandled"),
            )
        self._answer_runtime(202, b'{"status":"OK"}')

    def _stream(self, invocation: Invocation) -> None:
        environment = self.server.environment
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        environment.start_stream(invocation, content_type)

        forwarding = True
        try:
            reader, pieces = self._body_pieces()
            for piece in pieces:
                if forwarding:
                    forwarding = environment.stream_chunk(invocation, piece)
        except (ProtocolError, OSError) as exc:
            environment.break_stream(
                invocation, f"The response stream broke off: {exc}"
            )
            self._protocol_error(exc)
            return

        environment.end_stream(invocation, reader.trailers if reader else {})
        if forwarding:
            self._answer_runtime(202, b'{"status":"OK"}')
        else:
            self._answer_runtime(
                413,
                error_body("RequestEntityTooLarge", "The response stream was cut off."),
            )

    def _init_error(self) -> None:
        try:
            body, _ = self._read_body(MAX_BUFFERED_RESPONSE_BYTES)
        except (ProtocolError, OSError) as exc:
            self._protocol_error(exc)
            return

        document = self._error_document(body or b"")
        self.server.environment.init_error(
            Answer(502, document, function_error="Unhandled")
        )
        self._answer_runtime(202, b'{"status":"OK"}')

    # ------------------------------------------------------------- extensions

    def _register_extension(self) -> None:
        try:
            body, _ = self._read_body(64 * 1024)
        except (ProtocolError, OSError) as exc:
            self._protocol_error(exc)
            return
        name = self.headers.get("Lambda-Extension-Name")
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            document = None
        events = document.get("events", []) if isinstance(document, dict) else None
        if (
            not name
            or not isinstance(events, list)
            or not set(events) <= EXTENSION_EVENTS
        ):
            self._answer_runtime(
                400,
                error_body(
                    "Extension.InvalidRequest",
                    "Need a Lambda-Extension-Name header and events within "
                    "INVOKE and SHUTDOWN",
                ),
            )
            return

        environment = self.server.environment
        extension = environment.register_extension(name, frozenset(events))
        logger.info("extension %s registered for %s", name, sorted(events))
        answer = {
            "functionName": FUNCTION_NAME,
            "functionVersion": FUNCTION_VERSION,
            "handler": environment.handler(),
        }
        self._answer_runtime(
            200,
            json.dumps(answer).encode(),
            {"Lambda-Extension-Identifier": extension.identifier},
        )

    def _extension_next(self) -> None:
        identifier = self.headers.get("Lambda-Extension-Identifier") or ""
        try:
            event = self.server.environment.next_extension_event(
                identifier, self._peer_gone
            )
        except PostRefusedError as refused:
            self._refuse(refused)
            return
        if event is None:
            self.close_connection = True
            return

        self._answer_runtime(
            200,
            json.dumps(event).encode(),
            {"Lambda-Extension-Event-Identifier": str(uuid.uuid4())},
        )

    def _extension_error(self) -> None:
        try:
            body, _ = self._read_body(MAX_BUFFERED_RESPONSE_BYTES)
        except (ProtocolError, OSError) as exc:
            self._protocol_error(exc)
            return
        logger.warning(
            "extension reported %s: %s",
            self.headers.get("Lambda-Extension-Function-Error-Type") or "an error",
            (body or b"")[:500],
        )
        self._answer_runtime(202, b'{"status":"OK"}')

    def _error_document(self, body: bytes | None) -> bytes:
        """The error as the caller sees it: the runtime's JSON, or one built here."""
        error_type = (
            self.headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown"
        )
        try:
            document = json.loads(body or b"")
        except ValueError:
            document = None
        if isinstance(document, dict):
            return body or b""

        return error_body(error_type, (body or b"").decode("utf-8", "replace"))

    # ---------------------------------------------------------------- invokes

    def _invoke(self) -> None:
        try:
            payload, _ = self._read_body(MAX_INVOKE_PAYLOAD_BYTES)
        except (ProtocolError, OSError) as exc:
            self._protocol_error(exc)
            return
        if payload is None:
            self._send(
                413,
                error_body(
                    "RequestTooLargeException",
                    f"Request must be smaller than {MAX_INVOKE_PAYLOAD_BYTES} bytes "
                    "for the InvokeFunction operation",
                ),
                {"Content-Type": "application/json"},
            )
            return

        invocation = Invocation(
            payload or b"{}",
            trace_id=self.headers.get("X-Amzn-Trace-Id"),
            client_context=_client_context(self.headers.get("X-Amz-Client-Context")),
            cognito_identity=self.headers.get("X-Amz-Cognito-Identity"),
            tenant_id=self.headers.get("X-Amz-Tenant-Id"),
        )
        self.server.environment.submit(invocation)
        try:
            self._relay(invocation)
        except OSError:
            # The caller hung up; the invoke still runs to its end.
            self.close_connection = True

    def _relay(self, invocation: Invocation) -> None:
        chunked = False
        while True:
            part = invocation.parts.get()
            if isinstance(part, Head):
                chunked = part.streaming
                self.send_response(part.status_code)
                for name, value in part.headers.items():
                    self.send_header(name, value)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.send_header("Trailer", ", ".join(ERROR_TRAILERS))
                self.end_headers()
            elif isinstance(part, Chunk):
                self.wfile.write(encode_chunk(part.data) if chunked else part.data)
                self.wfile.flush()
            elif isinstance(part, End):
                if chunked:
                    self.wfile.write(encode_last_chunk(part.trailers))
                self.wfile.flush()
                return

    # --------------------------------------------------------------- plumbing

    def _body_pieces(self) -> tuple[ChunkedReader | None, Any]:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            reader = ChunkedReader(self.rfile)
            return reader, iter(reader)

        length = self._content_length()

        def fixed() -> Any:
            remaining = length
            while remaining:
                piece = self.rfile.read(min(remaining, DRAIN_SLICE_BYTES))
                if not piece:
                    raise ProtocolError("peer closed before the end of the body")
                remaining -= len(piece)
                yield piece

        return None, fixed()

    def _read_body(self, limit_bytes: int) -> tuple[bytes | None, int]:
        """
        Read the whole request body; None (with its size) when over the limit.

        What goes past the limit is read and discarded, so that the connection
        stays usable and the peer is not cut off mid-write.
        """
        _, pieces = self._body_pieces()
        kept: list[bytes] = []
        size = 0
        for piece in pieces:
            size += len(piece)
            if size <= limit_bytes:
                kept.append(piece)
            else:
                kept.clear()
        if size > limit_bytes:
            return None, size

        return b"".join(kept), size

    def _drain_body(self) -> None:
        try:
            self._read_body(0)
        except (ProtocolError, OSError):
            self.close_connection = True

    def _content_length(self) -> int:
        text = self.headers.get("Content-Length") or "0"
        if not text.isdigit():
            raise ProtocolError(f"bad Content-Length {text[:40]!r}")

        return int(text)

    def _peer_gone(self) -> bool:
        """True when the runtime closed its end while we were long-polling."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
        except (OSError, ValueError):
            return True

        # Readable with nothing to read is the end of the stream.
        return peeked == b""

    def _refuse(self, refused: PostRefusedError) -> None:
        logger.info(
            "refused %s %s with %d: %s",
            self.command,
            self.path,
            refused.status_code,
            refused.message,
        )
        try:
            self._answer_runtime(
                refused.status_code, error_body(refused.error_type, refused.message)
            )
        finally:
            if refused.after_answer is not None:
                refused.after_answer()

    def _protocol_error(self, exc: Exception) -> None:
        logger.warning("bad request on %s (%s); closing the connection", self.path, exc)
        self.close_connection = True
        try:
            self._answer_runtime(400, error_body("InvalidRequest", str(exc)))
        except OSError:
            pass

    def _wrong_method(self) -> None:
        self._drain_body()
        self._answer_runtime(405, error_body("MethodNotAllowed", "Wrong method"))

    def _not_found(self) -> None:
        self._drain_body()
        self._send(
            404,
            error_body("NotFound", f"No route for {self.command} {self.path}"),
            {"Content-Type": "application/json"},
        )

    def _answer_runtime(
        self, status_code: int, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        self._send(status_code, body, headers)
        self.server.record(
            RuntimeExchange(
                method=self.command,
                path=self.path,
                request_headers={
                    name.lower(): value for name, value in self.headers.items()
                },
                status_code=status_code,
                response_headers={
                    name.lower(): value for name, value in headers.items()
                },
                at_s=time.monotonic(),
            )
        )

    def _send(self, status_code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status_code)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        """Access log at DEBUG: the function's own output is what people read."""
        logger.debug("%s - " + format, self.address_string(), *args)


def _client_context(header: str | None) -> str | None:
    """
    The client context as the runtime gets it: JSON text.

    The Invoke API carries it base64-encoded; plain JSON is passed on as is.
    """
    if not header:
        return None
    try:
        return base64.b64decode(header, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return header


def _invocation_post(path: str) -> tuple[str, str] | None:
    """(request_id, "response" | "error") for an invoke's post path, else None."""
    if not path.startswith(RUNTIME_PREFIX + "invocation/"):
        return None
    parts = path[len(RUNTIME_PREFIX) :].split("/")
    if len(parts) != 3 or not parts[1] or parts[2] not in ("response", "error"):
        return None

    return parts[1], parts[2]
