"""Errors of the sessions service, each an HTTP error with its status.

Every error a route raises subclasses SessionsError, itself an HTTPError of the
runtime's HTTP layer, so bootstrap.http.errors.problem_response renders all of
them as application/problem+json in one place::

    HTTPError                            (bootstrap.http.errors)
     └── SessionsError
          ├── MalformedRequestError      400: body not JSON, bad query, bad cursor
          ├── UnauthenticatedError       401: no caller identity
          ├── SessionNotFoundError       404: absent, expired or someone else's
          ├── SessionConflictError       409: lost a write race too many times
          ├── VersionMismatchError       412: If-Match names another version
          ├── PayloadTooLargeError       413: body over the size limit
          ├── UnsupportedMediaTypeError  415: body not application/json
          ├── ValidationError            422: well-formed JSON, invalid fields
          ├── ServiceUnavailableError    503: DynamoDB throttled or unreachable
          └── ConfigError                500: bad environment; raised at init only

Malformed events (400) and unknown paths or methods (404, 405) are the HTTP
layer's own errors; anything not listed becomes a 500 with no internals.
"""

from __future__ import annotations

from bootstrap.http.errors import HTTPError

# Seconds a client should wait before retrying after a 503.
RETRY_AFTER_S = 1


class SessionsError(HTTPError):
    """Base of every error the sessions service answers with."""


class MalformedRequestError(SessionsError):
    """The request cannot be parsed: body not JSON, bad query or cursor (400)."""

    status_code = 400
    title = "Bad Request"


class UnauthenticatedError(SessionsError):
    """No identity came with the request (401)."""

    status_code = 401
    title = "Unauthorized"


class SessionNotFoundError(SessionsError):
    """
    The session does not exist for this caller (404).

    Absent, expired and owned by someone else all answer the same, so that a
    caller learns nothing about other users' sessions.
    """

    status_code = 404
    title = "Not Found"

    def __init__(self) -> None:
        super().__init__("no such session")


class SessionConflictError(SessionsError):
    """Concurrent writes kept changing the session; the client may retry (409)."""

    status_code = 409
    title = "Conflict"


class VersionMismatchError(SessionsError):
    """The If-Match version is not the session's current version (412)."""

    status_code = 412
    title = "Precondition Failed"


class PayloadTooLargeError(SessionsError):
    """The request body is larger than the service accepts (413)."""

    status_code = 413
    title = "Content Too Large"


class UnsupportedMediaTypeError(SessionsError):
    """The request body is not declared as JSON (415)."""

    status_code = 415
    title = "Unsupported Media Type"


class ValidationError(SessionsError):
    """The JSON is well formed but a field is missing, unknown or invalid (422)."""

    status_code = 422
    title = "Unprocessable Content"


class ServiceUnavailableError(SessionsError):
    """DynamoDB throttled or could not be reached after bounded retries (503)."""

    status_code = 503
    title = "Service Unavailable"

    def __init__(self, detail: str = "the session store is unavailable") -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_S)})


class ConfigError(SessionsError):
    """An environment variable has a value the service cannot use (init only)."""

    status_code = 500
    title = "Internal Server Error"
