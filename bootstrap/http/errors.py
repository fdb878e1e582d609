"""HTTP errors, and the one function that turns them into problem responses.

Every error a route can answer with subclasses HTTPError, the sessions
service's own errors included::

    BootstrapError                      (bootstrap.errors)
     └── HTTPError                      status_code, title, detail, headers
          ├── BadRequestError           400: malformed event, query or body
          ├── NotFoundError             404: no route for the path
          ├── MethodNotAllowedError     405: path known, method not (Allow)
          └── InternalServerError       500: anything unexpected, no internals

problem_response() renders any of them as RFC 9457 application/problem+json.
"""

from __future__ import annotations

from bootstrap.errors import BootstrapError
from bootstrap.http.responses import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class HTTPError(BootstrapError):
    """An error with an HTTP status that a client is meant to see.

    Subclasses set the class attributes; instances add a `detail` for this
    occurrence and any extra response `headers` (Allow, Retry-After...).
    """

    status_code: int = 500
    title: str = "Internal Server Error"
    # RFC 9457: "about:blank" says the title is just the status phrase.
    type_uri: str = "about:blank"

    def __init__(self, detail: str = "", headers: dict[str, str] | None = None):
        """
        Args:
            detail: what went wrong with this request, safe to show the client.
            headers: extra headers the response must carry.
        """
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers: dict[str, str] = dict(headers or {})


class BadRequestError(HTTPError):
    """The event or the request in it is malformed (400)."""

    status_code = 400
    title = "Bad Request"


class NotFoundError(HTTPError):
    """No route matches the request's path (404)."""

    status_code = 404
    title = "Not Found"


class MethodNotAllowedError(HTTPError):
    """A route matches the path but not the method (405, with Allow)."""

    status_code = 405
    title = "Method Not Allowed"


class InternalServerError(HTTPError):
    """Something unexpected failed; the detail never names internals (500)."""

    status_code = 500
    title = "Internal Server Error"


def problem_response(exc: HTTPError) -> Response:
    """
    Render an HTTP error as an application/problem+json response.

    This is the only place an error becomes a response, so every error the
    service answers with has the same shape.

    Args:
        exc: the error to render.

    Returns:
        A Response whose body is {"type", "title", "status", "detail"}.
    """
    headers = dict(exc.headers)
    headers["Content-Type"] = PROBLEM_CONTENT_TYPE
    problem = {
        "type": exc.type_uri,
        "title": exc.title,
        "status": exc.status_code,
        "detail": exc.detail,
    }

    return Response(exc.status_code, problem, headers)
