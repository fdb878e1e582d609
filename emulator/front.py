"""The HTTP front: API Gateway HTTP API (payload 2.0) in front of the function.

Each HTTP request becomes the event API Gateway sends on its `$default` route;
the function's answer goes back the way API Gateway maps it:

- a dict with `statusCode`: that status, `headers`, `cookies` as Set-Cookie
  headers, `body` (base64-decoded when `isBase64Encoded`);
- any other JSON value: 200, application/json, that JSON as the body;
- a streamed answer with the HTTP integration content type: the JSON prelude
  (statusCode, headers, cookies), 8 NUL bytes, then the body, forwarded to the
  client chunk by chunk as it arrives;
- a function error, a timeout or an answer that is not valid: 502
  {"message": "Internal Server Error"}.
"""

import base64
import binascii
import json
import logging
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote

from emulator.environment import Chunk, End, Head, Invocation
from emulator.errors import EmulatorError, ProtocolError
from emulator.wire import (
    ChunkedReader,
    LoopbackHTTPServer,
    encode_chunk,
    encode_last_chunk,
)

logger = logging.getLogger(__name__)

# API Gateway's own limit on a request payload.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024

# Placeholders API Gateway would fill with the real account and API.
ACCOUNT_ID = "123456789012"
API_ID = "emulator01"

# Streamed HTTP answers: JSON prelude, then this separator, then the body.
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_SEPARATOR = b"\x00" * 8
MAX_PRELUDE_BYTES = 1024 * 1024

# Bodies of these media types reach the function as text; the rest as base64.
TEXT_MEDIA_TYPES = (
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
    "application/graphql",
)

BAD_GATEWAY_BODY = b'{"message":"Internal Server Error"}'


class FunctionAnswerError(EmulatorError):
    """The function's answer cannot be mapped to an HTTP response (502)."""


