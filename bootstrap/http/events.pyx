# cython: language_level=3
"""Lambda HTTP events of every source parsed into one Request (compiled form).

Sources are told apart by shape: requestContext.elb is ALB; version "2.0" is
API Gateway HTTP API payload 2.0, or a Function URL when the domain is
*.lambda-url.*; httpMethod without those is payload 1.0 (REST API). Every
malformed event raises BadRequestError and nothing else. The pure-Python twin
in _events_py.py keeps the same behaviour and messages.
"""

from binascii import Error as BinasciiError
from binascii import a2b_base64

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdlib cimport free, malloc

from bootstrap.http.errors import BadRequestError
from bootstrap.http.limits import (
    MAX_BODY_BYTES,
    MAX_HEADER_CHARS_ALB,
    MAX_HEADER_CHARS_API_GATEWAY,
    MAX_METHOD_CHARS,
)
from bootstrap.http.request import Authorizer, Headers, Request

# Identity fields of a REST API event that are about the network, not IAM.
_NOT_IAM_FIELDS = frozenset(("sourceIp", "userAgent", "clientCert"))

cdef Py_ssize_t _max_body = MAX_BODY_BYTES
cdef Py_ssize_t _max_method = MAX_METHOD_CHARS


# --- field access ------------------------------------------------------------


cdef str _kind_name(type kind):
    if kind is str:
        return "a string"
    if kind is dict:
        return "an object"
    if kind is list:
        return "an array"
    return "true or false"


cdef object _field(dict mapping, str key, str path, type kind):
    value = mapping.get(key)
    if value is None:
        raise BadRequestError("the event has no %s" % path)
    if not isinstance(value, kind):
        raise BadRequestError("%s must be %s" % (path, _kind_name(kind)))
    return value


cdef object _optional(dict mapping, str key, str path, type kind):
    value = mapping.get(key)
    if value is not None and not isinstance(value, kind):
        raise BadRequestError("%s must be %s" % (path, _kind_name(kind)))
    return value


cdef dict _string_map(dict mapping, str key, str path):
    raw = _optional(mapping, key, path, dict)
    if not raw:
        return {}
    for name, value in (<dict>raw).items():
        if not isinstance(value, str):
            raise BadRequestError("%s.%s must be a string" % (path, name))
    return dict(raw)


cdef list _string_lists(dict mapping, str key, str path):
    raw = _optional(mapping, key, path, dict)
    cdef list pairs = []
    if not raw:
        return pairs
    for name, values in (<dict>raw).items():
        if not isinstance(values, list):
            raise BadRequestError("%s.%s must be an array of strings" % (path, name))
        for value in <list>values:
            if not isinstance(value, str):
                raise BadRequestError(
                    "%s.%s must be an array of strings" % (path, name)
                )
            pairs.append((name, value))
    return pairs


# --- decoding ----------------------------------------------------------------


cdef inline int _hex_value(unsigned char c):
    if 48 <= c <= 57:  # 0-9
        return c - 48
    if 65 <= c <= 70:  # A-F
        return c - 55
    if 97 <= c <= 102:  # a-f
        return c - 87
    return -1


cdef str _unquote(str text, bint plus_is_space):
    """Percent-decode `text` as UTF-8; "+" is a space in query strings."""
    if "%" not in text:
        if plus_is_space and "+" in text:
            return text.replace("+", " ")
        return text

    cdef bytes raw = text.encode("utf-8", "surrogatepass")
    cdef const unsigned char *src = <const unsigned char *>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t length = len(raw)
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t n = 0
    cdef int high, low
    cdef unsigned char c
    # Decoding only shrinks: the output never outgrows the input.
    cdef unsigned char *out = <unsigned char *>malloc(length + 1)
    if out == NULL:
        raise MemoryError()
    try:
        while i < length:
            c = src[i]
            if c == 37:  # "%"
                high = _hex_value(src[i + 1]) if i + 1 < length else -1
                low = _hex_value(src[i + 2]) if i + 2 < length else -1
                if high < 0 or low < 0:
                    raise BadRequestError(
                        "invalid percent-encoding in %r" % text[:100]
                    )
                out[n] = <unsigned char>(high * 16 + low)
                i += 3
            else:
                out[n] = 32 if (c == 43 and plus_is_space) else c  # "+" -> " "
                i += 1
            n += 1
        decoded = PyBytes_FromStringAndSize(<char *>out, n)
    finally:
        free(out)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            "percent-encoded bytes are not UTF-8 in %r" % text[:100]
        ) from exc


