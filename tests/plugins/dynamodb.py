"""Fixtures for a real DynamoDB Local: one per test session, a fresh table per test.

dynamodb_local     the running server (in memory), session-scoped
dynamodb_client    a low-level client to it
sessions_table     a new, empty sessions table with a unique name
sessions_env       the environment a function needs to use that table
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from emulator.dynamodb_local import DynamoDBLocal
from handler.app import create_router
from handler.config import Settings
from handler.store import SessionStore
from handler.table import ensure_table

# DynamoDB Local keeps one database per access key and region (without
# -sharedDb): the tests and the function must use the same pair.
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"
REGION = "us-east-1"


def make_client(endpoint_url: str, max_pool_connections: int = 10) -> Any:
    """A low-level DynamoDB client for DynamoDB Local with the fake credentials."""
    return botocore.session.get_session().create_client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
        config=Config(
            connect_timeout=5,
            read_timeout=10,
            retries={"mode": "standard", "total_max_attempts": 3},
            max_pool_connections=max_pool_connections,
        ),
    )


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """DynamoDB Local in memory on 127.0.0.1, stopped when the session ends."""
    with DynamoDBLocal() as server:
        yield server


@pytest.fixture(scope="session")
def dynamodb_client(dynamodb_local: DynamoDBLocal) -> Any:
    """A client to the session's DynamoDB Local."""
    return make_client(dynamodb_local.endpoint_url, max_pool_connections=64)


