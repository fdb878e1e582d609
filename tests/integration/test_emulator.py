"""The emulator behaves like the reference Runtime Interface Emulator.

Every test runs the stdlib-only scripted runtime (tests/plugins/emulator.py), so
these tests depend on the emulator alone, not on bootstrap/.
"""

import base64
import http.client
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator, InvokeResult, RuntimeExchange
from emulator.environment import FAKE_CREDENTIALS, MAX_BUFFERED_RESPONSE_BYTES

pytestmark = pytest.mark.timeout(60)

Factory = Callable[..., Emulator]


def steps(*actions: dict[str, Any]) -> bytes:
    """An event that scripts the runtime's behaviour for one invoke."""
    return json.dumps({"steps": list(actions)}).encode()


def posts_for(emulator: Emulator, request_id: str) -> list[RuntimeExchange]:
    """The runtime's posts about one invoke, in order."""
    return [
        exchange
        for exchange in emulator.runtime_exchanges()
        if exchange.method == "POST" and f"/invocation/{request_id}/" in exchange.path
    ]


def next_exchanges(emulator: Emulator) -> list[RuntimeExchange]:
    """The `/next` calls answered so far."""
    return [
        exchange
        for exchange in emulator.runtime_exchanges()
        if exchange.path.endswith("/runtime/invocation/next")
    ]


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Poll a condition with a bound, so a broken emulator fails instead of hanging."""
    give_up = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(0.01)


# ---------------------------------------------------------------- success path


def test_invoke_returns_the_runtime_response(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()

    result = emulator.invoke(b'{"name": "ada"}')

    answer = json.loads(result.body)
    assert result.status_code == 200
    assert result.function_error is None
    assert answer["echo"] == {"name": "ada"}
    assert result.request_id == answer["request_id"]
    assert result.headers["x-amzn-requestid"] == answer["request_id"]


def test_next_hands_out_request_id_deadline_arn_and_invocation_id(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator(timeout_s=7.0)

    before_ms = int(time.time() * 1000)
    answer = json.loads(emulator.invoke(b"{}").body)
    after_ms = int(time.time() * 1000)

    headers = answer["headers"]
    assert headers["lambda-runtime-aws-request-id"] == answer["request_id"]
    assert before_ms + 7000 <= answer["deadline_ms"] <= after_ms + 7000
    assert headers["lambda-runtime-invoked-function-arn"] == (
        "arn:aws:lambda:us-east-1:012345678912:function:test_function"
    )
    assert len(headers["lambda-runtime-invocation-id"]) == 36
    assert headers["lambda-runtime-invocation-id"] != answer["request_id"]
    assert headers["content-type"] == "application/json"


def test_optional_next_headers_are_absent_unless_given(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()

    headers = json.loads(emulator.invoke(b"{}").body)["headers"]

    for name in (
        "lambda-runtime-trace-id",
        "lambda-runtime-client-context",
        "lambda-runtime-cognito-identity",
        "lambda-runtime-aws-tenant-id",
    ):
        assert name not in headers


def test_optional_next_headers_carry_what_the_caller_gave(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

    result = emulator.invoke(
        b"{}",
        trace_id=trace,
        client_context='{"custom": {"team": "blue"}}',
        cognito_identity='{"cognitoIdentityId": "us-east-1:abc"}',
        tenant_id="tenant-7",
    )

    headers = json.loads(result.body)["headers"]
    assert headers["lambda-runtime-trace-id"] == trace
    assert json.loads(headers["lambda-runtime-client-context"]) == {
        "custom": {"team": "blue"}
    }
    assert headers["lambda-runtime-cognito-identity"] == (
        '{"cognitoIdentityId": "us-east-1:abc"}'
    )
    assert headers["lambda-runtime-aws-tenant-id"] == "tenant-7"


def test_runtime_posts_are_recorded_with_the_invocation_id_echo(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()

    result = emulator.invoke(b"{}")

    handed_out = next_exchanges(emulator)[0]
    invocation_id = handed_out.response_headers["lambda-runtime-invocation-id"]
    (post,) = posts_for(emulator, result.request_id)
    assert post.status_code == 202
    assert post.request_headers["lambda-runtime-invocation-id"] == invocation_id


def test_function_gets_the_lambda_environment_and_fake_credentials(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator(memory_mb=512, env={"SCRIPT_EXTRA": "kept"})

    env = json.loads(emulator.invoke(b"{}").body)["env"]

    assert env["AWS_LAMBDA_RUNTIME_API"] == emulator.runtime_api
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "test_function"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/test_function"
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["AWS_REGION"]
    assert env["LAMBDA_TASK_ROOT"]
    assert env["AWS_ACCESS_KEY_ID"] == FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    assert env["AWS_SECRET_ACCESS_KEY"] == FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_SESSION_TOKEN"] == FAKE_CREDENTIALS["AWS_SESSION_TOKEN"]
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in env
    assert env["SCRIPT_EXTRA"] == "kept"


def test_process_starts_lazily_and_is_reused(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()
    starts_before_invoke = emulator.process_starts

    first = json.loads(emulator.invoke(b"{}").body)
    second = json.loads(emulator.invoke(b"{}").body)

    assert starts_before_invoke == 0
    assert emulator.process_starts == 1
    assert first["pid"] == second["pid"]


def test_function_output_is_captured(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()

    emulator.invoke(b"{}")

    wait_until(lambda: "/response -> 202" in emulator.logs())
    assert "runtime: GET /invocation/next -> 200" in emulator.logs()


def test_caller_gets_the_answer_only_when_the_runtime_asks_for_more(
    scripted_emulator: Factory, tmp_path: Path
) -> None:
    emulator = scripted_emulator()
    emulator.invoke(b"{}")  # warm: the process is up and waiting in /next
    release = tmp_path / "release"
    results: list[InvokeResult] = []
    caller = threading.Thread(
        target=lambda: results.append(
            emulator.invoke(steps({"respond": "done"}, {"wait_for_file": str(release)}))
        )
    )

    caller.start()
    wait_until(
        lambda: sum(e.status_code == 202 for e in emulator.runtime_exchanges()) == 2
    )
    answered_before_next = bool(results)
    release.touch()
    caller.join(20)

    assert not answered_before_next
    assert results[0].body == b'"done"'


# -------------------------------------------------------------------- errors


def test_second_response_for_the_same_id_gets_403(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()

    result = emulator.invoke(steps({"respond": "first"}, {"respond": "second"}))

    statuses = [post.status_code for post in posts_for(emulator, result.request_id)]
    assert result.body == b'"first"'
    assert statuses == [202, 403]


def test_post_for_an_unknown_id_gets_400(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()

    emulator.invoke(steps({"post_to": "no-such-id"}, {"respond": "ok"}))

    (post,) = posts_for(emulator, "no-such-id")
    assert post.status_code == 400


def test_response_of_exactly_6_mib_is_accepted(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()

    result = emulator.invoke(steps({"respond_bytes": MAX_BUFFERED_RESPONSE_BYTES}))

    assert result.status_code == 200
    assert result.function_error is None
    assert len(result.body) == MAX_BUFFERED_RESPONSE_BYTES


def test_response_over_6_mib_gets_413_and_the_caller_a_size_error(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()

    result = emulator.invoke(steps({"respond_bytes": MAX_BUFFERED_RESPONSE_BYTES + 1}))

    (post,) = posts_for(emulator, result.request_id)
    error = json.loads(result.body)
    assert post.status_code == 413
    assert result.function_error == "Unhandled"
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6291457 bytes" in error["errorMessage"]


def test_function_error_reaches_the_caller_with_the_error_header(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()
    error = {"errorMessage": "bad input", "errorType": "ValueError", "stackTrace": []}

    result = emulator.invoke(steps({"error": error}))

    (post,) = posts_for(emulator, result.request_id)
    assert post.status_code == 202
    assert post.request_headers["lambda-runtime-function-error-type"] == "ValueError"
    assert result.status_code == 200
    assert result.function_error == "Unhandled"
    assert json.loads(result.body) == error


def test_init_error_gives_502_with_its_body_and_next_gets_403(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator(env={"SCRIPT_INIT": "error"})

    result = emulator.invoke(b"{}")

    assert result.status_code == 502
    assert json.loads(result.body)["errorType"] == "Runtime.ImportModuleError"
    wait_until(lambda: bool(next_exchanges(emulator)))
    assert next_exchanges(emulator)[0].status_code == 403


def test_init_error_then_exit_gives_502_and_a_retry_starts_afresh(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator(env={"SCRIPT_INIT": "error-exit"})

    first = emulator.invoke(b"{}")
    second = emulator.invoke(b"{}")

    assert first.status_code == 502
    assert json.loads(first.body)["errorType"] == "Runtime.ImportModuleError"
    assert second.status_code == 502
    assert emulator.process_starts == 2


def test_crash_during_init_gives_502_exit_error(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator(env={"SCRIPT_INIT": "crash"})

    result = emulator.invoke(b"{}")

    error = json.loads(result.body)
    assert result.status_code == 502
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_init_that_never_reaches_next_is_cut_off(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator(env={"SCRIPT_INIT": "hang"}, init_timeout_s=1.0)

    result = emulator.invoke(b"{}")

    assert result.status_code == 502
    assert json.loads(result.body)["errorType"] == "Sandbox.Timedout"


def test_exit_mid_invoke_gives_502_and_the_next_invoke_a_fresh_process(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()
    first_pid = json.loads(emulator.invoke(b"{}").body)["pid"]

    crashed = emulator.invoke(steps({"exit": 2}))
    after = json.loads(emulator.invoke(b"{}").body)

    error = json.loads(crashed.body)
    assert crashed.status_code == 502
    assert crashed.function_error == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"] == (
        f"RequestId: {crashed.request_id} Error: Runtime exited with error: "
        "exit status 2"
    )
    assert after["pid"] != first_pid
    assert emulator.process_starts == 2


def test_timeout_answers_task_timed_out_and_replaces_the_process(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator(timeout_s=1.0)
    first_pid = json.loads(emulator.invoke(b"{}").body)["pid"]

    timed_out = emulator.invoke(steps({"sleep": 30}))
    after = json.loads(emulator.invoke(b"{}").body)

    assert timed_out.status_code == 200
    assert timed_out.function_error == "Unhandled"
    assert timed_out.body == b"Task timed out after 1.00 seconds"
    assert after["pid"] != first_pid
    assert emulator.process_starts == 2


def test_bootstrap_that_cannot_start_gives_502(tmp_path: Path) -> None:
    with Emulator([str(tmp_path / "missing-bootstrap")]) as emulator:
        result = emulator.invoke(b"{}")

    assert result.status_code == 502
    assert json.loads(result.body)["errorType"] == "Runtime.InvalidEntrypoint"


def test_close_kills_the_whole_process_group(
    scripted_emulator: Factory, tmp_path: Path
) -> None:
    emulator = scripted_emulator(env={"SCRIPT_DIR": str(tmp_path)})
    function_pid = json.loads(emulator.invoke(b"{}").body)["pid"]
    emulator.invoke(steps({"spawn_sleeper": True}, {"respond": "ok"}))
    sleeper_pid = int((tmp_path / "sleeper.pid").read_text())

    emulator.close()

    assert not _alive(function_pid)
    wait_until(lambda: not _alive(sleeper_pid))


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False

    return status.rsplit(")", 1)[1].split()[0] != "Z"


def test_invoke_payload_over_6_mib_is_refused(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()

    result = emulator.invoke(b"x" * (MAX_BUFFERED_RESPONSE_BYTES + 1))

    assert result.status_code == 413
    assert emulator.process_starts == 0


# ----------------------------------------------------------------- streaming


def test_streamed_response_is_forwarded_as_it_arrives(
    scripted_emulator: Factory, tmp_path: Path
) -> None:
    emulator = scripted_emulator()
    gate = tmp_path / "first-chunk-seen"
    event = steps(
        {"stream": {"chunks": ["first", "-rest"], "wait_for_file": str(gate)}}
    )

    with emulator.invoke_stream(event) as streamed:
        chunks = iter(streamed)
        first = next(chunks)
        gate.touch()
        rest = b"".join(chunks)

    assert streamed.status_code == 200
    assert first == b"first"
    assert rest == b"-rest"
    assert streamed.function_error is None


def test_streamed_response_keeps_the_runtime_content_type(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()
    event = steps({"stream": {"chunks": ["a", "b"], "content_type": "text/csv"}})

    result = emulator.invoke(event)

    assert result.body == b"ab"
    assert result.headers["content-type"] == "text/csv"
    assert result.function_error is None


def test_error_trailers_mark_a_streamed_invoke_failed(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()
    error = {"errorMessage": "boom", "errorType": "RuntimeError"}
    event = steps(
        {
            "stream": {
                "chunks": ["partial"],
                "error": {"type": "RuntimeError", "body": error},
            }
        }
    )

    with emulator.invoke_stream(event) as streamed:
        body = b"".join(streamed)

    assert body == b"partial"
    assert streamed.function_error == "Unhandled"
    assert streamed.trailers["lambda-runtime-function-error-type"] == "RuntimeError"
    assert json.loads(streamed.error_body() or b"") == error


def test_timeout_mid_stream_ends_the_stream_with_a_timeout_error(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator(timeout_s=1.0)
    event = steps({"stream": {"chunks": ["a", "b"], "pause_s": 30}})

    result = emulator.invoke(event)

    assert result.body.startswith(b"a")
    assert result.function_error == "Unhandled"
    assert result.trailers["lambda-runtime-function-error-type"] == "Sandbox.Timedout"
    message = json.loads(
        base64.b64decode(result.trailers["lambda-runtime-function-error-body"])
    )
    assert message["errorMessage"] == "Task timed out after 1.00 seconds"


# --------------------------------------------------------------- concurrency


def test_invokes_queue_behind_a_busy_single_worker(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()
    results: list[InvokeResult] = []
    lock = threading.Lock()

    def call(index: int) -> None:
        result = emulator.invoke(steps({"sleep": 0.05}, {"respond": index}))
        with lock:
            results.append(result)

    callers = [threading.Thread(target=call, args=(index,)) for index in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(30)

    assert sorted(json.loads(result.body) for result in results) == [0, 1, 2, 3]
    assert emulator.process_starts == 1


def test_concurrency_runs_invokes_side_by_side(
    scripted_emulator: Factory, tmp_path: Path
) -> None:
    emulator = scripted_emulator(concurrency=2, timeout_s=15.0)
    first, second = tmp_path / "first", tmp_path / "second"
    results: dict[str, InvokeResult] = {}

    # Each invoke waits for the other to have started: only two in flight at
    # once can both finish before the scripted runtime gives up waiting.
    def call(mine: Path, other: Path) -> None:
        results[mine.name] = emulator.invoke(
            steps(
                {"touch": str(mine)}, {"wait_for_file": str(other)}, {"respond": "ok"}
            )
        )

    callers = [
        threading.Thread(target=call, args=(first, second)),
        threading.Thread(target=call, args=(second, first)),
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(30)

    assert {name: result.body for name, result in results.items()} == {
        "first": b'"ok"',
        "second": b'"ok"',
    }
    assert "gave up" not in emulator.logs()
    assert emulator.process_starts == 1


def test_concurrency_above_one_sets_max_concurrency(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator(concurrency=3)

    env = json.loads(emulator.invoke(b"{}").body)["env"]

    assert env["AWS_LAMBDA_MAX_CONCURRENCY"] == "3"


def test_memory_limit_is_applied_when_asked(scripted_emulator: Factory) -> None:
    limited = scripted_emulator(memory_mb=128, limit_memory=True)
    unlimited = scripted_emulator(memory_mb=128)
    greedy = steps({"allocate_mb": 256}, {"respond": "held"})

    over_the_limit = limited.invoke(greedy)
    without_limit = unlimited.invoke(greedy)

    # The MemoryError ends the scripted runtime's only worker, so it exits.
    assert over_the_limit.status_code == 502
    assert json.loads(over_the_limit.body)["errorType"] == "Runtime.ExitError"
    assert "MemoryError" in limited.logs()
    assert without_limit.body == b'"held"'


def test_unknown_route_gets_404(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)

    connection.request("GET", "/2018-06-01/runtime/nowhere")
    response = connection.getresponse()

    assert response.status == 404
    assert json.loads(response.read())["errorType"] == "NotFound"


def test_emulator_runs_any_command_with_a_connection_per_request(
    tmp_path: Path,
) -> None:
    script = tmp_path / "runtime.py"
    script.write_text(
        "import os, urllib.request\n"
        "api = os.environ['AWS_LAMBDA_RUNTIME_API']\n"
        "api = 'http://' + api + '/2018-06-01/runtime'\n"
        "with urllib.request.urlopen(api + '/invocation/next') as r:\n"
        "    rid = r.headers['Lambda-Runtime-Aws-Request-Id']\n"
        "    body = r.read()\n"
        "urllib.request.urlopen(api + '/invocation/' + rid + '/response', body[::-1])\n"
        "urllib.request.urlopen(api + '/invocation/next')\n"
    )

    with Emulator(
        [sys.executable, str(script)], env={"PYTHONPATH": os.pathsep}
    ) as emulator:
        result = emulator.invoke(b'"abc"')

    assert result.body == b'"cba"'


# ---------------------------------------------------------------- extensions


def test_close_sends_sigterm_when_an_extension_is_registered(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator(env={"SCRIPT_EXTENSION": ""})
    emulator.invoke(b"{}")

    emulator.close()

    assert "runtime: register -> 200" in emulator.logs()
    assert "runtime: got SIGTERM" in emulator.logs()


def test_close_kills_without_sigterm_when_no_extension_is_registered(
    scripted_emulator: Factory,
) -> None:
    emulator = scripted_emulator()
    emulator.invoke(b"{}")

    emulator.close()

    assert "/response -> 202" in emulator.logs()
    assert "got SIGTERM" not in emulator.logs()


def test_extension_gets_invoke_and_shutdown_events(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator(env={"SCRIPT_EXTENSION": "INVOKE,SHUTDOWN"})
    result = emulator.invoke(b"{}")
    wait_until(lambda: f"extension: INVOKE {result.request_id}" in emulator.logs())

    emulator.close()

    assert "extension: SHUTDOWN spindown" in emulator.logs()


def test_extension_register_without_a_name_gets_400(scripted_emulator: Factory) -> None:
    emulator = scripted_emulator()
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)

    connection.request("POST", "/2020-01-01/extension/register", body=b'{"events": []}')
    response = connection.getresponse()

    assert response.status == 400
    assert json.loads(response.read())["errorType"] == "Extension.InvalidRequest"
