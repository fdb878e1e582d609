"""The Lambda Runtime API (2018-06-01) client: one keep-alive connection per worker.

Endpoints, under http://$AWS_LAMBDA_RUNTIME_API/2018-06-01:

    GET  /runtime/invocation/next          long poll, no timeout
    POST /runtime/invocation/{id}/response buffered or streamed (chunked)
    POST /runtime/invocation/{id}/error
    POST /runtime/init/error
    GET  /runtime/restore/next             SnapStart, after the snapshot resumes
    POST /runtime/restore/error

A 410 on a post means the invoke already timed out: logged, and the loop goes on
(awslambdaric 4.2 dies on it). Other 4xx answers to a post (a response over 6 MB
gets 413) concern that invoke alone and are logged too. A 5xx anywhere, or any
non-200 on /next, means the environment is broken and raises RuntimeAPIError.
"""

import os

from bootstrap import codec, logs
from bootstrap.errors import (
    ConfigurationError,
    ErrorType,
    MalformedResponseError,
    RuntimeAPIError,
)
from bootstrap.wire import Connection

_log = logs.get_logger(__name__)

cdef str _PREFIX = "/2018-06-01/runtime"
cdef str _USER_AGENT = "coldstart-bootstrap/0.1 (Cython)"
cdef str _ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json"
cdef str _ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
cdef str _ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
cdef str _XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
cdef str _INVOCATION_ID_HEADER = "Lambda-Runtime-Invocation-Id"
# X-Ray drops a cause header of 64 KiB or more; stay under it.
cdef Py_ssize_t _XRAY_CAUSE_MAX_BYTES = 64 * 1024 - 1
# Request ids end up in a URL path: anything else would need escaping, and the
# Runtime API only hands out UUID-like ids.
cdef frozenset _ID_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:"
)
# Source files of the runtime itself: their frames are cut from stack traces.
cdef str _RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------
# Error reports
# ---------------------------------------------------------------------------

cdef str _header_safe(str value):
    """Printable ASCII only: a header cannot carry a class name's full Unicode."""
    return "".join([c if " " <= c <= "~" else "?" for c in value])[:1024]


cdef bint _is_runtime_frame(str filename):
    """True for a frame of the runtime's own modules (not bootstrap.http)."""
    if filename.endswith(".pyx"):
        return filename.startswith("bootstrap/") and filename.count("/") == 1

    return os.path.dirname(os.path.abspath(filename)) == _RUNTIME_DIR


cdef class ErrorReport:
    """
    What the Runtime API is told about a failure: the error JSON, its errorType
    header, and an X-Ray cause when a stack is known.
    """

    cdef readonly str error_type
    cdef readonly str message
    cdef readonly list stack_trace
    cdef readonly object request_id
    cdef readonly object xray_cause

    def __init__(self, str error_type, str message, list stack_trace=None,
                 request_id=None, xray_cause=None):
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace if stack_trace is not None else []
        self.request_id = request_id
        self.xray_cause = xray_cause

    @classmethod
    def from_exception(cls, BaseException exc, request_id=None, error_type=None):
        """
        Describe an exception: class name as errorType (unless given), its
        message, and the stack without the runtime's own frames.
        """
        # Lazy: a cold start that never fails never pays for traceback (4 ms).
        import traceback

        frames = list(traceback.extract_tb(exc.__traceback__))
        while frames and _is_runtime_frame(frames[0].filename):
            del frames[0]
        name = type(exc).__name__
        cause = _xray_cause(name, str(exc), frames)

        return cls(
            error_type if error_type is not None else name,
            str(exc),
            traceback.format_list(frames),
            request_id,
            cause,
        )

    def body(self):
        """The error JSON: errorMessage, errorType, stackTrace, requestId."""
        document = {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "stackTrace": self.stack_trace,
        }
        if self.request_id is not None:
            document["requestId"] = self.request_id

        return codec.dumps(document)

    def headers(self):
        """Content-Type, the errorType header, and the X-Ray cause if any."""
        fields = [
            ("Content-Type", _ERROR_CONTENT_TYPE),
            (_ERROR_TYPE_HEADER, _header_safe(self.error_type)),
        ]
        if self.xray_cause is not None:
            fields.append((_XRAY_CAUSE_HEADER, self.xray_cause))

        return fields


cdef object _xray_cause(str name, str message, list frames):
    """The X-Ray cause JSON, cut down until it fits a header under 64 KiB."""
    stack = [
        {"label": frame.name, "path": frame.filename, "line": frame.lineno}
        for frame in frames
    ]
    cdef int attempt
    for attempt in range(3):
        cause = {
            "working_directory": os.getcwd(),
            "exceptions": [{"type": name, "message": message, "stack": stack}],
            "paths": sorted({entry["path"] for entry in stack}),
        }
        # Escaped to ASCII: a header value cannot hold raw UTF-8 or controls.
        text = codec.dumps_ascii(cause)
        if len(text) <= _XRAY_CAUSE_MAX_BYTES:
            return text
        # Too big: keep the innermost frames, then a shorter message.
        stack = stack[-16:] if attempt == 0 else []
        message = message[:1024]

    return None


