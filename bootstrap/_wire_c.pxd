# Declarations of the compiled HTTP/1.1 connection; documented in _wire_c.pyi.

cdef class Response:
    cdef readonly int status
    cdef readonly str reason
    cdef readonly dict headers
    cdef readonly bytes body


cdef class Connection:
    cdef readonly str host
    cdef readonly int port
    cdef int _fd
    cdef bytearray _buffer
    cdef Py_ssize_t _received
    cdef str _endpoint

    cdef int _open(self) except -1
    cdef int _send_all(self, bytes data) except -1
    cdef Py_ssize_t _recv_some(self) except -1
    cdef bint _is_stale(self)
    cdef bint _prepare(self, str method, str path) except -1
    cdef Response _exchange(self, str method, bytes head, bytes body)
    cdef Response _read_response(self, str method)
    cdef bytes _read_head(self)
    cdef tuple _parse_head(self, bytes head)
    cdef tuple _parse_response(self, str method)
    cdef bytes _read_exact(self, Py_ssize_t size, int status)
    cdef bytes _read_line(self, int status)
    cdef bytes _read_chunked(self, int status)
    cdef bytes _read_to_close(self)
