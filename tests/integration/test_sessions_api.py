"""Every route and every error status of the sessions API, through our runtime
under the emulator, against DynamoDB Local."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from handler.model import MAX_METADATA_BYTES, MAX_TTL_S
from tests.plugins.dynamodb import SessionsAPI, http_api_event

PROBLEM_FIELDS = ["detail", "status", "title", "type"]


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an application/problem+json error with that status."""
    assert response.status == status, response
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert sorted(problem) == PROBLEM_FIELDS
    assert problem["status"] == status

    return problem


# ------------------------------------------------------------------ routes


def test_create_returns_201_location_etag_and_the_session(
    sessions_api: SessionsAPI,
) -> None:
    response = sessions_api.create(metadata={"theme": "dark"}, ttl_seconds=600)
    session = response.json()

    assert response.status == 201
    assert response.headers["location"] == "/sessions/" + session["session_id"]
    assert response.headers["etag"] == '"1"'
    assert response.headers["content-type"] == "application/json"
    assert session["user_id"] == "alice"
    assert session["metadata"] == {"theme": "dark"}
    assert session["version"] == 1
    assert session["created_at"] == session["last_active"]
    assert session["expires_at"] > session["created_at"]
    assert len(session["session_id"]) == 32


def test_create_with_an_empty_body_uses_the_defaults(sessions_api: SessionsAPI) -> None:
    response = sessions_api.request("POST", "/sessions")
    session = response.json()

    assert response.status == 201
    assert session["metadata"] == {}
    # 24 hours by default: same time of day, next day.
    assert session["expires_at"][11:19] == session["created_at"][11:19]
    assert session["expires_at"][:10] > session["created_at"][:10]


