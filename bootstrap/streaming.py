"""What a handler returns to have its response streamed instead of buffered."""

from __future__ import annotations

# `typing` and `collections.abc` cost a cold start several ms; only mypy needs them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# API Gateway and Function URLs read an HTTP status and headers from a JSON
# prelude, then these 8 NUL bytes, then the body.
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_SEPARATOR = b"\x00" * 8


class StreamingBody:
    """
    A response body written to the Runtime API chunk by chunk, as it is produced.

    Args:
        chunks: the body; each chunk is bytes (str is sent as UTF-8).
        content_type: the response's Content-Type when there is no prelude.
        prelude: for API Gateway and Function URLs, the JSON head of the response
            (statusCode, headers, cookies); it switches the content type to the
            HTTP integration one.
    """

    __slots__ = ("chunks", "content_type", "prelude")

    def __init__(
        self,
        chunks: Iterable[bytes],
        content_type: str = "application/octet-stream",
        prelude: dict[str, Any] | None = None,
    ) -> None:
        self.chunks = chunks
        self.content_type = (
            HTTP_INTEGRATION_CONTENT_TYPE if prelude is not None else content_type
        )
        self.prelude = prelude

    def __repr__(self) -> str:
        """Name the content type; the chunks may be a one-shot generator."""
        return f"StreamingBody(content_type={self.content_type!r})"


def as_streaming_body(result: object) -> StreamingBody | None:
    """
    Say whether a handler's result asks for a streamed response.

    Args:
        result: what the handler returned.

    Returns:
        The StreamingBody to send, or None for a buffered response. An iterator or
        generator streams; dict, list, str and bytes are iterable but are not
        iterators, so they stay buffered JSON.
    """
    if isinstance(result, StreamingBody):
        return result
    # The iterator protocol, checked on the type as the interpreter does.
    if callable(getattr(type(result), "__next__", None)):
        return StreamingBody(result)  # type: ignore[arg-type]

    return None
