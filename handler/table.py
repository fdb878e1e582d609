"""The sessions table: its schema, shared with template.yaml, and its creation.

Items are keyed by session_id alone, so a guessed id can only ever be read
through the owner check in handler.store. The global secondary index on user_id
and created_at serves "my sessions, newest first"; created_at is an ISO 8601
UTC string with fixed width, so its string order is its time order. DynamoDB
deletes items some time after expires_at (epoch seconds) passes; until then the
service itself treats them as absent.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

USER_INDEX_NAME = "user_id-created_at-index"
TTL_ATTRIBUTE = "expires_at"

# The create_table arguments without TableName; template.yaml declares the same.
TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "session_id", "AttributeType": "S"},
        {"AttributeName": "user_id", "AttributeType": "S"},
        {"AttributeName": "created_at", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "session_id", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": USER_INDEX_NAME,
            "KeySchema": [
                {"AttributeName": "user_id", "KeyType": "HASH"},
                {"AttributeName": "created_at", "KeyType": "RANGE"},
            ],
            # ALL: a listing returns whole sessions without one read per item.
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}

# How long ensure_table waits for a new table to become ACTIVE.
_ACTIVE_TIMEOUT_S = 60.0


def ensure_table(client: DynamoDBClient, table_name: str) -> bool:
    """
    Create the sessions table unless it exists, and enable TTL on expires_at.

    Args:
        client: a low-level DynamoDB client.
        table_name: the table to create or check.

    Returns:
        True when the table was created, False when it already existed.

    Raises:
        TimeoutError: the new table did not become ACTIVE in time.
    """
    created = False
    try:
        client.create_table(TableName=table_name, **TABLE_SCHEMA)
        created = True
        logger.info("created table %s; waiting until it is active", table_name)
    except client.exceptions.ResourceInUseException:
        logger.debug("table %s exists already", table_name)

    _wait_until_active(client, table_name)

    ttl = client.describe_time_to_live(TableName=table_name)
    if ttl["TimeToLiveDescription"].get("TimeToLiveStatus") not in (
        "ENABLED",
        "ENABLING",
    ):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    return created


def _wait_until_active(client: DynamoDBClient, table_name: str) -> None:
    """Poll DescribeTable; DynamoDB Local is ACTIVE at once, AWS takes seconds."""
    deadline = time.monotonic() + _ACTIVE_TIMEOUT_S
    while True:
        table = client.describe_table(TableName=table_name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table.get("TableStatus") == "ACTIVE" and all(
            index.get("IndexStatus") == "ACTIVE" for index in indexes
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"table {table_name} is not ACTIVE after {_ACTIVE_TIMEOUT_S} s"
            )
        time.sleep(0.5)
