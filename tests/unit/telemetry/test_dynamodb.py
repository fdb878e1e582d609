"""The botocore hooks: one client span and one latency sample per DynamoDB call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from bootstrap.telemetry import instrument_client
from bootstrap.telemetry.dynamodb import table_names
from bootstrap.telemetry.invocation import Telemetry
from bootstrap.telemetry.spans import SpanKind, StatusCode

from .conftest import CapturingExporter, FakeContext


class FakeBody:
    """The raw body botocore reads an AWSResponse from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def answer_with(client: Any, status: int, document: dict[str, Any]) -> None:
    """Make every call of the client get this answer, without a network."""

    def before_send(request: Any, **_: Any) -> AWSResponse:
        headers = {
            "x-amzn-RequestId": "RID-1",
            "Content-Type": "application/x-amz-json-1.0",
        }
        return AWSResponse(
            request.url, status, headers, FakeBody(json.dumps(document).encode())
        )

    client.meta.events.register("before-send.dynamodb", before_send)


@pytest.fixture
def client() -> Any:
    session = botocore.session.get_session()
    client = session.create_client(
        "dynamodb",
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="not-a-real-secret",
    )
    instrument_client(client)

    return client


def test_call_inside_an_invocation_makes_a_client_span(
    client: Any, exporter: CapturingExporter
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])
    scope = telemetry.start_invocation(FakeContext(), {})
    answer_with(client, 200, {"Item": {"id": {"S": "1"}}})
    client.get_item(TableName="t1", Key={"id": {"S": "1"}})
    scope.finish()
    telemetry.flush()

    call, server = exporter.spans
    assert call.kind == SpanKind.CLIENT
    assert call.name == "DynamoDB.GetItem"
    assert call.parent is not None
    assert call.parent.span_id == server.context.span_id
    assert call.context.trace_id == server.context.trace_id
    assert call.attributes["db.system.name"] == "aws.dynamodb"
    assert call.attributes["db.operation.name"] == "GetItem"
    assert call.attributes["aws.dynamodb.table_names"] == ["t1"]
    assert call.attributes["rpc.system"] == "aws-api"
    assert call.attributes["cloud.region"] == "eu-west-1"
    assert call.attributes["http.response.status_code"] == 200
    assert call.attributes["aws.request_id"] == "RID-1"
    assert call.status_code == StatusCode.UNSET
    assert len(scope.dynamodb_latencies_ms) == 1


def test_failed_call_is_an_error_span_with_its_code(
    client: Any, exporter: CapturingExporter
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])
    scope = telemetry.start_invocation(FakeContext(), {})
    answer_with(
        client,
        400,
        {
            "__type": "com.amazonaws.dynamodb.v20120810#"
            "ConditionalCheckFailedException",
            "message": "The conditional request failed",
        },
    )
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName="t1", Item={"id": {"S": "1"}})
    scope.finish()
    telemetry.flush()

    call = exporter.spans[0]
    assert call.status_code == StatusCode.ERROR
    assert call.attributes["error.type"] == "ConditionalCheckFailedException"
    assert call.attributes["http.response.status_code"] == 400


def test_call_outside_an_invocation_records_nothing(
    client: Any, exporter: CapturingExporter
) -> None:
    telemetry = Telemetry("sessions", exporters=[exporter])
    answer_with(client, 200, {"TableNames": []})
    client.list_tables()
    telemetry.flush()

    assert exporter.batches == []


def test_instrumenting_twice_still_makes_one_span(
    client: Any, exporter: CapturingExporter
) -> None:
    instrument_client(client)
    telemetry = Telemetry("sessions", exporters=[exporter])
    scope = telemetry.start_invocation(FakeContext(), {})
    answer_with(client, 200, {"TableNames": []})
    client.list_tables()
    scope.finish()
    telemetry.flush()

    assert [span.name for span in exporter.spans] == ["DynamoDB.ListTables", "sessions"]


def test_table_names_cover_batch_and_transact_calls() -> None:
    assert table_names({"TableName": "a"}) == ["a"]
    assert table_names({"RequestItems": {"b": [], "a": []}}) == ["a", "b"]
    assert table_names(
        {
            "TransactItems": [
                {"Put": {"TableName": "c"}},
                {"ConditionCheck": {"TableName": "a"}},
                {"Update": {"TableName": "c"}},
            ]
        }
    ) == ["a", "c"]
    assert table_names({}) == []
