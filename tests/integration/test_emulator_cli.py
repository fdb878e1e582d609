"""`python -m emulator ... -- <command>` serves a function until it is told to stop."""

import http.client
import json
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.plugins.emulator import PROJECT_ROOT, SCRIPTED_RUNTIME

pytestmark = pytest.mark.timeout(60)


def start_cli(*arguments: str) -> tuple[subprocess.Popen[str], "queue.Queue[str]"]:
    """Start the command line; its stdout lines arrive on the queue."""
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", *arguments],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()

    return process, lines


def wait_for_port(lines: "queue.Queue[str]") -> int:
    """The port from the `emulator listening on 127.0.0.1:PORT` line."""
    seen = []
    while True:
        try:
            line = lines.get(timeout=20)
        except queue.Empty:
            raise AssertionError(f"no listening line; output so far: {seen}") from None
        seen.append(line)
        found = re.match(r"emulator listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            return int(found.group(1))


def test_command_line_serves_invokes_and_stops_on_sigterm(tmp_path: Path) -> None:
    process, lines = start_cli(
        "--port", "0", "--timeout-s", "2", "--", sys.executable, "-I", "-c",
        SCRIPTED_RUNTIME,
    )  # fmt: skip
    try:
        port = wait_for_port(lines)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        connection.request(
            "POST", "/2015-03-31/functions/function/invocations", body=b'{"n": 1}'
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(20)

    assert response.status == 200
    assert answer["echo"] == {"n": 1}
    assert answer["env"]["AWS_LAMBDA_RUNTIME_API"] == f"127.0.0.1:{port}"
    assert returncode == 0


def test_command_line_without_a_bootstrap_command_is_a_usage_error() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "emulator", "--port", "0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert completed.returncode == 2
    assert "give the bootstrap command after --" in completed.stderr
