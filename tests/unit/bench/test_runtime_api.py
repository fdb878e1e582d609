"""The bench's instrumented Runtime API, driven by a raw socket client."""

import select
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from bench.errors import RunFailedError
from bench.runtime_api import RuntimeAPIServer

NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
IO_TIMEOUT_S = 5.0


@pytest.fixture
def server() -> Iterator[RuntimeAPIServer]:
    with RuntimeAPIServer() as api:
        yield api


@pytest.fixture
def client(server: RuntimeAPIServer) -> Iterator[socket.socket]:
    host, port = server.address.split(":")
    with socket.create_connection((host, int(port)), timeout=IO_TIMEOUT_S) as sock:
        yield sock


def exchange(server: RuntimeAPIServer, client: socket.socket, data: bytes) -> bytes:
    """Send data, let the server work, return one whole response (head + body)."""
    client.sendall(data)
    received = b""
    deadline = time.monotonic() + IO_TIMEOUT_S
    while time.monotonic() < deadline:
        server.poll(0.01)
        readable, _, _ = select.select([client], [], [], 0.01)
        if readable:
            chunk = client.recv(65536)
            if not chunk:
                break
            received += chunk
        head_end = received.find(b"\r\n\r\n")
        if head_end >= 0:
            head = received[:head_end].decode().lower()
            if head.startswith("http/1.1 100"):
                received = received[head_end + 4 :]
                continue
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            if len(received) >= head_end + 4 + length:
                return received
    raise AssertionError(f"no complete response, got {received!r}")


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST /2018-06-01/runtime{path} HTTP/1.1\r\nHost: x\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_next_serves_the_queued_event_with_the_lambda_headers(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    invocation = server.queue(b'{"hello":1}')

    answer = exchange(server, client, NEXT)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b'{"hello":1}'
    for header in (
        b"Lambda-Runtime-Aws-Request-Id: " + invocation.request_id.encode(),
        b"Lambda-Runtime-Deadline-Ms: ",
        b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:",
        b"Lambda-Runtime-Trace-Id: Root=1-",
        b";Sampled=1",
    ):
        assert header in head
    assert invocation.served_ns is not None
    assert server.next_calls_ns and server.next_calls_ns[0] <= invocation.served_ns


def test_an_unsampled_invoke_says_so_in_its_trace_header(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    server.queue(b"{}", sampled=False)

    answer = exchange(server, client, NEXT)

    assert b";Sampled=0\r\n" in answer


def test_next_waits_for_an_event_and_is_answered_when_one_is_queued(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    client.sendall(NEXT)
    for _ in range(20):
        server.poll(0.01)

    invocation = server.queue(b"{}")
    answer = exchange(server, client, b"")

    assert answer.startswith(b"HTTP/1.1 200")
    assert invocation.request_id.encode() in answer


def test_response_is_recorded_with_its_body_and_timestamp_then_refused_twice(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    invocation = server.queue(b"{}")
    exchange(server, client, NEXT)
    path = f"/invocation/{invocation.request_id}/response"

    first = exchange(server, client, post(path, b'{"ok":true}'))
    second = exchange(server, client, post(path, b"{}"))

    assert first.startswith(b"HTTP/1.1 202")
    assert second.startswith(b"HTTP/1.1 403")
    assert invocation.response_body == b'{"ok":true}'
    assert invocation.served_ns is not None and invocation.response_ns is not None
    assert invocation.response_ns >= invocation.served_ns


def test_response_for_an_unknown_request_id_is_a_400(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    answer = exchange(server, client, post("/invocation/nope/response", b"{}"))

    assert answer.startswith(b"HTTP/1.1 400")


def test_chunked_streamed_response_is_reassembled_and_trailers_skipped(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    invocation = server.queue(b"{}")
    exchange(server, client, NEXT)
    request = (
        f"POST /2018-06-01/runtime/invocation/{invocation.request_id}/response "
        "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n"
        "Lambda-Runtime-Function-Error-Type: none\r\n\r\n"
    ).encode()

    answer = exchange(server, client, request)

    assert answer.startswith(b"HTTP/1.1 202")
    assert invocation.response_body == b"hello world"


def test_expect_100_continue_is_answered_before_the_body_is_read(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    invocation = server.queue(b"{}")
    exchange(server, client, NEXT)
    head = post(
        f"/invocation/{invocation.request_id}/response",
        b"",
        extra="Expect: 100-continue\r\n",
    ).replace(b"Content-Length: 0", b"Content-Length: 4")
    client.sendall(head)
    interim = b""
    deadline = time.monotonic() + IO_TIMEOUT_S
    while b"\r\n\r\n" not in interim and time.monotonic() < deadline:
        server.poll(0.01)
        if select.select([client], [], [], 0.01)[0]:
            interim += client.recv(4096)

    answer = exchange(server, client, b"done")

    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert answer.startswith(b"HTTP/1.1 202")
    assert invocation.response_body == b"done"


def test_error_post_records_the_error_type_and_wait_for_returns(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    invocation = server.queue(b"{}")
    exchange(server, client, NEXT)

    exchange(
        server,
        client,
        post(
            f"/invocation/{invocation.request_id}/error",
            b'{"errorType":"Boom"}',
            extra="Lambda-Runtime-Function-Error-Type: Runtime.Boom\r\n",
        ),
    )
    server.wait_for(invocation, timeout_s=1.0)

    assert invocation.error_type == "Runtime.Boom"
    assert invocation.error_body == b'{"errorType":"Boom"}'


def test_wait_for_fails_fast_on_an_init_error(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    invocation = server.queue(b"{}")
    exchange(server, client, post("/init/error", b'{"errorMessage":"no module"}'))

    with pytest.raises(RunFailedError, match=r"init error: .*no module"):
        server.wait_for(invocation, timeout_s=5.0)


def test_wait_for_gives_up_after_its_timeout(server: RuntimeAPIServer) -> None:
    invocation = server.queue(b"{}")

    with pytest.raises(RunFailedError, match="no response within"):
        server.wait_for(invocation, timeout_s=0.2)


def test_extension_registration_is_accepted_with_an_identifier(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    request = (
        b"POST /2020-01-01/extension/register HTTP/1.1\r\nHost: x\r\n"
        b"Lambda-Extension-Name: flush\r\nContent-Length: 2\r\n\r\n{}"
    )

    answer = exchange(server, client, request)

    assert answer.startswith(b"HTTP/1.1 200")
    assert b"Lambda-Extension-Identifier: " in answer


def test_reset_forgets_the_previous_process(
    server: RuntimeAPIServer, client: socket.socket
) -> None:
    server.queue(b"{}")
    exchange(server, client, NEXT)

    server.reset()

    assert server.next_calls_ns == []
    assert server.invocations == []


def test_watching_a_process_that_is_already_gone_marks_it_exited(
    server: RuntimeAPIServer,
) -> None:
    child = subprocess.Popen(["/bin/true"])
    child.wait(timeout=IO_TIMEOUT_S)

    server.watch_process(child.pid)

    assert server.exited_ns is not None
