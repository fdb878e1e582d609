"""Properties of the HTTP layer over generated events and responses.

- Any event, valid or broken, of any source: the parser returns a Request or
  raises BadRequestError, nothing else, and both parser forms agree.
- Valid generated events parse back to what was put in them.
- Every serialized response parses back (with the small reverse parser below)
  to the same status, headers, cookies and body.
"""

from __future__ import annotations

import base64
import copy
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bootstrap.http import (
    BadRequestError,
    Cors,
    Request,
    Response,
    Router,
    StreamingResponse,
)
from bootstrap.http import _events_py as pure
from bootstrap.http import events as compiled
from bootstrap.http.responses import serialize_response
from bootstrap.streaming import StreamingBody

SOURCES = ["http-api", "function-url", "rest-api", "alb", "alb-multi"]

TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12
)
# Header values: visible ASCII and spaces inside; a real source strips the ends.
HEADER_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20
)
QUERY = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.lists(st.text(max_size=8), min_size=1, max_size=3),
    max_size=4,
)
HEADERS = st.dictionaries(
    TOKEN.filter(lambda name: name not in ("cookie", "host", "x-forwarded-for")),
    HEADER_VALUE,
    max_size=5,
)
COOKIES = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789%-", max_size=8),
    max_size=3,
)


def _encode_query(query: dict[str, list[str]]) -> str:
    return "&".join(
        quote(name, safe="") + "=" + quote(value, safe="")
        for name, values in query.items()
        for value in values
    )


def build_event(
    source: str,
    *,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: dict[str, str],
    cookies: dict[str, str],
    body: bytes,
    base64_body: bool,
) -> dict[str, Any]:
    """An event of `source` carrying exactly the given request."""
    cookie_header = "; ".join(name + "=" + value for name, value in cookies.items())
    if base64_body or not body:
        body_field, is_base64 = base64.b64encode(body).decode(), bool(body)
    else:
        body_field, is_base64 = body.decode(), False
    if source in ("http-api", "function-url"):
        domain = (
            "u1.lambda-url.eu-west-1.on.aws"
            if source == "function-url"
            else "a1.execute-api.eu-west-1.amazonaws.com"
        )
        return {
            "version": "2.0",
            "rawPath": path,
            "rawQueryString": _encode_query(query),
            "cookies": [name + "=" + value for name, value in cookies.items()],
            "headers": dict(headers),
            "requestContext": {
                "domainName": domain,
                "http": {"method": method, "path": path, "sourceIp": "192.0.2.1"},
                "requestId": "r-1",
                "stage": "$default",
            },
            "body": body_field,
            "isBase64Encoded": is_base64,
        }
    multi_headers = {name: [value] for name, value in headers.items()}
    if cookie_header:
        multi_headers["cookie"] = [cookie_header]
    multi_headers["x-forwarded-for"] = ["192.0.2.1"]
    if source == "rest-api":
        return {
            "httpMethod": method,
            "path": path,
            "multiValueHeaders": multi_headers,
            "multiValueQueryStringParameters": dict(query) or None,
            "requestContext": {
                "identity": {"sourceIp": "192.0.2.1"},
                "requestId": "r-1",
                "stage": "prod",
            },
            "body": body_field,
            "isBase64Encoded": is_base64,
        }
    alb_query = {
        quote(name, safe=""): [quote(value, safe="") for value in values]
        for name, values in query.items()
    }
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": "arn:tg"}},
        "httpMethod": method,
        "path": path,
        "body": body_field,
        "isBase64Encoded": is_base64,
    }
    if source == "alb-multi":
        event["multiValueHeaders"] = multi_headers
        event["multiValueQueryStringParameters"] = alb_query
    else:
        # Without multi-value headers an ALB keeps the last value of a name.
        event["headers"] = {name: values[-1] for name, values in multi_headers.items()}
        event["queryStringParameters"] = {
            name: values[-1] for name, values in alb_query.items()
        }
    return event


