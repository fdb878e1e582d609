"""Settings of the sessions service, read once from the environment at init."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from handler.errors import ConfigError

DEFAULT_TABLE_NAME = "sessions"


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a number") from exc
    if not value > 0:
        raise ConfigError(f"{name}={raw!r} must be positive")

    return value


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not an integer") from exc
    if value < 1:
        raise ConfigError(f"{name}={raw!r} must be at least 1")

    return value


# A NamedTuple, not a dataclass: importing dataclasses imports inspect, ast
# and dis, about 10 ms of every cold start (see build/anti-bloat.yml).
class Settings(NamedTuple):
    """
    What the service needs from its environment.

    Attributes:
        table_name: the DynamoDB table (SESSIONS_TABLE).
        region: the AWS region (AWS_REGION, then AWS_DEFAULT_REGION).
        endpoint_url: an endpoint override such as DynamoDB Local
            (AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL); None for AWS.
        trust_user_id_header: take the caller from the x-user-id header
            (TRUST_USER_ID_HEADER=true); only for local development, since
            any client can send that header.
        connect_timeout_s, read_timeout_s, max_attempts: bound every DynamoDB
            call. Defaults keep the worst case (2 attempts of 1 s + 2 s) well
            inside a 10 s function timeout while tolerating a slow local
            DynamoDB on a shared machine.
        cursor_key: the HMAC key that seals list cursors (CURSOR_SECRET);
            see handler.cursor for what it does and does not protect.
    """

    table_name: str
    region: str
    endpoint_url: str | None
    trust_user_id_header: bool
    connect_timeout_s: float
    read_timeout_s: float
    max_attempts: int
    cursor_key: bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """
        Read the settings from the environment.

        Raises:
            ConfigError: a variable is set to a value that cannot be used.
        """
        env = os.environ if env is None else env
        table_name = env.get("SESSIONS_TABLE") or DEFAULT_TABLE_NAME
        endpoint_url = (
            env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL") or None
        )
        # Without a secret the key still differs per table; the cursor's
        # binding to its owner never rests on this key alone (handler.cursor).
        cursor_secret = env.get("CURSOR_SECRET") or ("cursor:" + table_name)

        return cls(
            table_name=table_name,
            region=env.get("AWS_REGION")
            or env.get("AWS_DEFAULT_REGION")
            or "us-east-1",
            endpoint_url=endpoint_url,
            trust_user_id_header=env.get("TRUST_USER_ID_HEADER", "").lower() == "true",
            connect_timeout_s=_float_env(env, "DYNAMODB_CONNECT_TIMEOUT_S", 1.0),
            read_timeout_s=_float_env(env, "DYNAMODB_READ_TIMEOUT_S", 2.0),
            max_attempts=_int_env(env, "DYNAMODB_MAX_ATTEMPTS", 2),
            cursor_key=cursor_secret.encode(),
        )
