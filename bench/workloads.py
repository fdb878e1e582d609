"""
What the function does in each benchmark: its handler, its event, its checks.

Every run's response is checked: a peer that answers fast with a 500 has not
done the work, so its sample is a failure, not a figure.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import RunFailedError

REPO_ROOT = Path(__file__).resolve().parent.parent
HELLO_TASK_ROOT = REPO_ROOT / "bench" / "handlers"
BENCH_USER_ID = "bench-user"


@dataclass(frozen=True)
class Workload:
    """One thing to measure: a handler, an HTTP request to it and its answer."""

    name: str
    description: str
    handler: str
    task_root: Path
    method: str = "GET"
    path: str = "/"
    body: dict[str, object] | None = None
    expected_status: int = 200
    uses_dynamodb: bool = False
    tls: bool = False
    needs_session: bool = False
    # True when the deployment artifact carries the handler (a frozen build
    # compiles it in); False for the bench's own hello handler, which every
    # peer loads from the task root.
    packaged: bool = False
    required_files: tuple[Path, ...] = field(default_factory=tuple)

    def event(self, session_id: str | None = None) -> bytes:
        """The invoke payload: an API Gateway HTTP API (payload 2.0) event."""
        path = self.path.replace("{session_id}", session_id or "missing")

        return json.dumps(http_api_event(self.method, path, self.body)).encode()

    def check(self, response: bytes) -> dict[str, object]:
        """
        Parse a buffered response and return it if it is the expected answer.

        Raises:
            RunFailedError: not JSON, not a proxy result, or the wrong status.
        """
        try:
            result = json.loads(response)
        except ValueError as exc:
            raise RunFailedError(f"response is not JSON: {response[:200]!r}") from exc
        if not isinstance(result, dict):
            raise RunFailedError(f"response is not an object: {response[:200]!r}")
        status = result.get("statusCode")
        if status != self.expected_status:
            raise RunFailedError(
                f"status {status}, expected {self.expected_status}: {response[:300]!r}"
            )

        return result


def http_api_event(
    method: str, path: str, body: dict[str, object] | None
) -> dict[str, object]:
    """
    Build the event API Gateway's HTTP API sends for one request.

    Identity comes from the x-user-id header, which the service trusts only with
    TRUST_USER_ID_HEADER=true (set by the bench): no authorizer is involved.
    """
    headers = {
        "host": "bench.execute-api.us-east-1.amazonaws.com",
        "user-agent": "coldstart-bench",
        "x-user-id": BENCH_USER_ID,
        "accept": "application/json",
    }
    if body is not None:
        headers["content-type"] = "application/json"

    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "coldstart-bench",
            },
            "requestId": "bench-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "03/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796292000000,
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


_SESSIONS_FILES = (
    REPO_ROOT / "handler" / "app.py",
    REPO_ROOT / "handler" / "table.py",
    REPO_ROOT / "emulator" / "dynamodb_local.py",
)
_SESSIONS_HANDLER = "handler.app.lambda_handler"
_CREATE_BODY: dict[str, object] = {
    "metadata": {"client": "bench", "cart": [1, 2, 3]},
    "ttl_seconds": 3600,
}


def _post(transport: str) -> Workload:
    return Workload(
        name=f"post-{transport}",
        description=f"POST /sessions, one DynamoDB write over {transport.upper()}",
        handler=_SESSIONS_HANDLER,
        task_root=REPO_ROOT,
        method="POST",
        path="/sessions",
        body=_CREATE_BODY,
        expected_status=201,
        uses_dynamodb=True,
        tls=transport == "tls",
        packaged=True,
        required_files=_SESSIONS_FILES,
    )


def _get(transport: str) -> Workload:
    return Workload(
        name=f"get-{transport}",
        description=f"GET /sessions/{{id}}, one DynamoDB read over {transport.upper()}",
        handler=_SESSIONS_HANDLER,
        task_root=REPO_ROOT,
        method="GET",
        path="/sessions/{session_id}",
        expected_status=200,
        uses_dynamodb=True,
        tls=transport == "tls",
        needs_session=True,
        packaged=True,
        required_files=_SESSIONS_FILES,
    )


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload(
            name="hello",
            description="a no-op handler: the runtime alone",
            handler="hello.handler",
            task_root=HELLO_TASK_ROOT,
            required_files=(HELLO_TASK_ROOT / "hello.py",),
        ),
        _post("http"),
        _get("http"),
        _post("tls"),
        _get("tls"),
    )
}


def session_id_from(result: dict[str, object]) -> str:
    """
    Return the session id of a POST /sessions proxy result.

    Raises:
        RunFailedError: the body has no session_id.
    """
    body = result.get("body")
    try:
        session = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        session = None
    if not isinstance(session, dict) or not isinstance(session.get("session_id"), str):
        raise RunFailedError(f"no session_id in the created session: {body!r}")

    return str(session["session_id"])
