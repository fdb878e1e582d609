"""Cold runs and warm series against real processes: the C floor and failures."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.errors import RunFailedError
from bench.measure import Job, RunContext, cold_run, warm_series
from bench.peers import Peer, floor_peers
from bench.process import Spawner
from bench.runtime_api import RuntimeAPIServer
from bench.workloads import WORKLOADS

HELLO = WORKLOADS["hello"]


@pytest.fixture
def context(tmp_path: Path) -> Iterator[RunContext]:
    with RuntimeAPIServer() as server, Spawner() as spawner:
        yield RunContext(server, spawner, tmp_path, timeout_s=20.0)


def job(peer: Peer, context: RunContext) -> Job:
    env = {"AWS_LAMBDA_RUNTIME_API": context.server.address}

    return Job(peer, HELLO, env, HELLO.event())


def test_cold_run_of_the_c_floor_orders_its_timestamps(context: RunContext) -> None:
    c_floor = floor_peers(sys.executable)[0]

    sample = cold_run(context, job(c_floor, context))

    assert sample.first_next_ms is not None and sample.first_invoke_ms is not None
    assert 0 < sample.first_next_ms <= sample.cold_ms
    assert 0 < sample.first_invoke_ms <= sample.cold_ms
    assert 0 < sample.maxrss_kib


def test_interpreter_floor_cold_start_is_its_lifetime(context: RunContext) -> None:
    python_floor = floor_peers(sys.executable)[1]

    sample = cold_run(context, job(python_floor, context))

    assert sample.cold_ms > 0
    assert sample.first_next_ms is None
    assert sample.first_invoke_ms is None


def test_warm_series_times_every_invoke_on_one_process(context: RunContext) -> None:
    c_floor = floor_peers(sys.executable)[0]

    series = warm_series(context, job(c_floor, context), count=25)

    assert len(series.latencies_ms) == 25
    assert all(latency > 0 for latency in series.latencies_ms)
    assert series.invocations_per_s > 0


def test_a_wrong_answer_fails_the_run_and_keeps_the_log(context: RunContext) -> None:
    # A "runtime" that is not one: prints and exits before answering.
    liar = Peer(
        name="liar",
        kind="runtime",
        argv=(sys.executable, "-S", "-c", "print('I am no runtime')"),
    )

    with pytest.raises(RunFailedError, match="exited before responding") as failure:
        cold_run(context, job(liar, context))

    assert "I am no runtime" in str(failure.value)
    assert (context.log_dir / "liar--hello.failed.log").exists()


def test_a_response_with_the_wrong_status_is_a_failure_not_a_figure(
    context: RunContext,
) -> None:
    # The C floor answers statusCode 200; POST /sessions expects 201.
    c_floor = floor_peers(sys.executable)[0]
    as_runtime = Peer(name="c-as-runtime", kind="runtime", argv=c_floor.argv)
    post = WORKLOADS["post-http"]
    env = {"AWS_LAMBDA_RUNTIME_API": context.server.address}

    with pytest.raises(RunFailedError, match="status 200, expected 201"):
        cold_run(context, Job(as_runtime, post, env, post.event()))


INIT_FAILURE = """
import http.client, os, sys
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
connection = http.client.HTTPConnection(api, timeout=10)
connection.request("POST", "/2018-06-01/runtime/init/error", b'{"errorMessage":"boom"}')
connection.getresponse().read()
sys.exit(1)
"""


def test_an_init_error_is_reported_with_the_runtimes_own_exit_status(
    context: RunContext,
) -> None:
    failing = Peer(
        name="failing-init",
        kind="runtime",
        argv=(sys.executable, "-S", "-c", INIT_FAILURE),
    )

    with pytest.raises(RunFailedError, match=r"init error: .*boom.*\(exit 1\)"):
        cold_run(context, job(failing, context))
