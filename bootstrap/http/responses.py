"""Responses, and their serialization into the shape each event source expects.

Wire shapes (what the function returns to the source):

    http-api, function-url   {"statusCode", "headers": {name: "v1,v2"},
    (payload 2.0)             "cookies": [set-cookie...], "body", "isBase64Encoded"}
    rest-api (payload 1.0)   {"statusCode", "headers": {single-valued names},
                              "multiValueHeaders": {repeated names, Set-Cookie},
                              "body", "isBase64Encoded"}
    alb                      {"statusCode", "statusDescription": "200 OK",
                              "headers" or "multiValueHeaders" (as the event had),
                              "body", "isBase64Encoded"}

A StreamingResponse becomes a bootstrap.streaming.StreamingBody whose prelude
carries statusCode, headers and cookies; ALB cannot stream, so it is buffered.
"""

from __future__ import annotations

from binascii import b2a_base64

from bootstrap import codec
from bootstrap.streaming import HTTP_INTEGRATION_CONTENT_TYPE, StreamingBody

# `typing` and `collections.abc` cost a cold start milliseconds; only mypy
# needs them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from typing import Any, TypeAlias

    HeaderValues: TypeAlias = str | Sequence[str]
    Body: TypeAlias = bytes | str | dict[str, Any] | list[Any] | None

# Bodies of these types are text: sent as is when they are valid UTF-8.
_TEXT_TYPES = ("text/",)
_TEXT_SUBTYPES = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml")

# ALB wants a statusDescription ("200 OK"); the phrases of RFC 9110 that a
# service answers with. Importing http.HTTPStatus would pull enum machinery
# onto the cold path for a dozen strings.
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def status_description(status_code: int) -> str:
    """Return the ALB status line text for `status_code`, e.g. "404 Not Found"."""
    return f"{status_code} {_REASONS.get(status_code, 'Unknown')}"


def _normalize_headers(
    headers: Mapping[str, HeaderValues] | None,
) -> list[tuple[str, str]]:
    """Flatten a header mapping into (name, value) pairs, refusing CR and LF."""
    pairs: list[tuple[str, str]] = []
    if not headers:
        return pairs
    for name, values in headers.items():
        for value in (values,) if isinstance(values, str) else values:
            # A CR or LF would let a value forge further headers downstream.
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
                raise ValueError(f"header {name!r} contains CR or LF")
            pairs.append((name, value))

    return pairs


def _is_text(content_type: str) -> bool:
    """Whether a body of this media type is text (sent without base64)."""
    media_type = content_type.split(";", 1)[0].strip().lower()

    return media_type.startswith(_TEXT_TYPES) or any(
        subtype in media_type for subtype in _TEXT_SUBTYPES
    )


class _HeaderedResponse:
    """Headers and cookies shared by buffered and streamed responses."""

    __slots__ = ("cookies", "header_pairs", "status_code")

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, HeaderValues] | None,
        cookies: Sequence[str] | None,
    ) -> None:
        if not isinstance(status_code, int) or not 100 <= status_code <= 599:
            raise ValueError(f"status_code must be an int in 100..599: {status_code!r}")
        self.status_code = status_code
        self.header_pairs: list[tuple[str, str]] = []
        self.cookies: list[str] = list(cookies or ())
        # Set-Cookie given as a header joins the cookies: each source carries
        # cookies its own way (payload 2.0 has a separate list).
        for name, value in _normalize_headers(headers):
            if name.lower() == "set-cookie":
                self.cookies.append(value)
            else:
                self.header_pairs.append((name, value))
        for cookie in self.cookies:
            if "\r" in cookie or "\n" in cookie:
                raise ValueError(f"cookie {cookie!r} contains CR or LF")

    def get_header(self, name: str) -> str | None:
        """Return the first value of header `name` (any case), or None."""
        key = name.lower()
        for header, value in self.header_pairs:
            if header.lower() == key:
                return value

        return None

    def set_header(self, name: str, value: str) -> None:
        """Replace every value of header `name` with `value`."""
        key = name.lower()
        self.header_pairs = [
            pair for pair in self.header_pairs if pair[0].lower() != key
        ]
        self.header_pairs.append((name, value))

    def joined_headers(self) -> dict[str, str]:
        """Headers as one comma-joined value per name (RFC 9110 section 5.3)."""
        joined: dict[str, str] = {}
        names: dict[str, str] = {}
        for name, value in self.header_pairs:
            key = name.lower()
            if key in names:
                joined[names[key]] += "," + value
            else:
                names[key] = name
                joined[name] = value

        return joined

    def multi_headers(self) -> dict[str, list[str]]:
        """Headers as a list of values per name, first spelling of each name."""
        multi: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for name, value in self.header_pairs:
            key = name.lower()
            if key in names:
                multi[names[key]].append(value)
            else:
                names[key] = name
                multi[name] = [value]

        return multi


