"""The Runtime API client over both connection forms, against a fake Runtime API."""

import base64
import io
import json
from collections.abc import Iterator
from types import ModuleType

import pytest

from bootstrap import logs
from bootstrap.client import ErrorReport, Invocation, RuntimeClient, parse_runtime_api
from bootstrap.errors import ConfigurationError, MalformedResponseError, RuntimeAPIError
from tests.unit.bootstrap.fakes import fake_server, ok

PREFIX = "/2018-06-01/runtime"
NEXT_HEADERS = (
    "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n"
    "Lambda-Runtime-Deadline-Ms: 1542409706888\r\n"
    "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:1:function:f\r\n"
    "Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1\r\n"
    'Lambda-Runtime-Client-Context: {"custom": {}}\r\n'
    'Lambda-Runtime-Cognito-Identity: {"cognitoIdentityId": "c"}\r\n'
    "Lambda-Runtime-Aws-Tenant-Id: tenant-1\r\n"
    "Lambda-Runtime-Invocation-Id: inv-42\r\n"
)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The runtime's log lines, as text."""
    captured = io.StringIO()
    logs.configure(logs.LogSettings("Text", "INFO", captured))
    yield captured
    logs.configure(logs.LogSettings())


def client_for(wire: ModuleType, port: int) -> RuntimeClient:
    """A client whose connection is of the form under test."""
    return RuntimeClient("", wire.Connection("127.0.0.1", port))


def invocation(invocation_id: str | None = "inv-42") -> Invocation:
    return Invocation("req-1", 0, b"{}", invocation_id=invocation_id)


def test_next_invocation_reads_every_header(wire: ModuleType) -> None:
    with fake_server([ok(b'{"k": 1}', headers=NEXT_HEADERS)]) as server:
        client = client_for(wire, server.port)
        got = client.next_invocation()
        client.close()

    assert (
        server.requests[0].request_line == "GET " + PREFIX + "/invocation/next HTTP/1.1"
    )
    assert got.request_id == "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
    assert got.deadline_ms == 1542409706888
    assert got.invoked_function_arn == "arn:aws:lambda:us-east-2:1:function:f"
    assert got.trace_id.startswith("Root=1-5bef4de7")
    assert got.client_context == '{"custom": {}}'
    assert got.cognito_identity == '{"cognitoIdentityId": "c"}'
    assert got.tenant_id == "tenant-1"
    assert got.invocation_id == "inv-42"
    assert got.event == b'{"k": 1}'


@pytest.mark.parametrize("status", ["500 Internal Server Error", "403 Forbidden"])
def test_next_invocation_refused_raises_with_status(
    wire: ModuleType, status: str
) -> None:
    with fake_server([ok(b"broken", status)]) as server:
        client = client_for(wire, server.port)
        with pytest.raises(RuntimeAPIError) as caught:
            client.next_invocation()
        client.close()

    assert caught.value.status == int(status[:3])
    assert caught.value.body == b"broken"
    assert caught.value.endpoint == "GET " + PREFIX + "/invocation/next"


@pytest.mark.parametrize(
    "headers", ["", "Lambda-Runtime-Aws-Request-Id: ../../init/error\r\n"]
)
def test_next_invocation_without_a_valid_request_id_is_malformed(
    wire: ModuleType, headers: str
) -> None:
    with fake_server([ok(b"{}", headers=headers)]) as server:
        client = client_for(wire, server.port)
        with pytest.raises(MalformedResponseError):
            client.next_invocation()
        client.close()


@pytest.mark.parametrize(
    ("invocation_id", "echoed"), [("inv-42", "inv-42"), (None, None)]
)
def test_posts_echo_the_invocation_id_only_when_present(
    wire: ModuleType, invocation_id: str | None, echoed: str | None
) -> None:
    accepted = ok(b"", "202 Accepted")
    with fake_server([accepted, accepted]) as server:
        client = client_for(wire, server.port)
        client.post_response(invocation(invocation_id), b'{"ok":true}')
        client.post_error(invocation(invocation_id), ErrorReport("E", "m"))
        client.close()

    for request in server.requests:
        assert request.headers.get("lambda-runtime-invocation-id") == echoed


def test_post_response_sends_the_body_to_the_invoke_path(wire: ModuleType) -> None:
    with fake_server([ok(b"", "202 Accepted")]) as server:
        client = client_for(wire, server.port)
        client.post_response(invocation(), b'{"ok":true}')
        client.close()

    request = server.requests[0]
    assert request.request_line == f"POST {PREFIX}/invocation/req-1/response HTTP/1.1"
    assert request.body == b'{"ok":true}'
    assert request.headers["content-type"] == "application/json"


def test_post_error_sends_the_error_envelope(wire: ModuleType) -> None:
    try:
        raise KeyError("missing")
    except KeyError as exc:
        report = ErrorReport.from_exception(exc, "req-1")
    with fake_server([ok(b"", "202 Accepted")]) as server:
        client = client_for(wire, server.port)
        client.post_error(invocation(), report)
        client.close()

    request = server.requests[0]
    body = json.loads(request.body)
    assert request.request_line == f"POST {PREFIX}/invocation/req-1/error HTTP/1.1"
    assert request.headers["content-type"] == "application/vnd.aws.lambda.error+json"
    assert request.headers["lambda-runtime-function-error-type"] == "KeyError"
    assert body["errorType"] == "KeyError"
    assert body["errorMessage"] == "'missing'"
    assert body["requestId"] == "req-1"
    assert "test_post_error_sends_the_error_envelope" in body["stackTrace"][0]
    cause = json.loads(request.headers["lambda-runtime-function-xray-error-cause"])
    assert cause["exceptions"][0]["type"] == "KeyError"


