"""The fixtures run our own runtime under the emulator, as other suites use them.

`lambda_runtime` starts `python -m bootstrap` (or BOOTSTRAP_COMMAND, e.g. the
frozen build) with a handler from tests/handlers/.
"""

import http.client
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from emulator import Emulator

pytestmark = pytest.mark.timeout(60)

RuntimeFactory = Callable[..., Emulator]
FrontFactory = Callable[[Emulator], str]


def test_lambda_runtime_runs_a_handler_with_the_emulator_context(
    lambda_runtime: RuntimeFactory,
) -> None:
    emulator = lambda_runtime("tests.handlers.echo.handler", timeout_s=5.0)

    result = emulator.invoke(b'{"ping": 1}', tenant_id="tenant-1")

    answer = json.loads(result.body)
    assert result.status_code == 200
    assert answer["event"] == {"ping": 1}
    assert answer["aws_request_id"] == result.request_id
    assert answer["function_name"] == "test_function"
    assert answer["tenant_id"] == "tenant-1"
    assert 0 < answer["remaining_ms"] <= 5000


def test_real_runtime_stream_reaches_the_caller_as_chunks_arrive(
    lambda_runtime: RuntimeFactory, tmp_path: Path
) -> None:
    emulator = lambda_runtime("tests.handlers.streaming.wait_for_file")
    gate = tmp_path / "first-chunk-seen"

    with emulator.invoke_stream(json.dumps({"file": str(gate)}).encode()) as streamed:
        chunks = iter(streamed)
        first = next(chunks)
        gate.touch()
        rest = b"".join(chunks)

    assert first == b"first"
    assert rest == b"after the file"
    assert streamed.function_error is None


def test_real_runtime_http_prelude_becomes_the_http_response(
    lambda_runtime: RuntimeFactory, http_front: FrontFactory
) -> None:
    address = urlsplit(
        http_front(lambda_runtime("tests.handlers.streaming.http_prelude"))
    )
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=20)

    connection.request("GET", "/stream")
    response = connection.getresponse()
    body = response.read()

    assert response.status == 201
    assert response.getheader("X-Stream") == "yes"
    assert body == b"hello world"
