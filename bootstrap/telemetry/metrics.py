"""CloudWatch embedded metric format (EMF): metrics written as log lines.

CloudWatch Logs extracts metrics from any log line that is a JSON object with
an `_aws` member describing them, so the function needs no API call and no
agent::

    {"_aws": {"Timestamp": 1700000000000,
              "CloudWatchMetrics": [{"Namespace": "Bootstrap",
                                     "Dimensions": [["FunctionName"]],
                                     "Metrics": [{"Name": "Duration",
                                                  "Unit": "Milliseconds"}, ...]}]},
     "FunctionName": "sessions", "Duration": 12.5, "ColdStart": 1, ...}

Each invocation writes one line: ColdStart (1 or 0), Duration, 4xx and 5xx
(1 or 0, so Sum counts them and Average is a rate) and DynamoDBLatency (one
value per call, as an EMF value array) when the invocation called DynamoDB.
"""

from __future__ import annotations

import sys
import time
from _thread import allocate_lock

from bootstrap import codec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TextIO


# EMF allows at most 100 values in one metric array.
_MAX_VALUES = 100
DEFAULT_NAMESPACE = "Bootstrap"


def invocation_record(  # noqa: PLR0913, PLR0917 - one argument per metric
    namespace: str,
    function_name: str,
    cold_start: bool,
    duration_ms: float,
    status_code: int | None,
    dynamodb_latencies_ms: Sequence[float],
    properties: Mapping[str, object] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, object]:
    """
    Build the EMF object for one invocation.

    Args:
        namespace: the CloudWatch namespace.
        function_name: the FunctionName dimension.
        cold_start: whether this was the process's first invocation.
        duration_ms: the handler's duration.
        status_code: the HTTP status the invocation answered, or None when it
            was not an HTTP invocation (a handler failure counts as 5xx).
        dynamodb_latencies_ms: one value per DynamoDB call.
        properties: extra searchable fields (requestId, traceId), not metrics.
        timestamp_ms: the metrics' time; now when None.

    Returns:
        The object to write as one JSON line.
    """
    metrics = [
        {"Name": "ColdStart", "Unit": "Count"},
        {"Name": "Duration", "Unit": "Milliseconds"},
        {"Name": "4xx", "Unit": "Count"},
        {"Name": "5xx", "Unit": "Count"},
    ]
    record: dict[str, object] = dict(properties or {})
    record.update(
        {
            "FunctionName": function_name,
            "ColdStart": 1 if cold_start else 0,
            "Duration": round(duration_ms, 3),
            "4xx": 1 if status_code is not None and 400 <= status_code < 500 else 0,
            "5xx": 1 if status_code is not None and status_code >= 500 else 0,
        }
    )
    if dynamodb_latencies_ms:
        metrics.append({"Name": "DynamoDBLatency", "Unit": "Milliseconds"})
        record["DynamoDBLatency"] = [
            round(value, 3) for value in dynamodb_latencies_ms[:_MAX_VALUES]
        ]

    record["_aws"] = {
        "Timestamp": timestamp_ms
        if timestamp_ms is not None
        else time.time_ns() // 1_000_000,
        "CloudWatchMetrics": [
            {
                "Namespace": namespace,
                "Dimensions": [["FunctionName"]],
                "Metrics": metrics,
            }
        ],
    }

    return record


class MetricsWriter:
    """
    Writes EMF lines to the function's stdout, one whole line at a time.

    Args:
        namespace: the CloudWatch namespace.
        function_name: the FunctionName dimension.
        stream: where lines go; stdout when None (read at each write so that
            a test or the runtime may redirect it).
    """

    def __init__(
        self, namespace: str, function_name: str, stream: TextIO | None = None
    ) -> None:
        self.namespace = namespace
        self.function_name = function_name
        self.stream = stream
        # Concurrent workers must not interleave halves of two lines.
        self._lock = allocate_lock()

    def write_invocation(
        self,
        cold_start: bool,
        duration_ms: float,
        status_code: int | None,
        dynamodb_latencies_ms: Sequence[float],
        properties: Mapping[str, object] | None = None,
    ) -> None:
        """Write the EMF line of one invocation."""
        record = invocation_record(
            self.namespace,
            self.function_name,
            cold_start,
            duration_ms,
            status_code,
            dynamodb_latencies_ms,
            properties,
        )
        line = codec.dumps(record).decode("utf-8") + "\n"
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()
