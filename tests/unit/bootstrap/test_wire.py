"""The HTTP/1.1 connection, compiled and pure Python, against fake peers."""

import socket
import threading
from types import ModuleType

import pytest

from bootstrap.errors import (
    ConnectionClosedError,
    MalformedResponseError,
    RuntimeAPIError,
)
from tests.unit.bootstrap.fakes import (
    IO_TIMEOUT_S,
    ReceivedRequest,
    canned_connection,
    fake_server,
    ok,
)


def test_reads_content_length_body(wire: ModuleType) -> None:
    answer = ok(b"hello", headers="X-Thing: a\r\nX-Thing: b\r\n")
    with canned_connection(wire, answer) as connection:
        response = connection.request("GET", "/next")

    assert response.status == 200
    assert response.reason == "OK"
    assert response.body == b"hello"
    assert response.headers["x-thing"] == "a, b"


def test_reads_chunked_body_with_extensions_and_trailers(wire: ModuleType) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1 \r\n \r\nA\r\n0123456789\r\n"
        b"0\r\nX-Trailer: yes\r\n\r\n"
    )
    with canned_connection(wire, answer) as connection:
        response = connection.request("GET", "/next")

    assert response.body == b"hello 0123456789"


def test_reads_body_framed_by_close_when_no_length(wire: ModuleType) -> None:
    with canned_connection(wire, b"HTTP/1.0 200 OK\r\n\r\nuntil the end") as conn:
        response = conn.request("GET", "/next")

    assert response.body == b"until the end"


def test_skips_interim_responses(wire: ModuleType) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final", "202 Accepted")
    with canned_connection(wire, answer) as connection:
        response = connection.request("POST", "/response", body=b"{}")

    assert response.status == 202
    assert response.body == b"final"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", ConnectionClosedError),
        (b"HTTP/1.1 200 OK\r\nContent-Le", ConnectionClosedError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", ConnectionClosedError),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            ConnectionClosedError,
        ),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", MalformedResponseError),
        (b"HTTP/1.1 2000 OK\r\n\r\n", MalformedResponseError),
        (b"HTTP/1.1 099 Low\r\n\r\n", MalformedResponseError),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", MalformedResponseError),
        (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", MalformedResponseError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", MalformedResponseError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx", MalformedResponseError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", MalformedResponseError),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3"
            b"\r\n\r\n",
            MalformedResponseError,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            MalformedResponseError,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
            MalformedResponseError,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"11111111111111111\r\n",
            MalformedResponseError,
        ),
    ],
    ids=[
        "closed-before-answering",
        "closed-in-headers",
        "closed-in-body",
        "closed-in-chunk",
        "not-http",
        "four-digit-status",
        "status-below-100",
        "header-without-colon",
        "header-name-with-space",
        "negative-length",
        "repeated-length",
        "unknown-transfer-encoding",
        "chunked-and-length",
        "chunk-size-not-hex",
        "chunk-without-crlf",
        "chunk-size-too-long",
    ],
)
def test_peer_failures_raise_our_errors(
    wire: ModuleType, answer: bytes, error: type[RuntimeAPIError]
) -> None:
    with canned_connection(wire, answer) as connection:
        with pytest.raises(error) as caught:
            connection.request("GET", "/2018-06-01/runtime/invocation/next")

    assert caught.value.endpoint == "GET /2018-06-01/runtime/invocation/next"


def test_error_carries_status_when_body_is_cut(wire: ModuleType) -> None:
    answer = b"HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\nhalf"
    with canned_connection(wire, answer) as connection:
        with pytest.raises(ConnectionClosedError) as caught:
            connection.request("GET", "/next")

    assert caught.value.status == 500


def test_huge_announced_length_fails_without_allocating(wire: ModuleType) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\nabc"
    with canned_connection(wire, answer) as connection:
        with pytest.raises(ConnectionClosedError):
            connection.request("GET", "/next")


def test_endless_headers_are_refused(wire: ModuleType) -> None:
    answer = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: aaaaaaaaaaaaaaaa\r\n" * 4000
    with canned_connection(wire, answer) as connection:
        with pytest.raises(MalformedResponseError):
            connection.request("GET", "/next")


