"""Session validation, merge patch and the item form, without DynamoDB."""

from __future__ import annotations

import pytest

from handler.errors import ValidationError
from handler.model import (
    MAX_METADATA_BYTES,
    MAX_TTL_S,
    Session,
    check_metadata,
    format_timestamp,
    is_session_id,
    merge_patch,
    parse_changes,
)


def make_session(**overrides: object) -> Session:
    fields: dict[str, object] = {
        "session_id": "0" * 32,
        "user_id": "alice",
        "created_at": "2026-01-01T00:00:00.000Z",
        "last_active": "2026-01-01T00:00:00.000Z",
        "expires_at": 1_800_000_000,
        "ttl_seconds": 3600,
        "metadata": {"cart": [1, 2.5, "x"], "nested": {"ok": True, "none": None}},
        "version": 3,
    }
    fields.update(overrides)

    # Field values are typed per field; the overrides dict cannot say so.
    return Session(**fields)  # type: ignore[arg-type]


def test_item_round_trip_keeps_every_field_and_json_type() -> None:
    session = make_session(metadata={"big": 10**30, "f": 0.1, "s": "é", "e": {}})

    restored = Session.from_item(session.to_item())

    assert restored == session


def test_item_stores_numbers_as_dynamodb_strings() -> None:
    item = make_session().to_item()

    assert item["expires_at"] == {"N": "1800000000"}
    assert item["version"] == {"N": "3"}


def test_api_form_has_the_documented_fields_only() -> None:
    body = make_session().to_json()

    assert sorted(body) == [
        "created_at",
        "expires_at",
        "last_active",
        "metadata",
        "session_id",
        "user_id",
        "version",
    ]
    assert body["expires_at"] == "2027-01-15T08:00:00.000Z"


def test_session_expires_at_its_expiry_second() -> None:
    session = make_session(expires_at=100)

    assert not session.is_expired(99.999)
    assert session.is_expired(100)


def test_timestamps_are_fixed_width_so_string_order_is_time_order() -> None:
    stamps = [format_timestamp(t) for t in (0.0, 1.5, 59.999, 1_000_000_000.25)]

    assert stamps[0] == "1970-01-01T00:00:00.000Z"
    assert stamps[1] == "1970-01-01T00:00:01.500Z"
    assert len(set(map(len, stamps))) == 1
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a" * 32, True),
        ("0123456789abcdef" * 2, True),
        ("A" * 32, False),
        ("a" * 31, False),
        ("g" * 32, False),
        ("", False),
        ("../" + "a" * 29, False),
    ],
)
def test_session_id_shape_is_32_lower_hex(value: str, expected: bool) -> None:
    assert is_session_id(value) is expected


def test_parse_changes_accepts_both_fields_or_none() -> None:
    changes = parse_changes({"metadata": {"a": 1}, "ttl_seconds": 60})
    empty = parse_changes({})

    assert changes.metadata == {"a": 1}
    assert changes.ttl_seconds == 60
    assert empty.metadata is None
    assert empty.ttl_seconds is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "JSON object"),
        ("x", "JSON object"),
        ({"owner": "bob"}, "unknown field(s): owner"),
        ({"metadata": [1]}, "metadata must be a JSON object"),
        ({"metadata": "x"}, "metadata must be a JSON object"),
        ({"metadata": None}, "metadata must be a JSON object"),
        ({"ttl_seconds": None}, "ttl_seconds must be an integer"),
        ({"ttl_seconds": "60"}, "ttl_seconds must be an integer"),
        ({"ttl_seconds": 1.5}, "ttl_seconds must be an integer"),
        ({"ttl_seconds": True}, "ttl_seconds must be an integer"),
        ({"ttl_seconds": 0}, "between"),
        ({"ttl_seconds": MAX_TTL_S + 1}, "between"),
        ({"metadata": {"a": {"b": {"c": {"d": {"e": {}}}}}}}, "deeper than 5"),
        ({"metadata": {"a": [[[[[1]]]]]}}, "deeper than 5"),
        ({"metadata": {"x": float("nan")}}, "finite"),
        ({"metadata": {"x": "a" * MAX_METADATA_BYTES}}, "limit is 8192"),
    ],
)
def test_parse_changes_names_the_invalid_field(document: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_changes(document)

    assert caught.value.status_code == 422
    assert message in caught.value.detail


def test_integral_float_ttl_is_the_integer() -> None:
    changes = parse_changes({"ttl_seconds": 945.0})

    assert changes.ttl_seconds == 945
    assert type(changes.ttl_seconds) is int


def test_metadata_at_exactly_the_limits_is_accepted() -> None:
    deepest = {"a": {"b": {"c": {"d": [1]}}}}
    # {"x":"..."} is 8 bytes of JSON around the string.
    largest = {"x": "a" * (MAX_METADATA_BYTES - 8)}

    check_metadata(deepest)
    check_metadata(largest)

    with pytest.raises(ValidationError):
        check_metadata({"x": "a" * (MAX_METADATA_BYTES - 7)})


def test_metadata_size_counts_utf8_bytes_not_characters() -> None:
    two_byte_chars = {"x": "é" * (MAX_METADATA_BYTES // 2)}

    with pytest.raises(ValidationError, match="bytes of JSON"):
        check_metadata(two_byte_chars)


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "keep": [1]}
    patch = {
        "a": "z",
        "c": {"f": None, "new": 1},
        "keep": None,
        "list": [1, {"x": None}],
    }

    merged = merge_patch(target, patch)

    assert merged == {"a": "z", "c": {"d": "e", "new": 1}, "list": [1, {"x": None}]}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}, "keep": [1]}


def test_merge_patch_replaces_a_non_object_with_an_object() -> None:
    assert merge_patch({"a": [1]}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merge_patch({"a": {"b": 1}}, {"a": 2}) == {"a": 2}
