"""`python -m bootstrap` under the emulator: every path of an invoke, end to end."""

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator import Emulator
from tests.plugins.emulator import PROJECT_ROOT
from tests.unit.bootstrap.fakes import fake_server, ok

Start = Callable[..., Emulator]


def body_of(result: object) -> dict:  # type: ignore[type-arg]
    return json.loads(result.body)  # type: ignore[attr-defined,no-any-return]


def test_echo_handler_answers_with_event_and_context(lambda_runtime: Start) -> None:
    emu = lambda_runtime("tests.handlers.echo.handler")

    result = emu.invoke(
        b'{"name": "Zo\xc3\xab"}',
        trace_id="Root=1-67891233-abcdef012345678912345678;Sampled=1",
        client_context='{"custom": {"app": "shop"}}',
        cognito_identity='{"cognitoIdentityId": "id-7"}',
        tenant_id="tenant-3",
    )

    answer = body_of(result)
    assert result.status_code == 200
    assert result.function_error is None
    assert answer["event"] == {"name": "Zoë"}
    assert answer["aws_request_id"] == result.request_id
    assert answer["invoked_function_arn"].startswith("arn:aws:lambda:")
    assert answer["function_name"]
    assert answer["memory_limit_in_mb"] == "128"
    assert 0 < answer["remaining_ms"] <= 3000
    assert answer["trace_id"].startswith("Root=1-67891233")
    assert answer["env_trace_id"] == answer["trace_id"]
    assert answer["client_custom"] == {"app": "shop"}
    assert answer["cognito_identity_id"] == "id-7"
    assert answer["tenant_id"] == "tenant-3"


def test_collector_is_off_during_init_then_skips_what_init_made(
    lambda_runtime: Start,
) -> None:
    # Init only allocates: collections there are wasted cold-start time; an
    # invoke's garbage must still be collected.
    emu = lambda_runtime("tests.handlers.collector.handler")

    result = emu.invoke(b"{}")

    state = json.loads(result.body)
    assert (state["at_import"], state["at_invoke"]) == (False, True)
    # Init's objects (the runtime, the handler module) were frozen out of the
    # collector's reach: a first collection would otherwise walk them all.
    # Loading the runtime alone makes thousands.
    assert state["frozen_objects"] > 1000


def test_trace_variable_is_removed_when_an_invoke_has_none(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.echo.handler")

    traced = body_of(
        emu.invoke(b"{}", trace_id="Root=1-aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbb")
    )
    untraced = body_of(emu.invoke(b"{}"))

    assert traced["env_trace_id"] == "Root=1-aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbb"
    assert untraced["pid"] == traced["pid"]
    assert untraced["env_trace_id"] is None
    assert untraced["trace_id"] is None


def test_handler_exception_is_reported_and_the_loop_survives(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.failing.raise_error")

    failed = emu.invoke(b'{"order": 12}')
    failed_again = emu.invoke(b'{"order": 13}')

    error = body_of(failed)
    assert failed.function_error == "Unhandled"
    assert error["errorType"] == "OrderRejectedError"
    assert error["errorMessage"] == "order 12 rejected"
    assert error["requestId"] == failed.request_id
    assert all("bootstrap" not in frame for frame in error["stackTrace"])
    assert "raise_error" in error["stackTrace"][0]
    assert "_inner" in error["stackTrace"][-1]
    assert body_of(failed_again)["errorMessage"] == "order 13 rejected"
    assert emu.process_starts == 1
    assert "OrderRejectedError: order 12 rejected" in emu.logs()


def test_event_that_is_not_json_is_an_unmarshal_error(lambda_runtime: Start) -> None:
    emu = lambda_runtime("tests.handlers.echo.handler")

    failed = emu.invoke(b"{not json")
    recovered = emu.invoke(b'{"after": 1}')

    assert body_of(failed)["errorType"] == "Runtime.UnmarshalError"
    assert body_of(recovered)["event"] == {"after": 1}
    assert emu.process_starts == 1


def test_unserializable_result_is_a_marshal_error(lambda_runtime: Start) -> None:
    emu = lambda_runtime("tests.handlers.echo.unserializable")

    failed = emu.invoke(b"{}")

    assert failed.function_error == "Unhandled"
    assert body_of(failed)["errorType"] == "Runtime.MarshalError"
    assert "not JSON serializable" in body_of(failed)["errorMessage"]


def test_print_output_reaches_the_logs(lambda_runtime: Start) -> None:
    emu = lambda_runtime("tests.handlers.echo.printing")

    result = emu.invoke(b'"hello"')

    assert json.loads(result.body) == "printed"
    assert "printed by the handler hello" in emu.logs()


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("tests.handlers.import_error.handler", "Runtime.ImportModuleError"),
        ("tests.handlers.echo.no_such_function", "Runtime.HandlerNotFound"),
        ("not_a_handler_name", "Runtime.MalformedHandlerName"),
        ("", "Runtime.MalformedHandlerName"),
    ],
)
def test_init_failure_is_reported_and_the_process_exits(
    lambda_runtime: Start, handler: str, error_type: str
) -> None:
    emu = lambda_runtime(handler)

    result = emu.invoke(b"{}")

    assert result.status_code == 502
    assert body_of(result)["errorType"] == error_type
    assert error_type in emu.logs()