def test_request_carries_host_length_and_headers(wire: ModuleType) -> None:
    with fake_server([ok(b"{}", "202 Accepted")]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        connection.request("POST", "/post", [("X-One", "1")], b"payload")
        connection.close()

    request = server.requests[0]
    assert request.request_line == "POST /post HTTP/1.1"
    assert request.headers["host"] == "127.0.0.1"
    assert request.headers["x-one"] == "1"
    assert request.headers["content-length"] == "7"
    assert request.body == b"payload"


@pytest.mark.parametrize("value", ["a\r\nInjected: yes", "a\nb", "a\rb"])
def test_header_with_line_break_is_refused(wire: ModuleType, value: str) -> None:
    connection = wire.Connection("127.0.0.1", 9)

    with pytest.raises(ValueError, match="line break"):
        connection.request("GET", "/", [("X-Bad", value)])


def test_keeps_one_connection_for_many_requests(wire: ModuleType) -> None:
    with fake_server([ok(b"1"), ok(b"2"), ok(b"3")]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        bodies = [connection.request("GET", "/n").body for _ in range(3)]
        connection.close()

    assert bodies == [b"1", b"2", b"3"]
    assert server.accepted == 1


def test_reopens_a_connection_closed_while_idle(wire: ModuleType) -> None:
    first = ok(b"first", headers="")
    with fake_server([first], [ok(b"second")]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        connection.request("GET", "/n")
        # The server's script ends: it closes the kept-alive connection.
        second = connection.request("GET", "/n")
        connection.close()

    assert second.body == b"second"
    assert server.accepted == 2


def test_reopens_once_when_the_peer_drops_the_request(wire: ModuleType) -> None:
    # First connection answers once, then drops the next request unanswered.
    with fake_server([ok(b"first"), None], [ok(b"retried")]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        connection.request("GET", "/n")
        retried = connection.request("GET", "/n")
        connection.close()

    assert retried.body == b"retried"
    assert server.accepted == 2


def test_connection_close_header_closes_after_the_answer(wire: ModuleType) -> None:
    closing = ok(b"bye", headers="Connection: close\r\n")
    with fake_server([closing], [ok(b"new")]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        connection.request("GET", "/n")
        again = connection.request("GET", "/n")
        connection.close()

    assert again.body == b"new"
    assert server.accepted == 2


def test_unreachable_peer_raises_connection_closed(wire: ModuleType) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    connection = wire.Connection("127.0.0.1", port)

    with pytest.raises(ConnectionClosedError, match="cannot connect"):
        connection.request("GET", "/next")


def test_reads_a_six_megabyte_body(wire: ModuleType) -> None:
    payload = bytes(range(256)) * (6 * 1024 * 1024 // 256)
    with fake_server([ok(payload)]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        response = connection.request("POST", "/big", body=payload)
        connection.close()

    assert response.body == payload
    assert server.requests[0].body == payload


def test_streams_chunks_then_trailers(wire: ModuleType) -> None:
    with fake_server([ok(b"", "202 Accepted")]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        response = connection.request_streaming(
            "POST",
            "/stream",
            [("Trailer", "X-Error")],
            iter([b"one", b"", b"two"]),
            lambda: [("X-Error", "none")],
        )
        connection.close()

    request = server.requests[0]
    assert response.status == 202
    assert request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in request.headers
    assert request.body == b"onetwo"
    assert request.trailers == {"x-error": "none"}


def test_failing_chunks_close_the_connection_and_propagate(wire: ModuleType) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b"one"
        raise KeyError("boom")

    with fake_server([ok(b"")], [ok(b"fresh")]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        with pytest.raises(KeyError):
            connection.request_streaming("POST", "/stream", [], chunks())
        fresh = connection.request("GET", "/n")
        connection.close()

    assert fresh.body == b"fresh"
    assert server.accepted == 2


def test_answer_before_the_body_is_read_is_still_returned(wire: ModuleType) -> None:
    # Like the Runtime API's 413: answer and close without reading the body.
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(IO_TIMEOUT_S)

    def answer_early() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(ok(b"too big", "413 Request Entity Too Large"))
            conn.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=answer_early, daemon=True)
    thread.start()
    connection = wire.Connection("127.0.0.1", listener.getsockname()[1])
    response = connection.request("POST", "/big", body=b"x" * (16 * 1024 * 1024))
    connection.close()
    thread.join(IO_TIMEOUT_S)
    listener.close()

    assert response.status == 413
    assert response.body == b"too big"


@pytest.mark.timeout(60)
def test_blocked_request_lets_other_threads_run(wire: ModuleType) -> None:
    # The server answers only once the main thread has run Python code while
    # the request thread is blocked in recv(); a request holding the GIL would
    # keep the main thread from ever getting there (until the fallback).
    main_thread_ran = threading.Event()
    order: list[str] = []

    def answer_after_main_thread(request: ReceivedRequest) -> bytes:
        order.append("main ran" if main_thread_ran.wait(5) else "fallback")
        return ok(b"late")

    with fake_server([answer_after_main_thread]) as server:
        connection = wire.Connection("127.0.0.1", server.port)
        results: list[bytes] = []
        worker = threading.Thread(
            target=lambda: results.append(connection.request("GET", "/n").body)
        )
        worker.start()
        for _ in range(1000):  # at most IO_TIMEOUT_S
            if server.requests:
                break
            threading.Event().wait(IO_TIMEOUT_S / 1000)
        main_thread_ran.set()
        worker.join(IO_TIMEOUT_S)
        connection.close()

    assert results == [b"late"]
    assert order == ["main ran"]
