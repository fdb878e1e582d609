"""Lambda HTTP events of every source parsed into one Request (compiled form).

Sources are told apart by shape: requestContext.elb is ALB; version "2.0" is
API Gateway HTTP API payload 2.0, or a Function URL when the domain is
*.lambda-url.*; httpMethod without those is payload 1.0 (REST API).
"""

from typing import Any

from bootstrap.http.request import Request

def unquote(text: str, plus_is_space: bool) -> str:
    """
    Percent-decode `text` as UTF-8.

    Args:
        text: the encoded text.
        plus_is_space: decode "+" as a space (query strings, form encoding).

    Raises:
        BadRequestError: a "%" not followed by two hex digits, or bytes that
            are not UTF-8.
    """

def parse_query_string(raw: str) -> dict[str, list[str]]:
    """Parse "a=1&a=2&b" into {"a": ["1", "2"], "b": [""]}, percent-decoded."""

def detect_source(event: Any) -> str | None:
    """
    Name the source of an event from its shape, without validating it.

    Returns:
        "http-api", "function-url", "rest-api", "alb", or None when the event
        is not one of them.
    """

def parse_event(event: Any) -> Request:
    """
    Parse an HTTP event of any supported source into a Request.

    Args:
        event: the decoded invocation payload.

    Returns:
        The request.

    Raises:
        BadRequestError: the event is not an HTTP event or is malformed.
    """
