"""Who is calling: the user id a request acts for.

The identity comes from what the event source's authorizer established, never
from anything the client can write, in this order:

1. a JWT or Cognito authorizer: the `sub` claim;
2. a Lambda authorizer: the `principalId` it returned (REST API), or a
   `principalId`, `userId` or `sub` it put in its context (HTTP API);
3. IAM (SigV4) callers: the caller's `userArn`, else its caller id
   (`callerId` in payload 2.0, `caller` in REST API events).

The x-user-id header is used only when TRUST_USER_ID_HEADER=true, for local
development behind `make serve`: any client can set a header, so trusting it in
a deployment would let anyone act as anyone.
"""

from __future__ import annotations

from typing import Any

from bootstrap.http import Request
from handler.errors import UnauthenticatedError

USER_ID_HEADER = "x-user-id"
# An id longer than this is not one an authorizer issues; it would also bloat
# every key it appears in.
MAX_USER_ID_CHARS = 256

_LAMBDA_CONTEXT_KEYS = ("principalId", "userId", "sub")
_IAM_KEYS = ("userArn", "callerId", "caller")


def _first_string(mapping: dict[str, Any] | None, keys: tuple[str, ...]) -> str | None:
    if not mapping:
        return None
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value

    return None


def caller_id(request: Request, trust_user_id_header: bool) -> str:
    """
    Return the id of the user the request acts for.

    Args:
        request: the parsed HTTP request.
        trust_user_id_header: accept the x-user-id header (local use only).

    Raises:
        UnauthenticatedError: no usable identity came with the request.
    """
    authorizer = request.authorizer
    user_id = (
        _first_string(authorizer.jwt_claims, ("sub",))
        or _first_string(authorizer.lambda_context, _LAMBDA_CONTEXT_KEYS)
        or _first_string(authorizer.iam, _IAM_KEYS)
    )
    if user_id is None and trust_user_id_header:
        user_id = request.headers.get(USER_ID_HEADER) or None

    if user_id is None:
        raise UnauthenticatedError("the request carries no caller identity")
    if len(user_id) > MAX_USER_ID_CHARS or not user_id.isprintable():
        raise UnauthenticatedError("the caller identity is not usable")

    return user_id
