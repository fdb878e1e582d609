"""Fixtures for a real DynamoDB Local: one per test session, a fresh table per test.

dynamodb_local     the running server (in memory), session-scoped
dynamodb_client    a low-level client to it
sessions_table     a new, empty sessions table with a unique name
sessions_env       the environment a function needs to use that table
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from emulator.dynamodb_local import DynamoDBLocal
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
