"""Security pass over what the tests themselves start: every listener of this
test process and its children is bound to loopback, and the bandit rules
(ruff's S) are on for the whole project."""

from __future__ import annotations

import os
import tomllib
import urllib.request
from collections.abc import Callable

from emulator import Emulator
from emulator.dynamodb_local import DynamoDBLocal
from tests.plugins.emulator import PROJECT_ROOT
from tests.tools.fault_proxy import FaultProxy
from tests.tools.listeners import listeners
from tests.unit.telemetry.receivers import OTLPReceiver, UDPReceiver


def test_every_listener_the_tests_start_is_on_loopback(
    sessions_function: Callable[..., Emulator],
    dynamodb_local: DynamoDBLocal,
    http_front: Callable[[Emulator], str],
) -> None:
    port = int(dynamodb_local.endpoint_url.rsplit(":", 1)[1])
    xray_daemon = UDPReceiver()
    try:
        with OTLPReceiver() as otlp, FaultProxy(("127.0.0.1", port)) as proxy:
            emulator = sessions_function(
                AWS_ENDPOINT_URL_DYNAMODB=proxy.url,
                OTEL_EXPORTER_OTLP_ENDPOINT=otlp.base_endpoint,
                AWS_XRAY_DAEMON_ADDRESS=xray_daemon.address,
                TRUST_USER_ID_HEADER="true",
            )
            base_url = http_front(emulator)
            request = urllib.request.Request(  # noqa: S310 - loopback, built here
                base_url + "/sessions",
                data=b"{}",
                headers={"content-type": "application/json", "x-user-id": "u"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
            found = listeners(os.getpid())
    finally:
        xray_daemon.close()

    assert status == 201
    ports = {listener.port for listener in found}
    # DynamoDB Local, the emulator, the front, the proxy, OTLP and X-Ray.
    assert {port, emulator.port, proxy.port, otlp.server.server_address[1]} <= ports
    assert int(base_url.rsplit(":", 1)[1]) in ports
    assert [listener for listener in found if not listener.is_loopback] == []


def test_bandit_rules_are_on_for_the_whole_project() -> None:
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    lint = config["tool"]["ruff"]["lint"]

    assert "S" in lint["select"]
    assert not [code for code in lint.get("ignore", []) if code.startswith("S")]
    # Only tests, benchmarks and the build relax S, each with named codes.
    for pattern, codes in lint.get("per-file-ignores", {}).items():
        if any(code.startswith("S") for code in codes):
            assert pattern in ("tests/**", "bench/**", "build/**"), pattern
            assert "S" not in codes