@st.composite
def valid_events(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(source, event, what the request must hold)."""
    source = draw(st.sampled_from(SOURCES))
    method = draw(st.sampled_from(["GET", "POST", "put", "DELETE", "PATCH"]))
    path = "/" + "/".join(draw(st.lists(TOKEN, max_size=3)))
    query = draw(QUERY)
    if source == "alb":
        query = {name: values[-1:] for name, values in query.items()}
    headers = draw(HEADERS)
    cookies = draw(COOKIES)
    body = draw(st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
    base64_body = draw(st.booleans())
    try:
        body.decode()
    except UnicodeDecodeError:
        base64_body = True
    event = build_event(
        source,
        method=method,
        path=path,
        query=query,
        headers=headers,
        cookies=cookies,
        body=body,
        base64_body=base64_body,
    )
    expected = {
        "method": method.upper(),
        "path": path,
        "query": query,
        "headers": headers,
        "cookies": cookies,
        "body": body,
    }
    return source, event, expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def broken_events(draw: st.DrawFn) -> Any:
    """A valid event with a few fields replaced by junk or removed."""
    _, event, _ = draw(valid_events())
    event = copy.deepcopy(event)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(event)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(
                JSON_VALUES
                | st.sampled_from(["%", "%zz", "%C3", "=", "!!", "AAA", "\ud800"])
            )
    return event


def _outcome(parser: Any, event: Any) -> tuple[str, Any]:
    try:
        request = parser.parse_event(copy.deepcopy(event))
    except BadRequestError as exc:
        return "error", exc.detail
    assert isinstance(request, Request)
    return "request", (
        request.source,
        request.method,
        request.raw_path,
        request.path_parameters,
        request.query,
        sorted(request.headers.items()),
        request.cookies,
        request.body,
        request.source_ip,
        request.request_id,
        request.stage,
        request.domain_name,
        request.authorizer,
        request.multi_value_headers,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(event=broken_events() | JSON_VALUES)
@example(event={"version": "2.0", "requestContext": None})
@example(event={"requestContext": {"elb": {}}, "httpMethod": "GET", "path": "/"})
@example(event={"httpMethod": "GET", "path": "/", "requestContext": {}, "body": 1})
def test_any_event_parses_or_raises_bad_request_and_both_forms_agree(
    event: Any,
) -> None:
    compiled_outcome = _outcome(compiled, event)
    pure_outcome = _outcome(pure, event)

    assert compiled_outcome == pure_outcome


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(case=valid_events())
def test_valid_events_parse_to_what_they_carry(
    case: tuple[str, dict[str, Any], dict[str, Any]],
) -> None:
    source, event, expected = case

    for parser in (compiled, pure):
        request = parser.parse_event(copy.deepcopy(event))

        assert request.source == source.removesuffix("-multi")
        assert request.method == expected["method"]
        assert request.raw_path == expected["path"]
        assert request.query == expected["query"]
        assert request.cookies == expected["cookies"]
        assert request.body == expected["body"]
        assert request.source_ip == "192.0.2.1"
        for name, value in expected["headers"].items():
            assert request.headers.get(name.upper()) == value


# --- responses ---------------------------------------------------------------


def reverse(result: Any) -> tuple[int, dict[str, list[str]], list[str], bytes]:
    """Read a serialized response back: (status, headers, cookies, body).

    Headers come back as lower-case name -> values; payload 2.0 and ALB
    single-value headers carry one comma-joined value per name.
    """
    if isinstance(result, StreamingBody):
        prelude = result.prelude
        assert prelude is not None
        headers = {name.lower(): [value] for name, value in prelude["headers"].items()}
        return (
            prelude["statusCode"],
            headers,
            list(prelude["cookies"]),
            b"".join(result.chunks),
        )
    body = (
        base64.b64decode(result["body"], validate=True)
        if result["isBase64Encoded"]
        else result["body"].encode()
    )
    headers = {}
    for name, value in (result.get("headers") or {}).items():
        headers[name.lower()] = [value]
    # multiValueHeaders win over headers for the same name.
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = list(values)
    cookies = list(result.get("cookies") or headers.pop("set-cookie", []))
    if "statusDescription" in result:
        assert result["statusDescription"].startswith(str(result["statusCode"]) + " ")
    return result["statusCode"], headers, cookies, body


RESPONSE_HEADERS = st.dictionaries(
    TOKEN.filter(lambda name: name not in ("set-cookie", "content-type")),
    st.lists(HEADER_VALUE, min_size=1, max_size=3),
    max_size=4,
)
COOKIE_VALUES = st.lists(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30
    ),
    max_size=3,
)


@settings(max_examples=300)
@given(
    source=st.sampled_from(SOURCES),
    status=st.integers(min_value=100, max_value=599),
    headers=RESPONSE_HEADERS,
    content_type=st.sampled_from(
        ["application/octet-stream", "text/plain; charset=utf-8", "application/json"]
    ),
    cookies=COOKIE_VALUES,
    body=st.binary(max_size=64) | st.text(max_size=32).map(str.encode),
    streamed=st.booleans(),
)
@example(
    source="http-api",
    status=200,
    headers={"x": ["a", "b"]},
    content_type="text/plain; charset=utf-8",
    cookies=["a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT"],
    body=b"\xff",
    streamed=False,
)
def test_serialized_responses_parse_back_to_the_same_response(  # noqa: PLR0917  # one per drawn value
    source: str,
    status: int,
    headers: dict[str, list[str]],
    content_type: str,
    cookies: list[str],
    body: bytes,
    streamed: bool,
) -> None:
    if source == "alb":
        # NOTE: an ALB target group without multi-value headers can carry one
        # Set-Cookie only (the serializer keeps the last and warns).
        cookies = cookies[-1:]
    all_headers = {**headers, "Content-Type": [content_type]}
    if streamed:
        response: Response | StreamingResponse = StreamingResponse(
            status, iter([body[:5], body[5:]]), all_headers, cookies
        )
    else:
        response = Response(status, body, all_headers, cookies)

    result = serialize_response(
        response, source.removesuffix("-multi"), source == "alb-multi"
    )
    got_status, got_headers, got_cookies, got_body = reverse(result)

    joined = source in ("http-api", "function-url", "alb") or (
        streamed and source != "alb-multi"
    )
    expected_headers = {
        name.lower(): [",".join(values)] if joined else values
        for name, values in all_headers.items()
    }
    assert got_status == status
    assert got_headers == expected_headers
    assert got_cookies == cookies
    assert got_body == body


def _router() -> Router:
    router = Router(Cors())

    @router.route("GET", "/{first}/{rest+}")
    def echo(request: Request) -> Response:
        return Response(200, {"params": request.path_parameters})

    return router


ROUTER = _router()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(event=broken_events() | valid_events().map(lambda case: case[1]))
def test_router_answers_every_event_with_a_response_and_never_raises(
    event: Any,
) -> None:
    outcome = _outcome(compiled, event)

    result = ROUTER.lambda_handler(copy.deepcopy(event), None)

    status, _, _, _ = reverse(result)
    if outcome[0] == "error":
        assert status == 400
    else:
        assert status in (200, 204, 400, 404, 405)
