"""
One cold run and one warm series of one peer on one workload.

A cold run starts a fresh process with the event already queued (as on a real
cold start, the invoke is waiting when the runtime first asks), waits for the
response, lets the runtime come back to /next, then kills it (SIGKILL, as
Lambda drops an environment) and reads its peak RSS from wait4. A warm series
keeps one process and sends it invokes back to back.
"""

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bench.errors import RunFailedError
from bench.peers import Peer
from bench.process import Spawner
from bench.runtime_api import Invocation, RuntimeAPIServer
from bench.workloads import Workload

NS_PER_MS = 1_000_000
# After the response, how long the runtime gets to return to /next before the
# bench kills it anyway (its post-response work is part of its RSS, not of the
# cold start).
BACK_TO_NEXT_TIMEOUT_S = 5.0
REAP_TIMEOUT_S = 10.0
# After /runtime/init/error a runtime must exit non-zero; wait this long to see it.
INIT_ERROR_EXIT_TIMEOUT_S = 2.0
# Active tracing samples about 5 % of warm requests: one in twenty.
WARM_SAMPLING_EVERY = 20
LOG_TAIL_BYTES = 1500


@dataclass(frozen=True)
class ColdSample:
    """Figures of one cold start, in milliseconds and KiB."""

    cold_ms: float
    first_next_ms: float | None
    first_invoke_ms: float | None
    maxrss_kib: int


@dataclass(frozen=True)
class WarmSeries:
    """Figures of many invokes on one process."""

    latencies_ms: list[float]
    invocations_per_s: float
    maxrss_kib: int


@dataclass(frozen=True)
class Job:
    """One peer on one workload: its environment and the event it gets."""

    peer: Peer
    workload: Workload
    env: dict[str, str]
    payload: bytes


@dataclass
class RunContext:
    """What every run needs: the server, the spawner, the environment."""

    server: RuntimeAPIServer
    spawner: Spawner
    log_dir: Path
    timeout_s: float

    def log_path(self, peer: Peer, workload: Workload) -> Path:
        """The log file of the peer's latest run on the workload."""
        safe = peer.name.replace(":", "_").replace("/", "_")

        return self.log_dir / f"{safe}--{workload.name}.log"


def _failure(context: RunContext, log: Path, reason: str) -> RunFailedError:
    """A RunFailedError carrying the end of the run's log, which is kept aside."""
    tail = ""
    if log.exists():
        kept = log.with_suffix(".failed.log")
        shutil.copyfile(log, kept)
        data = log.read_bytes()[-LOG_TAIL_BYTES:].decode(errors="replace").strip()
        if data:
            tail = f"\n    log ({kept.name}): ...{data}"

    return RunFailedError(reason + tail)


def _answer(invocation: Invocation) -> bytes:
    """The response body, or a RunFailedError for an invoke error."""
    if invocation.error_type is not None:
        body = (invocation.error_body or b"")[:300].decode(errors="replace")
        raise RunFailedError(f"invoke error {invocation.error_type}: {body}")

    return invocation.response_body or b""


