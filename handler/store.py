"""Sessions in DynamoDB through the low-level client, safe under concurrency.

Every write is conditional, so no update is lost and no one writes another
user's session:

- create: attribute_not_exists(session_id), never overwriting;
- update: the owner, the version that was read, and not yet expired; the
  version then goes up by one (optimistic locking);
- delete: the owner and not yet expired, plus the version under If-Match.

A failed condition is classified from the item DynamoDB returns with it
(ReturnValuesOnConditionCheckFailure=ALL_OLD): gone, expired or someone else's
is a 404, a newer version is a 412. Throttling and an unreachable DynamoDB,
once botocore's bounded retries are spent, become a 503 with Retry-After.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from handler.errors import (
    ServiceUnavailableError,
    SessionConflictError,
    SessionNotFoundError,
    VersionMismatchError,
)
from handler.model import (
    DEFAULT_TTL_S,
    Session,
    SessionChanges,
    check_metadata,
    format_timestamp,
    is_session_id,
    merge_patch,
)
from handler.table import USER_INDEX_NAME

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

# DynamoDB error codes that mean "try again later", not "your request is wrong".
_RETRYABLE_CODES = frozenset(
    (
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    )
)
# Transport failures botocore raises once its own retries are spent.
_UNREACHABLE_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)

# A PATCH without If-Match retries its read-modify-write this many times when
# concurrent writers keep winning, then answers 409 rather than loop on.
_UPDATE_ATTEMPTS = 5
# A listing stops after this many queries even if the filter dropped expired
# sessions, so one request's latency stays bounded; the cursor resumes.
_MAX_QUERIES_PER_PAGE = 4


@contextmanager
def _dynamodb_call(operation: str) -> Iterator[None]:
    """Turn throttling and unreachability into a 503; let other errors through."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _RETRYABLE_CODES:
            logger.warning("DynamoDB %s throttled (%s); answering 503", operation, code)
            raise ServiceUnavailableError("the session store is busy; retry") from exc
        raise
    except _UNREACHABLE_ERRORS as exc:
        logger.warning(
            "DynamoDB %s failed after retries (%s); answering 503",
            operation,
            type(exc).__name__,
        )
        raise ServiceUnavailableError() from exc


def _is_condition_failure(exc: ClientError) -> bool:
    code: str = exc.response.get("Error", {}).get("Code", "")

    return code == "ConditionalCheckFailedException"


def new_session_id() -> str:
    """128 random bits from the OS: unguessable, so ids reveal nothing."""
    return os.urandom(16).hex()


