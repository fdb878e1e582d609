"""Responses serialized in the shape each event source expects."""

from __future__ import annotations

import base64

import pytest

from bootstrap import codec
from bootstrap.http import (
    BadRequestError,
    MethodNotAllowedError,
    Response,
    StreamingResponse,
    problem_response,
    serialize_response,
)
from bootstrap.http.responses import status_description
from bootstrap.streaming import HTTP_INTEGRATION_CONTENT_TYPE, StreamingBody


def test_payload_v2_response_has_cookies_list_and_joined_headers() -> None:
    response = Response(
        201,
        {"id": "s-1", "name": "café"},
        {"X-Multi": ["a", "b"], "Set-Cookie": "sid=1; HttpOnly"},
        cookies=["theme=dark"],
    )

    result = serialize_response(response, "http-api")

    assert result == {
        "statusCode": 201,
        "headers": {"X-Multi": "a,b", "Content-Type": "application/json"},
        "cookies": ["theme=dark", "sid=1; HttpOnly"],
        "body": '{"id":"s-1","name":"café"}',
        "isBase64Encoded": False,
    }


def test_function_url_response_has_the_payload_v2_shape() -> None:
    response = Response(200, "hello", cookies=["a=1"])

    assert serialize_response(response, "function-url") == serialize_response(
        response, "http-api"
    )


def test_binary_body_is_base64_encoded() -> None:
    body = bytes(range(256))
    response = Response(200, body, {"Content-Type": "image/png"})

    result = serialize_response(response, "http-api")

    assert isinstance(result, dict)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == body


def test_text_declared_body_that_is_not_utf8_is_base64_encoded() -> None:
    response = Response(200, b"\xff\xfe", {"Content-Type": "text/plain"})

    result = serialize_response(response, "rest-api")

    assert isinstance(result, dict)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == b"\xff\xfe"


def test_rest_response_puts_repeated_headers_and_cookies_in_multi_value() -> None:
    response = Response(
        200,
        "ok",
        {"X-One": "1", "X-Two": ["a", "b"]},
        cookies=["a=1", "b=2; Path=/"],
    )

    result = serialize_response(response, "rest-api")

    assert result == {
        "statusCode": 200,
        "headers": {"X-One": "1", "Content-Type": "text/plain; charset=utf-8"},
        "multiValueHeaders": {
            "X-Two": ["a", "b"],
            "Set-Cookie": ["a=1", "b=2; Path=/"],
        },
        "body": "ok",
        "isBase64Encoded": False,
    }


def test_alb_response_without_multi_value_has_status_description() -> None:
    response = Response(404, b"", {"X-Two": ["a", "b"]}, cookies=["a=1"])

    result = serialize_response(response, "alb", multi_value_headers=False)

    assert result == {
        "statusCode": 404,
        "statusDescription": "404 Not Found",
        "headers": {"X-Two": "a,b", "Set-Cookie": "a=1"},
        "body": "",
        "isBase64Encoded": False,
    }


def test_alb_response_with_multi_value_keeps_every_value() -> None:
    response = Response(200, "x", {"X-Two": ["a", "b"]}, cookies=["a=1", "b=2"])

    result = serialize_response(response, "alb", multi_value_headers=True)

    assert isinstance(result, dict)
    assert "headers" not in result
    assert result["statusDescription"] == "200 OK"
    assert result["multiValueHeaders"] == {
        "X-Two": ["a", "b"],
        "Content-Type": ["text/plain; charset=utf-8"],
        "Set-Cookie": ["a=1", "b=2"],
    }


def test_alb_single_value_with_several_cookies_keeps_the_last_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = Response(200, cookies=["a=1", "b=2"])

    result = serialize_response(response, "alb", multi_value_headers=False)

    assert isinstance(result, dict)
    assert result["headers"]["Set-Cookie"] == "b=2"
    assert "only the last of 2 cookies" in caplog.text


def test_explicit_content_type_is_kept_for_json_body() -> None:
    response = Response(200, [1, 2], {"content-type": "application/vnd.x+json"})

    assert response.get_header("Content-Type") == "application/vnd.x+json"
    assert response.body == b"[1,2]"


@pytest.mark.parametrize(
    ("code", "text"),
    [(200, "200 OK"), (429, "429 Too Many Requests"), (599, "599 Unknown")],
)
def test_status_description(code: int, text: str) -> None:
    assert status_description(code) == text


@pytest.mark.parametrize(
    "headers",
    [{"X-Bad": "a\r\nSet-Cookie: evil=1"}, {"X\nBad": "a"}],
)
def test_header_with_cr_or_lf_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        Response(200, None, headers)


def test_cookie_with_newline_is_refused() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        Response(200, cookies=["a=1\nb"])


@pytest.mark.parametrize("status", [99, 600, "200"])
def test_status_out_of_range_is_refused(status: object) -> None:
    with pytest.raises(ValueError, match="status_code"):
        Response(status)  # type: ignore[arg-type]  # the wrong type is the point


def test_unsupported_body_type_is_refused() -> None:
    with pytest.raises(TypeError, match="unsupported response body type"):
        Response(200, 3.5)  # type: ignore[arg-type]  # the wrong type is the point


def test_problem_response_renders_problem_json() -> None:
    response = problem_response(
        MethodNotAllowedError("PUT is not allowed", headers={"Allow": "GET, HEAD"})
    )

    assert response.status_code == 405
    assert response.get_header("content-type") == "application/problem+json"
    assert response.get_header("allow") == "GET, HEAD"
    assert codec.loads(response.body) == {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "PUT is not allowed",
    }


def test_problem_response_uses_the_title_when_there_is_no_detail() -> None:
    response = problem_response(BadRequestError())

    assert codec.loads(response.body)["detail"] == "Bad Request"


@pytest.mark.parametrize("source", ["http-api", "function-url", "rest-api"])
def test_streaming_response_becomes_a_body_with_the_http_prelude(source: str) -> None:
    response = StreamingResponse(
        200,
        iter([b"one", b"two"]),
        {"Content-Type": "text/event-stream", "X-A": ["1", "2"]},
        cookies=["sid=1"],
    )

    result = serialize_response(response, source)

    assert isinstance(result, StreamingBody)
    assert result.content_type == HTTP_INTEGRATION_CONTENT_TYPE
    assert result.prelude == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/event-stream", "X-A": "1,2"},
        "cookies": ["sid=1"],
    }
    assert list(result.chunks) == [b"one", b"two"]


def test_streaming_body_refuses_chunks_that_are_not_bytes() -> None:
    result = serialize_response(StreamingResponse(200, iter(["text"])), "http-api")

    assert isinstance(result, StreamingBody)
    with pytest.raises(TypeError, match="yields bytes, not str"):
        list(result.chunks)


def test_streaming_response_to_alb_is_buffered() -> None:
    response = StreamingResponse(
        200, iter([b"a", b"b"]), {"Content-Type": "text/plain"}
    )

    result = serialize_response(response, "alb")

    assert isinstance(result, dict)
    assert result["body"] == "ab"
    assert result["statusDescription"] == "200 OK"
