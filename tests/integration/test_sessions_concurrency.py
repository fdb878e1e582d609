"""Concurrent writers against DynamoDB Local: exactly one If-Match wins, and no
update is ever lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.plugins.dynamodb import APIResponse, SessionsAPI

WRITERS = 50
# Bounded: a stuck writer fails the test instead of hanging it.
RESULT_TIMEOUT_S = 120


def run_together(count: int, action: Callable[[int], APIResponse]) -> list[APIResponse]:
    """Run `action(i)` on `count` threads released at the same instant."""
    barrier = threading.Barrier(count, timeout=RESULT_TIMEOUT_S)

    def released(index: int) -> APIResponse:
        barrier.wait()
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(released, index) for index in range(count)]
        return [future.result(timeout=RESULT_TIMEOUT_S) for future in futures]


def test_fifty_patches_with_the_same_if_match_exactly_one_wins(
    inprocess_sessions_api: SessionsAPI,
) -> None:
    api = inprocess_sessions_api
    session_id = api.create(metadata={"winner": None}).json()["session_id"]

    responses = run_together(
        WRITERS,
        lambda i: api.patch(session_id, metadata={"winner": i}, if_match='"1"'),
    )

    statuses = sorted(response.status for response in responses)
    winners = [response.json() for response in responses if response.status == 200]
    assert statuses == [200] + [412] * (WRITERS - 1)
    final = api.get(session_id).json()
    assert final["version"] == 2
    assert final["metadata"] == winners[0]["metadata"]


def test_concurrent_patches_without_if_match_lose_no_update(
    inprocess_sessions_api: SessionsAPI,
) -> None:
    api = inprocess_sessions_api
    session_id = api.create().json()["session_id"]
    writers = 20

    responses = run_together(
        writers, lambda i: api.patch(session_id, metadata={f"k{i}": i})
    )

    succeeded = {i for i, response in enumerate(responses) if response.status == 200}
    assert {response.status for response in responses} <= {200, 409}
    assert succeeded
    final = api.get(session_id).json()
    # Every acknowledged write is in the result, and nothing else is.
    assert final["metadata"] == {f"k{i}": i for i in succeeded}
    assert final["version"] == 1 + len(succeeded)


def test_fifty_concurrent_invokes_through_the_runtime_exactly_one_wins(
    sessions_function: Callable[..., Any],
) -> None:
    emulator = sessions_function(concurrency=8)

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(
            emulator.invoke(json.dumps(event).encode()).body
        )
        return answer

    api = SessionsAPI(invoke)
    session_id = api.create().json()["session_id"]

    responses = run_together(
        WRITERS,
        lambda i: api.patch(session_id, metadata={"winner": i}, if_match='"1"'),
    )

    assert sorted(r.status for r in responses) == [200] + [412] * (WRITERS - 1)
    assert api.get(session_id).json()["version"] == 2
