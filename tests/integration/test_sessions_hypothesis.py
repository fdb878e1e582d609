"""Random sequences of create, get, patch, delete and list, through the runtime
under the emulator against DynamoDB Local, checked against a model."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from handler.model import merge_patch
from tests.plugins.dynamodb import SessionsAPI

USERS = ("alice", "bob")

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)
# Depth stays within the service's limit of 5 (recursive nests at most 3 here).
metadata_objects = st.dictionaries(st.text(max_size=4), json_values, max_size=4)
# A merge patch: None removes a key.
metadata_patches = st.dictionaries(
    st.sampled_from(["a", "b", "c", ""]), st.none() | json_values, max_size=3
)


@dataclass
class ModelSession:
    """What the API must say about one session."""

    user: str
    metadata: dict[str, Any]
    version: int = 1


@dataclass
class Model:
    sessions: dict[str, ModelSession] = field(default_factory=dict)


class SessionsMachine(RuleBasedStateMachine):
    """Drives the API; every answer must agree with the model."""

    api: SessionsAPI  # set by the test before the machine runs

    created = Bundle("created")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        # Fresh users per run: the table outlives the examples.
        run = os.urandom(4).hex()
        self.users = {name: f"{name}-{run}" for name in USERS}

    def _user(self, name: str) -> str:
        return self.users[name]

    @rule(target=created, owner=st.sampled_from(USERS), metadata=metadata_objects)
    def create(self, owner: str, metadata: dict[str, Any]) -> str:
        response = self.api.create(user=self._user(owner), metadata=metadata)

        assert response.status == 201, response
        body = response.json()
        assert body["metadata"] == metadata
        assert body["version"] == 1
        self.model.sessions[body["session_id"]] = ModelSession(owner, metadata)

        return str(body["session_id"])

    @rule(session_id=created, caller=st.sampled_from(USERS))
    def get(self, session_id: str, caller: str) -> None:
        response = self.api.get(session_id, user=self._user(caller))

        expected = self.model.sessions.get(session_id)
        if expected is None or expected.user != caller:
            assert response.status == 404, response
            return
        assert response.status == 200, response
        assert response.json()["metadata"] == expected.metadata
        assert response.json()["version"] == expected.version

    @rule(
        session_id=created,
        caller=st.sampled_from(USERS),
        patch=metadata_patches,
        if_match=st.sampled_from(["none", "current", "stale"]),
    )
    def patch(
        self, session_id: str, caller: str, patch: dict[str, Any], if_match: str
    ) -> None:
        expected = self.model.sessions.get(session_id)
        header = None
        if if_match != "none":
            version = expected.version if expected else 1
            tag = version if if_match == "current" else version + 7
            header = f'"{tag}"'

        response = self.api.patch(
            session_id, user=self._user(caller), metadata=patch, if_match=header
        )

        if expected is None or expected.user != caller:
            assert response.status == 404, response
            return
        if if_match == "stale":
            assert response.status == 412, response
            return
        assert response.status == 200, response
        expected.metadata = merge_patch(expected.metadata, patch)
        expected.version += 1
        assert response.json()["metadata"] == expected.metadata
        assert response.json()["version"] == expected.version

    @rule(session_id=consumes(created), caller=st.sampled_from(USERS))
    def delete(self, session_id: str, caller: str) -> None:
        response = self.api.delete(session_id, user=self._user(caller))

        expected = self.model.sessions.get(session_id)
        if expected is None or expected.user != caller:
            assert response.status == 404, response
            return
        assert response.status == 204, response
        del self.model.sessions[session_id]

    @rule(caller=st.sampled_from(USERS), limit=st.integers(1, 4))
    def list_sessions(self, caller: str, limit: int) -> None:
        listed = self.api.list_all(user=self._user(caller), limit=limit)

        expected = {
            session_id: session
            for session_id, session in self.model.sessions.items()
            if session.user == caller
        }
        assert len(listed) == len(expected)
        assert {s["session_id"] for s in listed} == set(expected)
        for session in listed:
            model = expected[session["session_id"]]
            assert session["metadata"] == model.metadata
            assert session["version"] == model.version
        created_times = [s["created_at"] for s in listed]
        assert created_times == sorted(created_times, reverse=True)

    @invariant()
    def owners_are_known_users(self) -> None:
        assert {s.user for s in self.model.sessions.values()} <= set(USERS)


def test_api_agrees_with_the_model(sessions_api: SessionsAPI) -> None:
    SessionsMachine.api = sessions_api

    run_state_machine_as_test(
        SessionsMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