# ---------------------------------------------------------------------------
# Invocations
# ---------------------------------------------------------------------------

cdef object _optional_int(value):
    """An integer header, or None when absent or not a number."""
    if value is None or not value.isdigit() or not value.isascii():
        return None

    return int(value)


cdef class Invocation:
    """One invoke as /next hands it out: its headers and the raw event bytes."""

    cdef readonly str request_id
    cdef readonly long long deadline_ms
    cdef readonly object invoked_function_arn
    cdef readonly object trace_id
    cdef readonly object client_context
    cdef readonly object cognito_identity
    cdef readonly object tenant_id
    cdef readonly object invocation_id
    cdef readonly bytes event

    def __init__(self, str request_id, long long deadline_ms, bytes event,
                 invoked_function_arn=None, trace_id=None, client_context=None,
                 cognito_identity=None, tenant_id=None, invocation_id=None):
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.event = event
        self.invoked_function_arn = invoked_function_arn
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id
        self.invocation_id = invocation_id

    def __repr__(self):
        """Ids only: events are payload and stay out of logs."""
        return "Invocation(request_id=%r)" % self.request_id


# ---------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------

cdef class _GuardedChunks:
    """
    A handler's chunks as bytes, never raising: a failure ends the stream and is
    kept, so it can be sent as the error trailers.
    """

    cdef object _chunks
    cdef object _prelude
    cdef object _request_id
    cdef public ErrorReport error

    def __init__(self, chunks, prelude, request_id):
        self._chunks = iter(chunks)
        self._prelude = prelude
        self._request_id = request_id
        self.error = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._prelude is not None:
            prelude = self._prelude
            self._prelude = None
            return prelude
        if self.error is not None:
            raise StopIteration
        try:
            chunk = next(self._chunks)
        except StopIteration:
            raise
        except Exception as exc:
            self.error = ErrorReport.from_exception(exc, self._request_id)
            raise StopIteration from None
        if isinstance(chunk, bytes):
            return chunk
        if isinstance(chunk, str):
            return (<str>chunk).encode("utf-8")
        if isinstance(chunk, (bytearray, memoryview)):
            return bytes(chunk)
        self.error = ErrorReport(
            ErrorType.MARSHAL,
            "streamed chunks must be bytes or str, not %s" % type(chunk).__name__,
            request_id=self._request_id,
        )
        raise StopIteration

    def trailers(self):
        """The error trailers when the stream failed: errorType and base64 body."""
        if self.error is None:
            return ()
        # Lazy: only a failed stream needs base64.
        import binascii

        body = binascii.b2a_base64(self.error.body(), newline=False)

        return [
            (_ERROR_TYPE_HEADER, _header_safe(self.error.error_type)),
            (_ERROR_BODY_TRAILER, body.decode("ascii")),
        ]


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

def parse_runtime_api(str address):
    """
    Split AWS_LAMBDA_RUNTIME_API ("127.0.0.1:9001", "[::1]:9001") into host, port.

    Raises:
        ConfigurationError: the address has no valid port.
    """
    host, colon, port = address.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(
            "AWS_LAMBDA_RUNTIME_API must be host:port, got %r" % address
        )

    return host, int(port)


