"""The router: dispatch, 404/405, HEAD, CORS, and errors turned into problems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bootstrap import codec
from bootstrap.http import (
    Cors,
    HTTPError,
    Request,
    Response,
    Router,
    StreamingResponse,
)
from bootstrap.streaming import StreamingBody
from tests.unit.http.conftest import load_event


class TeapotError(HTTPError):
    """A service error, as the sessions service defines its own."""

    status_code = 418
    title = "I'm a teapot"


def make_router(cors: Cors | None = None) -> Router:
    router = Router(cors)

    @router.route("GET", "/sessions/{session_id}")
    def get_session(request: Request) -> Response:
        return Response(
            200,
            {"id": request.path_parameters["session_id"], "ctx": request.context},
            {"ETag": '"1"'},
        )

    @router.route("DELETE", "/sessions/{session_id}")
    def delete_session(request: Request) -> Response:
        return Response(204)

    @router.route("GET", "/sessions/me")
    def get_me(request: Request) -> Response:
        return Response(200, {"me": True})

    @router.route("GET", "/files/{path+}")
    def get_file(request: Request) -> Response:
        return Response(200, request.path_parameters["path"])

    @router.route("POST", "/boom")
    def boom(request: Request) -> Response:
        raise RuntimeError("secret table name sessions-prod")

    @router.route("POST", "/teapot")
    def teapot(request: Request) -> Response:
        raise TeapotError("short and stout", headers={"Retry-After": "5"})

    @router.route("GET", "/stream")
    def stream(request: Request) -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            yield b"first"
            yield b"second"

        return StreamingResponse(200, chunks(), {"Content-Type": "text/plain"})

    @router.route("GET", "/not-a-response")
    def wrong(request: Request) -> Response:
        return {"statusCode": 200}  # type: ignore[return-value]  # the bug under test

    return router


def v2_event(method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    event = load_event("http_api_v2")
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = path
    event["headers"] = headers or {}
    event.pop("pathParameters")
    event["body"] = None

    return event


def problem(result: Any) -> dict[str, Any]:
    assert result["headers"]["Content-Type"] == "application/problem+json"
    document: dict[str, Any] = codec.loads(result["body"])

    return document


def function_url_event(method: str, path: str) -> Any:
    event = load_event("function_url")
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = path

    return event


def test_encoded_path_parameter_is_decoded_and_context_is_set() -> None:
    result = make_router().lambda_handler(
        function_url_event("GET", "/sessions/a%20b%2Fc"), "the-context"
    )

    assert result["statusCode"] == 200
    assert codec.loads(result["body"]) == {"id": "a b/c", "ctx": "the-context"}


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_http_api_path_is_already_decoded_and_not_decoded_twice(
    version: str,
) -> None:
    if version == "2.0":
        event = v2_event("GET", "/sessions/100%41%")
    else:
        event = load_event("rest_api")
        event.update(version="1.0", httpMethod="GET", path="/sessions/100%41%")

    result = make_router().lambda_handler(event, None)

    assert result["statusCode"] == 200
    assert codec.loads(result["body"])["id"] == "100%41%"


def test_bad_percent_encoding_in_encoded_path_parameter_is_400() -> None:
    result = make_router().lambda_handler(
        function_url_event("GET", "/sessions/%zz"), None
    )

    assert result["statusCode"] == 400


def test_literal_route_wins_over_parameter_route() -> None:
    result = make_router().lambda_handler(v2_event("GET", "/sessions/me"), None)

    assert codec.loads(result["body"]) == {"me": True}


def test_less_specific_route_serves_a_method_the_literal_lacks() -> None:
    result = make_router().lambda_handler(v2_event("DELETE", "/sessions/me"), None)

    assert result["statusCode"] == 204


def test_greedy_parameter_takes_the_rest_of_the_path() -> None:
    result = make_router().lambda_handler(v2_event("GET", "/files/a/b/c.txt"), None)

    assert result["body"] == "a/b/c.txt"


@pytest.mark.parametrize("path", ["/nope", "/sessions", "/sessions/", "/sessions/a/b"])
def test_unknown_path_is_404_problem(path: str) -> None:
    result = make_router().lambda_handler(v2_event("GET", path), None)

    assert result["statusCode"] == 404
    assert problem(result)["status"] == 404


def test_wrong_method_is_405_with_allow() -> None:
    result = make_router().lambda_handler(v2_event("PUT", "/sessions/x"), None)

    assert result["statusCode"] == 405
    assert result["headers"]["Allow"] == "DELETE, GET, HEAD"
    assert problem(result)["title"] == "Method Not Allowed"


def test_head_is_served_by_get_without_body() -> None:
    result = make_router().lambda_handler(v2_event("HEAD", "/sessions/x"), None)

    assert result["statusCode"] == 200
    assert result["body"] == ""
    assert result["headers"]["ETag"] == '"1"'
    assert result["headers"]["Content-Type"] == "application/json"


def test_head_on_streaming_route_sends_no_chunks() -> None:
    result = make_router().lambda_handler(v2_event("HEAD", "/stream"), None)

    assert isinstance(result, StreamingBody)
    assert list(result.chunks) == []


def test_streaming_route_returns_streaming_body_with_prelude() -> None:
    result = make_router().lambda_handler(v2_event("GET", "/stream"), None)

    assert isinstance(result, StreamingBody)
    assert result.prelude is not None
    assert result.prelude["statusCode"] == 200
    assert list(result.chunks) == [b"first", b"second"]


def test_unexpected_exception_is_500_without_internals_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = make_router().lambda_handler(v2_event("POST", "/boom"), None)

    assert result["statusCode"] == 500
    assert "sessions-prod" not in result["body"]
    assert "RuntimeError" not in result["body"]
    assert problem(result)["title"] == "Internal Server Error"
    assert "sessions-prod" in caplog.text
    assert "answering 500" in caplog.text


def test_handler_returning_a_non_response_is_500() -> None:
    result = make_router().lambda_handler(v2_event("GET", "/not-a-response"), None)

    assert result["statusCode"] == 500


def test_service_http_error_becomes_its_problem_with_headers() -> None:
    result = make_router().lambda_handler(v2_event("POST", "/teapot"), None)

    assert result["statusCode"] == 418
    assert result["headers"]["Retry-After"] == "5"
    assert problem(result) == {
        "type": "about:blank",
        "title": "I'm a teapot",
        "status": 418,
        "detail": "short and stout",
    }


def test_malformed_event_is_400_problem_in_the_source_shape() -> None:
    event = load_event("rest_api")
    event["multiValueHeaders"]["Accept"] = "not-a-list"

    result = make_router().lambda_handler(event, None)

    assert result["statusCode"] == 400
    assert "multiValueHeaders" in result
    assert "Accept" in problem(result)["detail"]


def test_malformed_alb_event_answers_with_status_description() -> None:
    event = load_event("alb")
    event["queryStringParameters"]["q"] = "%zz"

    result = make_router().lambda_handler(event, None)

    assert result["statusCode"] == 400
    assert result["statusDescription"] == "400 Bad Request"


def test_event_that_is_not_http_is_400() -> None:
    result = make_router().lambda_handler({"Records": []}, None)

    assert result["statusCode"] == 400


def test_rest_and_alb_events_are_answered_in_their_shapes() -> None:
    router = make_router()
    rest = load_event("rest_api")
    rest["httpMethod"] = "GET"
    alb = load_event("alb_multi_value")
    alb["httpMethod"] = "GET"
    alb["path"] = "/sessions/abc"

    rest_result = router.lambda_handler(rest, None)
    alb_result = router.lambda_handler(alb, None)

    assert rest_result["statusCode"] == 200
    assert rest_result["headers"]["ETag"] == '"1"'
    assert alb_result["statusDescription"] == "200 OK"
    assert alb_result["multiValueHeaders"]["ETag"] == ['"1"']


def test_cors_preflight_is_answered() -> None:
    router = make_router(Cors(allow_origins=["https://app.example"], max_age_s=60))
    event = v2_event(
        "OPTIONS",
        "/sessions/x",
        {
            "origin": "https://app.example",
            "access-control-request-method": "DELETE",
        },
    )

    result = router.lambda_handler(event, None)

    assert result["statusCode"] == 204
    headers = result["headers"]
    assert headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert headers["Access-Control-Allow-Methods"] == "DELETE, GET, HEAD, OPTIONS"
    assert headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert headers["Access-Control-Max-Age"] == "60"
    assert headers["Vary"] == "Origin"


def test_cors_preflight_from_other_origin_gets_no_allow_origin() -> None:
    router = make_router(Cors(allow_origins=["https://app.example"]))
    event = v2_event(
        "OPTIONS",
        "/sessions/x",
        {"origin": "https://evil.example", "access-control-request-method": "GET"},
    )

    result = router.lambda_handler(event, None)

    assert result["statusCode"] == 204
    assert "Access-Control-Allow-Origin" not in result["headers"]


def test_options_without_cors_answers_allow() -> None:
    result = make_router().lambda_handler(v2_event("OPTIONS", "/sessions/x"), None)

    assert result["statusCode"] == 204
    assert result["headers"]["Allow"] == "DELETE, GET, HEAD"


def test_cors_headers_on_normal_and_error_responses() -> None:
    router = make_router(
        Cors(expose_headers=["ETag"], allow_credentials=True),
    )
    origin = {"origin": "https://any.example"}

    ok = router.lambda_handler(v2_event("GET", "/sessions/x", origin), None)
    missing = router.lambda_handler(v2_event("GET", "/nope", origin), None)
    no_origin = router.lambda_handler(v2_event("GET", "/sessions/x"), None)

    # With credentials, "*" must echo the origin: browsers refuse a literal "*".
    assert ok["headers"]["Access-Control-Allow-Origin"] == "https://any.example"
    assert ok["headers"]["Access-Control-Allow-Credentials"] == "true"
    assert ok["headers"]["Access-Control-Expose-Headers"] == "ETag"
    assert ok["headers"]["Vary"] == "Origin"
    assert missing["headers"]["Access-Control-Allow-Origin"] == "https://any.example"
    assert "Access-Control-Allow-Origin" not in no_origin["headers"]


def test_wildcard_cors_without_credentials_sends_star() -> None:
    router = make_router(Cors())

    result = router.lambda_handler(
        v2_event("GET", "/sessions/x", {"origin": "https://a.example"}), None
    )

    assert result["headers"]["Access-Control-Allow-Origin"] == "*"


def test_registering_the_same_route_twice_is_refused() -> None:
    router = Router()
    router.route("GET", "/a")(lambda request: Response(200))

    with pytest.raises(ValueError, match="already routed"):
        router.route("get", "/a")(lambda request: Response(200))


@pytest.mark.parametrize("template", ["no-slash", "/{rest+}/tail"])
def test_invalid_template_is_refused(template: str) -> None:
    with pytest.raises(ValueError, match=r"template|last segment"):
        Router().route("GET", template)
