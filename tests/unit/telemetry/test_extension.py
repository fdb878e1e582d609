"""The internal extension that makes Lambda deliver SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bootstrap.telemetry.extension import EXTENSION_NAME, register_internal_extension


class FakeExtensionsAPI:
    """Answers register with an id and holds /event/next open, like Lambda."""

    def __init__(self, register_status: int = 200) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.polled = threading.Event()
        self.release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                api.requests.append((self.command, self.path, headers, body))

            def do_POST(self) -> None:
                self._record()
                self.send_response(register_status)
                self.send_header("Lambda-Extension-Identifier", "ext-id-1")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_GET(self) -> None:
                self._record()
                api.polled.set()
                # No events were asked for: the poll stays open (bounded here).
                api.release.wait(timeout=10)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def extensions_api() -> Iterator[FakeExtensionsAPI]:
    api = FakeExtensionsAPI()
    yield api
    api.close()


def test_registers_with_no_events_and_keeps_polling(
    extensions_api: FakeExtensionsAPI,
) -> None:
    extension_id = register_internal_extension(extensions_api.address)

    assert extension_id == "ext-id-1"
    assert extensions_api.polled.wait(timeout=10)
    (method, path, headers, body), poll = extensions_api.requests[:2]
    assert (method, path) == ("POST", "/2020-01-01/extension/register")
    assert headers["lambda-extension-name"] == EXTENSION_NAME
    assert json.loads(body) == {"events": []}
    assert poll[:2] == ("GET", "/2020-01-01/extension/event/next")
    assert poll[2]["lambda-extension-identifier"] == "ext-id-1"


def test_refused_registration_is_reported_not_raised() -> None:
    api = FakeExtensionsAPI(register_status=403)
    try:
        assert register_internal_extension(api.address) is None
    finally:
        api.close()


def test_absent_extensions_api_is_reported_not_raised() -> None:
    api = FakeExtensionsAPI()
    address = api.address
    api.close()

    assert register_internal_extension(address) is None


def test_sigterm_handler_flushes_then_exits_zero(tmp_path: object) -> None:
    script = (
        "import os, signal, sys\n"
        "from bootstrap.telemetry.extension import install_sigterm_handler\n"
        "install_sigterm_handler(lambda: print('flushed', flush=True))\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "signal.pause()\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 0
    assert done.stdout == "flushed\n"
