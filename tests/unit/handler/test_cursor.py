"""List cursors: opaque, and refused for anyone but the caller they were made for."""

from __future__ import annotations

import base64

import pytest

from handler.cursor import _b64encode, _mac, decode_cursor, encode_cursor
from handler.errors import MalformedRequestError

KEY = b"test-key"
SESSION_ID = "ab" * 16
LAST_KEY = {
    "session_id": {"S": SESSION_ID},
    "user_id": {"S": "alice"},
    "created_at": {"S": "2026-01-01T00:00:00.000Z"},
}


def test_cursor_round_trips_to_the_start_key_for_its_owner() -> None:
    cursor = encode_cursor(KEY, "alice", LAST_KEY)

    assert decode_cursor(KEY, "alice", cursor) == LAST_KEY


def test_cursor_is_url_safe_and_does_not_carry_the_user_id() -> None:
    cursor = encode_cursor(KEY, "alice", LAST_KEY)
    position = base64.urlsafe_b64decode(cursor.split(".")[0] + "==")

    assert set(cursor) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    )
    assert b"alice" not in position


def test_another_users_cursor_is_refused() -> None:
    cursor = encode_cursor(KEY, "alice", LAST_KEY)

    with pytest.raises(MalformedRequestError) as caught:
        decode_cursor(KEY, "mallory", cursor)

    assert caught.value.status_code == 400


def test_cursor_sealed_with_another_key_is_refused() -> None:
    cursor = encode_cursor(b"other-deployment", "alice", LAST_KEY)

    with pytest.raises(MalformedRequestError):
        decode_cursor(KEY, "alice", cursor)


def test_edited_position_is_refused() -> None:
    cursor = encode_cursor(KEY, "alice", LAST_KEY)
    mac = cursor.split(".")[1]
    forged = base64.urlsafe_b64encode(
        b'["2099-01-01T00:00:00.000Z","' + SESSION_ID.encode() + b'"]'
    )

    with pytest.raises(MalformedRequestError):
        decode_cursor(KEY, "alice", forged.decode().rstrip("=") + "." + mac)


@pytest.mark.parametrize(
    "cursor",
    ["", ".", "abc", "a.b.c", "!!!.###", "x" * 600, "e30.AAAA", "é.é"],
)
def test_garbage_cursor_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(MalformedRequestError, match="cursor is invalid"):
        decode_cursor(KEY, "alice", cursor)


def test_validly_sealed_but_malformed_position_is_refused() -> None:
    # Sealed with the real key (as after a key leak): the shape is still checked.
    for position in (b'{"a":1}', b'["x", 5]', b'["x", "not-an-id"]', b"[1,2,3]"):
        cursor = _b64encode(position) + "." + _b64encode(_mac(KEY, "alice", position))

        with pytest.raises(MalformedRequestError):
            decode_cursor(KEY, "alice", cursor)