@dataclass
class HttpAnswer:
    """An HTTP response as API Gateway would write it."""

    status_code: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def is_text(content_type: str | None, body: bytes) -> bool:
    """Whether API Gateway would pass this body as text rather than base64."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type:
        textual = (
            media_type.startswith("text/")
            or media_type in TEXT_MEDIA_TYPES
            or media_type.endswith(("+json", "+xml"))
        )
        if not textual:
            return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False

    return True


def build_event(  # noqa: PLR0913 - the parts of one HTTP request
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    source_ip: str,
    now_s: float | None = None,
) -> dict[str, Any]:
    """
    The payload 2.0 event API Gateway sends for one request on `$default`.

    Args:
        method: the request method.
        target: the request target as sent (path and query string).
        headers: the request headers in order, duplicates included.
        body: the request body.
        source_ip: the client's address.
        now_s: the request time (epoch seconds); now when None.
    """
    now_s = time.time() if now_s is None else now_s
    encoded_path, _, raw_query = target.partition("?")
    # HTTP APIs hand the function the path already percent-decoded, in
    # `rawPath` and `requestContext.http.path` alike (REST APIs, Function URLs
    # and ALB keep it encoded); the router relies on that difference.
    raw_path = unquote(encoded_path)

    # Header names are lower-cased and repeats joined with commas; cookies
    # leave the headers for their own list, as API Gateway does.
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value

    host = joined.get("host", "localhost").rsplit(":", 1)[0] or "localhost"
    request_context = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": base64.b64encode(secrets.token_bytes(10)).decode(),
        "routeKey": "$default",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_s)),
        "timeEpoch": int(now_s * 1000),
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined

    # Optional fields are left out when empty, as API Gateway does; the
    # $default route never has path parameters.
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = request_context
    if body:
        if is_text(joined.get("content-type"), body):
            event["body"] = body.decode("utf-8")
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False

    return event


def render_buffered(payload: bytes) -> HttpAnswer:
    """
    Map a buffered function answer to HTTP the way API Gateway (2.0) does.

    Raises:
        FunctionAnswerError: the answer is not JSON or its fields are mistyped.
    """
    try:
        document = json.loads(payload)
    except ValueError as exc:
        raise FunctionAnswerError("the function's answer is not JSON") from exc

    if not isinstance(document, dict) or "statusCode" not in document:
        return HttpAnswer(200, [("Content-Type", "application/json")], payload)

    answer = _render_head(document)
    body = document.get("body")
    if body is None:
        return answer
    if not isinstance(body, str):
        raise FunctionAnswerError("body must be a string")
    if document.get("isBase64Encoded") is True:
        try:
            answer.body = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise FunctionAnswerError("body is not valid base64") from exc
    else:
        answer.body = body.encode("utf-8")

    return answer


def parse_prelude(prelude: bytes) -> HttpAnswer:
    """
    The status and headers a streamed HTTP answer declares before its body.

    Raises:
        FunctionAnswerError: the prelude is not a JSON object of the right shape.
    """
    try:
        document = json.loads(prelude or b"{}")
    except ValueError as exc:
        raise FunctionAnswerError("the stream's prelude is not JSON") from exc
    if not isinstance(document, dict):
        raise FunctionAnswerError("the stream's prelude is not a JSON object")

    return _render_head({"statusCode": 200, **document})


def _render_head(document: dict[str, Any]) -> HttpAnswer:
    status = document.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not 100 <= status <= 599
    ):
        raise FunctionAnswerError("statusCode must be an HTTP status")

    # null counts as absent; any other type is a malformed answer.
    headers = document.get("headers")
    headers = {} if headers is None else headers
    cookies = document.get("cookies")
    cookies = [] if cookies is None else cookies
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise FunctionAnswerError("headers must be an object and cookies a list")
    answer = HttpAnswer(status)
    for name, value in headers.items():
        answer.headers.append((str(name), _header_value(value)))
    for cookie in cookies:
        answer.headers.append(("Set-Cookie", _header_value(cookie)))

    return answer


def _header_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if "\r" in text or "\n" in text:
        raise FunctionAnswerError("a header value holds a line break")

    return text


class FrontServer(LoopbackHTTPServer):
    """The API Gateway stand-in on 127.0.0.1; `submit` starts one invoke."""

    def __init__(self, submit: Callable[[bytes], Invocation], port: int = 3000) -> None:
        super().__init__(("127.0.0.1", port), FrontHandler)
        self.submit = submit

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self.server_address[1])


class FrontHandler(BaseHTTPRequestHandler):
    """One client connection: each request is one invoke of the function."""

    protocol_version = "HTTP/1.1"
    server: FrontServer

    def setup(self) -> None:
        """No Nagle delay: headers and body chunks leave in separate writes."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        """Route every method to the function, as the `$default` route does."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._serve()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ProtocolError, OSError) as exc:
            logger.info("unreadable request body (%s); closing the connection", exc)
            self.close_connection = True
            self._write(
                HttpAnswer(
                    400,
                    [("Content-Type", "application/json")],
                    b'{"message":"Bad Request"}',
                )
            )
            return
        if body is None:
            self._write(
                HttpAnswer(
                    413,
                    [("Content-Type", "application/json")],
                    b'{"message":"Request Entity Too Large"}',
                )
            )
            return

        event = build_event(
            self.command,
            self.path,
            self.headers.items(),
            body,
            source_ip=self.client_address[0],
        )
        invocation = self.server.submit(json.dumps(event).encode())
        request_id = event["requestContext"]["requestId"]
        self._relay(invocation, request_id)

    def _relay(self, invocation: Invocation, request_id: str) -> None:
        head = invocation.parts.get()
        if not isinstance(head, Head):
            self._bad_gateway(request_id)
            return
        failed = head.status_code != 200 or "X-Amz-Function-Error" in head.headers
        if head.streaming and not failed:
            self._relay_stream(invocation, head, request_id)
            return

        body = b"".join(self._drain(invocation))
        if failed:
            logger.info("function failed for %s: %s", request_id, body[:200])
            self._bad_gateway(request_id)
            return
        try:
            answer = render_buffered(body)
        except FunctionAnswerError as exc:
            logger.warning("unusable function answer for %s: %s", request_id, exc)
            self._bad_gateway(request_id)
            return
        answer.headers.append(("Apigw-Requestid", request_id))
        self._write(answer)

    def _relay_stream(
        self, invocation: Invocation, head: Head, request_id: str
    ) -> None:
        content_type = head.headers.get("Content-Type", "")
        pending = b""
        if content_type.split(";", 1)[0].strip() == HTTP_INTEGRATION_CONTENT_TYPE:
            try:
                answer, pending = self._read_prelude(invocation)
            except FunctionAnswerError as exc:
                logger.warning("unusable streamed answer for %s: %s", request_id, exc)
                self._bad_gateway(request_id)
                return
        else:
            answer = HttpAnswer(200, [("Content-Type", content_type)])

        self.send_response(answer.status_code)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Apigw-Requestid", request_id)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(encode_chunk(pending))
        self.wfile.flush()

        while True:
            part = invocation.parts.get()
            if isinstance(part, Chunk):
                self.wfile.write(encode_chunk(part.data))
                self.wfile.flush()
            elif isinstance(part, End):
                break
        if part.trailers.get("X-Amz-Function-Error"):
            # Headers are gone already: cutting the connection short is the
            # only way left to tell the client the body is incomplete.
            logger.info(
                "stream for %s failed mid-way; cutting the connection", request_id
            )
            self.close_connection = True
            return
        self.wfile.write(encode_last_chunk())

    def _read_prelude(self, invocation: Invocation) -> tuple[HttpAnswer, bytes]:
        """The status and headers that open the stream, and the body after them."""
        # The status and headers come first in the stream, before 8 NULs.
        pending = b""
        for part in self._drain(invocation, keep_end=True):
            if isinstance(part, End):
                raise FunctionAnswerError("the stream ended inside its prelude")
            pending += part
            if PRELUDE_SEPARATOR in pending or len(pending) > MAX_PRELUDE_BYTES:
                break
        prelude, separator, rest = pending.partition(PRELUDE_SEPARATOR)
        if not separator:
            raise FunctionAnswerError("no prelude separator in the stream")

        return parse_prelude(prelude), rest

    def _drain(self, invocation: Invocation, keep_end: bool = False) -> Any:
        while True:
            part = invocation.parts.get()
            if isinstance(part, Chunk):
                yield part.data
            elif isinstance(part, End):
                if keep_end:
                    yield part
                return

    def _bad_gateway(self, request_id: str) -> None:
        self._write(
            HttpAnswer(
                502,
                [("Content-Type", "application/json"), ("Apigw-Requestid", request_id)],
                BAD_GATEWAY_BODY,
            )
        )

    def _write(self, answer: HttpAnswer) -> None:
        self.send_response(answer.status_code)
        for name, value in answer.headers:
            self.send_header(name, value)
        body = b"" if self.command == "HEAD" else answer.body
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            kept: list[bytes] = []
            size = 0
            for piece in ChunkedReader(self.rfile):
                size += len(piece)
                if size <= MAX_REQUEST_BODY_BYTES:
                    kept.append(piece)
            return b"".join(kept) if size <= MAX_REQUEST_BODY_BYTES else None

        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit():
            raise ProtocolError(f"bad Content-Length {length_text[:40]!r}")
        length = int(length_text)
        if length > MAX_REQUEST_BODY_BYTES:
            # Not worth reading: answer and drop the connection.
            self.close_connection = True
            return None
        body = self.rfile.read(length)
        if len(body) != length:
            raise ProtocolError("client closed before the end of the body")

        return body

    def log_message(self, format: str, *args: Any) -> None:
        """Access log at INFO, through logging rather than raw stderr."""
        logger.info("%s - " + format, self.address_string(), *args)
