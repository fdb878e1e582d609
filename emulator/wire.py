"""HTTP/1.1 framing the stdlib leaves out: chunked bodies with their trailers.

`http.server` does not decode chunked request bodies and `http.client` throws
response trailers away, yet the Runtime API carries streamed responses as chunked
bodies whose trailers report mid-stream errors. Both directions use this module.

Wire format (RFC 9112, section 7.1):

    <size in hex>[;extensions]\\r\\n
    <size bytes>\\r\\n
    ...
    0\\r\\n
    <trailer-name>: <value>\\r\\n      (zero or more)
    \\r\\n
"""

import logging
import sys
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any, Protocol

from emulator.errors import ProtocolError

logger = logging.getLogger(__name__)

# Bounds on what a peer may send outside chunk data, so that garbage fails fast
# instead of growing a buffer: a size line or trailer line, and the trailer count.
MAX_LINE_BYTES = 8192
MAX_TRAILERS = 64

# Chunk data is handed on in slices of at most this size, so a runtime that
# sends one huge chunk is still forwarded as it arrives.
SLICE_BYTES = 64 * 1024

HEX_DIGITS = b"0123456789abcdefABCDEF"


class Readable(Protocol):
    """A buffered binary stream: what ChunkedReader needs from a connection."""

    def read(self, size: int, /) -> bytes:
        """Up to `size` bytes; fewer only at the end of the stream."""

    def readline(self, size: int, /) -> bytes:
        """One line of at most `size` bytes, with its newline."""


class ChunkedReader:
    """
    Iterate over the data of one chunked body; `trailers` is filled at the end.

    Args:
        rfile: the buffered binary stream positioned at the first size line.

    Raises:
        ProtocolError: while iterating, when the framing is malformed or the peer
            closes before the last chunk.
    """

    def __init__(self, rfile: Readable) -> None:
        self._rfile = rfile
        self.trailers: dict[str, str] = {}
        self.complete = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            size = self._read_size()
            if size == 0:
                self.trailers = self._read_trailers()
                self.complete = True
                return

            remaining = size
            while remaining:
                piece = self._rfile.read(min(remaining, SLICE_BYTES))
                if not piece:
                    raise ProtocolError("peer closed inside a chunk")
                remaining -= len(piece)
                yield piece

            if self._read_line() != b"":
                raise ProtocolError("chunk data not followed by CRLF")

    def _read_line(self) -> bytes:
        line = self._rfile.readline(MAX_LINE_BYTES + 1)
        if not line:
            raise ProtocolError("peer closed before the last chunk")
        if len(line) > MAX_LINE_BYTES or not line.endswith(b"\n"):
            raise ProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")

        return line.rstrip(b"\r\n")

    def _read_size(self) -> int:
        line = self._read_line()
        size_text = line.split(b";", 1)[0].strip()
        # int() alone would also take "0x1f", "+5" and "1_0".
        if not size_text or size_text.strip(HEX_DIGITS) or len(size_text) > 16:
            raise ProtocolError(f"bad chunk size line {line[:40]!r}")

        return int(size_text, 16)

    def _read_trailers(self) -> dict[str, str]:
        trailers: dict[str, str] = {}
        for _ in range(MAX_TRAILERS + 1):
            line = self._read_line()
            if line == b"":
                return trailers
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                raise ProtocolError(f"bad trailer line {line[:40]!r}")
            key = name.strip().decode("latin-1").lower()
            trailers[key] = value.strip().decode("latin-1")

        raise ProtocolError(f"more than {MAX_TRAILERS} trailers")


def encode_chunk(data: bytes) -> bytes:
    """Frame `data` as one chunk; empty data is skipped (it would end the body)."""
    if not data:
        return b""

    return b"%x\r\n%s\r\n" % (len(data), data)


def encode_last_chunk(trailers: dict[str, str] | None = None) -> bytes:
    """The zero-size chunk that ends a body, with its trailers."""
    lines = [b"0\r\n"]
    for name, value in (trailers or {}).items():
        lines.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
    lines.append(b"\r\n")

    return b"".join(lines)


class LoopbackHTTPServer(ThreadingHTTPServer):
    """
    A threading HTTP server on 127.0.0.1 whose peers may vanish at any time.

    A runtime that is killed, or a client that gives up, resets its connection
    mid-request: that is the normal life of a local Lambda, so it is logged at
    DEBUG instead of socketserver's traceback on stderr.
    """

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a peer's reset quietly; anything else as the error it is."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.debug("peer %s went away: %s", client_address, error)
            return
        logger.exception("error while serving %s", client_address)
