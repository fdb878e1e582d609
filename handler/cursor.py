"""Opaque list cursors, bound to the caller who received them.

A cursor carries where the listing stopped (the LastEvaluatedKey of the query
on the user index: created_at and session_id; the user_id part is never
carried) and a truncated HMAC-SHA256 over the owner's id and that position::

    base64url( JSON ["<created_at>", "<session_id>"] ) "." base64url( mac[:16] )

Security rests on two independent checks:

- the MAC covers the caller's user_id, so another user's cursor, or an edited
  one, is refused with a 400 before any query runs;
- the start key handed to DynamoDB is rebuilt with the caller's own user_id and
  the query's key condition is always the caller's user_id, so even a forged
  cursor (say, with a leaked CURSOR_SECRET) can only move within the caller's
  own sessions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from bootstrap import codec
from bootstrap.errors import CodecError
from handler.errors import MalformedRequestError
from handler.model import is_session_id

# 128 bits of MAC: forging one by chance is not a practical attack.
_MAC_BYTES = 16
# Cursors longer than this cannot be ours; refuse before decoding anything.
_MAX_CURSOR_CHARS = 512


def _mac(key: bytes, user_id: str, position: bytes) -> bytes:
    message = user_id.encode() + b"\x00" + position

    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(key: bytes, user_id: str, last_key: dict[str, Any]) -> str:
    """
    Seal a query's LastEvaluatedKey into a cursor for this user.

    Args:
        key: the HMAC key (Settings.cursor_key).
        user_id: the caller the cursor is for.
        last_key: DynamoDB's LastEvaluatedKey from the user index.
    """
    position = codec.dumps([last_key["created_at"]["S"], last_key["session_id"]["S"]])

    return _b64encode(position) + "." + _b64encode(_mac(key, user_id, position))


def decode_cursor(key: bytes, user_id: str, cursor: str) -> dict[str, Any]:
    """
    Check a cursor against its caller and rebuild the ExclusiveStartKey.

    Raises:
        MalformedRequestError: the cursor is not one this service gave this
            caller; the detail does not say which check failed.
    """
    invalid = MalformedRequestError("cursor is invalid or belongs to another listing")
    if len(cursor) > _MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise invalid
    encoded_position, encoded_mac = cursor.split(".")
    try:
        position = _b64decode(encoded_position)
        mac = _b64decode(encoded_mac)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc

    # Constant-time comparison: timing must not reveal a MAC byte by byte.
    if not hmac.compare_digest(mac, _mac(key, user_id, position)):
        raise invalid

    try:
        created_at, session_id = codec.loads(position)
    except (CodecError, ValueError, TypeError) as exc:
        raise invalid from exc
    if not isinstance(created_at, str) or not isinstance(session_id, str):
        raise invalid
    if not is_session_id(session_id):
        raise invalid

    return {
        "session_id": {"S": session_id},
        "user_id": {"S": user_id},
        "created_at": {"S": created_at},
    }
