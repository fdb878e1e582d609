"""The run loop: next, build context, set trace, call, post; for ever.

Each worker owns one RuntimeClient (one connection) and keeps no state between
invokes. A handler's failure is reported and the loop goes on; only a broken
Runtime API (a 5xx, an unreachable or garbled peer) ends it, with exit code 1.
"""

import os

from bootstrap import codec, logs
from bootstrap.client import ErrorReport, RuntimeClient
from bootstrap.context import LambdaContext
from bootstrap.errors import CodecError, ErrorType, RuntimeAPIError
from bootstrap.streaming import PRELUDE_SEPARATOR, as_streaming_body

_log = logs.get_logger(__name__)

cdef str _TRACE_VARIABLE = "_X_AMZN_TRACE_ID"


cdef class Worker:
    """
    One next/handle/respond loop.

    Args:
        client: this worker's own Runtime API client.
        handler: the user's `fn(event, context)`.
        settings: the function-wide FunctionSettings for the context.
        telemetry: bootstrap.telemetry's Telemetry, or None when it is off.
    """

    cdef readonly object client
    cdef object handler
    cdef object settings
    cdef object telemetry
    cdef object scope
    cdef bint out_of_memory

    def __init__(self, client, handler, settings, telemetry=None):
        self.client = client
        self.handler = handler
        self.settings = settings
        self.telemetry = telemetry
        self.scope = None
        self.out_of_memory = False

    def run(self):
        """
        Serve invokes until the Runtime API breaks.

        Returns:
            The process exit code: 1, the only way out.
        """
        while True:
            # 1. Wait for the next invoke: no timeout, the sandbox freezes here.
            try:
                invocation = self.client.next_invocation()
            except RuntimeAPIError as exc:
                _log.error("cannot get the next invoke (%s); exiting", exc)
                return 1

            # 2 to 5. Handle it; only a broken Runtime API stops the loop.
            try:
                self.handle(invocation)
            except RuntimeAPIError as exc:
                _log.error(
                    "cannot post the result (%s); exiting",
                    exc,
                    request_id=invocation.request_id,
                )
                return 1

            # A process that ran out of memory may hold half-built state in any
            # module: end it after the report, as Lambda replaces such an
            # environment, so the next invoke starts afresh.
            if self.out_of_memory:
                _log.error(
                    "the handler raised MemoryError; exiting so that the next "
                    "invoke gets a fresh process"
                )
                return 1

    def handle(self, invocation):
        """
        Run one invoke and post its result or its error.

        Raises:
            RuntimeAPIError: the Runtime API cannot take the post.
        """
        try:
            self._handle(invocation)
        except RuntimeAPIError:
            raise
        except Exception as exc:
            # A fault of the runtime itself: report it on this invoke, keep going.
            _log.error(
                "runtime failure while handling the invoke: %s: %s",
                type(exc).__name__,
                exc,
                request_id=invocation.request_id,
            )
            try:
                report = ErrorReport.from_exception(
                    exc, invocation.request_id, ErrorType.RUNTIME
                )
            except Exception:
                # Even the report failed: send the bare facts.
                report = ErrorReport(
                    ErrorType.RUNTIME,
                    "%s: %s" % (type(exc).__name__, exc),
                    None,
                    invocation.request_id,
                )
            self.client.post_error(invocation, report)
        finally:
            # 7. Telemetry: only now, after the post, so it never delays a response.
            if self.telemetry is not None:
                if self.scope is not None:
                    self.scope.finish(error=RuntimeError("the runtime failed"))
                    self.scope = None
                self.telemetry.flush()

    cdef _handle(self, invocation):
        """The steps of an invoke, each a paragraph."""
        request_id = invocation.request_id

        # 2. Build the context the handler sees.
        context = LambdaContext(
            self.settings,
            request_id,
            invocation.deadline_ms,
            invocation.invoked_function_arn,
            invocation.trace_id,
            invocation.client_context,
            invocation.cognito_identity,
            invocation.tenant_id,
        )

        # 3. Set the trace: the variable for SDKs that read it, removed when
        # absent so an invoke never inherits the previous one's trace.
        if invocation.trace_id is not None:
            os.environ[_TRACE_VARIABLE] = invocation.trace_id
        else:
            os.environ.pop(_TRACE_VARIABLE, None)

        # 4. Decode the event.
        try:
            event = codec.loads(invocation.event)
        except CodecError as exc:
            self._post_failure(invocation, exc, ErrorType.UNMARSHAL)
            return

        # 5. Call the handler; whatever it raises is the invoke's error.
        if self.telemetry is not None:
            self.scope = self.telemetry.start_invocation(context, event)
        try:
            result = self.handler(event, context)
        except MemoryError as exc:
            self.out_of_memory = True
            self._finish_scope(None, exc)
            self._post_failure(invocation, exc, ErrorType.OUT_OF_MEMORY)
            return
        except Exception as exc:
            self._finish_scope(None, exc)
            self._post_failure(invocation, exc, None)
            return

        # 6. Post the result: streamed when the handler returned an iterator.
        streaming = as_streaming_body(result)
        if streaming is not None:
            prelude = None
            if streaming.prelude is not None:
                prelude = codec.dumps(streaming.prelude) + PRELUDE_SEPARATOR
            failure = self.client.post_streaming_response(
                invocation, streaming.chunks, streaming.content_type, prelude
            )
            self._finish_scope(streaming, failure)
            if failure is not None:
                _log.error(
                    "the handler's stream failed: %s: %s",
                    failure.error_type,
                    failure.message,
                    request_id=request_id,
                )
            return
        try:
            body = codec.dumps(result)
        except CodecError as exc:
            self._finish_scope(None, exc)
            self._post_failure(invocation, exc, ErrorType.MARSHAL)
            return
        self.client.post_response(invocation, body)
        # After the post, as for a stream: the span, access line and metrics
        # line cost the first invoke about 0.15 ms that the caller need not
        # wait for. Should the post fail, handle() ends the scope as failed.
        self._finish_scope(result, None)

    cdef _finish_scope(self, result, failure):
        """End the invoke's telemetry scope: its span, access and metrics lines."""
        if self.scope is None:
            return
        scope, self.scope = self.scope, None
        if failure is not None and not isinstance(failure, BaseException):
            # A failed stream reports a value, not an exception.
            failure = RuntimeError(getattr(failure, "message", "the stream failed"))
        scope.finish(error=failure, result=result)

    cdef _post_failure(self, invocation, exc, error_type):
        """Log a failed invoke and report it to the Runtime API."""
        report = ErrorReport.from_exception(exc, invocation.request_id, error_type)
        _log.error(
            "%s: %s",
            report.error_type,
            report.message,
            request_id=invocation.request_id,
        )
        self.client.post_error(invocation, report)


def serve(str runtime_api, handler, settings, int concurrency=1, telemetry=None):
    """
    Run `concurrency` independent workers until the Runtime API breaks.

    Args:
        runtime_api: AWS_LAMBDA_RUNTIME_API.
        handler: the user's `fn(event, context)`.
        settings: the FunctionSettings.
        concurrency: AWS_LAMBDA_MAX_CONCURRENCY, 1 outside Managed Instances.
        telemetry: the process's Telemetry, shared by the workers, or None.

    Returns:
        The process exit code.
    """
    if concurrency <= 1:
        return Worker(RuntimeClient(runtime_api), handler, settings, telemetry).run()

    # Lazy: only Managed Instances run several workers; threading costs ~3 ms.
    import threading

    finished = threading.Event()
    exit_codes = []

    def work():
        try:
            worker = Worker(RuntimeClient(runtime_api), handler, settings, telemetry)
            exit_codes.append(worker.run())
        finally:
            finished.set()

    # Daemon threads: the first worker that finds the environment broken ends
    # the process, even while the others are blocked in /next.
    for number in range(concurrency):
        threading.Thread(target=work, name="worker-%d" % number, daemon=True).start()
    finished.wait()

    return exit_codes[0] if exit_codes else 1