def cold_run(context: RunContext, job: Job) -> ColdSample:
    """
    Start the peer once, from exec to its first response, and return figures.

    Raises:
        RunFailedError: no valid response (the log's tail is in the message).
    """
    server, spawner = context.server, context.spawner
    peer, workload = job.peer, job.workload
    log = context.log_path(peer, workload)
    server.reset()
    invocation = server.queue(job.payload) if peer.speaks_runtime_api else None
    exec_ns = spawner.spawn(peer.command(workload), job.env, log)
    if spawner.child_pid is not None:
        server.watch_process(spawner.child_pid)

    error: RunFailedError | None = None
    try:
        if invocation is None:
            _wait_for_exit(server, context.timeout_s)
        else:
            server.wait_for(invocation, context.timeout_s)
            server.wait_for_next_call(2, BACK_TO_NEXT_TIMEOUT_S)
    except RunFailedError as exc:
        error = exc
    finally:
        _stop(context)
        exit_info = spawner.reap(REAP_TIMEOUT_S)
    if error is not None:
        raise _failure(context, log, f"{error} ({exit_info.describe})")

    if invocation is None:
        if exit_info.wait_status != 0:
            raise _failure(context, log, f"the process ended: {exit_info.describe}")
        # The spawner's clock read right after wait4 returned: exact even when
        # the harness itself was descheduled.
        return ColdSample(
            cold_ms=(exit_info.exited_ns - exec_ns) / NS_PER_MS,
            first_next_ms=None,
            first_invoke_ms=None,
            maxrss_kib=exit_info.maxrss_kib,
        )

    try:
        response = _answer(invocation)
        if peer.kind != "floor":
            workload.check(response)
    except RunFailedError as exc:
        raise _failure(context, log, str(exc)) from exc
    if invocation.response_ns is None or invocation.served_ns is None:
        raise _failure(context, log, "the invocation has no timestamps")

    return ColdSample(
        cold_ms=(invocation.response_ns - exec_ns) / NS_PER_MS,
        first_next_ms=(server.next_calls_ns[0] - exec_ns) / NS_PER_MS,
        first_invoke_ms=(invocation.response_ns - invocation.served_ns) / NS_PER_MS,
        maxrss_kib=exit_info.maxrss_kib,
    )


def warm_series(context: RunContext, job: Job, count: int) -> WarmSeries:
    """
    Start the peer, answer one cold invoke, then time `count` warm ones.

    Latency is from /next served to the response received; invocations per
    second also count the runtime's way back to /next between invokes.

    Raises:
        RunFailedError: any invoke failed or the process died.
    """
    server, spawner = context.server, context.spawner
    peer, workload = job.peer, job.workload
    log = context.log_path(peer, workload)
    server.reset()
    first = server.queue(job.payload)
    spawner.spawn(peer.command(workload), job.env, log)
    if spawner.child_pid is not None:
        server.watch_process(spawner.child_pid)

    latencies_ms: list[float] = []
    error: RunFailedError | None = None
    started_ns = ended_ns = 0
    try:
        server.wait_for(first, context.timeout_s)
        _checked(peer, workload, first)
        started_ns = time.perf_counter_ns()
        for index in range(count):
            invocation = server.queue(
                job.payload, sampled=index % WARM_SAMPLING_EVERY == 0
            )
            server.wait_for(invocation, context.timeout_s)
            _checked(peer, workload, invocation)
            if invocation.response_ns is None or invocation.served_ns is None:
                raise RunFailedError("an invocation has no timestamps")
            latencies_ms.append(
                (invocation.response_ns - invocation.served_ns) / NS_PER_MS
            )
            ended_ns = invocation.response_ns
        server.wait_for_next_call(count + 2, BACK_TO_NEXT_TIMEOUT_S)
    except RunFailedError as exc:
        error = exc
    finally:
        _stop(context)
        exit_info = spawner.reap(REAP_TIMEOUT_S)
    if error is not None:
        raise _failure(context, log, f"{error} ({exit_info.describe})")

    elapsed_s = max(ended_ns - started_ns, 1) / 1e9

    return WarmSeries(
        latencies_ms=latencies_ms,
        invocations_per_s=count / elapsed_s,
        maxrss_kib=exit_info.maxrss_kib,
    )


def _stop(context: RunContext) -> None:
    """
    End the process: SIGKILL, unless it reported an init error, in which case
    it gets a moment to exit on its own so its exit status can be reported.
    """
    server = context.server
    deadline = time.monotonic() + INIT_ERROR_EXIT_TIMEOUT_S
    while server.init_error is not None and server.exited_ns is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        server.poll(remaining)
    context.spawner.kill()


def _checked(peer: Peer, workload: Workload, invocation: Invocation) -> None:
    response = _answer(invocation)
    if peer.kind != "floor":
        workload.check(response)


def _wait_for_exit(server: RuntimeAPIServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while server.exited_ns is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RunFailedError(f"still running after {timeout_s:.0f} s")
        server.poll(remaining)
