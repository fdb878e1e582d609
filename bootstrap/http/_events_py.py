"""Pure-Python twin of bootstrap.http.events (selected by BOOTSTRAP_NO_EXTENSIONS).

It exists so the parser runs where the extension is not built and so the
tests can check that both forms agree; behaviour and messages are identical.
"""

from __future__ import annotations

from binascii import Error as BinasciiError
from binascii import a2b_base64

from bootstrap.http.errors import BadRequestError
from bootstrap.http.limits import (
    MAX_BODY_BYTES,
    MAX_HEADER_CHARS_ALB,
    MAX_HEADER_CHARS_API_GATEWAY,
    MAX_METHOD_CHARS,
)
from bootstrap.http.request import Authorizer, Headers, Request

# `typing` costs a cold start milliseconds; only mypy needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# RFC 9110 tchar: what a method token may contain.
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
# Identity fields of a REST API event that are about the network, not IAM.
_NOT_IAM_FIELDS = frozenset(("sourceIp", "userAgent", "clientCert"))


# --- field access -------------------------------------------------------------


def _field(mapping: dict[str, Any], key: str, path: str, kind: type) -> Any:
    value = mapping.get(key)
    if value is None:
        raise BadRequestError(f"the event has no {path}")
    if not isinstance(value, kind):
        raise BadRequestError(f"{path} must be {_KIND_NAMES[kind]}")

    return value


def _optional(mapping: dict[str, Any], key: str, path: str, kind: type) -> Any:
    value = mapping.get(key)
    if value is not None and not isinstance(value, kind):
        raise BadRequestError(f"{path} must be {_KIND_NAMES[kind]}")

    return value


_KIND_NAMES: dict[type, str] = {
    str: "a string",
    dict: "an object",
    list: "an array",
    bool: "true or false",
}


def _string_map(mapping: dict[str, Any], key: str, path: str) -> dict[str, str]:
    raw = _optional(mapping, key, path, dict)
    if not raw:
        return {}
    for name, value in raw.items():
        if not isinstance(value, str):
            raise BadRequestError(f"{path}.{name} must be a string")

    return dict(raw)


def _string_lists(
    mapping: dict[str, Any], key: str, path: str
) -> list[tuple[str, str]]:
    raw = _optional(mapping, key, path, dict)
    pairs: list[tuple[str, str]] = []
    if not raw:
        return pairs
    for name, values in raw.items():
        if not isinstance(values, list):
            raise BadRequestError(f"{path}.{name} must be an array of strings")
        for value in values:
            if not isinstance(value, str):
                raise BadRequestError(f"{path}.{name} must be an array of strings")
            pairs.append((name, value))

    return pairs


# --- decoding -----------------------------------------------------------------


def unquote(text: str, plus_is_space: bool) -> str:
    """
    Percent-decode `text` as UTF-8.

    Args:
        text: the encoded text.
        plus_is_space: decode "+" as a space (query strings, form encoding).

    Raises:
        BadRequestError: a "%" not followed by two hex digits, or bytes that
            are not UTF-8.
    """
    if plus_is_space and "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    parts = text.split("%")
    decoded = bytearray(parts[0].encode("utf-8", "surrogatepass"))
    for part in parts[1:]:
        if len(part) < 2 or part[0] not in _HEX_DIGITS or part[1] not in _HEX_DIGITS:
            raise BadRequestError(f"invalid percent-encoding in {text[:100]!r}")
        decoded.append(int(part[:2], 16))
        decoded += part[2:].encode("utf-8", "surrogatepass")
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            f"percent-encoded bytes are not UTF-8 in {text[:100]!r}"
        ) from exc


def parse_query_string(raw: str) -> dict[str, list[str]]:
    """Parse "a=1&a=2&b" into {"a": ["1", "2"], "b": [""]}, percent-decoded."""
    query: dict[str, list[str]] = {}
    for pair in raw.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        query.setdefault(unquote(name, True), []).append(unquote(value, True))

    return query


def _add_cookies(cookies: dict[str, str], header: str) -> None:
    # "a=1; b=2". A piece without "=" is not a cookie; browsers send such
    # leftovers, and refusing the whole request for them would help no one.
    for piece in header.split(";"):
        name, sep, value = piece.partition("=")
        name = name.strip()
        if sep and name and name not in cookies:
            cookies[name] = value.strip()


def _decode_body(event: dict[str, Any]) -> bytes:
    body = _optional(event, "body", "body", str)
    is_base64 = _optional(event, "isBase64Encoded", "isBase64Encoded", bool)
    if not body:
        return b""
    if is_base64:
        # Four base64 characters carry three bytes.
        if len(body) > (MAX_BODY_BYTES + 2) // 3 * 4:
            raise BadRequestError(f"the body exceeds {MAX_BODY_BYTES} bytes")
        try:
            return a2b_base64(body, strict_mode=True)
        except (BinasciiError, ValueError) as exc:
            raise BadRequestError("the body is not valid base64") from exc
    if len(body) > MAX_BODY_BYTES:
        raise BadRequestError(f"the body exceeds {MAX_BODY_BYTES} bytes")
    try:
        data: bytes = body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequestError("the body is not valid UTF-8 text") from exc
    if len(data) > MAX_BODY_BYTES:
        raise BadRequestError(f"the body exceeds {MAX_BODY_BYTES} bytes")

    return data


