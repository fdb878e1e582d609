"""DynamoDB failures become the right HTTP errors (stubbed client, no server)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from handler.errors import ServiceUnavailableError
from handler.model import SessionChanges
from handler.store import SessionStore


def make_client(endpoint_url: str = "http://127.0.0.1:9", **config: Any) -> Any:
    return botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **config),
    )


@pytest.fixture
def stubbed() -> Iterator[tuple[SessionStore, Stubber]]:
    client = make_client()
    with Stubber(client) as stubber:
        yield SessionStore(client, "sessions"), stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    ],
)
def test_throttling_is_503_with_retry_after(
    stubbed: tuple[SessionStore, Stubber], code: str
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_item", service_error_code=code, http_status_code=400)

    with pytest.raises(ServiceUnavailableError) as caught:
        store.create("alice", SessionChanges())

    assert caught.value.status_code == 503
    assert caught.value.headers == {"Retry-After": "1"}
    assert isinstance(caught.value.__cause__, Exception)


def test_other_client_errors_are_not_disguised_as_503(
    stubbed: tuple[SessionStore, Stubber],
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("get_item", service_error_code="ResourceNotFoundException")

    with pytest.raises(Exception) as caught:
        store.get("alice", "a" * 32)

    assert not isinstance(caught.value, ServiceUnavailableError)


def test_unreachable_dynamodb_is_503() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{closed_port}", connect_timeout=0.5)

    with pytest.raises(ServiceUnavailableError):
        SessionStore(client, "sessions").get("alice", "a" * 32)


def test_malformed_ids_never_reach_dynamodb(
    stubbed: tuple[SessionStore, Stubber],
) -> None:
    store, _ = stubbed

    # No response is queued: any call to DynamoDB would fail the stubber.
    for bad_id in ("", "x", "../etc", "A" * 32, "a" * 33):
        with pytest.raises(Exception, match="no such session"):
            store.get("alice", bad_id)
        with pytest.raises(Exception, match="no such session"):
            store.delete("alice", bad_id)
