"""Smoke test of a deployed sessions API: create a session, read it, delete it.

Run by deploy.yml after `sam deploy`: python .github/smoke_test.py API_URL.
The session routes need an identity. With SMOKE_TEST_JWT set the requests carry
it as a bearer token (the stack's JWT authorizer); otherwise they are signed with
SigV4 for execute-api using the deploy role's credentials (the stack's AWS_IAM
routes), so that role needs execute-api:Invoke on the API. Exits non-zero with
the failing step on stderr; nothing is left behind on success.
"""

import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from email.message import Message
from urllib.parse import urljoin, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session

# Each request is bounded: a cold start plus one DynamoDB call is far below it.
REQUEST_TIMEOUT_S = 30.0


class SmokeTestError(Exception):
    """A step of the smoke test got an answer it should not have."""


def send(
    method: str, url: str, body: dict[str, object] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """
    Send one request as the smoke-test identity.

    Args:
        method: HTTP method.
        url: absolute URL.
        body: JSON body, if any.

    Returns:
        The status code, the response headers (lower-case names) and the body.
    """
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"

    token = os.environ.get("SMOKE_TEST_JWT", "")
    if token:
        headers["Authorization"] = "Bearer " + token
    else:
        headers = sign(method, url, data, headers)

    # The URL is the stack's https output (checked in run), never a file: URL.
    request = urllib.request.Request(  # noqa: S310 -- https only, see above
        url, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310 -- the URL is the stack's https output
            return response.status, lower(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, lower(exc.headers), exc.read()


def sign(
    method: str, url: str, data: bytes | None, headers: dict[str, str]
) -> dict[str, str]:
    """Return the headers with a SigV4 signature for execute-api added."""
    session = Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise SmokeTestError("no AWS credentials to sign with and no SMOKE_TEST_JWT")

    region = os.environ.get("AWS_REGION") or session.get_config_variable("region")
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(
        request
    )

    return dict(request.headers.items())


def lower(headers: Message) -> dict[str, str]:
    """Response headers as a dict with lower-case names."""
    return {name.lower(): value for name, value in headers.items()}


def expect(step: str, status: int, wanted: int, body: bytes) -> None:
    """Raise SmokeTestError naming the step when the status is not the wanted one."""
    if status != wanted:
        raise SmokeTestError(
            f"{step}: expected HTTP {wanted}, got {status}: "
            + body[:500].decode(errors="replace")
        )


def run(api_url: str) -> None:
    """Create, read back and delete one session; check the contract on the way."""
    if urlsplit(api_url).scheme != "https":
        raise SmokeTestError(f"API URL must be https, got {api_url!r}")
    base = api_url if api_url.endswith("/") else api_url + "/"
    marker = "smoke-" + uuid.uuid4().hex

    status, _, body = send("GET", urljoin(base, "openapi.json"))
    expect("GET /openapi.json", status, 200, body)

    status, headers, body = send(
        "POST", urljoin(base, "sessions"), {"metadata": {"smoke_test": marker}}
    )
    expect("POST /sessions", status, 201, body)
    created = json.loads(body)
    session_url = urljoin(base, "sessions/" + created["session_id"])
    if "location" not in headers:
        raise SmokeTestError("POST /sessions: no Location header")

    status, _, body = send("GET", session_url)
    expect("GET /sessions/{id}", status, 200, body)
    read = json.loads(body)
    if read["session_id"] != created["session_id"]:
        raise SmokeTestError(f"GET returned another session: {read['session_id']!r}")
    if read["metadata"] != {"smoke_test": marker}:
        raise SmokeTestError(f"GET returned other metadata: {read['metadata']!r}")

    status, _, body = send("DELETE", session_url)
    expect("DELETE /sessions/{id}", status, 204, body)

    status, _, body = send("GET", session_url)
    expect("GET after DELETE", status, 404, body)


def main(argv: list[str]) -> int:
    """Command line entry: one argument, the API URL from the stack outputs."""
    if len(argv) != 2:
        print("usage: smoke_test.py API_URL", file=sys.stderr)
        return 2

    try:
        run(argv[1])
    except (SmokeTestError, KeyError, ValueError, OSError) as exc:
        print(f"smoke test failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    print("smoke test passed: created, read and deleted a session at", argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
