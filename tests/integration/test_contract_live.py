"""The contract against the live service: `make serve`'s code path (the HTTP
front, the emulator, our runtime, an embedded DynamoDB Local with a data
directory) started in its own process, fuzzed by schemathesis over HTTP from
the GET /openapi.json it serves, operation by operation and through the
document's stateful links. Also the security pass over that process tree:
every socket it listens on is bound to loopback, and nothing secret is logged.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.integration.test_sessions_openapi import (
    CONFIG,
    checks_to_skip,
    documented_operations,
)
from tests.plugins.emulator import PROJECT_ROOT
from tests.tools.faults import leaked_secrets
from tests.tools.listeners import descendants, listeners

# `make serve` is `python -m emulator serve`, whose CLI has no option for the
# data directory (it is always .dynamodb/ in the checkout); the same function
# is called with a temporary one instead, so tests never touch a developer's
# data. Port 0: the front binds a free port and prints it. With
# BOOTSTRAP_COMMAND naming one executable (the frozen build), serve runs it.
SERVE_SCRIPT = """
import logging, sys
from pathlib import Path
logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="emulator %(levelname)s %(name)s: %(message)s")
from emulator.serve import serve
frozen = Path(sys.argv[2]) if len(sys.argv) > 2 else None
serve(port=0, data_dir=Path(sys.argv[1]), frozen=frozen)
"""
SERVING = re.compile(r"serving on (http://127\.0\.0\.1:\d+)")
START_TIMEOUT_S = 120.0
USER_HEADERS = {"x-user-id": "schemathesis-live"}


class LiveService:
    """The serve process, its base URL and everything it printed."""

    def __init__(self, data_dir: Path) -> None:
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        frozen = shlex.split(os.environ.get("BOOTSTRAP_COMMAND", ""))
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE_SCRIPT, str(data_dir), *frozen[:1]],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.base_url = self._wait_for_url()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_url(self) -> str:
        give_up = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < give_up:
            try:
                line = self._lines.get(timeout=1.0)
            except queue.Empty:
                continue
            if line is None:
                break
            match = SERVING.search(line)
            if match:
                return match.group(1)
        self.stop()
        raise AssertionError("serve did not start:\n" + "".join(self.output[-50:]))

    def text(self) -> str:
        """Everything the service printed so far."""
        return "".join(self.output)

    def stop(self) -> int | None:
        """SIGTERM (serve's own clean shutdown), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

        return self.process.returncode


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The service, once for this module, with its data in a temp directory."""
    service = LiveService(tmp_path_factory.mktemp("dynamodb-data"))
    yield service

    service.stop()


@pytest.fixture(scope="module")
def live_schema(live: LiveService) -> Any:
    """The schema as the live service serves it."""
    return schemathesis.openapi.from_url(live.base_url + "/openapi.json", config=CONFIG)


def test_every_operation_of_the_live_service_conforms_to_its_document(
    live: LiveService, live_schema: Any
) -> None:
    operations = [result.ok() for result in live_schema.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers=USER_HEADERS,
                excluded_checks=checks_to_skip(case),
                timeout=30,
            )

        check()

    fuzzed = {tuple(operation.label.split(" ", 1)) for operation in operations}
    assert fuzzed == documented_operations() - {("GET", "/openapi.json")}
    assert leaked_secrets(live.text()) == []


def test_stateful_links_hold_against_the_live_service(
    live: LiveService, live_schema: Any
) -> None:
    base = live_schema.as_state_machine()
    calls: list[str] = []

    # A class built at run time by schemathesis: mypy cannot see its type.
    class Machine(base):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            calls.append(case.operation.label)
            return {"headers": USER_HEADERS, "timeout": 30}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=checks_to_skip(case),
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )

    # The links were followed: something was created, then used by id.
    assert "POST /sessions" in calls
    assert {label for label in calls if "{session_id}" in label}
    assert leaked_secrets(live.text()) == []


def test_every_listener_of_the_live_service_is_on_loopback(live: LiveService) -> None:
    found = listeners(live.process.pid)

    # The front, the Runtime API and DynamoDB Local, at least.
    ports = {listener.port for listener in found if listener.protocol.startswith("tcp")}
    assert int(live.base_url.rsplit(":", 1)[1]) in ports
    assert len(ports) >= 3, found
    assert [listener for listener in found if not listener.is_loopback] == []


def test_live_service_shuts_down_cleanly_on_sigterm(tmp_path: Path) -> None:
    service = LiveService(tmp_path / "data")
    # One request first: SIGTERM must find the front serving (serve.py prints
    # its URL just before the try block that turns SIGTERM into a clean stop).
    url = service.base_url + "/openapi.json"
    with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - loopback
        served = r.status
    children = descendants(service.process.pid)[1:]

    returncode = service.stop()

    assert served == 200
    assert returncode == 0, service.text()[-3000:]
    # serve's own children (the function, DynamoDB Local) went with it.
    assert children
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)
