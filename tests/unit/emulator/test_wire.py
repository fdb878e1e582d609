"""Chunked bodies with trailers, as the Runtime API carries streamed responses."""

import io

import pytest

from emulator.errors import ProtocolError
from emulator.wire import (
    MAX_LINE_BYTES,
    MAX_TRAILERS,
    SLICE_BYTES,
    ChunkedReader,
    encode_chunk,
    encode_last_chunk,
)


def read_all(wire: bytes) -> tuple[bytes, dict[str, str]]:
    """The body and the trailers of one chunked message."""
    reader = ChunkedReader(io.BytesIO(wire))
    body = b"".join(reader)

    return body, reader.trailers


def test_reader_joins_chunks_and_reads_trailers() -> None:
    wire = (
        b"5\r\nhello\r\n"
        b"1;name=value\r\n \r\n"
        b"5\r\nworld\r\n"
        b"0\r\n"
        b"Lambda-Runtime-Function-Error-Type: Runtime.Boom\r\n"
        b"Lambda-Runtime-Function-Error-Body: e30=\r\n"
        b"\r\n"
    )

    body, trailers = read_all(wire)

    assert body == b"hello world"
    assert trailers == {
        "lambda-runtime-function-error-type": "Runtime.Boom",
        "lambda-runtime-function-error-body": "e30=",
    }


def test_reader_hands_big_chunks_on_in_slices() -> None:
    data = b"x" * (SLICE_BYTES * 2 + 10)

    pieces = list(ChunkedReader(io.BytesIO(encode_chunk(data) + encode_last_chunk())))

    assert b"".join(pieces) == data
    assert max(len(piece) for piece in pieces) == SLICE_BYTES


def test_reader_marks_a_complete_body() -> None:
    reader = ChunkedReader(io.BytesIO(b"0\r\n\r\n"))

    body = b"".join(reader)

    assert body == b""
    assert reader.complete


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(b"zz\r\nhello\r\n0\r\n\r\n", id="size-not-hex"),
        pytest.param(b"0x5\r\nhello\r\n0\r\n\r\n", id="size-with-prefix"),
        pytest.param(b"-5\r\nhello\r\n0\r\n\r\n", id="size-negative"),
        pytest.param(b"\r\nhello\r\n0\r\n\r\n", id="size-empty"),
        pytest.param(b"5\r\nhelloXX0\r\n\r\n", id="no-crlf-after-data"),
        pytest.param(b"5\r\nhel", id="closed-inside-chunk"),
        pytest.param(b"5\r\nhello\r\n", id="closed-before-last-chunk"),
        pytest.param(b"0\r\nno colon here\r\n\r\n", id="bad-trailer"),
        pytest.param(b"0\r\nName: value\r\n", id="closed-inside-trailers"),
        pytest.param(b"1" * (MAX_LINE_BYTES + 5) + b"\r\n", id="endless-size-line"),
    ],
)
def test_reader_rejects_broken_framing(wire: bytes) -> None:
    with pytest.raises(ProtocolError):
        read_all(wire)


def test_reader_rejects_too_many_trailers() -> None:
    trailers = b"".join(b"T%d: v\r\n" % index for index in range(MAX_TRAILERS + 1))

    with pytest.raises(ProtocolError):
        read_all(b"0\r\n" + trailers + b"\r\n")


def test_encoders_frame_chunks_and_trailers() -> None:
    wire = encode_chunk(b"abc") + encode_chunk(b"") + encode_last_chunk({"X-A": "1"})

    assert wire == b"3\r\nabc\r\n0\r\nX-A: 1\r\n\r\n"
