"""The front's mapping between HTTP and API Gateway payload 2.0, without sockets."""

import base64
import json
from pathlib import Path

import pytest

from emulator.front import (
    FunctionAnswerError,
    build_event,
    is_text,
    parse_prelude,
    render_buffered,
)

NOON_2026_S = 1_796_299_200.0


def event_for(
    target: str = "/",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    method: str = "GET",
) -> dict[str, object]:
    """An event for one request at a fixed time."""
    return build_event(
        method,
        target,
        headers or [("Host", "api.example.com")],
        body,
        source_ip="198.51.100.7",
        now_s=NOON_2026_S,
    )


def test_event_time_fields_follow_api_gateway_formats() -> None:
    event = event_for()

    context = event["requestContext"]
    assert isinstance(context, dict)
    assert context["time"] == "03/Dec/2026:12:00:00 +0000"
    assert context["timeEpoch"] == 1_796_299_200_000


def test_event_domain_comes_from_the_host_header() -> None:
    event = event_for(headers=[("Host", "abc123.execute-api.example.com:443")])

    context = event["requestContext"]
    assert isinstance(context, dict)
    assert context["domainName"] == "abc123.execute-api.example.com"
    assert context["domainPrefix"] == "abc123"


def test_event_method_is_upper_case_and_path_decoded_as_http_apis_do() -> None:
    event = event_for("/a%20b/c?x=%2F", method="delete")

    context = event["requestContext"]
    assert isinstance(context, dict)
    assert context["http"]["method"] == "DELETE"  # type: ignore[index]
    assert context["http"]["path"] == "/a b/c"  # type: ignore[index]
    assert event["rawPath"] == "/a b/c"
    assert event["rawQueryString"] == "x=%2F"
    assert event["queryStringParameters"] == {"x": "/"}


def test_event_splits_every_cookie_header() -> None:
    event = event_for(headers=[("Cookie", "a=1; b=2"), ("cookie", "c=3")])

    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]  # type: ignore[operator]


def test_event_keeps_blank_query_values() -> None:
    event = event_for("/?flag&empty=")

    assert event["queryStringParameters"] == {"flag": "", "empty": ""}


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        ("application/json", b"{}", True),
        ("text/plain; charset=utf-8", "é".encode(), True),
        ("application/problem+json", b"{}", True),
        ("application/x-www-form-urlencoded", b"a=1", True),
        ("application/octet-stream", b"abc", False),
        ("image/png", b"abc", False),
        (None, b"plain words", True),
        (None, b"\xff\xfe", False),
        ("text/plain", b"\xff\xfe", False),
    ],
)
def test_text_detection_follows_media_type_and_utf8(
    content_type: str | None, body: bytes, text: bool
) -> None:
    assert is_text(content_type, body) is text


def test_render_maps_status_headers_cookies_and_text_body() -> None:
    payload = json.dumps(
        {
            "statusCode": 404,
            "headers": {"Content-Type": "text/plain", "X-Count": 3},
            "cookies": ["a=1"],
            "body": "missing",
        }
    ).encode()

    answer = render_buffered(payload)

    assert answer.status_code == 404
    assert answer.headers == [
        ("Content-Type", "text/plain"),
        ("X-Count", "3"),
        ("Set-Cookie", "a=1"),
    ]
    assert answer.body == b"missing"


def test_render_decodes_base64_bodies() -> None:
    payload = json.dumps(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
         "isBase64Encoded": True}
    ).encode()  # fmt: skip

    assert render_buffered(payload).body == b"\x00\x01"


@pytest.mark.parametrize(
    "payload",
    [b'"hello"', b"[1, 2]", b"42", b"null", b'{"message": "no statusCode"}'],
)
def test_render_treats_other_json_as_a_200_json_body(payload: bytes) -> None:
    answer = render_buffered(payload)

    assert answer.status_code == 200
    assert answer.headers == [("Content-Type", "application/json")]
    assert answer.body == payload


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"statusCode": "abc"}', id="status-not-a-number"),
        pytest.param(b'{"statusCode": 99}', id="status-out-of-range"),
        pytest.param(b'{"statusCode": true}', id="status-boolean"),
        pytest.param(b'{"statusCode": 200, "body": 5}', id="body-not-string"),
        pytest.param(b'{"statusCode": 200, "headers": []}', id="headers-not-object"),
        pytest.param(b'{"statusCode": 200, "cookies": "a=1"}', id="cookies-not-list"),
        pytest.param(
            b'{"statusCode": 200, "body": "@@", "isBase64Encoded": true}',
            id="bad-base64",
        ),
        pytest.param(
            b'{"statusCode": 200, "headers": {"X": "a\\r\\nInjected: 1"}}',
            id="header-injection",
        ),
    ],
)
def test_render_rejects_answers_api_gateway_cannot_map(payload: bytes) -> None:
    with pytest.raises(FunctionAnswerError):
        render_buffered(payload)


def test_prelude_defaults_to_200_and_maps_cookies() -> None:
    answer = parse_prelude(b'{"headers": {"X-A": "b"}, "cookies": ["c=d"]}')

    assert answer.status_code == 200
    assert answer.headers == [("X-A", "b"), ("Set-Cookie", "c=d")]


@pytest.mark.parametrize("prelude", [b"[]", b"{", b'{"statusCode": "x"}'])
def test_prelude_that_is_not_a_valid_object_is_rejected(prelude: bytes) -> None:
    with pytest.raises(FunctionAnswerError):
        parse_prelude(prelude)


def test_serve_command_line_takes_a_data_directory(tmp_path: Path) -> None:
    from emulator.cli import _serve_parser  # noqa: PLC0415 - the CLI's own parser

    args = _serve_parser().parse_args(["--data-dir", str(tmp_path)])
    default = _serve_parser().parse_args([])

    assert args.data_dir == tmp_path
    assert default.data_dir is None