def test_syntax_error_in_the_handler_is_reported(
    lambda_runtime: Start, tmp_path: Path
) -> None:
    (tmp_path / "broken_module.py").write_text("def handler(event, context)\n")
    emu = lambda_runtime(
        "broken_module.handler",
        env={"LAMBDA_TASK_ROOT": str(tmp_path)},
    )

    result = emu.invoke(b"{}")

    assert result.status_code == 502
    assert body_of(result)["errorType"] == "Runtime.UserCodeSyntaxError"


def test_process_exit_mid_invoke_is_an_exit_error_then_a_fresh_process(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.failing.exit_process")

    crashed = emu.invoke(b"{}")
    crashed_again = emu.invoke(b"{}")

    assert crashed.status_code == 502
    assert body_of(crashed)["errorType"] == "Runtime.ExitError"
    assert body_of(crashed_again)["errorType"] == "Runtime.ExitError"
    assert emu.process_starts == 2


def test_timeout_is_reported_and_the_next_invoke_gets_a_fresh_process(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.failing.sleep", timeout_s=1.0)

    timed_out = emu.invoke(b'{"seconds": 30}')
    quick = emu.invoke(b'{"seconds": 0}')

    assert "Task timed out after 1.00 seconds" in timed_out.body.decode()
    assert body_of(quick) == {"slept": 0.0}
    assert emu.process_starts == 2


def test_oversize_response_is_refused_and_the_loop_goes_on(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.failing.huge")

    too_big = emu.invoke(json.dumps({"bytes": 7 * 1024 * 1024}).encode())
    small = emu.invoke(json.dumps({"bytes": 10}).encode())

    assert too_big.function_error == "Unhandled"
    assert body_of(too_big)["errorType"] == "Function.ResponseSizeTooLarge"
    assert json.loads(small.body) == "x" * 10
    assert emu.process_starts == 1
    assert "413" in emu.logs()


def test_invocation_id_is_echoed_on_the_response_and_error_posts(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.echo.handler")

    emu.invoke(b"{}")
    emu.invoke(b"{not json")

    exchanges = emu.runtime_exchanges()
    handed_out = [
        e.response_headers["lambda-runtime-invocation-id"]
        for e in exchanges
        if e.path.endswith("/invocation/next") and e.status_code == 200
    ]
    echoed = [
        e.request_headers.get("lambda-runtime-invocation-id")
        for e in exchanges
        if e.method == "POST"
    ]
    posted_paths = [e.path.rsplit("/", 1)[-1] for e in exchanges if e.method == "POST"]
    assert posted_paths == ["response", "error"]
    assert echoed == handed_out[:2]
    assert all(echoed)


def test_concurrent_workers_run_invokes_at_the_same_time(
    lambda_runtime: Start, tmp_path: Path
) -> None:
    emu = lambda_runtime(
        "tests.handlers.failing.rendezvous", timeout_s=10.0, concurrency=2
    )
    first, second = tmp_path / "first", tmp_path / "second"
    results: dict[str, dict] = {}  # type: ignore[type-arg]

    def invoke(name: str, mine: Path, other: Path) -> None:
        payload = json.dumps({"mine": str(mine), "other": str(other)}).encode()
        results[name] = body_of(emu.invoke(payload))

    threads = [
        threading.Thread(target=invoke, args=("first", first, second)),
        threading.Thread(target=invoke, args=("second", second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert results["first"]["met"] is True
    assert results["second"]["met"] is True
    assert results["first"]["pid"] == results["second"]["pid"]
    # Managed Instances need JSON logs; concurrency switches them on.
    runtime_lines = [
        line for line in emu.logs().splitlines() if '"logger":"bootstrap' in line
    ]
    assert all(json.loads(line)["level"] for line in runtime_lines)


def test_stream_reaches_the_caller_before_the_handler_finishes(
    lambda_runtime: Start, tmp_path: Path
) -> None:
    emu = lambda_runtime("tests.handlers.streaming.wait_for_file", timeout_s=15.0)
    release = tmp_path / "release"

    with emu.invoke_stream(json.dumps({"file": str(release)}).encode()) as stream:
        chunks = iter(stream)
        first = next(chunks)
        # The handler is still waiting for this file: it has not finished.
        release.write_text("go")
        rest = b"".join(chunks)

    assert first == b"first"
    assert rest == b"after the file"
    assert stream.function_error is None


def test_stream_with_http_prelude_sends_prelude_then_body(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.streaming.http_prelude")

    with emu.invoke_stream(b"{}") as stream:
        body = b"".join(stream)

    prelude, separator, rest = body.partition(b"\x00" * 8)
    assert json.loads(prelude) == {"statusCode": 201, "headers": {"X-Stream": "yes"}}
    assert separator
    assert rest == b"hello world"
    assert (
        stream.headers["content-type"]
        == "application/vnd.awslambda.http-integration-response"
    )


def test_stream_failure_mid_way_arrives_as_error_trailers(
    lambda_runtime: Start,
) -> None:
    emu = lambda_runtime("tests.handlers.streaming.fail_midway")

    with emu.invoke_stream(b"{}") as stream:
        body = b"".join(stream)
    after = emu.invoke(b"{}")

    error = json.loads(stream.error_body() or b"null")
    assert body == b"partial"
    assert stream.function_error
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "stream broke after one chunk"
    assert after.status_code == 200
    assert emu.process_starts == 1


def _run_bootstrap(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "bootstrap"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=PROJECT_ROOT,
    )


def test_missing_runtime_api_exits_non_zero_with_one_line() -> None:
    result = _run_bootstrap({"_HANDLER": "tests.handlers.echo.handler"})

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "AWS_LAMBDA_RUNTIME_API is not set" in result.stderr


def test_invalid_runtime_api_exits_non_zero_with_one_line() -> None:
    result = _run_bootstrap(
        {"_HANDLER": "tests.handlers.echo.handler", "AWS_LAMBDA_RUNTIME_API": "nowhere"}
    )

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "AWS_LAMBDA_RUNTIME_API must be host:port" in result.stderr


def test_unreachable_runtime_api_exits_non_zero() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()

    result = _run_bootstrap(
        {
            "_HANDLER": "tests.handlers.echo.handler",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        }
    )

    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr


def test_gone_post_is_logged_and_server_error_on_next_ends_the_process() -> None:
    next_ok = ok(
        b'{"n": 1}',
        headers="Lambda-Runtime-Aws-Request-Id: r-1\r\n"
        "Lambda-Runtime-Deadline-Ms: 1\r\n",
    )
    script = [next_ok, ok(b"expired", "410 Gone"), ok(b"", "500 Internal Server Error")]
    with fake_server(script) as server:
        result = _run_bootstrap(
            {
                "_HANDLER": "tests.handlers.echo.handler",
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.port}",
            }
        )

    lines = [request.request_line.split()[:2] for request in server.requests]
    assert lines == [
        ["GET", "/2018-06-01/runtime/invocation/next"],
        ["POST", "/2018-06-01/runtime/invocation/r-1/response"],
        ["GET", "/2018-06-01/runtime/invocation/next"],
    ]
    assert result.returncode == 1
    assert "410" in result.stderr
    assert "status: 500" in result.stderr
    assert "Traceback" not in result.stderr
