"""What the fault tests share: secrets that must never be logged, the events that
carry them, and how to find the function's process from outside the emulator."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from emulator import Emulator
from tests.plugins.dynamodb import http_api_event

# Credentials and client secrets that the function holds or receives. Each is
# long and unusual, so finding one anywhere in the output is never a fluke.
SECRET_ACCESS_KEY = "faults-secret-access-key-never-logged-0123456789"
SESSION_TOKEN = "faults-session-token-never-logged-FwoGZXIvYXdzEJr"
BEARER_TOKEN = "eyJhbGciOiJIUzI1NiJ9.ZmF1bHRzLXNlY3JldA.faults-bearer-never-logged"
COOKIE_VALUE = "faults-cookie-value-never-logged-9f8e7d"
# The emulator's own fake credentials (emulator.environment.FAKE_CREDENTIALS).
EMULATOR_SECRETS = (
    "emulator-fake-secret-access-key-not-real",
    "emulator-fake-session-token",
)
SECRETS = (SECRET_ACCESS_KEY, SESSION_TOKEN, BEARER_TOKEN, COOKIE_VALUE)


def secret_env() -> dict[str, str]:
    """Credentials for the function: DynamoDB Local checks neither value."""
    return {
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
    }


def leaked_secrets(text: str) -> list[str]:
    """The secrets (ours and the emulator's) that appear in `text`."""
    return [secret for secret in (*SECRETS, *EMULATOR_SECRETS) if secret in text]


def api_event(
    method: str,
    path: str,
    *,
    user: str = "alice",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """
    A payload 2.0 event from a client that sends its bearer token and cookie.

    The JWT authorizer names `user`; the Authorization header and the cookie
    travel with every request, as a browser's would.
    """
    all_headers = {
        "authorization": "Bearer " + BEARER_TOKEN,
        "content-type": "application/json",
        **(headers or {}),
    }
    event = http_api_event(
        method,
        path,
        body=None if body is None else json.dumps(body),
        headers=all_headers,
        authorizer={"jwt": {"claims": {"sub": user}, "scopes": None}},
    )
    event["cookies"] = ["sid=" + COOKIE_VALUE]

    return json.dumps(event).encode()


def function_pids(emulator: Emulator) -> list[int]:
    """
    Pids of the emulator's live function processes (leader first), found by
    the AWS_LAMBDA_RUNTIME_API in their environment.

    Args:
        emulator: a started emulator; its function's env may point the Runtime
            API elsewhere (a proxy), so both addresses are looked for.
    """
    markers = {
        f"AWS_LAMBDA_RUNTIME_API={emulator.runtime_api}".encode(),
        (
            "AWS_LAMBDA_RUNTIME_API="
            + emulator.environment.extra_env.get(
                "AWS_LAMBDA_RUNTIME_API", emulator.runtime_api
            )
        ).encode(),
    }
    found: list[tuple[bool, int]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            leader = os.getpgid(int(entry.name)) == int(entry.name)
        except OSError:
            continue
        if markers & set(environ):
            found.append((not leader, int(entry.name)))

    return [pid for _, pid in sorted(found)]


def resident_kib(pid: int) -> int:
    """VmRSS of a process, in KiB (from /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for pid {pid}")
