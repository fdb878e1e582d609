"""Which handler results are streamed."""

import pytest

from bootstrap.streaming import (
    HTTP_INTEGRATION_CONTENT_TYPE,
    StreamingBody,
    as_streaming_body,
)


def _generator():  # type: ignore[no-untyped-def]
    yield b"x"


@pytest.mark.parametrize(
    "result",
    [{"a": 1}, [b"a"], "text", b"bytes", None, 3, (b"a",)],
    ids=["dict", "list", "str", "bytes", "none", "int", "tuple"],
)
def test_plain_values_stay_buffered(result: object) -> None:
    assert as_streaming_body(result) is None


@pytest.mark.parametrize(
    "result",
    [_generator(), iter([b"a"]), map(bytes, [b"a"])],
    ids=["generator", "iterator", "map"],
)
def test_iterators_are_streamed_as_octet_stream(result: object) -> None:
    body = as_streaming_body(result)

    assert body is not None
    assert body.chunks is result
    assert body.content_type == "application/octet-stream"


def test_prelude_switches_to_the_http_integration_content_type() -> None:
    body = StreamingBody([b"a"], content_type="text/plain", prelude={"statusCode": 200})

    assert as_streaming_body(body) is body
    assert body.content_type == HTTP_INTEGRATION_CONTENT_TYPE