cdef dict _parse_query_string(str raw):
    cdef dict query = {}
    cdef str pair, name, value
    cdef Py_ssize_t eq
    for pair in raw.split("&"):
        if not pair:
            continue
        eq = pair.find("=")
        if eq < 0:
            name = pair
            value = ""
        else:
            name = pair[:eq]
            value = pair[eq + 1:]
        query.setdefault(_unquote(name, True), []).append(_unquote(value, True))
    return query


cdef void _add_cookies(dict cookies, str header) except *:
    # "a=1; b=2". A piece without "=" is not a cookie; browsers send such
    # leftovers, and refusing the whole request for them would help no one.
    cdef str piece, name
    cdef Py_ssize_t eq
    for piece in header.split(";"):
        eq = piece.find("=")
        if eq < 0:
            continue
        name = piece[:eq].strip()
        if name and name not in cookies:
            cookies[name] = piece[eq + 1:].strip()


cdef bytes _decode_body(dict event):
    body = _optional(event, "body", "body", str)
    is_base64 = _optional(event, "isBase64Encoded", "isBase64Encoded", bool)
    if not body:
        return b""
    if is_base64:
        # Four base64 characters carry three bytes.
        if len(<str>body) > (_max_body + 2) // 3 * 4:
            raise BadRequestError("the body exceeds %d bytes" % _max_body)
        try:
            return a2b_base64(body, strict_mode=True)
        except (BinasciiError, ValueError) as exc:
            raise BadRequestError("the body is not valid base64") from exc
    if len(<str>body) > _max_body:
        raise BadRequestError("the body exceeds %d bytes" % _max_body)
    try:
        data = (<str>body).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequestError("the body is not valid UTF-8 text") from exc
    if len(data) > _max_body:
        raise BadRequestError("the body exceeds %d bytes" % _max_body)
    return data


cdef inline bint _is_token_char(Py_UCS4 c):
    # RFC 9110 tchar: what a method token may contain.
    if c >= 128:
        return False
    if (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122):
        return True
    return c in "!#$%&'*+-.^_`|~"


cdef str _method(str value):
    cdef Py_UCS4 c
    cdef bint valid = 0 < len(value) <= _max_method
    if valid:
        for c in value:
            if not _is_token_char(c):
                valid = False
                break
    if not valid:
        raise BadRequestError("invalid HTTP method %r" % value[:_max_method])
    return value.upper()


cdef str _path(str value, str path):
    if not value.startswith("/"):
        raise BadRequestError("%s must start with /" % path)
    return value


cdef void _check_header_size(
    object headers, str path, Py_ssize_t query_chars, Py_ssize_t limit_chars
) except *:
    cdef Py_ssize_t total = len(path) + query_chars
    for name, value in headers.items():
        total += len(<str>name) + len(<str>value)
    if total > limit_chars:
        raise BadRequestError(
            "the request line and headers exceed %d characters" % limit_chars
        )


# --- sources -----------------------------------------------------------------


cdef object _authorizer_v2(dict context):
    raw = _optional(context, "authorizer", "requestContext.authorizer", dict)
    if not raw:
        return Authorizer()
    cdef str path = "requestContext.authorizer"
    jwt = _optional(raw, "jwt", path + ".jwt", dict)
    claims = _optional(jwt, "claims", path + ".jwt.claims", dict) if jwt else None
    return Authorizer(
        jwt_claims=claims,
        lambda_context=_optional(raw, "lambda", path + ".lambda", dict),
        iam=_optional(raw, "iam", path + ".iam", dict),
    )


cdef object _authorizer_v1(dict context, dict identity):
    cdef str path = "requestContext.authorizer"
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
            key: value
            for key, value in (<dict>raw).items()
            if key not in ("claims", "jwt")
        }
    iam = None
    if identity.get("userArn") or identity.get("accessKey"):
        iam = {
            key: value
            for key, value in identity.items()
            if value is not None and key not in _NOT_IAM_FIELDS
        }
    return Authorizer(jwt_claims=claims, lambda_context=lambda_context, iam=iam)


