"""Parsing of every event source into a Request, and refusal of malformed events."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bootstrap.http import BadRequestError, Headers, Request
from bootstrap.http.limits import MAX_BODY_BYTES, MAX_HEADER_CHARS_API_GATEWAY
from tests.unit.http.conftest import load_event

ROOT = Path(__file__).resolve().parents[3]


def test_http_api_v2_event_is_parsed_into_every_field(parser: ModuleType) -> None:
    request = parser.parse_event(load_event("http_api_v2"))

    assert request.source == "http-api"
    assert request.method == "POST"
    assert request.raw_path == "/sessions/abc 123"
    assert request.path_parameters == {"session_id": "abc 123"}
    assert request.query == {"tag": ["a", "b/c"], "q": ["café bar"], "empty": [""]}
    assert request.headers.get("Content-Type") == "application/json"
    assert request.headers.get_all("X-MULTI") == ["one,two"]
    assert request.cookies == {"theme": "dark", "sid": "s%3A42"}
    assert request.body == b'{"ttl_s": 3600}\n'
    assert request.json() == {"ttl_s": 3600}
    assert request.source_ip == "205.255.255.176"
    assert request.request_id == "JKJaXmPLvHcESHA="
    assert request.stage == "$default"
    assert request.domain_name == "r3pmxmplak.execute-api.us-east-2.amazonaws.com"
    assert request.authorizer.jwt_claims == {
        "sub": "user-42",
        "iss": "https://issuer.example.com",
        "scope": "sessions/write",
    }
    assert request.authorizer.lambda_context is None
    assert request.authorizer.iam is None


def test_http_api_v2_lambda_authorizer_and_base64_body(parser: ModuleType) -> None:
    request = parser.parse_event(load_event("http_api_v2_lambda_authorizer"))

    assert request.method == "PUT"
    assert request.body == b"\x00\x01\x02\xff"
    assert request.query == {}
    # No cookies list in the event: the Cookie header is the source.
    assert request.cookies == {"a": "1", "b": "2"}
    assert request.authorizer.lambda_context == {
        "tenant": "acme",
        "roles": ["admin"],
        "userId": "u-7",
    }
    assert request.authorizer.jwt_claims is None
    assert request.stage == "prod"


def test_function_url_event_is_detected_by_its_domain(parser: ModuleType) -> None:
    request = parser.parse_event(load_event("function_url"))

    assert request.source == "function-url"
    assert request.method == "GET"
    assert request.query == {"limit": ["10"]}
    assert request.cookies == {"sid": "abc"}
    assert request.body == b""
    assert request.path_parameters == {}
    assert request.source_ip == "203.0.113.9"
    assert request.authorizer.iam is not None
    assert request.authorizer.iam["userArn"] == (
        "arn:aws:iam::111122223333:user/example-user"
    )


def test_rest_api_event_uses_multi_value_fields(parser: ModuleType) -> None:
    request = parser.parse_event(load_event("rest_api"))

    assert request.source == "rest-api"
    assert request.method == "DELETE"
    assert request.raw_path == "/sessions/s-1"
    assert request.path_parameters == {"session_id": "s-1"}
    # Payload 1.0 values arrive decoded: "x/1" stays as it is.
    assert request.query == {"force": ["true"], "tag": ["x/1", "y z"]}
    assert request.headers.get_all("x-repeated") == ["first", "second"]
    assert request.cookies == {"sid": "abc", "theme": "light"}
    assert request.source_ip == "72.21.198.64"
    assert request.request_id == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert request.stage == "prod"
    assert request.authorizer.jwt_claims is not None
    assert request.authorizer.jwt_claims["sub"] == "cognito-user-1"
    assert request.authorizer.iam is None
    assert request.multi_value_headers is True


def test_rest_api_lambda_authorizer_and_iam_identity(parser: ModuleType) -> None:
    request = parser.parse_event(load_event("rest_api_lambda_authorizer_iam"))

    assert request.authorizer.lambda_context == {
        "principalId": "user|a1b2c3",
        "integrationLatency": 12,
        "tenant": "acme",
    }
    assert request.authorizer.iam is not None
    assert request.authorizer.iam["accessKey"] == "ASIAEXAMPLE"
    assert "sourceIp" not in request.authorizer.iam
    assert request.body == "line one\nline two ü".encode()
    assert request.multi_value_headers is False
    assert request.domain_name == "api.example.org"


def test_alb_event_query_is_percent_decoded(parser: ModuleType) -> None:
    request = parser.parse_event(load_event("alb"))

    assert request.source == "alb"
    assert request.query == {"q": ["café bar"], "sort": ["desc"]}
    assert request.cookies == {"sid": "abc", "theme": "dark"}
    # The rightmost X-Forwarded-For entry is the one the ALB itself saw.
    assert request.source_ip == "72.12.164.125"
    assert request.request_id == "Root=1-5c536348-3d683b8b04734faae651f476"
    assert request.domain_name == "lambda-279XGJDqGZ5rsrHC2Fjr.elb.amazonaws.com"
    assert request.stage == ""
    assert request.multi_value_headers is False


def test_alb_multi_value_event_keeps_every_value(parser: ModuleType) -> None:
    request = parser.parse_event(load_event("alb_multi_value"))

    assert request.query == {"tag": ["a b", "c"], "plus": ["1 2"]}
    assert request.headers.get_all("cookie") == ["sid=abc", "theme=dark"]
    assert request.cookies == {"sid": "abc", "theme": "dark"}
    assert request.json() == {"ttl_s": 60}
    assert request.multi_value_headers is True


def test_headers_are_case_insensitive_and_multi_valued() -> None:
    headers = Headers([("X-A", "1"), ("x-a", "2"), ("B", "3")])

    assert headers.get("x-A") == "1"
    assert headers.get_all("X-a") == ["1", "2"]
    assert headers.get("missing") is None
    assert "b" in headers
    assert list(headers.items()) == [("x-a", "1"), ("x-a", "2"), ("b", "3")]


def test_request_json_refuses_a_body_that_is_not_json(parser: ModuleType) -> None:
    event = load_event("http_api_v2")
    event["body"] = "{not json"
    request: Request = parser.parse_event(event)

    with pytest.raises(BadRequestError, match="not valid JSON"):
        request.json()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An event mutation: set the dotted `path` to `value`."""

    def mutate(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[key]
        target[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    """An event mutation: remove the dotted `path`."""

    def mutate(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[key]
        del target[last]

    return mutate


MALFORMED = [
    ("http_api_v2", _delete("requestContext"), "no requestContext"),
    ("http_api_v2", _delete("requestContext.http"), "requestContext.http"),
    ("http_api_v2", _set("requestContext.http.method", 7), "must be a string"),
    ("http_api_v2", _set("requestContext.http.method", "GE T"), "invalid HTTP method"),
    ("http_api_v2", _set("rawPath", "no-slash"), "must start with /"),
    ("http_api_v2", _set("rawQueryString", "a=%zz"), "percent-encoding"),
    ("http_api_v2", _set("rawQueryString", "a=%C3"), "not UTF-8"),
    ("http_api_v2", _set("rawQueryString", "a=%4"), "percent-encoding"),
    ("http_api_v2", _set("headers", ["a"]), "headers must be an object"),
    ("http_api_v2", _set("headers.x", 1), "headers.x must be a string"),
    ("http_api_v2", _set("cookies", "a=1"), "cookies must be an array"),
    ("http_api_v2", _set("cookies", [1]), "array of strings"),
    ("http_api_v2", _set("body", 12), "body must be a string"),
    ("http_api_v2", _set("isBase64Encoded", "yes"), "true or false"),
    ("http_api_v2_lambda_authorizer", _set("body", "!!!"), "not valid base64"),
    ("http_api_v2_lambda_authorizer", _set("body", "QQ"), "not valid base64"),
    ("http_api_v2_lambda_authorizer", _set("body", "é"), "not valid base64"),
    ("http_api_v2", _set("body", "\ud800"), "not valid UTF-8"),
    ("http_api_v2", _set("requestContext.authorizer", "x"), "authorizer must be"),
    ("http_api_v2", _set("requestContext.authorizer.jwt.claims", []), "claims must"),
    ("http_api_v2", _set("pathParameters.session_id", None), "must be a string"),
    ("http_api_v2", _set("headers.big", "x" * MAX_HEADER_CHARS_API_GATEWAY), "exceed"),
    ("http_api_v2", _set("body", "x" * (MAX_BODY_BYTES + 1)), "exceeds"),
    ("http_api_v2", _set("body", "é" * (MAX_BODY_BYTES // 2 + 1)), "exceeds"),
    (
        "http_api_v2_lambda_authorizer",
        _set("body", "AAAA" * (MAX_BODY_BYTES // 3 + 1)),
        "exceeds",
    ),
    ("rest_api", _delete("httpMethod"), "not an HTTP event"),
    ("rest_api", _delete("requestContext"), "no requestContext"),
    ("rest_api", _set("path", 3), "path must be a string"),
    ("rest_api", _set("multiValueHeaders.Accept", "*/*"), "array of strings"),
    ("rest_api", _set("multiValueHeaders.Accept", [None]), "array of strings"),
    ("rest_api", _set("multiValueQueryStringParameters", []), "must be an object"),
    ("rest_api", _set("requestContext.identity", "me"), "identity must be"),
    ("alb", _set("queryStringParameters.q", "%GG"), "percent-encoding"),
    ("alb", _set("httpMethod", ""), "invalid HTTP method"),
    ("alb", _set("httpMethod", "X" * 40), "invalid HTTP method"),
    ("alb_multi_value", _set("multiValueQueryStringParameters.tag", ["%"]), "percent"),
    ("alb_multi_value", _set("multiValueHeaders.host", [b"x"]), "array of strings"),
]


@pytest.mark.parametrize(
    ("name", "mutate", "message"),
    MALFORMED,
    ids=[f"{case[0]}:{case[2]}" for case in MALFORMED],
)
def test_malformed_event_raises_bad_request(
    parser: ModuleType,
    name: str,
    mutate: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    event = load_event(name)
    mutate(event)

    with pytest.raises(BadRequestError, match=message) as caught:
        parser.parse_event(event)

    assert caught.value.status_code == 400


@pytest.mark.parametrize("event", [None, [], "GET /", 3, {}, {"version": "1.0"}])
def test_non_http_event_raises_bad_request(parser: ModuleType, event: Any) -> None:
    with pytest.raises(BadRequestError, match="not an HTTP event"):
        parser.parse_event(event)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", {}),
        ("a", {"a": [""]}),
        ("a=1&&a=2", {"a": ["1", "2"]}),
        ("k%3Dx=v%26y", {"k=x": ["v&y"]}),
        ("sp=a+b%2Bc", {"sp": ["a b+c"]}),
        ("e=%E2%82%AC", {"e": ["€"]}),
        ("x==1", {"x": ["=1"]}),
    ],
)
def test_query_string_parsing(
    parser: ModuleType, raw: str, expected: dict[str, list[str]]
) -> None:
    assert parser.parse_query_string(raw) == expected


def test_kill_switch_selects_the_pure_python_parser() -> None:
    code = "from bootstrap.http import parsing; print(parsing.parse_event.__module__)"
    env = dict(os.environ, BOOTSTRAP_NO_EXTENSIONS="1")
    pure = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    env.pop("BOOTSTRAP_NO_EXTENSIONS")
    compiled = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )

    assert pure.stdout.strip() == "bootstrap.http._events_py"
    assert compiled.stdout.strip() == "bootstrap.http.events"
