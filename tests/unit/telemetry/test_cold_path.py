"""What telemetry loads: nothing heavy unless an exporter or the handler asks."""

from __future__ import annotations

import subprocess
import sys

HEAVY = [
    "socket",
    "ssl",
    "threading",
    "logging",
    "json",
    "re",
    "opentelemetry",
    "bootstrap.telemetry.otlp",
    "bootstrap.telemetry.xray",
    "bootstrap.telemetry.transport",
    "bootstrap.telemetry.extension",
    "bootstrap.telemetry.otel_bridge",
]

# The probe imports neither json nor re itself, and prints a plain list.
PROBE = """
import io, sys
from bootstrap.telemetry.invocation import Telemetry
from bootstrap.telemetry.metrics import MetricsWriter

class Context:
    aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:f"
    trace_id = ("Root=1-5759e988-bd862e3fe1be46a994272793;"
                "Parent=53995c3f42cd8ad8;Sampled=1")
    tenant_id = None

telemetry = Telemetry.from_env({"AWS_LAMBDA_FUNCTION_NAME": "f"})
telemetry.metrics.stream = io.StringIO()
scope = telemetry.start_invocation(Context(), {"headers": {}, "requestContext": {}})
scope.finish(result={"statusCode": 200})
telemetry.flush()
print(" ".join(sorted(name for name in %r if name in sys.modules)))
"""


def test_telemetry_without_exporters_loads_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-S", "-c", PROBE % HEAVY],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=".",
        env={"PYTHONPATH": "."},
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


EXPORTING_PROBE = """
import sys
from bootstrap.telemetry.invocation import Telemetry

class Context:
    aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:f"
    trace_id = None
    tenant_id = None

telemetry = Telemetry.from_env({
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
    "BOOTSTRAP_METRICS": "off",
})
# Port 9 refuses: registration fails, as under an emulator without the API.
telemetry.enable_shutdown_flush("127.0.0.1:9")
scope = telemetry.start_invocation(Context(), {})
scope.finish()
print(" ".join(sorted(name for name in %r if name in sys.modules)))
"""


def test_exporters_load_socket_only_at_the_first_flush() -> None:
    heavy = [name for name in HEAVY if not name.startswith("bootstrap.telemetry.")]

    done = subprocess.run(
        [sys.executable, "-S", "-c", EXPORTING_PROBE % heavy],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": "."},
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
