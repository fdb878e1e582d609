"""The runtime's connection to the Runtime API reset under it, through a TCP
fault proxy between `python -m bootstrap` and the emulator: the runtime
reconnects (or exits and is restarted), every invoke is answered, and none is
handed out or answered twice."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from emulator import Emulator, InvokeResult
from tests.tools.fault_proxy import FaultProxy

Start = Callable[..., Emulator]


@pytest.fixture
def proxied_runtime(lambda_runtime: Start) -> Iterator[Callable[..., Emulator]]:
    """Factory: a runtime whose AWS_LAMBDA_RUNTIME_API is a fault proxy."""
    proxies: list[FaultProxy] = []

    def start(handler: str, **options: object) -> Emulator:
        emulator = lambda_runtime(handler, **options)
        proxy = FaultProxy(("127.0.0.1", emulator.port)).start()
        proxies.append(proxy)
        # The process starts on the first invoke, with this environment.
        emulator.environment.extra_env["AWS_LAMBDA_RUNTIME_API"] = proxy.address
        emulator.proxy = proxy  # type: ignore[attr-defined]

        return emulator

    yield start

    for proxy in proxies:
        proxy.close()


def proxy_of(emulator: Emulator) -> FaultProxy:
    """The fault proxy proxied_runtime put in front of `emulator`."""
    proxy: FaultProxy = emulator.proxy  # type: ignore[attr-defined]

    return proxy


def is_running(pid: int) -> bool:
    """Whether a process exists (the emulator reaps its children)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False

    return True


def handed_out_and_answered(emulator: Emulator) -> tuple[Counter[str], Counter[str]]:
    """Per request id: how often /next handed it out, how often a post was taken."""
    handed_out: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    for exchange in emulator.runtime_exchanges():
        if exchange.path.endswith("/invocation/next") and exchange.status_code == 200:
            handed_out[exchange.response_headers["lambda-runtime-aws-request-id"]] += 1
        elif exchange.method == "POST" and exchange.status_code == 202:
            answered[exchange.path.split("/")[-2]] += 1

    return handed_out, answered


def test_reset_between_invokes_every_invoke_answered_once(
    proxied_runtime: Start,
) -> None:
    emulator = proxied_runtime("tests.handlers.echo.handler")
    proxy = proxy_of(emulator)
    results: list[InvokeResult] = []
    resets = 0

    for number in range(6):
        results.append(emulator.invoke(json.dumps({"n": number}).encode()))
        # The caller has its answer only once the runtime is back on /next:
        # the reset hits the idle long poll.
        resets += proxy.reset_all()
    handed_out, answered = handed_out_and_answered(emulator)

    assert resets >= 6, "the proxy reset no connection"
    assert [json.loads(r.body)["event"] for r in results] == [
        {"n": n} for n in range(6)
    ]
    assert all(r.function_error is None for r in results)
    ids = [r.request_id for r in results]
    assert len(set(ids)) == 6
    assert all(handed_out[request_id] == 1 for request_id in ids), handed_out
    assert all(answered[request_id] == 1 for request_id in ids), answered
    # Reconnected each time: one process served them all.
    assert emulator.process_starts == 1, emulator.logs()[-3000:]


def test_reset_while_the_handler_runs_posts_over_a_new_connection(
    proxied_runtime: Start,
) -> None:
    emulator = proxied_runtime("tests.handlers.failing.sleep", timeout_s=10.0)
    proxy = proxy_of(emulator)
    emulator.invoke(b'{"seconds": 0}')  # the process is up and idle on /next
    results: list[InvokeResult] = []
    invoker = threading.Thread(
        target=lambda: results.append(emulator.invoke(b'{"seconds": 1.5}'))
    )

    invoker.start()
    give_up = time.monotonic() + 10
    while len(handed_out_and_answered(emulator)[0]) < 2:
        assert time.monotonic() < give_up, "the second invoke was never handed out"
        time.sleep(0.01)
    resets = proxy.reset_all()
    invoker.join(30)
    after = emulator.invoke(b'{"seconds": 0}')
    handed_out, answered = handed_out_and_answered(emulator)

    assert resets >= 1
    assert len(results) == 1
    assert json.loads(results[0].body) == {"slept": 1.5}
    assert json.loads(after.body) == {"slept": 0.0}
    ids = [results[0].request_id, after.request_id]
    assert all(handed_out[request_id] == 1 for request_id in ids), handed_out
    assert all(answered[request_id] == 1 for request_id in ids), answered
    assert emulator.process_starts == 1, emulator.logs()[-3000:]


def test_runtime_api_gone_for_good_ends_the_process_and_a_fresh_one_serves(
    proxied_runtime: Start,
) -> None:
    emulator = proxied_runtime("tests.handlers.echo.handler")
    proxy = proxy_of(emulator)
    first = emulator.invoke(b'{"n": 1}')
    first_pid = json.loads(first.body)["pid"]

    # Every reconnection is refused too: the runtime cannot go on and exits;
    # the emulator starts a fresh process for the next invoke.
    proxy.close()
    emulator.environment.extra_env.pop("AWS_LAMBDA_RUNTIME_API")
    give_up = time.monotonic() + 10
    while is_running(first_pid) and time.monotonic() < give_up:
        time.sleep(0.05)
    exited = not is_running(first_pid)
    second = emulator.invoke(b'{"n": 2}')
    handed_out, answered = handed_out_and_answered(emulator)

    assert exited, "the runtime kept running without a Runtime API"
    assert json.loads(second.body)["event"] == {"n": 2}
    assert json.loads(second.body)["pid"] != first_pid
    assert emulator.process_starts == 2
    for result in (first, second):
        assert handed_out[result.request_id] == 1
        assert answered[result.request_id] == 1


def test_answer_to_a_post_lost_the_invoke_is_still_answered_once(
    proxied_runtime: Start,
) -> None:
    emulator = proxied_runtime("tests.handlers.echo.handler")
    proxy = proxy_of(emulator)
    emulator.invoke(b'{"n": 0}')

    # The emulator takes the response, but the runtime never sees the 202.
    proxy.cut_after(b"/response")
    cut = emulator.invoke(b'{"n": 1}')
    after = emulator.invoke(b'{"n": 2}')
    handed_out, answered = handed_out_and_answered(emulator)

    assert json.loads(cut.body)["event"] == {"n": 1}
    assert cut.function_error is None
    assert json.loads(after.body)["event"] == {"n": 2}
    assert handed_out[cut.request_id] == handed_out[after.request_id] == 1
    # The emulator may have sent its 202 for the cut post before the reset
    # arrived (then it is recorded) or not; a repeated post is refused (403).
    assert answered[cut.request_id] <= 1
    assert answered[after.request_id] == 1
    assert emulator.process_starts == 1
