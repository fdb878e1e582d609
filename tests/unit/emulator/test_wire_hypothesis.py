"""Properties of the chunked framing: round trips, and garbage never escapes."""

import io

from hypothesis import example, given
from hypothesis import strategies as st

from emulator.errors import ProtocolError
from emulator.wire import ChunkedReader, encode_chunk, encode_last_chunk

trailer_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,30}", fullmatch=True)
trailer_values = st.from_regex(r"[!-~]([ -~]{0,40}[!-~])?", fullmatch=True)


@given(
    chunks=st.lists(st.binary(max_size=300), max_size=20),
    trailers=st.dictionaries(trailer_names, trailer_values, max_size=5),
)
def test_encoded_chunks_read_back_unchanged(
    chunks: list[bytes], trailers: dict[str, str]
) -> None:
    wire = b"".join(encode_chunk(chunk) for chunk in chunks)
    wire += encode_last_chunk(trailers)
    reader = ChunkedReader(io.BytesIO(wire))

    body = b"".join(reader)

    assert body == b"".join(chunks)
    assert reader.trailers == {name.lower(): value for name, value in trailers.items()}


@given(st.binary(max_size=500))
@example(b"0\r\n\r\n")
@example(b"ffffffffffffffff\r\n")
@example(b"1\r\n\xff\r\n0\r\n:\r\n\r\n")
def test_arbitrary_bytes_parse_or_raise_protocol_error(wire: bytes) -> None:
    reader = ChunkedReader(io.BytesIO(wire))

    try:
        body = b"".join(reader)
    except ProtocolError:
        return

    assert reader.complete
    assert len(body) <= len(wire)
