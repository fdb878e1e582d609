"""HTTP/1.1 client connection over libc sockets, for the Runtime API.

Importing Python's `socket` costs a cold start about 14 ms (DESIGN section 6);
this module calls libc directly and releases the GIL around every blocking call,
so concurrent workers each wait on their own connection. `_wire_py.py` is its
pure-Python twin and keeps the same parser line for line.
"""

from cpython.exc cimport PyErr_CheckSignals
from libc.errno cimport EAGAIN, EINTR, errno
from libc.string cimport memset, strerror
from posix.unistd cimport close as close_fd

from bootstrap.errors import ConnectionClosedError, MalformedResponseError


cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t

    struct sockaddr:
        pass

    int SOCK_STREAM
    int SOCK_CLOEXEC
    int MSG_NOSIGNAL
    int MSG_PEEK
    int MSG_DONTWAIT
    int AF_UNSPEC

    int socket(int domain, int type, int protocol)
    int connect(int fd, const sockaddr *addr, socklen_t addrlen)
    ssize_t send(int fd, const void *buf, size_t n, int flags)
    ssize_t recv(int fd, void *buf, size_t n, int flags)
    int setsockopt(int fd, int level, int name, const void *value, socklen_t size)


cdef extern from "<netinet/in.h>" nogil:
    int IPPROTO_TCP


cdef extern from "<netinet/tcp.h>" nogil:
    int TCP_NODELAY


cdef extern from "<netdb.h>" nogil:
    struct addrinfo:
        int ai_flags
        int ai_family
        int ai_socktype
        int ai_protocol
        socklen_t ai_addrlen
        sockaddr *ai_addr
        addrinfo *ai_next

    int getaddrinfo(const char *node, const char *service,
                    const addrinfo *hints, addrinfo **res)
    void freeaddrinfo(addrinfo *res)
    const char *gai_strerror(int errcode)


cdef extern from "<poll.h>" nogil:
    struct pollfd:
        int fd
        short events
        short revents

    short POLLIN
    int poll(pollfd *fds, unsigned long nfds, int timeout)


cdef enum:
    # Status line and headers larger than this are not a Runtime API answer.
    MAX_HEAD_BYTES = 65536
    # A chunk-size line: 16 hex digits address more than any body, plus
    # extensions.
    MAX_CHUNK_LINE_BYTES = 1024
    # Interim (1xx) answers tolerated before the final one.
    MAX_INTERIM_RESPONSES = 8
    RECV_BYTES = 65536
    # Bodies up to this size go out in the same send() as the head.
    COALESCE_BYTES = 65536

cdef frozenset _HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
cdef frozenset _TOKEN_EXCLUDED = frozenset(b' \t"(),/:;<=>?@[\\]{}')


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

cdef bytes _encode_head(str method, str path, str host, object headers,
                        str framing):
    """Write the request line and headers; refuse anything that could split them."""
    cdef list lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + host]
    for name, value in headers:
        lines.append("%s: %s" % (name, value))
    lines.append(framing)
    cdef str head = "\r\n".join(lines) + "\r\n\r\n"
    # A CR or LF inside a field would start a new header or a new request.
    if head.count("\n") != len(lines) + 1 or head.count("\r") != len(lines) + 1:
        raise ValueError("request line or header contains a line break")

    return head.encode("latin-1")


cdef bytes _encode_trailers(object fields):
    """The last chunk, the trailer fields, and the blank line that ends the body."""
    cdef list lines = ["0"]
    for name, value in fields:
        lines.append("%s: %s" % (name, value))
    cdef str text = "\r\n".join(lines) + "\r\n\r\n"
    if text.count("\n") != len(lines) + 1 or text.count("\r") != len(lines) + 1:
        raise ValueError("trailer field contains a line break")

    return text.encode("latin-1")


cdef bint _is_token(bytes name):
    """True for a valid header field name (RFC 9110 token)."""
    if not name:
        return False
    for c in name:
        if c < 33 or c > 126 or c in _TOKEN_EXCLUDED:
            return False

    return True


cdef int _retry_after_signal() except -1:
    """After EINTR: run Python signal handlers (Ctrl-C raises here), then retry."""
    if PyErr_CheckSignals() < 0:
        return -1

    return 0


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