class Response(_HeaderedResponse):
    """
    A buffered HTTP response.

    The body may be bytes, str, or a dict/list serialized as JSON (with
    Content-Type application/json unless one is set). Set-Cookie headers are
    moved into `cookies`, which holds whole Set-Cookie values.
    """

    __slots__ = ("body",)

    def __init__(
        self,
        status_code: int,
        body: Body = None,
        headers: Mapping[str, HeaderValues] | None = None,
        cookies: Sequence[str] | None = None,
    ) -> None:
        """
        Args:
            status_code: the HTTP status, 100..599.
            body: bytes, str, dict/list (JSON) or None (empty).
            headers: a value or a list of values per name.
            cookies: Set-Cookie values, e.g. "sid=abc; HttpOnly; Secure".

        Raises:
            ValueError: a status out of range or a header with CR/LF.
            TypeError: a body of another type.
        """
        super().__init__(status_code, headers, cookies)
        if body is None:
            self.body = b""
        elif isinstance(body, bytes):
            self.body = body
        elif isinstance(body, str):
            self.body = body.encode()
            if self.get_header("content-type") is None:
                self.set_header("Content-Type", "text/plain; charset=utf-8")
        elif isinstance(body, dict | list):
            self.body = codec.dumps(body)
            if self.get_header("content-type") is None:
                self.set_header("Content-Type", "application/json")
        else:
            raise TypeError(f"unsupported response body type {type(body).__name__}")

    def without_body(self) -> Response:
        """Return this response with an empty body and the same headers (HEAD)."""
        return Response(self.status_code, b"", self.multi_headers(), list(self.cookies))

    def __repr__(self) -> str:
        return f"<Response {self.status_code}, {len(self.body)} bytes>"


class StreamingResponse(_HeaderedResponse):
    """An HTTP response whose body is sent chunk by chunk as it is produced."""

    __slots__ = ("chunks",)

    def __init__(
        self,
        status_code: int,
        chunks: Iterable[bytes],
        headers: Mapping[str, HeaderValues] | None = None,
        cookies: Sequence[str] | None = None,
    ) -> None:
        """
        Args:
            status_code: the HTTP status, 100..599.
            chunks: the body, one bytes chunk at a time.
            headers: a value or a list of values per name.
            cookies: Set-Cookie values.
        """
        super().__init__(status_code, headers, cookies)
        self.chunks = chunks

    def without_body(self) -> StreamingResponse:
        """Return this response with no chunks and the same headers (HEAD)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            # Free a generator the handler started: its body is never sent.
            close()

        return StreamingResponse(
            self.status_code, (), self.multi_headers(), list(self.cookies)
        )


def _encode_body(response: Response) -> tuple[str, bool]:
    """Return (body, isBase64Encoded): text stays text, anything else base64."""
    content_type = response.get_header("content-type") or "application/octet-stream"
    if _is_text(content_type) or not response.body:
        try:
            return response.body.decode(), False
        except UnicodeDecodeError:
            pass  # declared as text but is not UTF-8: base64 keeps every byte

    return b2a_base64(response.body, newline=False).decode("ascii"), True


def _serialize_payload_v2(response: Response) -> dict[str, Any]:
    body, is_base64 = _encode_body(response)

    return {
        "statusCode": response.status_code,
        "headers": response.joined_headers(),
        "cookies": list(response.cookies),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _serialize_rest(response: Response) -> dict[str, Any]:
    body, is_base64 = _encode_body(response)
    headers: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, values in response.multi_headers().items():
        if len(values) == 1:
            headers[name] = values[0]
        else:
            multi[name] = values
    if response.cookies:
        multi["Set-Cookie"] = list(response.cookies)

    return {
        "statusCode": response.status_code,
        "headers": headers,
        "multiValueHeaders": multi,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _serialize_alb(response: Response, multi_value_headers: bool) -> dict[str, Any]:
    body, is_base64 = _encode_body(response)
    result: dict[str, Any] = {
        "statusCode": response.status_code,
        "statusDescription": status_description(response.status_code),
        "body": body,
        "isBase64Encoded": is_base64,
    }
    if multi_value_headers:
        multi = response.multi_headers()
        if response.cookies:
            multi["Set-Cookie"] = list(response.cookies)
        result["multiValueHeaders"] = multi
    else:
        headers = response.joined_headers()
        if response.cookies:
            # NOTE: a target group without multi-value headers can carry one
            # Set-Cookie only, and cookies cannot be comma-joined (Expires has
            # commas). The last one wins, loudly; enable multi-value headers on
            # the target group to send several.
            if len(response.cookies) > 1:
                # `logging` costs a cold start about 10 ms and the runtime
                # does not load it: import it only for this rare warning.
                import logging  # noqa: PLC0415  # lazy for the cold path

                logging.getLogger(__name__).warning(
                    "ALB target group without multi-value headers: sending only "
                    "the last of %d cookies; enable lambda.multi_value_headers",
                    len(response.cookies),
                )
            headers["Set-Cookie"] = response.cookies[-1]
        result["headers"] = headers

    return result


def _joined_chunks(chunks: Iterable[bytes]) -> bytes:
    return b"".join(chunks)


def serialize_response(
    response: Response | StreamingResponse,
    source: str,
    multi_value_headers: bool = False,
) -> dict[str, Any] | StreamingBody:
    """
    Turn a response into what the event source expects the function to return.

    Args:
        response: the response to send.
        source: the Request.source of the event being answered.
        multi_value_headers: the event came with multiValueHeaders (ALB).

    Returns:
        The result dict, or a StreamingBody for a streamed response.
    """
    if isinstance(response, StreamingResponse):
        if source == "alb":
            # ALB cannot stream a Lambda response: buffer it.
            buffered = Response(
                response.status_code,
                _joined_chunks(response.chunks),
                response.multi_headers(),
                response.cookies,
            )
            return _serialize_alb(buffered, multi_value_headers)
        return StreamingBody(
            _iter_bytes(response.chunks),
            content_type=HTTP_INTEGRATION_CONTENT_TYPE,
            prelude={
                "statusCode": response.status_code,
                "headers": response.joined_headers(),
                "cookies": list(response.cookies),
            },
        )
    if source == "rest-api":
        return _serialize_rest(response)
    if source == "alb":
        return _serialize_alb(response, multi_value_headers)

    return _serialize_payload_v2(response)


def _iter_bytes(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Pass chunks through, refusing anything but bytes with a clear error."""
    for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"a streamed body yields bytes, not {type(chunk).__name__}")
        yield bytes(chunk)