cdef class RuntimeClient:
    """
    The Runtime API over one keep-alive connection.

    Args:
        runtime_api: AWS_LAMBDA_RUNTIME_API, "host:port".
        connection: a ready connection (tests); by default one to runtime_api.
    """

    cdef readonly object connection
    cdef str _user_agent

    def __init__(self, str runtime_api, connection=None):
        if connection is None:
            host, port = parse_runtime_api(runtime_api)
            connection = Connection(host, port)
        self.connection = connection
        self._user_agent = _USER_AGENT

    def close(self):
        """Close the connection."""
        self.connection.close()

    def next_invocation(self):
        """
        Wait for the next invoke; no timeout, the process may be frozen meanwhile.

        Returns:
            The Invocation.

        Raises:
            RuntimeAPIError: not a 200 (a 500 means the environment is broken),
                or no request id.
        """
        cdef str path = _PREFIX + "/invocation/next"
        response = self.connection.request(
            "GET", path, [("User-Agent", self._user_agent)]
        )
        if response.status != 200:
            raise RuntimeAPIError(
                "the Runtime API refused the next invoke",
                "GET " + path,
                response.status,
                response.body,
            )
        headers = response.headers
        request_id = headers.get("lambda-runtime-aws-request-id")
        if not request_id or not _ID_CHARACTERS.issuperset(request_id):
            raise MalformedResponseError(
                "the next invoke has no valid Lambda-Runtime-Aws-Request-Id: %r"
                % (request_id,),
                "GET " + path,
                response.status,
            )
        deadline_ms = _optional_int(headers.get("lambda-runtime-deadline-ms"))

        return Invocation(
            request_id,
            deadline_ms if deadline_ms is not None else 0,
            response.body,
            headers.get("lambda-runtime-invoked-function-arn"),
            headers.get("lambda-runtime-trace-id"),
            headers.get("lambda-runtime-client-context"),
            headers.get("lambda-runtime-cognito-identity"),
            headers.get("lambda-runtime-aws-tenant-id"),
            headers.get("lambda-runtime-invocation-id"),
        )

    cdef list _invoke_headers(self, Invocation invocation):
        """Headers of every post for an invoke: the invocation id echoed if set."""
        cdef list fields = [("User-Agent", self._user_agent)]
        if invocation.invocation_id is not None:
            fields.append((_INVOCATION_ID_HEADER, invocation.invocation_id))

        return fields

    cdef int _check_post(self, str endpoint, response) except -1:
        """Accept 2xx, log 4xx and go on, raise on anything else."""
        cdef int status = response.status
        if 200 <= status < 300:
            return 0
        if status == 410:
            _log.warning(
                "%s got 410: the invoke already timed out; going on to the next",
                endpoint,
            )
            return 0
        if 400 <= status < 500:
            _log.warning(
                "%s got %d (%s); dropping this result and going on to the next",
                endpoint,
                status,
                response.body[:200].decode("utf-8", "replace"),
            )
            return 0
        raise RuntimeAPIError(
            "the Runtime API failed a post", endpoint, status, response.body
        )

    def post_response(self, Invocation invocation, bytes body,
                      str content_type="application/json"):
        """Post a buffered result (the Runtime API takes up to 6 MB)."""
        cdef str path = _PREFIX + "/invocation/" + invocation.request_id + "/response"
        headers = self._invoke_headers(invocation)
        headers.append(("Content-Type", content_type))
        response = self.connection.request("POST", path, headers, body)
        self._check_post("POST " + path, response)

    def post_streaming_response(self, Invocation invocation, chunks,
                                str content_type="application/octet-stream",
                                bytes prelude=None):
        """
        Stream a result chunk by chunk; a failure mid-stream becomes the error
        trailers.

        Args:
            invocation: the invoke answered.
            chunks: the body, produced by the handler as the post goes.
            content_type: the response's content type.
            prelude: bytes written before the first chunk (HTTP integration
                prelude and its 8 NUL bytes).

        Returns:
            The ErrorReport sent as trailers, or None when the stream completed.
        """
        cdef str path = _PREFIX + "/invocation/" + invocation.request_id + "/response"
        guarded = _GuardedChunks(chunks, prelude, invocation.request_id)
        headers = self._invoke_headers(invocation)
        headers.extend([
            ("Content-Type", content_type),
            ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            ("Trailer", _ERROR_TYPE_HEADER + ", " + _ERROR_BODY_TRAILER),
        ])
        response = self.connection.request_streaming(
            "POST", path, headers, guarded, guarded.trailers
        )
        self._check_post("POST " + path, response)

        return guarded.error

    def post_error(self, Invocation invocation, ErrorReport report):
        """Report that an invoke failed."""
        cdef str path = _PREFIX + "/invocation/" + invocation.request_id + "/error"
        headers = self._invoke_headers(invocation)
        headers.extend(report.headers())
        response = self.connection.request("POST", path, headers, report.body())
        self._check_post("POST " + path, response)

    def post_init_error(self, ErrorReport report):
        """Report that init failed; the process exits afterwards."""
        self._post_plain(_PREFIX + "/init/error", report)

    def restore_next(self):
        """Tell SnapStart the runtime resumed and wait for invokes."""
        cdef str path = _PREFIX + "/restore/next"
        response = self.connection.request(
            "GET", path, [("User-Agent", self._user_agent)]
        )
        if response.status != 200:
            raise RuntimeAPIError(
                "the Runtime API refused the restore",
                "GET " + path,
                response.status,
                response.body,
            )

    def post_restore_error(self, ErrorReport report):
        """Report that a restore hook failed; the process exits afterwards."""
        self._post_plain(_PREFIX + "/restore/error", report)

    def _post_plain(self, str path, ErrorReport report):
        """Post an error report that belongs to no invoke."""
        headers = [("User-Agent", self._user_agent)]
        headers.extend(report.headers())
        response = self.connection.request("POST", path, headers, report.body())
        self._check_post("POST " + path, response)
