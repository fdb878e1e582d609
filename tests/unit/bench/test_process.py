"""The C spawner: exec timestamps on the harness's clock, the child's own peak RSS."""

import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.process import Spawner

REAP_TIMEOUT_S = 10.0


@pytest.fixture
def spawner() -> Iterator[Spawner]:
    with Spawner() as started:
        yield started


def test_exec_timestamp_is_on_the_perf_counter_clock(
    spawner: Spawner, tmp_path: Path
) -> None:
    before = time.perf_counter_ns()
    exec_ns = spawner.spawn(["/bin/true"], {}, tmp_path / "true.log")
    after = time.perf_counter_ns()
    exit_info = spawner.reap(REAP_TIMEOUT_S)

    assert before <= exec_ns <= after
    assert exit_info.exited_ns >= exec_ns
    assert exit_info.wait_status == 0


def test_peak_rss_is_the_childs_own_not_the_harness(
    spawner: Spawner, tmp_path: Path
) -> None:
    # Grow the harness well past what /bin/true could ever use; a fork from
    # Python would report at least this much for the child.
    ballast = bytearray(64 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    harness_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    spawner.spawn(["/bin/true"], {}, tmp_path / "true.log")
    exit_info = spawner.reap(REAP_TIMEOUT_S)

    assert harness_kib > 64 * 1024
    assert exit_info.maxrss_kib < 16 * 1024
    del ballast


def test_child_gets_exactly_the_given_environment_and_its_output_is_logged(
    spawner: Spawner, tmp_path: Path
) -> None:
    log = tmp_path / "env.log"

    spawner.spawn(["/usr/bin/env"], {"ONLY_THIS": "1"}, log)
    exit_info = spawner.reap(REAP_TIMEOUT_S)

    assert exit_info.wait_status == 0
    assert log.read_text() == "ONLY_THIS=1\n"


def test_a_killed_child_is_reported_as_killed(spawner: Spawner, tmp_path: Path) -> None:
    spawner.spawn(["/bin/sleep", "30"], {}, tmp_path / "sleep.log")

    spawner.kill()
    exit_info = spawner.reap(REAP_TIMEOUT_S)

    assert exit_info.describe == "killed by signal 9"


def test_a_missing_executable_exits_127_with_a_message(
    spawner: Spawner, tmp_path: Path
) -> None:
    log = tmp_path / "missing.log"

    spawner.spawn(["/nonexistent/bootstrap"], {}, log)
    exit_info = spawner.reap(REAP_TIMEOUT_S)

    assert exit_info.describe == "exit 127"
    assert "cannot exec /nonexistent/bootstrap" in log.read_text()