def test_xray_cause_stays_under_64_kib() -> None:
    def recurse(depth: int) -> None:
        if depth == 0:
            raise ValueError("é" * 100_000)
        recurse(depth - 1)

    try:
        recurse(300)
    except ValueError as exc:
        report = ErrorReport.from_exception(exc, "req-1")

    header = dict(report.headers())["Lambda-Runtime-Function-XRay-Error-Cause"]
    assert len(header.encode("latin-1")) < 64 * 1024
    assert json.loads(header)["exceptions"][0]["type"] == "ValueError"


def test_error_type_header_is_printable_ascii() -> None:
    report = ErrorReport("Ошибка\r\nInjected: yes", "m")

    header = dict(report.headers())["Lambda-Runtime-Function-Error-Type"]
    assert header.isascii()
    assert "\r" not in header
    assert "\n" not in header


@pytest.mark.parametrize("status", ["410 Gone", "413 Request Entity Too Large"])
def test_post_rejected_for_the_invoke_is_logged_and_the_client_goes_on(
    wire: ModuleType, status: str, log_stream: io.StringIO
) -> None:
    with fake_server([ok(b"expired", status), ok(b"", "202 Accepted")]) as server:
        client = client_for(wire, server.port)
        client.post_response(invocation(), b"{}")
        client.post_response(invocation(), b"{}")
        client.close()

    assert len(server.requests) == 2
    assert status[:3] in log_stream.getvalue()
    assert "going on" in log_stream.getvalue()


def test_post_failed_by_the_environment_raises(wire: ModuleType) -> None:
    with fake_server([ok(b"dead", "500 Internal Server Error")]) as server:
        client = client_for(wire, server.port)
        with pytest.raises(RuntimeAPIError) as caught:
            client.post_response(invocation(), b"{}")
        client.close()

    assert caught.value.status == 500


def test_init_and_restore_errors_go_to_their_endpoints(wire: ModuleType) -> None:
    accepted = ok(b"", "202 Accepted")
    with fake_server([accepted, ok(b""), accepted]) as server:
        client = client_for(wire, server.port)
        client.post_init_error(ErrorReport("Runtime.ImportModuleError", "no module"))
        client.restore_next()
        client.post_restore_error(ErrorReport("Runtime.RestoreError", "hook failed"))
        client.close()

    lines = [request.request_line.split()[:2] for request in server.requests]
    assert lines == [
        ["POST", PREFIX + "/init/error"],
        ["GET", PREFIX + "/restore/next"],
        ["POST", PREFIX + "/restore/error"],
    ]
    init_error = server.requests[0]
    assert json.loads(init_error.body)["errorType"] == "Runtime.ImportModuleError"
    assert "requestId" not in json.loads(init_error.body)
    assert "lambda-runtime-invocation-id" not in init_error.headers


def _stream_request(wire: ModuleType, chunks: object, **options: object) -> tuple:
    with fake_server([ok(b"", "202 Accepted")]) as server:
        client = client_for(wire, server.port)
        failure = client.post_streaming_response(invocation(), chunks, **options)
        client.close()

    return server.requests[0], failure


def test_streaming_post_declares_mode_and_trailers(wire: ModuleType) -> None:
    request, failure = _stream_request(
        wire, iter([b"a", "é", bytearray(b"c")]), content_type="text/plain"
    )

    assert failure is None
    assert request.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert request.headers["transfer-encoding"] == "chunked"
    assert request.headers["trailer"] == (
        "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    )
    assert request.headers["content-type"] == "text/plain"
    assert request.headers["lambda-runtime-invocation-id"] == "inv-42"
    assert request.body == "aéc".encode()
    assert request.trailers == {}


def test_streaming_prelude_comes_first(wire: ModuleType) -> None:
    prelude = b'{"statusCode":200}' + b"\x00" * 8
    request, _ = _stream_request(wire, iter([b"body"]), prelude=prelude)

    assert request.body == prelude + b"body"


def test_mid_stream_failure_becomes_error_trailers(wire: ModuleType) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"partial"
        raise ValueError("broke")

    request, failure = _stream_request(wire, chunks())

    assert request.body == b"partial"
    assert request.trailers["lambda-runtime-function-error-type"] == "ValueError"
    body = json.loads(
        base64.b64decode(request.trailers["lambda-runtime-function-error-body"])
    )
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "broke"
    assert body["requestId"] == "req-1"
    assert failure.error_type == "ValueError"


def test_chunk_of_the_wrong_type_is_a_marshal_error(wire: ModuleType) -> None:
    request, failure = _stream_request(wire, iter([b"ok", 42]))

    assert request.body == b"ok"
    assert (
        request.trailers["lambda-runtime-function-error-type"] == "Runtime.MarshalError"
    )
    assert failure.error_type == "Runtime.MarshalError"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:9001", ("127.0.0.1", 9001)),
        ("[::1]:9001", ("::1", 9001)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_runtime_api_address_is_split(address: str, expected: tuple[str, int]) -> None:
    assert parse_runtime_api(address) == expected


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "127.0.0.1:", ":9001", "h:99999", "h:x"]
)
def test_invalid_runtime_api_address_is_a_configuration_error(address: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_runtime_api(address)
