"""Workload events are real API Gateway events; responses are checked."""

import json

import pytest

from bench.errors import RunFailedError
from bench.workloads import BENCH_USER_ID, WORKLOADS, session_id_from
from bootstrap.http import parse_event


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_every_workload_event_parses_as_an_http_api_request(name: str) -> None:
    workload = WORKLOADS[name]

    request = parse_event(json.loads(workload.event(session_id="abc")))

    assert request.source == "http-api"
    assert request.method == workload.method
    assert request.raw_path == workload.path.replace("{session_id}", "abc")
    assert request.headers.get("x-user-id") == BENCH_USER_ID


def test_post_event_carries_a_json_body_with_its_content_type() -> None:
    request = parse_event(json.loads(WORKLOADS["post-http"].event()))

    assert request.headers.get("content-type") == "application/json"
    assert request.json()["ttl_seconds"] == 3600


def test_check_rejects_an_unexpected_status_and_non_json() -> None:
    post = WORKLOADS["post-tls"]

    with pytest.raises(RunFailedError, match="status 500, expected 201"):
        post.check(b'{"statusCode": 500, "body": "{}"}')
    with pytest.raises(RunFailedError, match="not JSON"):
        post.check(b"<html>")


def test_session_id_is_read_from_the_created_session() -> None:
    result = {"statusCode": 201, "body": json.dumps({"session_id": "s-1"})}

    assert session_id_from(result) == "s-1"
    with pytest.raises(RunFailedError, match="no session_id"):
        session_id_from({"statusCode": 201, "body": "{}"})