def _method(value: str) -> str:
    if not value or len(value) > MAX_METHOD_CHARS or not set(value) <= _TOKEN_CHARS:
        raise BadRequestError(f"invalid HTTP method {value[:MAX_METHOD_CHARS]!r}")

    return value.upper()


def _path(value: str, path: str) -> str:
    if not value.startswith("/"):
        raise BadRequestError(f"{path} must start with /")

    return value


def _check_header_size(
    headers: Headers, path: str, query_chars: int, limit_chars: int
) -> None:
    total = len(path) + query_chars
    for name, value in headers.items():
        total += len(name) + len(value)
    if total > limit_chars:
        raise BadRequestError(
            f"the request line and headers exceed {limit_chars} characters"
        )


# --- sources ------------------------------------------------------------------


def detect_source(event: Any) -> str | None:
    """
    Name the source of an event from its shape, without validating it.

    Returns:
        "http-api", "function-url", "rest-api", "alb", or None when the event
        is not one of them.
    """
    if not isinstance(event, dict):
        return None
    context = event.get("requestContext")
    if isinstance(context, dict) and "elb" in context:
        return "alb"
    if event.get("version") == "2.0":
        domain = context.get("domainName") if isinstance(context, dict) else None
        if isinstance(domain, str) and ".lambda-url." in domain:
            return "function-url"
        return "http-api"
    if "httpMethod" in event:
        return "rest-api"

    return None


def _authorizer_v2(context: dict[str, Any]) -> Authorizer:
    raw = _optional(context, "authorizer", "requestContext.authorizer", dict)
    if not raw:
        return Authorizer()
    path = "requestContext.authorizer"
    jwt = _optional(raw, "jwt", path + ".jwt", dict)
    claims = _optional(jwt, "claims", path + ".jwt.claims", dict) if jwt else None

    return Authorizer(
        jwt_claims=claims,
        lambda_context=_optional(raw, "lambda", path + ".lambda", dict),
        iam=_optional(raw, "iam", path + ".iam", dict),
    )


def _authorizer_v1(context: dict[str, Any], identity: dict[str, Any]) -> Authorizer:
    path = "requestContext.authorizer"
    raw = _optional(context, "authorizer", path, dict) or {}
    claims = _optional(raw, "claims", path + ".claims", dict)
    jwt = _optional(raw, "jwt", path + ".jwt", dict)
    if claims is None and jwt:
        claims = _optional(jwt, "claims", path + ".jwt.claims", dict)
    lambda_context = _optional(raw, "lambda", path + ".lambda", dict)
    if lambda_context is None and "principalId" in raw:
        # A REST API Lambda authorizer's context arrives flat, next to the
        # principalId it returned.
        lambda_context = {
            key: value for key, value in raw.items() if key not in ("claims", "jwt")
        }
    iam = None
    if identity.get("userArn") or identity.get("accessKey"):
        iam = {
            key: value
            for key, value in identity.items()
            if value is not None and key not in _NOT_IAM_FIELDS
        }

    return Authorizer(jwt_claims=claims, lambda_context=lambda_context, iam=iam)


def _parse_v2(event: dict[str, Any], source: str) -> Request:
    context = _field(event, "requestContext", "requestContext", dict)
    http = _field(context, "http", "requestContext.http", dict)
    method = _method(_field(http, "method", "requestContext.http.method", str))
    raw_path = _path(_field(event, "rawPath", "rawPath", str), "rawPath")

    headers = Headers(_string_map(event, "headers", "headers").items())
    raw_query = _optional(event, "rawQueryString", "rawQueryString", str)
    if raw_query is not None:
        query = parse_query_string(raw_query)
    else:
        params = _string_map(event, "queryStringParameters", "queryStringParameters")
        query = {name: [value] for name, value in params.items()}
    limit = (
        MAX_HEADER_CHARS_ALB
        if source == "function-url"
        else MAX_HEADER_CHARS_API_GATEWAY
    )
    _check_header_size(headers, raw_path, len(raw_query or ""), limit)

    cookies: dict[str, str] = {}
    cookie_list = _optional(event, "cookies", "cookies", list)
    if cookie_list is not None:
        for cookie in cookie_list:
            if not isinstance(cookie, str):
                raise BadRequestError("cookies must be an array of strings")
            _add_cookies(cookies, cookie)
    else:
        for header in headers.get_all("cookie"):
            _add_cookies(cookies, header)

    return Request(
        source,
        method,
        raw_path,
        path_parameters=_string_map(event, "pathParameters", "pathParameters"),
        query=query,
        headers=headers,
        cookies=cookies,
        body=_decode_body(event),
        source_ip=_optional(http, "sourceIp", "requestContext.http.sourceIp", str)
        or "",
        request_id=_optional(context, "requestId", "requestContext.requestId", str)
        or "",
        stage=_optional(context, "stage", "requestContext.stage", str) or "",
        domain_name=_optional(context, "domainName", "requestContext.domainName", str)
        or "",
        authorizer=_authorizer_v2(context),
        event=event,
    )


