"""Body, If-Match and limit checks of the routes, on requests built in memory."""

from __future__ import annotations

import pytest

from bootstrap.http import BadRequestError, Headers, Request
from handler.app import MAX_BODY_BYTES, read_changes, read_if_match, read_page_size
from handler.errors import (
    MalformedRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationError,
    VersionMismatchError,
)


def make_request(
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
) -> Request:
    return Request(
        "http-api",
        "PATCH",
        "/sessions/x",
        headers=Headers(list((headers or {}).items())),
        body=body,
        query=query,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("*", None), ('"3"', 3), ("3", 3), (' "12" ', 12)],
)
def test_if_match_yields_the_version(value: str | None, expected: int | None) -> None:
    headers = {} if value is None else {"If-Match": value}

    assert read_if_match(make_request(headers=headers)) == expected


@pytest.mark.parametrize(
    "value", ['W/"3"', '"abc"', '""', '"1.5"', '"' + "9" * 19 + '"']
)
def test_if_match_tag_that_is_no_version_is_412(value: str) -> None:
    with pytest.raises(VersionMismatchError):
        read_if_match(make_request(headers={"If-Match": value}))


@pytest.mark.parametrize("value", ["", "abc", '"3', '"1", "2"', "W/3", "9" * 19])
def test_malformed_if_match_is_400(value: str) -> None:
    with pytest.raises(MalformedRequestError):
        read_if_match(make_request(headers={"If-Match": value}))


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ],
)
def test_json_media_types_are_accepted(content_type: str) -> None:
    request = make_request(b'{"ttl_seconds": 60}', {"Content-Type": content_type})

    assert read_changes(request).ttl_seconds == 60


@pytest.mark.parametrize("content_type", [None, "text/json", "application/jsonx"])
def test_other_media_types_are_415(content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}

    with pytest.raises(UnsupportedMediaTypeError):
        read_changes(make_request(b"{}", headers))


def test_empty_body_changes_nothing_whatever_its_type() -> None:
    changes = read_changes(make_request(b"", {"Content-Type": "text/plain"}))

    assert changes.metadata is None
    assert changes.ttl_seconds is None


def test_body_over_the_limit_is_413_before_parsing() -> None:
    request = make_request(b"x" * (MAX_BODY_BYTES + 1), {"Content-Type": "text/plain"})

    with pytest.raises(PayloadTooLargeError):
        read_changes(request)


def test_body_that_is_not_json_is_400_and_valid_json_of_wrong_shape_422() -> None:
    json_headers = {"Content-Type": "application/json"}

    with pytest.raises(BadRequestError):
        read_changes(make_request(b"{nope", json_headers))
    with pytest.raises(ValidationError):
        read_changes(make_request(b"[]", json_headers))


@pytest.mark.parametrize(("raw", "expected"), [(None, 20), ("1", 1), ("100", 100)])
def test_page_size(raw: str | None, expected: int) -> None:
    query = {} if raw is None else {"limit": [raw]}

    assert read_page_size(make_request(query=query)) == expected


@pytest.mark.parametrize("raw", ["0", "101", "-1", "1.5", "", "\u0661"])
def test_page_size_out_of_range_or_not_ascii_digits_is_400(raw: str) -> None:
    with pytest.raises(MalformedRequestError):
        read_page_size(make_request(query={"limit": [raw]}))