@pytest.fixture
def sessions_table(
    dynamodb_client: Any, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh sessions table, deleted after the test."""
    # Random, so no test ever sees another test's items.
    table_name = f"sessions-{os.urandom(6).hex()}"
    ensure_table(dynamodb_client, table_name)
    yield table_name

    dynamodb_client.delete_table(TableName=table_name)


@pytest.fixture
def sessions_env(dynamodb_local: DynamoDBLocal, sessions_table: str) -> dict[str, str]:
    """Environment for a function using the fresh table (no identity header)."""
    return {
        "SESSIONS_TABLE": sessions_table,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint_url,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
    }


# --------------------------------------------------------------------------
# The sessions API as a client sees it, over any way of invoking the function


def http_api_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as API Gateway sends it."""
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "api.example.com",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "tests",
        },
        "requestId": os.urandom(8).hex(),
        "routeKey": "$default",
        "stage": "$default",
        "time": "03/Dec/2026:10:00:00 +0000",
        "timeEpoch": 1_796_292_000_000,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {name.lower(): value for name, value in (headers or {}).items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body if isinstance(body, str) else body.decode()

    return event


class APIResponse:
    """An HTTP response decoded from the function's API Gateway answer."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.status = int(answer["statusCode"])
        self.headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        raw = answer.get("body") or ""
        self.body = raw.encode() if isinstance(raw, str) else bytes(raw)

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"APIResponse({self.status}, {self.headers}, {self.body[:300]!r})"


class SessionsAPI:
    """
    A test client of the sessions API.

    Args:
        invoke: sends one event to the function and returns its answer (the
            API Gateway response dict), in process or through the emulator.
        user: the caller, sent as a JWT authorizer's `sub` unless overridden.
    """

    def __init__(self, invoke: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.invoke = invoke

    def request(
        self,
        method: str,
        path: str,
        *,
        user: str | None = "alice",
        json_body: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        authorizer: dict[str, Any] | None = None,
    ) -> APIResponse:
        """Send a request; `user` becomes a JWT authorizer unless one is given."""
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("content-type", "application/json")
        if authorizer is None and user is not None:
            authorizer = {"jwt": {"claims": {"sub": user}, "scopes": None}}
        event = http_api_event(
            method, path, body=body, headers=headers, query=query, authorizer=authorizer
        )

        return APIResponse(self.invoke(event))

    def create(
        self, user: str = "alice", metadata: Any = None, ttl_seconds: Any = None
    ) -> APIResponse:
        """POST /sessions with the fields given."""
        document: dict[str, Any] = {}
        if metadata is not None:
            document["metadata"] = metadata
        if ttl_seconds is not None:
            document["ttl_seconds"] = ttl_seconds

        return self.request("POST", "/sessions", user=user, json_body=document)

    def get(self, session_id: str, user: str = "alice") -> APIResponse:
        """GET /sessions/{id}."""
        return self.request("GET", f"/sessions/{session_id}", user=user)

    def patch(
        self,
        session_id: str,
        user: str = "alice",
        metadata: Any = None,
        ttl_seconds: Any = None,
        if_match: str | None = None,
    ) -> APIResponse:
        """PATCH /sessions/{id} with a merge patch, optionally If-Match."""
        document: dict[str, Any] = {}
        if metadata is not None:
            document["metadata"] = metadata
        if ttl_seconds is not None:
            document["ttl_seconds"] = ttl_seconds
        headers = {} if if_match is None else {"if-match": if_match}

        return self.request(
            "PATCH",
            f"/sessions/{session_id}",
            user=user,
            json_body=document,
            headers=headers,
        )

    def delete(
        self, session_id: str, user: str = "alice", if_match: str | None = None
    ) -> APIResponse:
        """DELETE /sessions/{id}."""
        headers = {} if if_match is None else {"if-match": if_match}

        return self.request(
            "DELETE", f"/sessions/{session_id}", user=user, headers=headers
        )

    def list(
        self, user: str = "alice", limit: int | None = None, cursor: str | None = None
    ) -> APIResponse:
        """GET /sessions with limit and cursor."""
        params = {}
        if limit is not None:
            params["limit"] = str(limit)
        if cursor is not None:
            params["cursor"] = cursor

        return self.request(
            "GET", "/sessions", user=user, query=urllib.parse.urlencode(params)
        )

    def list_all(self, user: str = "alice", limit: int = 100) -> list[dict[str, Any]]:
        """Every session of `user`, following cursors (at most 100 pages)."""
        sessions: list[dict[str, Any]] = []
        cursor = None
        for _ in range(100):
            page = self.list(user, limit=limit, cursor=cursor)
            assert page.status == 200, page
            sessions.extend(page.json()["sessions"])
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return sessions
        raise AssertionError("listing did not end after 100 pages")


@pytest.fixture
def sessions_settings(sessions_env: dict[str, str]) -> Settings:
    """Settings of the service for the fresh table."""
    return Settings.from_env(sessions_env)


@pytest.fixture
def inprocess_sessions_api(
    sessions_settings: Settings, dynamodb_local: DynamoDBLocal
) -> SessionsAPI:
    """The sessions API in this process over the fresh table (fast, threadable)."""
    client = make_client(dynamodb_local.endpoint_url, max_pool_connections=64)
    store = SessionStore(client, sessions_settings.table_name)
    router = create_router(sessions_settings, store)

    return SessionsAPI(lambda event: router.lambda_handler(event, None))


@pytest.fixture
def sessions_function(
    lambda_runtime: Callable[..., Any], sessions_env: dict[str, str]
) -> Callable[..., Any]:
    """Factory: the sessions handler on our runtime under the emulator."""

    def start(concurrency: int = 1, **env: str) -> Any:
        return lambda_runtime(
            "handler.app.lambda_handler",
            env={**sessions_env, **env},
            timeout_s=10.0,
            concurrency=concurrency,
        )

    return start


@pytest.fixture
def sessions_api(sessions_function: Callable[..., Any]) -> SessionsAPI:
    """The sessions API through the runtime and the emulator: the real path."""
    emulator = sessions_function()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result = emulator.invoke(json.dumps(event).encode())
        assert result.function_error is None, (result, emulator.logs()[-3000:])
        answer: dict[str, Any] = json.loads(result.body)

        return answer

    return SessionsAPI(invoke)