def _parse_v1_headers(event: dict[str, Any]) -> tuple[Headers, bool]:
    if event.get("multiValueHeaders") is not None:
        pairs = _string_lists(event, "multiValueHeaders", "multiValueHeaders")
        return Headers(pairs), True

    return Headers(_string_map(event, "headers", "headers").items()), False


def _parse_v1_query(event: dict[str, Any]) -> list[tuple[str, str]]:
    if event.get("multiValueQueryStringParameters") is not None:
        return _string_lists(
            event, "multiValueQueryStringParameters", "multiValueQueryStringParameters"
        )
    params = _string_map(event, "queryStringParameters", "queryStringParameters")

    return list(params.items())


def _parse_rest(event: dict[str, Any]) -> Request:
    context = _field(event, "requestContext", "requestContext", dict)
    method = _method(_field(event, "httpMethod", "httpMethod", str))
    raw_path = _path(_field(event, "path", "path", str), "path")
    headers, multi_value = _parse_v1_headers(event)

    # API Gateway has already percent-decoded payload 1.0 query parameters.
    query: dict[str, list[str]] = {}
    query_chars = 0
    for name, value in _parse_v1_query(event):
        query.setdefault(name, []).append(value)
        query_chars += len(name) + len(value) + 2
    _check_header_size(headers, raw_path, query_chars, MAX_HEADER_CHARS_API_GATEWAY)

    cookies: dict[str, str] = {}
    for header in headers.get_all("cookie"):
        _add_cookies(cookies, header)
    identity = _optional(context, "identity", "requestContext.identity", dict) or {}

    return Request(
        "rest-api",
        method,
        raw_path,
        path_parameters=_string_map(event, "pathParameters", "pathParameters"),
        query=query,
        headers=headers,
        cookies=cookies,
        body=_decode_body(event),
        source_ip=_optional(
            identity, "sourceIp", "requestContext.identity.sourceIp", str
        )
        or "",
        request_id=_optional(context, "requestId", "requestContext.requestId", str)
        or "",
        stage=_optional(context, "stage", "requestContext.stage", str) or "",
        domain_name=_optional(context, "domainName", "requestContext.domainName", str)
        or headers.get("host")
        or "",
        authorizer=_authorizer_v1(context, identity),
        multi_value_headers=multi_value,
        event=event,
    )


def _parse_alb(event: dict[str, Any]) -> Request:
    method = _method(_field(event, "httpMethod", "httpMethod", str))
    raw_path = _path(_field(event, "path", "path", str), "path")
    headers, multi_value = _parse_v1_headers(event)

    # ALB passes the query string on exactly as the client sent it: still
    # percent-encoded, "+" meaning space.
    query: dict[str, list[str]] = {}
    query_chars = 0
    for name, value in _parse_v1_query(event):
        query.setdefault(unquote(name, True), []).append(unquote(value, True))
        query_chars += len(name) + len(value) + 2
    _check_header_size(headers, raw_path, query_chars, MAX_HEADER_CHARS_ALB)

    cookies: dict[str, str] = {}
    for header in headers.get_all("cookie"):
        _add_cookies(cookies, header)

    # The ALB appends the address it saw to X-Forwarded-For; entries to its
    # left come from the client and can be forged, so take the rightmost.
    forwarded = headers.get_all("x-forwarded-for")
    source_ip = forwarded[-1].rsplit(",", 1)[-1].strip() if forwarded else ""

    return Request(
        "alb",
        method,
        raw_path,
        query=query,
        headers=headers,
        cookies=cookies,
        body=_decode_body(event),
        source_ip=source_ip,
        # An ALB event has no request id; the trace id the ALB adds is unique
        # per request and is what its access logs record.
        request_id=headers.get("x-amzn-trace-id") or "",
        domain_name=headers.get("host") or "",
        multi_value_headers=multi_value,
        event=event,
    )


def parse_event(event: Any) -> Request:
    """
    Parse an HTTP event of any supported source into a Request.

    Args:
        event: the decoded invocation payload.

    Returns:
        The request.

    Raises:
        BadRequestError: the event is not an HTTP event or is malformed.
    """
    source = detect_source(event)
    if source is None:
        raise BadRequestError(
            "not an HTTP event: expected an API Gateway (payload 1.0 or 2.0), "
            "Function URL or ALB event"
        )
    if source == "alb":
        return _parse_alb(event)
    if source == "rest-api":
        return _parse_rest(event)

    return _parse_v2(event, source)
