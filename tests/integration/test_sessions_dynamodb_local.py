"""DynamoDB Local as the sessions service's tests and `make serve` run it:
loopback only, a free port, data kept when asked, and no orphan Java process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.dynamodb_local import PROJECT_ROOT, DynamoDBLocal
from handler.table import ensure_table
from tests.plugins.dynamodb import make_client

WAIT_S = 20.0


def listening_addresses(pid: int) -> list[str]:
    """Local addresses of the TCP sockets `pid` listens on, from `ss`."""
    output = subprocess.run(
        ["ss", "-Hltnp"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    return [
        line.split()[3]
        for line in output.splitlines()
        if re.search(rf"pid={pid},", line)
    ]


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def wait_until_gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_listens_on_loopback_only(dynamodb_local: DynamoDBLocal) -> None:
    assert dynamodb_local.pid is not None

    addresses = listening_addresses(dynamodb_local.pid)

    port = dynamodb_local.endpoint_url.rsplit(":", 1)[1]
    assert addresses, "DynamoDB Local listens on nothing"
    for address in addresses:
        host = address.rsplit(":", 1)[0]
        assert host in ("127.0.0.1", "[::ffff:127.0.0.1]"), addresses
    assert any(address.endswith(":" + port) for address in addresses)
    assert dynamodb_local.endpoint_url.startswith("http://127.0.0.1:")


def test_stop_ends_the_java_process() -> None:
    server = DynamoDBLocal().start()
    pid = server.pid
    assert pid is not None and process_alive(pid)

    server.stop()

    assert not process_alive(pid)


def test_killed_parent_leaves_no_java_process(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from emulator.dynamodb_local import DynamoDBLocal\n"
        "server = DynamoDBLocal().start()\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert parent.stdout is not None
        java_pid = int(parent.stdout.readline())
        assert process_alive(java_pid)

        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=WAIT_S)

        assert wait_until_gone(java_pid), "DynamoDB Local outlived its parent"
    finally:
        parent.kill()
        parent.wait(timeout=WAIT_S)


def test_data_dir_keeps_tables_across_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "dynamodb"
    with DynamoDBLocal(data_dir=data_dir) as first:
        created = ensure_table(make_client(first.endpoint_url), "kept-sessions")

    with DynamoDBLocal(data_dir=data_dir) as second:
        tables = make_client(second.endpoint_url).list_tables()["TableNames"]
        created_again = ensure_table(make_client(second.endpoint_url), "kept-sessions")

    assert created is True
    assert tables == ["kept-sessions"]
    assert created_again is False
    assert any(data_dir.iterdir())


def test_two_servers_get_different_free_ports(dynamodb_local: DynamoDBLocal) -> None:
    with DynamoDBLocal() as other:
        assert other.endpoint_url != dynamodb_local.endpoint_url
        assert make_client(other.endpoint_url).list_tables()["TableNames"] == []


def test_endpoint_url_before_start_is_an_error() -> None:
    with pytest.raises(Exception, match="not running"):
        _ = DynamoDBLocal().endpoint_url