cdef class Response:
    """One HTTP response: status, reason, lower-case headers, de-chunked body."""

    def __init__(self, int status, str reason, dict headers, bytes body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def __repr__(self):
        """Status and body size: bodies can be megabytes."""
        return "Response(status=%d, %d bytes)" % (self.status, len(self.body))


cdef class Connection:
    """One keep-alive HTTP/1.1 connection to host:port, opened on first use."""

    def __init__(self, str host, int port):
        self.host = host
        self.port = port
        self._fd = -1
        self._buffer = bytearray()
        self._received = 0
        self._endpoint = ""

    def __dealloc__(self):
        if self._fd >= 0:
            close_fd(self._fd)

    @classmethod
    def from_fd(cls, int fd):
        """Wrap a connected stream socket; it is owned and closed by the connection."""
        cdef Connection connection = cls("", 0)
        connection._fd = fd

        return connection

    # -- transport ---------------------------------------------------------

    cdef int _open(self) except -1:
        """Connect, with Nagle off so each streamed chunk leaves at once."""
        cdef addrinfo hints
        cdef addrinfo *found = NULL
        cdef addrinfo *candidate
        cdef int fd = -1
        cdef int status
        cdef int err = 0
        cdef int one = 1
        cdef bytes host = self.host.encode("ascii", "replace")
        cdef bytes port = str(self.port).encode("ascii")
        cdef const char *host_c = host
        cdef const char *port_c = port

        if not self.port:
            raise ConnectionClosedError(
                "the connection is closed and has no address", self._endpoint
            )
        memset(&hints, 0, sizeof(hints))
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = SOCK_STREAM
        with nogil:
            status = getaddrinfo(host_c, port_c, &hints, &found)
        if status != 0:
            raise ConnectionClosedError(
                "cannot resolve %s: %s"
                % (self.host, gai_strerror(status).decode("utf-8", "replace")),
                self._endpoint,
            )

        with nogil:
            candidate = found
            while candidate != NULL:
                fd = socket(candidate.ai_family, SOCK_STREAM | SOCK_CLOEXEC,
                            candidate.ai_protocol)
                if fd >= 0:
                    while True:
                        status = connect(fd, candidate.ai_addr, candidate.ai_addrlen)
                        if status == 0 or errno != EINTR:
                            break
                    if status == 0:
                        break
                    err = errno
                    close_fd(fd)
                    fd = -1
                else:
                    err = errno
                candidate = candidate.ai_next
            freeaddrinfo(found)

        if fd < 0:
            raise ConnectionClosedError(
                "cannot connect to %s:%d: %s"
                % (self.host, self.port, strerror(err).decode("utf-8", "replace")),
                self._endpoint,
            )
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
        self._fd = fd
        del self._buffer[:]

        return 0

    cdef int _send_all(self, bytes data) except -1:
        """Write every byte; OSError when the peer is gone."""
        cdef const char *cursor = data
        cdef Py_ssize_t left = len(data)
        cdef ssize_t sent
        cdef int err

        while left > 0:
            with nogil:
                sent = send(self._fd, cursor, left, MSG_NOSIGNAL)
                err = errno
            if sent < 0:
                if err == EINTR:
                    _retry_after_signal()
                    continue
                raise OSError(err, strerror(err).decode("utf-8", "replace"))
            cursor += sent
            left -= sent

        return 0

    cdef Py_ssize_t _recv_some(self) except -1:
        """Append what the peer sends next to the buffer; 0 means closed."""
        cdef char chunk[RECV_BYTES]
        cdef ssize_t count
        cdef int err

        while True:
            with nogil:
                count = recv(self._fd, chunk, RECV_BYTES, 0)
                err = errno
            if count >= 0:
                break
            if err == EINTR:
                _retry_after_signal()
                continue
            # A reset is the peer closing too, only ruder.
            return 0
        self._buffer += chunk[:count]
        self._received += count

        return count

    cdef bint _is_stale(self):
        """True when the idle connection was closed by the peer (or has junk)."""
        cdef pollfd ready
        cdef char probe
        cdef ssize_t count

        ready.fd = self._fd
        ready.events = POLLIN
        ready.revents = 0
        if poll(&ready, 1, 0) <= 0:
            return False
        count = recv(self._fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT)
        if count < 0 and errno == EAGAIN:
            return False

        # Readable while idle: either closed (0) or bytes nobody asked for.
        return True

    def close(self):
        """Close the socket; the next request opens a new one."""
        if self._fd >= 0:
            close_fd(self._fd)
            self._fd = -1
        del self._buffer[:]

    # -- requests ----------------------------------------------------------

    cdef bint _prepare(self, str method, str path) except -1:
        """Open or check the connection; True when it is a reused one."""
        self._endpoint = "%s %s" % (method, path)
        if self._fd >= 0 and self.port and self._is_stale():
            self.close()
        if self._fd < 0:
            self._open()
            return False

        return True

    def request(self, str method, str path, headers=(), bytes body=b""):
        """Send a request with a Content-Length body and read the whole response."""
        cdef bytes head = _encode_head(
            method, path, self.host, headers, "Content-Length: %d" % len(body)
        )
        cdef bint reused = self._prepare(method, path)
        try:
            return self._exchange(method, head, body)
        except ConnectionClosedError:
            # A kept-alive connection closed between the check and the send:
            # nothing was answered, so the request was not seen. Retry once.
            if not reused or self._received or not self.port:
                raise
            self.close()
            self._open()

            return self._exchange(method, head, body)

    cdef Response _exchange(self, str method, bytes head, bytes body):
        """Send head and body, then read the answer (even after a failed send)."""
        self._received = 0
        try:
            if len(body) < COALESCE_BYTES:
                self._send_all(head + body)
            else:
                self._send_all(head)
                self._send_all(body)
        except OSError:
            # The peer may have answered (413) and closed before reading it all.
            pass

        return self._read_response(method)

    def request_streaming(self, str method, str path, headers, chunks,
                          trailers=None):
        """Send a chunked request body as it is produced, then read the response."""
        cdef bytes head = _encode_head(
            method, path, self.host, headers, "Transfer-Encoding: chunked"
        )
        self._prepare(method, path)
        self._received = 0
        try:
            self._send_all(head)
            for chunk in chunks:
                if chunk:
                    self._send_all(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            fields = trailers() if trailers is not None else ()
            self._send_all(_encode_trailers(fields))
        except OSError:
            pass
        except BaseException:
            # Half a request is on the wire: this connection cannot be reused.
            self.close()
            raise

        return self._read_response(method)

    # -- response parser -----------------------------------------------------

    cdef Response _read_response(self, str method):
        """Read one final response; close afterwards when it cannot be reused."""
        try:
            response, keep_alive = self._parse_response(method)
        except BaseException:
            self.close()
            raise
        if not keep_alive:
            self.close()

        return response

    def _closed(self, str what, status=None):
        """The error for a peer that stopped before the answer was complete."""
        return ConnectionClosedError(
            "the Runtime API closed the connection " + what, self._endpoint, status
        )

    def _malformed(self, str what, status=None, body=None):
        """The error for bytes that are not an HTTP/1.1 response."""
        return MalformedResponseError(
            "malformed HTTP response: " + what, self._endpoint, status, body
        )

    cdef bytes _read_head(self):
        """Take the status line and headers, up to the blank line, off the buffer."""
        cdef Py_ssize_t searched = 0
        cdef Py_ssize_t end
        while True:
            end = self._buffer.find(b"\r\n\r\n", max(searched - 3, 0))
            if end >= 0:
                break
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise self._malformed("headers larger than %d bytes" % MAX_HEAD_BYTES)
            searched = len(self._buffer)
            if not self._recv_some():
                if self._received == 0:
                    raise self._closed("before answering")
                raise self._closed("in the middle of the headers")
        if end > MAX_HEAD_BYTES:
            raise self._malformed("headers larger than %d bytes" % MAX_HEAD_BYTES)
        cdef bytes head = bytes(self._buffer[:end])
        del self._buffer[:end + 4]

        return head

    cdef tuple _parse_head(self, bytes head):
        """Status line and fields; also whether the peer speaks HTTP/1.1."""
        cdef list lines = head.split(b"\r\n")
        cdef bytes status_line = lines[0]
        if not (
            status_line.startswith((b"HTTP/1.1 ", b"HTTP/1.0 "))
            and len(status_line) >= 12
            and status_line[9:12].isdigit()
            and (len(status_line) == 12 or status_line[12:13] == b" ")
        ):
            raise self._malformed("bad status line %r" % status_line[:80])
        cdef int status = int(status_line[9:12])
        if status < 100:
            raise self._malformed("bad status code %d" % status)
        cdef str reason = status_line[13:].decode("latin-1")

        cdef dict headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not _is_token(name):
                raise self._malformed("bad header line %r" % line[:80], status)
            if b"\r" in value or b"\n" in value or b"\0" in value:
                raise self._malformed("bad header value %r" % line[:80], status)
            key = name.decode("latin-1").lower()
            text = value.strip(b" \t").decode("latin-1")
            headers[key] = headers[key] + ", " + text if key in headers else text

        return status, reason, headers, status_line.startswith(b"HTTP/1.1")

    cdef tuple _parse_response(self, str method):
        """Read interim answers, then the final one with its body."""
        cdef int status = 0
        cdef int _interim
        for _interim in range(MAX_INTERIM_RESPONSES + 1):
            status, reason, headers, http11 = self._parse_head(self._read_head())
            if status >= 200:
                break
        if status < 200:
            raise self._malformed("too many interim responses")

        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (
            http11 or "keep-alive" in connection
        )
        encoding = headers.get("transfer-encoding")
        length = headers.get("content-length")
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif encoding is not None:
            if encoding.lower() != "chunked" or length is not None:
                raise self._malformed(
                    "unsupported transfer-encoding %r" % encoding, status
                )
            body = self._read_chunked(status)
        elif length is not None:
            if not (length.isdigit() and length.isascii() and len(length) <= 18):
                raise self._malformed("bad content-length %r" % length[:40], status)
            body = self._read_exact(int(length), status)
        else:
            body = self._read_to_close()
            keep_alive = False

        return Response(status, reason, headers, body), keep_alive

    cdef bytes _read_exact(self, Py_ssize_t size, int status):
        """Take `size` bytes off the buffer, receiving as they come."""
        # The buffer grows with what arrives: a huge announced length is never
        # allocated up front.
        while len(self._buffer) < size:
            if not self._recv_some():
                raise self._closed("in the middle of the body", status)
        cdef bytes data = bytes(self._buffer[:size])
        del self._buffer[:size]

        return data

    cdef bytes _read_line(self, int status):
        """Take one CRLF-terminated line of a chunked body off the buffer."""
        cdef Py_ssize_t end
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                break
            if len(self._buffer) > MAX_CHUNK_LINE_BYTES:
                raise self._malformed("chunk line too long", status)
            if not self._recv_some():
                raise self._closed("in the middle of a chunked body", status)
        if end > MAX_CHUNK_LINE_BYTES:
            raise self._malformed("chunk line too long", status)
        cdef bytes line = bytes(self._buffer[:end])
        del self._buffer[:end + 2]

        return line

    cdef bytes _read_chunked(self, int status):
        """De-chunk a body: size lines in hex, data, CRLF; trailers are dropped."""
        cdef list parts = []
        cdef Py_ssize_t size
        cdef Py_ssize_t trailer_bytes = 0
        while True:
            size_field = self._read_line(status).split(b";", 1)[0].rstrip(b" \t")
            if not size_field or len(size_field) > 16:
                raise self._malformed("bad chunk size %r" % size_field[:40], status)
            if not all(c in _HEX_DIGITS for c in size_field):
                raise self._malformed("bad chunk size %r" % size_field[:40], status)
            size = int(size_field, 16)
            if size == 0:
                break
            parts.append(self._read_exact(size, status))
            if self._read_exact(2, status) != b"\r\n":
                raise self._malformed("chunk not followed by CRLF", status)

        # Trailer fields until the blank line; the Runtime API sends none we use.
        while True:
            line = self._read_line(status)
            if not line:
                break
            trailer_bytes += len(line)
            if trailer_bytes > MAX_HEAD_BYTES:
                raise self._malformed("trailers too large", status)

        return b"".join(parts)

    cdef bytes _read_to_close(self):
        """A body framed by the end of the connection (no length, not chunked)."""
        while self._recv_some():
            pass
        cdef bytes data = bytes(self._buffer)
        del self._buffer[:]

        return data