cdef object _parse_v2(dict event, str source):
    cdef dict context = _field(event, "requestContext", "requestContext", dict)
    cdef dict http = _field(context, "http", "requestContext.http", dict)
    cdef str method = _method(
        _field(http, "method", "requestContext.http.method", str)
    )
    cdef str raw_path = _path(_field(event, "rawPath", "rawPath", str), "rawPath")

    headers = Headers(_string_map(event, "headers", "headers").items())
    raw_query = _optional(event, "rawQueryString", "rawQueryString", str)
    cdef dict query
    if raw_query is not None:
        query = _parse_query_string(raw_query)
    else:
        params = _string_map(
            event, "queryStringParameters", "queryStringParameters"
        )
        query = {name: [value] for name, value in params.items()}
    limit = (
        MAX_HEADER_CHARS_ALB
        if source == "function-url"
        else MAX_HEADER_CHARS_API_GATEWAY
    )
    _check_header_size(headers, raw_path, len(raw_query or ""), limit)

    cdef dict cookies = {}
    cookie_list = _optional(event, "cookies", "cookies", list)
    if cookie_list is not None:
        for cookie in <list>cookie_list:
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
        source_ip=_optional(
            http, "sourceIp", "requestContext.http.sourceIp", str
        ) or "",
        request_id=_optional(
            context, "requestId", "requestContext.requestId", str
        ) or "",
        stage=_optional(context, "stage", "requestContext.stage", str) or "",
        domain_name=_optional(
            context, "domainName", "requestContext.domainName", str
        ) or "",
        authorizer=_authorizer_v2(context),
        event=event,
    )


cdef tuple _parse_v1_headers(dict event):
    if event.get("multiValueHeaders") is not None:
        pairs = _string_lists(event, "multiValueHeaders", "multiValueHeaders")
        return Headers(pairs), True
    return Headers(_string_map(event, "headers", "headers").items()), False


cdef list _parse_v1_query(dict event):
    if event.get("multiValueQueryStringParameters") is not None:
        return _string_lists(
            event,
            "multiValueQueryStringParameters",
            "multiValueQueryStringParameters",
        )
    params = _string_map(event, "queryStringParameters", "queryStringParameters")
    return list(params.items())


cdef object _parse_rest(dict event):
    cdef dict context = _field(event, "requestContext", "requestContext", dict)
    cdef str method = _method(_field(event, "httpMethod", "httpMethod", str))
    cdef str raw_path = _path(_field(event, "path", "path", str), "path")
    headers, multi_value = _parse_v1_headers(event)

    # API Gateway has already percent-decoded payload 1.0 query parameters.
    cdef dict query = {}
    cdef Py_ssize_t query_chars = 0
    for name, value in _parse_v1_query(event):
        query.setdefault(name, []).append(value)
        query_chars += len(<str>name) + len(<str>value) + 2
    _check_header_size(
        headers, raw_path, query_chars, MAX_HEADER_CHARS_API_GATEWAY
    )

    cdef dict cookies = {}
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
        ) or "",
        request_id=_optional(
            context, "requestId", "requestContext.requestId", str
        ) or "",
        stage=_optional(context, "stage", "requestContext.stage", str) or "",
        domain_name=_optional(
            context, "domainName", "requestContext.domainName", str
        ) or headers.get("host") or "",
        authorizer=_authorizer_v1(context, identity),
        multi_value_headers=multi_value,
        event=event,
    )


cdef object _parse_alb(dict event):
    cdef str method = _method(_field(event, "httpMethod", "httpMethod", str))
    cdef str raw_path = _path(_field(event, "path", "path", str), "path")
    headers, multi_value = _parse_v1_headers(event)

    # ALB passes the query string on exactly as the client sent it: still
    # percent-encoded, "+" meaning space.
    cdef dict query = {}
    cdef Py_ssize_t query_chars = 0
    for name, value in _parse_v1_query(event):
        query.setdefault(_unquote(name, True), []).append(_unquote(value, True))
        query_chars += len(<str>name) + len(<str>value) + 2
    _check_header_size(headers, raw_path, query_chars, MAX_HEADER_CHARS_ALB)

    cdef dict cookies = {}
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


# --- public API --------------------------------------------------------------


def unquote(str text, bint plus_is_space):
    """Percent-decode `text` as UTF-8 (see events.pyi)."""
    return _unquote(text, plus_is_space)


def parse_query_string(str raw):
    """Parse "a=1&a=2&b" into {"a": ["1", "2"], "b": [""]} (see events.pyi)."""
    return _parse_query_string(raw)


def detect_source(event):
    """Name the source of an event from its shape (see events.pyi)."""
    if not isinstance(event, dict):
        return None
    context = (<dict>event).get("requestContext")
    if isinstance(context, dict) and "elb" in <dict>context:
        return "alb"
    if (<dict>event).get("version") == "2.0":
        domain = None
        if isinstance(context, dict):
            domain = (<dict>context).get("domainName")
        if isinstance(domain, str) and ".lambda-url." in <str>domain:
            return "function-url"
        return "http-api"
    if "httpMethod" in <dict>event:
        return "rest-api"
    return None


def parse_event(event):
    """Parse an HTTP event of any supported source (see events.pyi)."""
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
