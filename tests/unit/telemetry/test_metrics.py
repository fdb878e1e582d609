"""CloudWatch embedded metric format lines, validated against the EMF schema."""

from __future__ import annotations

import io
import json

import jsonschema_rs
import pytest

from bootstrap.telemetry.metrics import MetricsWriter, invocation_record

# The structure the EMF specification defines (CloudWatch "Specification:
# Embedded metric format", the root node, the metadata and the directives).
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 1024,
                                "pattern": "^[^:].*$",
                            },
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "minItems": 0,
                                    "maxItems": 30,
                                    "items": {
                                        "type": "string",
                                        "minLength": 1,
                                        "maxLength": 250,
                                    },
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {
                                            "enum": [
                                                "Seconds",
                                                "Microseconds",
                                                "Milliseconds",
                                                "Bytes",
                                                "Kilobytes",
                                                "Megabytes",
                                                "Gigabytes",
                                                "Terabytes",
                                                "Bits",
                                                "Kilobits",
                                                "Megabits",
                                                "Gigabits",
                                                "Terabits",
                                                "Percent",
                                                "Count",
                                                "Bytes/Second",
                                                "Kilobytes/Second",
                                                "Megabytes/Second",
                                                "Gigabytes/Second",
                                                "Terabytes/Second",
                                                "Bits/Second",
                                                "Kilobits/Second",
                                                "Megabits/Second",
                                                "Gigabits/Second",
                                                "Terabits/Second",
                                                "Count/Second",
                                                "None",
                                            ]
                                        },
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
_validator = jsonschema_rs.validator_for(EMF_SCHEMA)


def validate_emf(record: dict[str, object]) -> None:
    """Check the schema, and the rules it cannot express: every dimension and
    metric named in the directives is a root member, metric values are numbers
    or arrays of at most 100 numbers, dimension values are strings."""
    _validator.validate(record)
    aws = record["_aws"]
    assert isinstance(aws, dict)
    for directive in aws["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for dimension in dimension_set:
                assert isinstance(record[dimension], str), dimension
        for metric in directive["Metrics"]:
            value = record[metric["Name"]]
            values = value if isinstance(value, list) else [value]
            assert 0 < len(values) <= 100
            assert all(isinstance(item, (int, float)) for item in values), metric


def test_invocation_record_is_valid_emf_with_all_metrics() -> None:
    record = invocation_record(
        "Bootstrap", "sessions", True, 12.34567, 201, [3.5, 4.25], {"requestId": "r1"}
    )

    validate_emf(record)
    names = [
        metric["Name"] for metric in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    ]
    assert names == ["ColdStart", "Duration", "4xx", "5xx", "DynamoDBLatency"]
    assert record["FunctionName"] == "sessions"
    assert record["ColdStart"] == 1
    assert record["Duration"] == 12.346
    assert record["DynamoDBLatency"] == [3.5, 4.25]
    assert record["requestId"] == "r1"


@pytest.mark.parametrize(
    ("status", "client_errors", "server_errors"),
    [(200, 0, 0), (404, 1, 0), (499, 1, 0), (500, 0, 1), (503, 0, 1), (None, 0, 0)],
)
def test_status_counts_as_4xx_or_5xx(
    status: int | None, client_errors: int, server_errors: int
) -> None:
    record = invocation_record("Bootstrap", "sessions", False, 1.0, status, [])

    validate_emf(record)
    assert (record["4xx"], record["5xx"]) == (client_errors, server_errors)
    assert "DynamoDBLatency" not in record


def test_latency_array_is_capped_at_emf_limit() -> None:
    record = invocation_record("Bootstrap", "sessions", False, 1.0, 200, [1.0] * 150)

    validate_emf(record)
    assert len(record["DynamoDBLatency"]) == 100


def test_writer_emits_one_json_line_per_invocation() -> None:
    stream = io.StringIO()
    writer = MetricsWriter("Bootstrap", "sessions", stream)

    writer.write_invocation(False, 2.0, 200, [1.0])
    writer.write_invocation(True, 3.0, 500, [])
    lines = stream.getvalue().splitlines()

    assert len(lines) == 2
    for line in lines:
        validate_emf(json.loads(line))
