"""The HTTP front builds payload 2.0 events and answers the way API Gateway does.

The function is the scripted runtime of tests/plugins/emulator.py. It echoes
the event it gets, so the front's event can be inspected; its answers are set
with SCRIPT_ANSWER (steps played for every invoke), since HTTP requests cannot
carry the scripted runtime's "steps".
"""

import base64
import http.client
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from emulator import Emulator

pytestmark = pytest.mark.timeout(60)

Factory = Callable[..., Emulator]
FrontFactory = Callable[[Emulator], str]

PRELUDE_SEPARATOR = "\x00" * 8


def connect(base_url: str) -> http.client.HTTPConnection:
    """A keep-alive connection to the front, with a bounded timeout."""
    address = urlsplit(base_url)

    return http.client.HTTPConnection(address.hostname, address.port, timeout=20)


def request(
    base_url: str,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    """Send one request; the response and its whole body."""
    connection = connect(base_url)
    connection.request(method, target, body=body, headers=headers or {})
    response = connection.getresponse()

    return response, response.read()


def front_answering(
    scripted_emulator: Factory, http_front: FrontFactory, *actions: dict[str, Any]
) -> str:
    """A front whose function plays `actions` for every request."""
    emulator = scripted_emulator(env={"SCRIPT_ANSWER": json.dumps(list(actions))})

    return http_front(emulator)


# ------------------------------------------------------------------ the event


def test_request_becomes_a_payload_2_event(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    base_url = http_front(scripted_emulator())

    before_ms = int(time.time() * 1000)
    response, body = request(
        base_url,
        "POST",
        "/sessions/abc?tag=a&tag=b&q=two%20words",
        body=b'{"ttl_s": 60}',
        headers={
            "Content-Type": "application/json",
            "Cookie": "theme=dark; lang=en",
            "User-Agent": "curl/8.0",
            "X-Trace": "one",
        },
    )

    event = json.loads(body)["echo"]
    context = event["requestContext"]
    assert response.status == 200
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/sessions/abc"
    assert event["rawQueryString"] == "tag=a&tag=b&q=two%20words"
    assert event["cookies"] == ["theme=dark", "lang=en"]
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-trace"] == "one"
    assert "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "two words"}
    assert "pathParameters" not in event
    assert event["body"] == '{"ttl_s": 60}'
    assert event["isBase64Encoded"] is False
    assert context["accountId"] == "123456789012"
    assert context["apiId"]
    assert context["domainName"] == "127.0.0.1"
    assert context["domainPrefix"] == "127"
    assert context["http"] == {
        "method": "POST",
        "path": "/sessions/abc",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8.0",
    }
    assert context["requestId"] == response.getheader("Apigw-Requestid")
    assert context["routeKey"] == "$default"
    assert context["stage"] == "$default"
    assert re.fullmatch(
        r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"]
    )
    assert before_ms - 1000 <= context["timeEpoch"] <= int(time.time() * 1000)


def test_repeated_headers_are_joined_with_commas(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    base_url = http_front(scripted_emulator())
    connection = connect(base_url)

    connection.putrequest("GET", "/", skip_accept_encoding=True)
    connection.putheader("X-Forwarded-For", "10.0.0.1")
    connection.putheader("x-forwarded-for", "10.0.0.2")
    connection.endheaders()
    body = connection.getresponse().read()

    assert json.loads(body)["echo"]["headers"]["x-forwarded-for"] == "10.0.0.1,10.0.0.2"


def test_binary_body_reaches_the_function_base64_encoded(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    base_url = http_front(scripted_emulator())
    payload = bytes(range(256))

    _, body = request(
        base_url,
        "PUT",
        "/blob",
        body=payload,
        headers={"Content-Type": "application/octet-stream"},
    )

    event = json.loads(body)["echo"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_request_without_body_has_no_body_field(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    base_url = http_front(scripted_emulator())

    _, body = request(base_url, "GET", "/")

    event = json.loads(body)["echo"]
    assert "body" not in event
    assert "cookies" not in event
    assert "queryStringParameters" not in event
    assert event["isBase64Encoded"] is False


def test_one_connection_carries_several_requests(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    base_url = http_front(scripted_emulator())
    connection = connect(base_url)

    paths = []
    for path in ("/one", "/two"):
        connection.request("GET", path)
        paths.append(json.loads(connection.getresponse().read())["echo"]["rawPath"])

    assert paths == ["/one", "/two"]


def test_request_body_over_10_mib_gets_413(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    emulator = scripted_emulator()
    base_url = http_front(emulator)
    connection = connect(base_url)

    # Declared, not sent: the front refuses on the length alone.
    connection.putrequest("POST", "/upload")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()

    assert response.status == 413
    assert emulator.process_starts == 0


# --------------------------------------------------------------- the answer


def test_status_headers_cookies_and_base64_body_are_mapped(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    answer = {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png", "X-Session": "s-1"},
        "cookies": ["sid=abc; HttpOnly", "theme=dark"],
        "body": base64.b64encode(b"\x89PNG\r\n").decode(),
        "isBase64Encoded": True,
    }
    base_url = front_answering(scripted_emulator, http_front, {"respond": answer})

    response, body = request(base_url, "POST", "/sessions")

    assert response.status == 201
    assert response.getheader("Content-Type") == "image/png"
    assert response.getheader("X-Session") == "s-1"
    assert response.headers.get_all("Set-Cookie") == ["sid=abc; HttpOnly", "theme=dark"]
    assert body == b"\x89PNG\r\n"


def test_bare_json_value_is_a_200_json_answer(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    base_url = front_answering(
        scripted_emulator, http_front, {"respond": [{"id": 1}, {"id": 2}]}
    )

    response, body = request(base_url, "GET", "/sessions")

    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(body) == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    "actions",
    [
        pytest.param(
            [{"error": {"errorMessage": "boom", "errorType": "RuntimeError"}}],
            id="function-error",
        ),
        pytest.param([{"exit": 1}], id="runtime-exit"),
        pytest.param([{"respond": {"statusCode": "teapot"}}], id="bad-status"),
        pytest.param([{"respond": {"statusCode": 200, "body": 7}}], id="body-not-text"),
    ],
)
def test_failures_become_502_internal_server_error(
    scripted_emulator: Factory, http_front: FrontFactory, actions: list[dict[str, Any]]
) -> None:
    base_url = front_answering(scripted_emulator, http_front, *actions)

    response, body = request(base_url, "GET", "/")

    assert response.status == 502
    assert json.loads(body) == {"message": "Internal Server Error"}


def test_streamed_answer_with_prelude_is_forwarded_as_it_arrives(
    scripted_emulator: Factory, http_front: FrontFactory, tmp_path: Path
) -> None:
    gate = tmp_path / "first-chunk-seen"
    prelude = json.dumps(
        {"statusCode": 206, "headers": {"X-Part": "yes"}, "cookies": ["seen=1"]}
    )
    base_url = front_answering(
        scripted_emulator,
        http_front,
        {
            "stream": {
                "content_type": "application/vnd.awslambda.http-integration-response",
                "chunks": [prelude + PRELUDE_SEPARATOR + "first", "-rest"],
                "wait_for_file": str(gate),
            }
        },
    )
    connection = connect(base_url)

    connection.request("GET", "/events")
    response = connection.getresponse()
    first = response.read1(65536)
    gate.touch()
    rest = response.read()

    assert response.status == 206
    assert response.getheader("X-Part") == "yes"
    assert response.getheader("Set-Cookie") == "seen=1"
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert first == b"first"
    assert rest == b"-rest"


def test_stream_failing_mid_way_cuts_the_response_short(
    scripted_emulator: Factory, http_front: FrontFactory
) -> None:
    prelude = json.dumps({"statusCode": 200})
    base_url = front_answering(
        scripted_emulator,
        http_front,
        {
            "stream": {
                "content_type": "application/vnd.awslambda.http-integration-response",
                "chunks": [prelude + PRELUDE_SEPARATOR + "partial"],
                "error": {
                    "type": "RuntimeError",
                    "body": {"errorType": "RuntimeError"},
                },
            }
        },
    )
    connection = connect(base_url)

    connection.request("GET", "/events")
    response = connection.getresponse()

    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert cut.value.partial == b"partial"
