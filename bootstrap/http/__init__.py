"""HTTP events of every Lambda source, responses in each source's shape, a router.

The event parser is compiled (events.pyx); bootstrap.http.parsing selects its
pure-Python twin instead when BOOTSTRAP_NO_EXTENSIONS is set.
"""

from __future__ import annotations

from bootstrap.http.errors import (
    BadRequestError,
    HTTPError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    problem_response,
)
from bootstrap.http.parsing import detect_source, parse_event
from bootstrap.http.request import Authorizer, Headers, Request
from bootstrap.http.responses import Response, StreamingResponse, serialize_response
from bootstrap.http.router import Cors, Router

__all__ = [
    "Authorizer",
    "BadRequestError",
    "Cors",
    "HTTPError",
    "Headers",
    "InternalServerError",
    "MethodNotAllowedError",
    "NotFoundError",
    "Request",
    "Response",
    "Router",
    "StreamingResponse",
    "detect_source",
    "parse_event",
    "problem_response",
    "serialize_response",
]
