"""The session store against DynamoDB Local: expiry, conditional writes, paging."""

from __future__ import annotations

from typing import Any

import pytest

from handler import store as store_module
from handler.errors import (
    SessionConflictError,
    SessionNotFoundError,
    VersionMismatchError,
)
from handler.model import SessionChanges
from handler.store import SessionStore


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now_s: float = 1_900_000_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(dynamodb_client: Any, sessions_table: str, clock: Clock) -> SessionStore:
    return SessionStore(dynamodb_client, sessions_table, clock=clock)


def raw_item(client: Any, table: str, session_id: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = client.get_item(
        TableName=table, Key={"session_id": {"S": session_id}}, ConsistentRead=True
    ).get("Item")

    return item


def test_expired_session_is_absent_before_dynamodb_removes_it(
    store: SessionStore, clock: Clock, dynamodb_client: Any, sessions_table: str
) -> None:
    session = store.create("alice", SessionChanges(ttl_seconds=60))
    clock.now_s += 60

    with pytest.raises(SessionNotFoundError):
        store.get("alice", session.session_id)
    with pytest.raises(SessionNotFoundError):
        store.update("alice", session.session_id, SessionChanges(metadata={"a": 1}))
    with pytest.raises(SessionNotFoundError):
        store.delete("alice", session.session_id)
    listed, _ = store.list("alice", 10)

    assert listed == []
    assert raw_item(dynamodb_client, sessions_table, session.session_id) is not None


def test_session_is_alive_until_its_last_second(
    store: SessionStore, clock: Clock
) -> None:
    session = store.create("alice", SessionChanges(ttl_seconds=60))
    clock.now_s += 59

    assert store.get("alice", session.session_id) == session


def test_patch_refreshes_the_expiry_by_the_sessions_own_ttl(
    store: SessionStore, clock: Clock
) -> None:
    session = store.create("alice", SessionChanges(ttl_seconds=60))
    clock.now_s += 50

    updated = store.update("alice", session.session_id, SessionChanges())
    clock.now_s += 50

    assert updated.expires_at == session.expires_at + 50
    assert updated.ttl_seconds == 60
    assert store.get("alice", session.session_id).version == 2


def test_item_carries_the_ttl_attribute_in_epoch_seconds(
    store: SessionStore, clock: Clock, dynamodb_client: Any, sessions_table: str
) -> None:
    session = store.create("alice", SessionChanges(ttl_seconds=3600))

    item = raw_item(dynamodb_client, sessions_table, session.session_id)

    assert item is not None
    assert item["expires_at"] == {"N": str(int(clock.now_s) + 3600)}
    ttl = dynamodb_client.describe_time_to_live(TableName=sessions_table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_list_fills_the_page_past_expired_sessions(
    store: SessionStore, clock: Clock
) -> None:
    live = [store.create("alice", SessionChanges()).session_id for _ in range(3)]
    clock.now_s += 1
    for _ in range(4):
        store.create("alice", SessionChanges(ttl_seconds=5))
    clock.now_s += 10

    page, last_key = store.list("alice", 3)

    assert sorted(s.session_id for s in page) == sorted(live)
    assert last_key is not None


def test_create_never_overwrites_an_existing_id(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = store.create("alice", SessionChanges(metadata={"keep": True}))
    monkeypatch.setattr(store_module, "new_session_id", lambda: existing.session_id)

    with pytest.raises(SessionConflictError):
        store.create("mallory", SessionChanges(metadata={"keep": False}))

    assert store.get("alice", existing.session_id) == existing


def test_update_from_a_stale_read_fails_its_condition_with_412(
    store: SessionStore,
) -> None:
    session = store.create("alice", SessionChanges())
    store.update("alice", session.session_id, SessionChanges(metadata={"a": 1}))

    # Writing from the version-1 read must fail on DynamoDB's condition.
    with pytest.raises(VersionMismatchError):
        store.update("alice", session.session_id, SessionChanges(metadata={"b": 2}), 1)

    assert store.get("alice", session.session_id).metadata == {"a": 1}


class InterferingClient:
    """
    A real client whose every UpdateItem is preceded by a competing write.

    It makes the optimistic-locking loop lose each race deterministically.
    """

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self.interferences = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        self.interferences += 1
        self._client.update_item(
            TableName=self._table,
            Key=kwargs["Key"],
            UpdateExpression="SET version = version + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

        return self._client.update_item(**kwargs)


def test_update_that_keeps_losing_races_is_409_and_writes_nothing(
    dynamodb_client: Any, sessions_table: str, clock: Clock
) -> None:
    plain = SessionStore(dynamodb_client, sessions_table, clock=clock)
    session = plain.create("alice", SessionChanges(metadata={"a": 1}))
    interfering = InterferingClient(dynamodb_client, sessions_table)
    # A duck-typed stand-in for the client: only update_item differs.
    contested = SessionStore(interfering, sessions_table, clock=clock)  # type: ignore[arg-type]

    with pytest.raises(SessionConflictError):
        contested.update("alice", session.session_id, SessionChanges(metadata={"b": 2}))

    assert interfering.interferences == store_module._UPDATE_ATTEMPTS
    after = plain.get("alice", session.session_id)
    assert after.metadata == {"a": 1}
    assert after.version == 1 + store_module._UPDATE_ATTEMPTS


def test_update_without_if_match_retries_and_keeps_both_writes(
    dynamodb_client: Any, sessions_table: str, clock: Clock
) -> None:
    plain = SessionStore(dynamodb_client, sessions_table, clock=clock)
    session = plain.create("alice", SessionChanges(metadata={"a": 1}))

    class InterfereOnce(InterferingClient):
        def update_item(self, **kwargs: Any) -> Any:
            if self.interferences == 0:
                self.interferences += 1
                plain.update("alice", session.session_id, SessionChanges({"other": 1}))
            return self._client.update_item(**kwargs)

    contested = SessionStore(
        # A duck-typed stand-in for the client: only update_item differs.
        InterfereOnce(dynamodb_client, sessions_table),  # type: ignore[arg-type]
        sessions_table,
        clock=clock,
    )

    updated = contested.update(
        "alice", session.session_id, SessionChanges(metadata={"mine": 1})
    )

    assert updated.metadata == {"a": 1, "other": 1, "mine": 1}
    assert updated.version == 3
    assert plain.get("alice", session.session_id) == updated
