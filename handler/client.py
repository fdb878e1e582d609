"""The one DynamoDB client of the function, created at init from the settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

import botocore.session
from botocore.config import Config

from bootstrap.telemetry import instrument_client
from handler.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# botocore keeps this many pooled connections; one per concurrent invoke
# (Lambda Managed Instances run AWS_LAMBDA_MAX_CONCURRENCY of them) avoids
# opening and discarding connections under load.
_MIN_POOL_CONNECTIONS = 10


def environment_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """
    The credentials Lambda puts in the environment, as create_client arguments.

    Passed straight to the client, they spare the cold start botocore's provider
    chain (a dozen providers built to find what the first one, the environment,
    reads). Anything the chain would treat differently gets {} and the chain: no
    key (SnapStart's container credentials, a profile on a laptop) or an expiry
    time (environment credentials that botocore refreshes).
    """
    key = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return {}
    if environ.get("AWS_CREDENTIAL_EXPIRATION"):
        return {}
    credentials = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    token = environ.get("AWS_SESSION_TOKEN")
    if token:
        credentials["aws_session_token"] = token

    return credentials


def create_dynamodb_client(settings: Settings) -> DynamoDBClient:
    """
    Create the low-level DynamoDB client with bounded timeouts and retries.

    This is the client boto3.client("dynamodb") returns, built through botocore's
    session directly: `import boto3` also loads s3transfer and its dependencies,
    tens of milliseconds of cold start that a DynamoDB function never uses.

    Args:
        settings: region, endpoint override, timeouts and attempts.
    """
    concurrency = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY") or 1)
    config = Config(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        # "standard" retries throttling and transient errors with backoff; the
        # attempt count bounds how long a failing call can hold an invoke.
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=max(_MIN_POOL_CONNECTIONS, concurrency),
    )
    credentials = environment_credentials(os.environ)
    session = botocore.session.get_session()

    client = session.create_client(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=config,
        # None for each when the provider chain must find them.
        aws_access_key_id=credentials.get("aws_access_key_id"),
        aws_secret_access_key=credentials.get("aws_secret_access_key"),
        aws_session_token=credentials.get("aws_session_token"),
    )

    # A client span and a latency sample per call, for traces and metrics.
    instrument_client(client)

    # botocore builds the class at run time; the stubs name what it is.
    return cast("DynamoDBClient", client)
