"""A session, its limits, and its form in DynamoDB and in the API.

Stored item (low-level AttributeValues; the client hands numbers back as
strings, so nothing here ever sees a Decimal)::

    session_id   S   32 hex characters from os.urandom(16)
    user_id      S   the owner, from the authorizer (handler.identity)
    created_at   S   "2026-12-03T10:08:18.123Z": fixed width, so string order
                     is time order for the listing index
    last_active  S   same format, refreshed by every PATCH
    expires_at   N   epoch seconds; the table's TTL attribute
    ttl_seconds  N   the lifetime a PATCH refreshes the expiry by
    metadata     S   the client's JSON object, compact UTF-8
    version      N   1 on create, +1 on every update (optimistic locking)

NOTE: metadata is stored as one JSON string rather than a DynamoDB map: it
round-trips every JSON value exactly (floats, big integers, empty containers),
its size limit is the size of what is stored, and no Decimal conversion exists.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

from bootstrap import codec
from handler.errors import ValidationError

DEFAULT_TTL_S = 24 * 60 * 60
MAX_TTL_S = 30 * 24 * 60 * 60
MIN_TTL_S = 1

# Limits on the client's metadata: compact UTF-8 JSON size, and nesting depth
# counting the top-level object as 1 (so {"a": {"b": [1]}} has depth 3).
MAX_METADATA_BYTES = 8 * 1024
MAX_METADATA_DEPTH = 5

# Session ids are 128 random bits in lower-case hex.
SESSION_ID_LENGTH = 32
_HEX_DIGITS = frozenset("0123456789abcdef")


def is_session_id(value: str) -> bool:
    """Tell whether a path segment can be a session id at all."""
    return len(value) == SESSION_ID_LENGTH and _HEX_DIGITS.issuperset(value)


def format_timestamp(epoch_s: float) -> str:
    """Render epoch seconds as ISO 8601 UTC with milliseconds, fixed width."""
    whole_s = int(epoch_s)
    millis = int((epoch_s - whole_s) * 1000)

    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole_s))

    return f"{seconds}.{millis:03d}Z"


# A NamedTuple, not a dataclass: importing dataclasses imports inspect, ast
# and dis, about 10 ms of every cold start (see build/anti-bloat.yml).
class Session(NamedTuple):
    """One user session as the service sees it."""

    session_id: str
    user_id: str
    created_at: str
    last_active: str
    expires_at: int
    ttl_seconds: int
    metadata: dict[str, Any]
    version: int

    def is_expired(self, now_s: float) -> bool:
        """Expired sessions are absent, even before DynamoDB deletes them."""
        return self.expires_at <= now_s

    def to_json(self) -> dict[str, Any]:
        """The session as the API returns it."""
        return {
            "session_id": self.session_id,
            "user_id": self.user_id,
            "created_at": self.created_at,
            "last_active": self.last_active,
            "expires_at": format_timestamp(self.expires_at),
            "metadata": self.metadata,
            "version": self.version,
        }

    def to_item(self) -> dict[str, Any]:
        """The session as a DynamoDB item of AttributeValues."""
        return {
            "session_id": {"S": self.session_id},
            "user_id": {"S": self.user_id},
            "created_at": {"S": self.created_at},
            "last_active": {"S": self.last_active},
            "expires_at": {"N": str(self.expires_at)},
            "ttl_seconds": {"N": str(self.ttl_seconds)},
            "metadata": {"S": codec.dumps(self.metadata).decode()},
            "version": {"N": str(self.version)},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Session:
        """
        Build a session from a DynamoDB item.

        Raises:
            KeyError, ValueError: the item is not a session this service wrote;
                that is a server fault, left to become a 500.
        """
        return cls(
            session_id=item["session_id"]["S"],
            user_id=item["user_id"]["S"],
            created_at=item["created_at"]["S"],
            last_active=item["last_active"]["S"],
            expires_at=int(item["expires_at"]["N"]),
            ttl_seconds=int(item["ttl_seconds"]["N"]),
            metadata=codec.loads(item["metadata"]["S"]),
            version=int(item["version"]["N"]),
        )


class SessionChanges(NamedTuple):
    """
    What a POST or PATCH body asks for, validated.

    Attributes:
        metadata: on create, the metadata; on update, a JSON merge patch
            (RFC 7386: null removes a key, objects merge, anything else
            replaces). None when the body had none.
        ttl_seconds: the new lifetime, or None to keep the default or current.
    """

    metadata: dict[str, Any] | None = None
    ttl_seconds: int | None = None


_BODY_FIELDS = frozenset(("metadata", "ttl_seconds"))


def parse_changes(document: Any) -> SessionChanges:
    """
    Validate a POST or PATCH body already parsed from JSON.

    Raises:
        ValidationError: not an object, an unknown field, or a field out of
            its limits; the detail names the field.
    """
    if not isinstance(document, dict):
        raise ValidationError("the body must be a JSON object")
    unknown = sorted(set(document) - _BODY_FIELDS)
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}")

    # A field given as null is refused, not read as absent: the document
    # types both fields without null, and a client sending null meant
    # something the service would otherwise silently ignore.
    metadata = document.get("metadata")
    if "metadata" in document:
        check_metadata(metadata)

    ttl_seconds = document.get("ttl_seconds")
    if "ttl_seconds" in document:
        # JSON has one number type: 60.0 is the integer 60 (as JSON Schema
        # says), 60.5 is not. bool is an int in Python but true is no lifetime.
        if isinstance(ttl_seconds, float) and ttl_seconds.is_integer():
            ttl_seconds = int(ttl_seconds)
        if not isinstance(ttl_seconds, int) or isinstance(ttl_seconds, bool):
            raise ValidationError("ttl_seconds must be an integer")
        if not MIN_TTL_S <= ttl_seconds <= MAX_TTL_S:
            raise ValidationError(
                f"ttl_seconds must be between {MIN_TTL_S} and {MAX_TTL_S}"
            )

    return SessionChanges(metadata=metadata, ttl_seconds=ttl_seconds)


def check_metadata(metadata: Any) -> None:
    """
    Check that metadata is a JSON object within the size and depth limits.

    Raises:
        ValidationError: it is not an object, nests too deep, holds a number
            JSON cannot carry, or is too large once serialized.
    """
    if not isinstance(metadata, dict):
        raise ValidationError("metadata must be a JSON object")
    _check_depth(metadata, 1)
    size_bytes = len(codec.dumps(metadata))
    if size_bytes > MAX_METADATA_BYTES:
        raise ValidationError(
            f"metadata is {size_bytes} bytes of JSON; the limit is {MAX_METADATA_BYTES}"
        )


def _check_depth(value: Any, depth: int) -> None:
    """Walk containers, refusing nesting past the limit and non-finite floats."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("metadata numbers must be finite")
    if not isinstance(value, dict | list):
        return
    if depth > MAX_METADATA_DEPTH:
        raise ValidationError(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels")
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        _check_depth(child, depth + 1)


def merge_patch(target: Any, patch: Any) -> Any:
    """
    Apply an RFC 7386 JSON merge patch and return the result.

    The target is not modified; objects are copied along the patched paths.
    """
    if not isinstance(patch, dict):
        return patch

    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)

    return merged