class SessionStore:
    """
    The sessions of every user, in one DynamoDB table.

    Args:
        client: a low-level DynamoDB client.
        table_name: the sessions table (handler.table.TABLE_SCHEMA).
        clock: epoch seconds now; tests pass their own to reach expiry.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.clock = clock

    def create(self, user_id: str, changes: SessionChanges) -> Session:
        """
        Create a session for user_id.

        Raises:
            SessionConflictError: three random ids in a row already existed.
            ServiceUnavailableError: DynamoDB throttled or is unreachable.
        """
        now_s = self.clock()
        ttl_seconds = changes.ttl_seconds or DEFAULT_TTL_S
        timestamp = format_timestamp(now_s)
        for _ in range(3):
            session = Session(
                session_id=new_session_id(),
                user_id=user_id,
                created_at=timestamp,
                last_active=timestamp,
                expires_at=int(now_s) + ttl_seconds,
                ttl_seconds=ttl_seconds,
                metadata=changes.metadata or {},
                version=1,
            )
            try:
                with _dynamodb_call("PutItem"):
                    # Never overwrite: an id collision must not replace a session.
                    self.client.put_item(
                        TableName=self.table_name,
                        Item=session.to_item(),
                        ConditionExpression="attribute_not_exists(session_id)",
                    )
            except ClientError as exc:
                if not _is_condition_failure(exc):
                    raise
                logger.warning("session id collision; drawing another id")
                continue

            return session

        raise SessionConflictError("could not allocate a session id; retry")

    def get(self, user_id: str, session_id: str) -> Session:
        """
        Return the caller's session.

        Raises:
            SessionNotFoundError: absent, expired or owned by someone else.
            ServiceUnavailableError: DynamoDB throttled or is unreachable.
        """
        session = self._read(session_id)
        if session is None or not self._visible(session, user_id):
            raise SessionNotFoundError()

        return session

    def update(
        self,
        user_id: str,
        session_id: str,
        changes: SessionChanges,
        expected_version: int | None = None,
    ) -> Session:
        """
        Merge metadata, refresh last_active and the expiry, bump the version.

        Args:
            user_id: the caller.
            session_id: the session to change.
            changes: a metadata merge patch and/or a new lifetime.
            expected_version: the If-Match version; None to update whatever
                the current version is (retrying if others write meanwhile).

        Raises:
            SessionNotFoundError: absent, expired or owned by someone else.
            VersionMismatchError: expected_version is not the current version.
            SessionConflictError: without If-Match, concurrent writers won
                every one of the bounded attempts.
            ValidationError: the merged metadata exceeds the limits.
            ServiceUnavailableError: DynamoDB throttled or is unreachable.
        """
        for _ in range(_UPDATE_ATTEMPTS):
            current = self.get(user_id, session_id)
            if expected_version is not None and current.version != expected_version:
                raise VersionMismatchError(
                    f"the session is at version {current.version}"
                )

            try:
                return self._write_update(current, changes)
            except ClientError as exc:
                if not _is_condition_failure(exc):
                    raise
                old = self._item_from_condition_failure(exc, session_id)
                if old is None or not self._visible(old, user_id):
                    raise SessionNotFoundError() from exc
                if expected_version is not None:
                    raise VersionMismatchError(
                        f"the session is at version {old.version}"
                    ) from exc
                logger.debug("session %s changed under us; retrying", session_id)

        raise SessionConflictError("the session is being changed concurrently; retry")

    def delete(
        self, user_id: str, session_id: str, expected_version: int | None = None
    ) -> None:
        """
        Delete the caller's session.

        Raises:
            SessionNotFoundError: absent, expired or owned by someone else.
            VersionMismatchError: expected_version is not the current version.
            ServiceUnavailableError: DynamoDB throttled or is unreachable.
        """
        if not is_session_id(session_id):
            raise SessionNotFoundError()

        # Owner and expiry in the condition: a delete can neither remove
        # another user's session nor reveal that it exists.
        condition = "user_id = :user_id AND expires_at > :now"
        values: dict[str, Any] = {
            ":user_id": {"S": user_id},
            ":now": {"N": str(int(self.clock()))},
        }
        if expected_version is not None:
            condition += " AND version = :version"
            values[":version"] = {"N": str(expected_version)}

        try:
            with _dynamodb_call("DeleteItem"):
                self.client.delete_item(
                    TableName=self.table_name,
                    Key={"session_id": {"S": session_id}},
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            old = self._item_from_condition_failure(exc, session_id)
            if old is None or not self._visible(old, user_id):
                raise SessionNotFoundError() from exc
            raise VersionMismatchError(
                f"the session is at version {old.version}"
            ) from exc

    def list(
        self, user_id: str, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Session], dict[str, Any] | None]:
        """
        Return a page of the caller's live sessions, newest first.

        Args:
            user_id: the caller; the only partition the query can read.
            limit: the most sessions to return.
            start_key: where the previous page stopped (handler.cursor).

        Returns:
            The sessions and the LastEvaluatedKey to resume from, or None
            when the listing is complete.

        Raises:
            ServiceUnavailableError: DynamoDB throttled or is unreachable.
        """
        now_s = self.clock()
        sessions: list[Session] = []
        last_key = start_key
        for _ in range(_MAX_QUERIES_PER_PAGE):
            query: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": USER_INDEX_NAME,
                "KeyConditionExpression": "user_id = :user_id",
                # Expired but not yet deleted by TTL: absent, like everywhere.
                "FilterExpression": "expires_at > :now",
                "ExpressionAttributeValues": {
                    ":user_id": {"S": user_id},
                    ":now": {"N": str(int(now_s))},
                },
                "ScanIndexForward": False,
                # Limit counts items read before the filter, so asking for
                # what is still missing never returns more than the page.
                "Limit": limit - len(sessions),
            }
            if last_key is not None:
                query["ExclusiveStartKey"] = last_key
            with _dynamodb_call("Query"):
                page = self.client.query(**query)

            sessions.extend(Session.from_item(item) for item in page.get("Items", []))
            last_key = page.get("LastEvaluatedKey")
            if last_key is None or len(sessions) >= limit:
                break

        return sessions, last_key

    def _read(self, session_id: str) -> Session | None:
        """Strongly consistent read: a PATCH must see the latest version."""
        if not is_session_id(session_id):
            return None

        with _dynamodb_call("GetItem"):
            response = self.client.get_item(
                TableName=self.table_name,
                Key={"session_id": {"S": session_id}},
                ConsistentRead=True,
            )
        item = response.get("Item")

        return None if item is None else Session.from_item(item)

    def _visible(self, session: Session, user_id: str) -> bool:
        return session.user_id == user_id and not session.is_expired(self.clock())

    def _write_update(self, current: Session, changes: SessionChanges) -> Session:
        """One conditional UpdateItem from the version that was read."""
        metadata = current.metadata
        if changes.metadata is not None:
            metadata = merge_patch(current.metadata, changes.metadata)
            check_metadata(metadata)
        ttl_seconds = changes.ttl_seconds or current.ttl_seconds
        now_s = self.clock()
        updated = Session(
            session_id=current.session_id,
            user_id=current.user_id,
            created_at=current.created_at,
            last_active=format_timestamp(now_s),
            expires_at=int(now_s) + ttl_seconds,
            ttl_seconds=ttl_seconds,
            metadata=metadata,
            version=current.version + 1,
        )
        item = updated.to_item()

        with _dynamodb_call("UpdateItem"):
            self.client.update_item(
                TableName=self.table_name,
                Key={"session_id": {"S": current.session_id}},
                UpdateExpression=(
                    "SET last_active = :last_active, expires_at = :expires_at,"
                    " ttl_seconds = :ttl_seconds, metadata = :metadata,"
                    " version = :new_version"
                ),
                # Owner, the version we read, and still alive: otherwise
                # someone else won, or the session went away meanwhile.
                ConditionExpression=(
                    "user_id = :user_id AND version = :version AND expires_at > :now"
                ),
                ExpressionAttributeValues={
                    ":last_active": item["last_active"],
                    ":expires_at": item["expires_at"],
                    ":ttl_seconds": item["ttl_seconds"],
                    ":metadata": item["metadata"],
                    ":new_version": item["version"],
                    ":user_id": {"S": current.user_id},
                    ":version": {"N": str(current.version)},
                    ":now": {"N": str(int(now_s))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )

        return updated

    def _item_from_condition_failure(
        self, exc: ClientError, session_id: str
    ) -> Session | None:
        """The item as it was when the condition failed; re-read if not sent."""
        # botocore's error response is typed without the item that
        # ReturnValuesOnConditionCheckFailure adds to it.
        response: dict[str, Any] = dict(exc.response)
        item = response.get("Item")
        if item:
            return Session.from_item(item)

        # No item returned: either it does not exist, or DynamoDB did not send
        # it; a consistent read tells the two apart.
        return self._read(session_id)