def test_get_returns_what_create_returned(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create(metadata={"a": [1, 2.5, None, "é"]}).json()

    response = sessions_api.get(created["session_id"])

    assert response.status == 200
    assert response.json() == created
    assert response.headers["etag"] == '"1"'
    assert response.headers["cache-control"] == "no-store"


def test_head_answers_like_get_without_a_body(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create().json()

    response = sessions_api.request("HEAD", "/sessions/" + created["session_id"])

    assert response.status == 200
    assert response.body == b""
    assert response.headers["etag"] == '"1"'


def test_patch_merges_metadata_and_bumps_the_version(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create(metadata={"a": 1, "b": {"c": 2, "d": 3}}).json()

    response = sessions_api.patch(
        created["session_id"], metadata={"a": None, "b": {"c": 20}, "e": 5}
    )
    updated = response.json()

    assert response.status == 200
    assert updated["metadata"] == {"b": {"c": 20, "d": 3}, "e": 5}
    assert updated["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert updated["created_at"] == created["created_at"]
    assert updated["last_active"] >= created["last_active"]
    assert sessions_api.get(created["session_id"]).json() == updated


def test_patch_with_a_new_ttl_moves_the_expiry(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create(ttl_seconds=60).json()

    updated = sessions_api.patch(created["session_id"], ttl_seconds=MAX_TTL_S).json()

    assert updated["expires_at"] > created["expires_at"]
    assert updated["metadata"] == {}


def test_patch_with_the_current_if_match_succeeds(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create().json()

    response = sessions_api.patch(
        created["session_id"], metadata={"x": 1}, if_match='"1"'
    )

    assert response.status == 200
    assert response.json()["version"] == 2


def test_patch_with_a_stale_if_match_is_412(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create().json()
    sessions_api.patch(created["session_id"], metadata={"x": 1})

    response = sessions_api.patch(
        created["session_id"], metadata={"x": 2}, if_match='"1"'
    )

    problem = assert_problem(response, 412)
    assert "version 2" in problem["detail"]
    assert sessions_api.get(created["session_id"]).json()["metadata"] == {"x": 1}


@pytest.mark.parametrize("if_match", ['W/"1"', '"abc"', '""', '"1.0"'])
def test_patch_with_a_tag_that_is_no_version_is_412(
    sessions_api: SessionsAPI, if_match: str
) -> None:
    created = sessions_api.create().json()

    response = sessions_api.patch(
        created["session_id"], metadata={"x": 1}, if_match=if_match
    )

    assert_problem(response, 412)


@pytest.mark.parametrize("if_match", ["1.0", "abc", '"1', '"1", "2"', "W/1"])
def test_patch_with_a_malformed_if_match_is_400(
    sessions_api: SessionsAPI, if_match: str
) -> None:
    created = sessions_api.create().json()

    response = sessions_api.patch(
        created["session_id"], metadata={"x": 1}, if_match=if_match
    )

    assert_problem(response, 400)
    assert sessions_api.get(created["session_id"]).json()["version"] == 1


def test_delete_is_204_and_the_session_is_gone(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create().json()

    response = sessions_api.delete(created["session_id"])

    assert response.status == 204
    assert response.body == b""
    assert_problem(sessions_api.get(created["session_id"]), 404)
    assert_problem(sessions_api.delete(created["session_id"]), 404)


def test_delete_with_a_stale_if_match_is_412_and_keeps_it(
    sessions_api: SessionsAPI,
) -> None:
    created = sessions_api.create().json()
    sessions_api.patch(created["session_id"], metadata={"x": 1})

    response = sessions_api.delete(created["session_id"], if_match='"1"')

    assert_problem(response, 412)
    assert sessions_api.get(created["session_id"]).status == 200
    assert sessions_api.delete(created["session_id"], if_match='"2"').status == 204


def test_list_is_newest_first_and_pages_with_a_cursor(
    sessions_api: SessionsAPI,
) -> None:
    ids = [
        sessions_api.create(metadata={"n": n}).json()["session_id"] for n in range(5)
    ]

    first = sessions_api.list(limit=2)
    second = sessions_api.list(limit=2, cursor=first.json()["next_cursor"])
    everything = sessions_api.list_all(limit=2)

    assert first.status == 200
    assert len(first.json()["sessions"]) == 2
    assert first.json()["next_cursor"]
    assert len(second.json()["sessions"]) == 2
    assert {s["session_id"] for s in everything} == set(ids)
    created_times = [s["created_at"] for s in everything]
    assert created_times == sorted(created_times, reverse=True)
    assert everything[-1]["session_id"] == ids[0]


def test_list_of_a_user_without_sessions_is_empty(sessions_api: SessionsAPI) -> None:
    response = sessions_api.list(user="nobody")

    assert response.status == 200
    assert response.json() == {"sessions": [], "next_cursor": None}


# ------------------------------------------------------------------ errors


def test_malformed_json_is_400(sessions_api: SessionsAPI) -> None:
    response = sessions_api.request(
        "POST",
        "/sessions",
        body='{"metadata": ',
        headers={"content-type": "application/json"},
    )

    assert_problem(response, 400)


def test_malformed_event_is_400(sessions_function: Callable[..., Any]) -> None:
    emulator = sessions_function()
    event = http_api_event("GET", "/sessions")
    event["requestContext"]["http"]["method"] = 42

    answer = json.loads(emulator.invoke(json.dumps(event).encode()).body)

    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["status"] == 400


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "limit=-1"])
def test_bad_limit_is_400(sessions_api: SessionsAPI, query: str) -> None:
    response = sessions_api.request("GET", "/sessions", query=query)

    assert_problem(response, 400)


def test_garbage_cursor_is_400(sessions_api: SessionsAPI) -> None:
    response = sessions_api.list(cursor="not-a-cursor")

    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/sessions"),
        ("GET", "/sessions"),
        ("GET", "/sessions/" + "a" * 32),
        ("PATCH", "/sessions/" + "a" * 32),
        ("DELETE", "/sessions/" + "a" * 32),
    ],
)
def test_no_identity_is_401_on_every_route(
    sessions_api: SessionsAPI, method: str, path: str
) -> None:
    response = sessions_api.request(method, path, user=None)

    assert_problem(response, 401)


def test_user_id_header_is_not_trusted_by_default(sessions_api: SessionsAPI) -> None:
    response = sessions_api.request(
        "POST", "/sessions", user=None, headers={"x-user-id": "alice"}
    )

    assert_problem(response, 401)


def test_user_id_header_is_trusted_when_configured(
    sessions_function: Callable[..., Any],
) -> None:
    emulator = sessions_function(TRUST_USER_ID_HEADER="true")
    event = http_api_event("POST", "/sessions", headers={"x-user-id": "dev-user"})

    answer = json.loads(emulator.invoke(json.dumps(event).encode()).body)

    assert answer["statusCode"] == 201
    assert json.loads(answer["body"])["user_id"] == "dev-user"


@pytest.mark.parametrize(
    "authorizer",
    [
        {"lambda": {"principalId": "from-lambda"}},
        {"iam": {"userArn": "arn:aws:iam::1:user/from-iam", "accountId": "1"}},
    ],
)
def test_identity_from_lambda_and_iam_authorizers(
    sessions_api: SessionsAPI, authorizer: dict[str, Any]
) -> None:
    response = sessions_api.request(
        "POST", "/sessions", user=None, authorizer=authorizer
    )

    assert response.status == 201
    assert response.json()["user_id"] in ("from-lambda", "arn:aws:iam::1:user/from-iam")


@pytest.mark.parametrize("session_id", ["a" * 32, "not-an-id", "A" * 32, "%2e%2e"])
def test_unknown_session_is_404_on_get_patch_delete(
    sessions_api: SessionsAPI, session_id: str
) -> None:
    assert_problem(sessions_api.get(session_id), 404)
    assert_problem(sessions_api.patch(session_id, metadata={"x": 1}), 404)
    assert_problem(sessions_api.delete(session_id), 404)


def test_unknown_path_is_404(sessions_api: SessionsAPI) -> None:
    assert_problem(sessions_api.request("GET", "/nothing-here"), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/sessions/" + "a" * 32, {"DELETE", "GET", "HEAD", "PATCH"}),
        ("DELETE", "/sessions", {"GET", "HEAD", "POST"}),
    ],
)
def test_wrong_method_is_405_with_allow(
    sessions_api: SessionsAPI, method: str, path: str, allowed: set[str]
) -> None:
    response = sessions_api.request(method, path)

    assert_problem(response, 405)
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= allowed


def test_body_too_large_is_413(sessions_api: SessionsAPI) -> None:
    body = json.dumps({"metadata": {"x": "a" * 20_000}})

    response = sessions_api.request(
        "POST", "/sessions", body=body, headers={"content-type": "application/json"}
    )

    assert_problem(response, 413)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml"])
def test_body_not_declared_as_json_is_415(
    sessions_api: SessionsAPI, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}

    response = sessions_api.request(
        "POST", "/sessions", body='{"metadata": {}}', headers=headers
    )

    assert_problem(response, 415)


def test_merge_patch_content_type_is_accepted(sessions_api: SessionsAPI) -> None:
    created = sessions_api.create().json()

    response = sessions_api.request(
        "PATCH",
        "/sessions/" + created["session_id"],
        body='{"metadata": {"k": 1}}',
        headers={"content-type": "application/merge-patch+json; charset=utf-8"},
    )

    assert response.status == 200
    assert response.json()["metadata"] == {"k": 1}


@pytest.mark.parametrize(
    "document",
    [
        {"metadata": [1]},
        {"metadata": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}},
        {"metadata": {"x": "a" * MAX_METADATA_BYTES}},
        {"ttl_seconds": MAX_TTL_S + 1},
        {"ttl_seconds": "60"},
        {"ttl_seconds": None},
        {"metadata": None},
        {"user_id": "bob"},
        [1, 2],
    ],
)
def test_invalid_fields_are_422(sessions_api: SessionsAPI, document: Any) -> None:
    response = sessions_api.request("POST", "/sessions", json_body=document)

    assert_problem(response, 422)
    assert sessions_api.list().json()["sessions"] == []


def test_patch_that_would_grow_metadata_past_the_limit_is_422(
    sessions_api: SessionsAPI,
) -> None:
    half = "a" * (MAX_METADATA_BYTES // 2)
    created = sessions_api.create(metadata={"one": half}).json()

    response = sessions_api.patch(created["session_id"], metadata={"two": half})

    assert_problem(response, 422)
    assert sessions_api.get(created["session_id"]).json()["version"] == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_dynamodb_is_503_with_retry_after(
    sessions_function: Callable[..., Any],
) -> None:
    emulator = sessions_function(
        AWS_ENDPOINT_URL_DYNAMODB=f"http://127.0.0.1:{_closed_port()}",
        DYNAMODB_CONNECT_TIMEOUT_S="0.5",
        DYNAMODB_MAX_ATTEMPTS="2",
    )
    event = http_api_event(
        "POST", "/sessions", authorizer={"jwt": {"claims": {"sub": "alice"}}}
    )

    answer = json.loads(emulator.invoke(json.dumps(event).encode()).body)

    assert answer["statusCode"] == 503
    assert answer["headers"]["Retry-After"] == "1"
    assert json.loads(answer["body"])["status"] == 503


def test_unexpected_failure_is_500_without_internals(
    sessions_function: Callable[..., Any],
) -> None:
    emulator = sessions_function(SESSIONS_TABLE="no-such-table")
    event = http_api_event(
        "POST", "/sessions", authorizer={"jwt": {"claims": {"sub": "alice"}}}
    )

    answer = json.loads(emulator.invoke(json.dumps(event).encode()).body)

    assert answer["statusCode"] == 500
    body = answer["body"]
    assert json.loads(body) == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "Internal Server Error",
    }
    assert "ResourceNotFound" in emulator.logs()
