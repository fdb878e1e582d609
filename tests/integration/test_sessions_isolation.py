"""Another user's id, cursor or a guessed id reveals nothing, through the runtime
under the emulator."""

from __future__ import annotations

import os

from tests.plugins.dynamodb import SessionsAPI


def test_another_users_session_answers_exactly_like_a_missing_one(
    sessions_api: SessionsAPI,
) -> None:
    alices = sessions_api.create(user="alice", metadata={"secret": 1}).json()
    missing_id = os.urandom(16).hex()

    for method in ("GET", "PATCH", "DELETE"):
        other = sessions_api.request(
            method, "/sessions/" + alices["session_id"], user="bob", json_body={}
        )
        missing = sessions_api.request(
            method, "/sessions/" + missing_id, user="bob", json_body={}
        )

        assert other.status == 404
        assert (other.status, other.headers, other.body) == (
            missing.status,
            missing.headers,
            missing.body,
        )


def test_another_user_cannot_change_or_delete_a_session(
    sessions_api: SessionsAPI,
) -> None:
    alices = sessions_api.create(user="alice", metadata={"secret": 1}).json()
    session_id = alices["session_id"]

    sessions_api.patch(session_id, user="bob", metadata={"secret": 2}, if_match='"1"')
    sessions_api.delete(session_id, user="bob", if_match='"1"')

    assert sessions_api.get(session_id, user="alice").json() == alices


def test_listing_shows_only_the_callers_sessions(sessions_api: SessionsAPI) -> None:
    alices = {sessions_api.create(user="alice").json()["session_id"] for _ in range(3)}
    bobs = {sessions_api.create(user="bob").json()["session_id"] for _ in range(2)}

    listed_for_bob = {s["session_id"] for s in sessions_api.list_all(user="bob")}
    listed_for_alice = {s["session_id"] for s in sessions_api.list_all(user="alice")}

    assert listed_for_bob == bobs
    assert listed_for_alice == alices


def test_another_users_cursor_is_refused_and_reveals_nothing(
    sessions_api: SessionsAPI,
) -> None:
    for _ in range(3):
        sessions_api.create(user="alice", metadata={"secret": 1})
    sessions_api.create(user="bob")
    alices_cursor = sessions_api.list(user="alice", limit=1).json()["next_cursor"]

    response = sessions_api.list(user="bob", cursor=alices_cursor)

    assert response.status == 400
    assert b"secret" not in response.body
    assert sessions_api.list(user="alice", cursor=alices_cursor).status == 200


def test_a_tampered_cursor_is_refused(sessions_api: SessionsAPI) -> None:
    for _ in range(2):
        sessions_api.create(user="alice")
    cursor = sessions_api.list(user="alice", limit=1).json()["next_cursor"]
    position, mac = cursor.split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]

    assert (
        sessions_api.list(user="alice", cursor=position + "." + flipped).status == 400
    )
    assert (
        sessions_api.list(user="alice", cursor=position[:-2] + "." + mac).status == 400
    )


def test_guessed_session_ids_find_nothing(sessions_api: SessionsAPI) -> None:
    sessions_api.create(user="alice")
    guesses = ["0" * 32, "f" * 32, "0123456789abcdef" * 2, os.urandom(16).hex()]

    statuses = {sessions_api.get(guess, user="mallory").status for guess in guesses}

    assert statuses == {404}


def test_session_ids_are_unpredictable(sessions_api: SessionsAPI) -> None:
    ids = [sessions_api.create().json()["session_id"] for _ in range(5)]

    # 128 random bits each: no shared prefix or counter to extrapolate from.
    assert len(set(ids)) == 5
    assert len({session_id[:8] for session_id in ids}) == 5
