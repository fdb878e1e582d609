"""The execution environment: invocations, their life cycle and the process.

This is the reference Runtime Interface Emulator's state machine, kept apart from
HTTP so that it reads as the rules it enforces:

- an invoke waits in a queue until the runtime asks for work with `/next` and
  fewer than `concurrency` invokes are in flight;
- the caller gets its answer only when the runtime comes back for more work
  (`/next` again), exits, or runs out of time; a streamed response is forwarded
  as it arrives and only its end waits for that moment;
- a second post for an invoke gets 403, an unknown id 400, a buffered response
  over 6 MiB 413 (and the caller `Function.ResponseSizeTooLarge`);
- a timeout or an exit discards the process; the next invoke starts a fresh one;
- an init error answers queued invokes with 502 and the error body, and the
  runtime's next `/next` gets 403.
- with an extension registered, closing sends SHUTDOWN to the extensions that
  asked for it and SIGTERM to the function, then SIGKILL after a grace period;
  without one the function is killed at once.

Everything is guarded by one condition variable; handler threads of the HTTP
server block on it while they long-poll.
"""

import base64
import enum
import itertools
import json
import logging
import os
import queue
import secrets
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from emulator.process import FunctionProcess, LogSink, describe_exit

logger = logging.getLogger(__name__)

# Limits of the Lambda service: buffered responses, streamed responses, init.
MAX_BUFFERED_RESPONSE_BYTES = 6 * 1024 * 1024
MAX_STREAMED_RESPONSE_BYTES = 200 * 1024 * 1024
DEFAULT_INIT_TIMEOUT_S = 10.0

# Lambda's placeholders for a function that only exists locally.
ACCOUNT_ID = "012345678912"
FUNCTION_NAME = "test_function"
FUNCTION_VERSION = "$LATEST"

# Fake credentials: the function must never see the host's real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAEMULATORFAKEKEY0",
    "AWS_SECRET_ACCESS_KEY": "emulator-fake-secret-access-key-not-real",
    "AWS_SESSION_TOKEN": "emulator-fake-session-token",
}

# Request ids of finished invokes are remembered (403 rather than 400 on a late
# post) up to this many, so a long `serve` session does not grow without end.
REMEMBERED_INVOKES = 10_000

# Trailers a streamed answer carries to the caller when it fails mid-stream.
ERROR_TRAILERS = (
    "X-Amz-Function-Error",
    "Lambda-Runtime-Function-Error-Type",
    "Lambda-Runtime-Function-Error-Body",
)

# A long poll re-checks every so often that its runtime is still there.
POLL_INTERVAL_S = 0.25

# With an extension registered, Lambda sends SIGTERM at shutdown and waits
# (500 ms with internal extensions only, 2 s with external ones) before SIGKILL.
SHUTDOWN_GRACE_S = 2.0

EXTENSION_EVENTS = frozenset({"INVOKE", "SHUTDOWN"})


class State(enum.Enum):
    """Where an invocation is in its life."""

    QUEUED = "queued"  # waiting for the runtime's /next
    RUNNING = "running"  # handed out, nothing posted yet
    POSTING = "posting"  # a /response or /error body is being read
    ANSWERED = "answered"  # the answer is in; the caller waits for /next
    RELEASED = "released"  # the caller has (or is getting) its answer


@dataclass(frozen=True)
class Head:
    """Start of the caller's answer: status and headers."""

    status_code: int
    headers: dict[str, str]
    streaming: bool = False


@dataclass(frozen=True)
class Chunk:
    """A piece of the caller's answer body."""

    data: bytes


@dataclass(frozen=True)
class End:
    """End of the caller's answer, with trailers for a streamed one."""

    trailers: dict[str, str] = field(default_factory=dict)


AnswerPart = Head | Chunk | End


@dataclass(frozen=True)
class Answer:
    """A complete buffered answer, held until the caller may have it."""

    status_code: int
    body: bytes
    content_type: str = "application/json"
    function_error: str | None = None


class Invocation:
    """
    One invoke: its payload, its Lambda headers and the stream of its answer.

    The caller reads `parts` (Head, then Chunks, then End); the environment is
    the only writer.
    """

    def __init__(
        self,
        payload: bytes,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
    ) -> None:
        self.request_id = str(uuid.uuid4())
        self.invocation_id = str(uuid.uuid4())
        self.payload = payload
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id
        self.parts: queue.Queue[AnswerPart] = queue.Queue()
        self.state = State.QUEUED
        self.process: FunctionProcess | None = None
        self.deadline_ms = 0
        self.answer: Answer | None = None
        self.streaming = False
        self.streamed_bytes = 0
        self.stream_trailers: dict[str, str] = {}
        self.timed_out = False
        self.timer: threading.Timer | None = None

    def runtime_headers(self, function_arn: str) -> dict[str, str]:
        """The headers `/next` hands the runtime with this invoke's payload."""
        headers = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": function_arn,
            "Lambda-Runtime-Invocation-Id": self.invocation_id,
        }
        optional = {
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Lambda-Runtime-Client-Context": self.client_context,
            "Lambda-Runtime-Cognito-Identity": self.cognito_identity,
            "Lambda-Runtime-Aws-Tenant-Id": self.tenant_id,
        }
        headers.update({name: value for name, value in optional.items() if value})

        return headers


class PostRefusedError(Exception):
    """A runtime post the environment refuses; carries the Runtime API answer."""

    def __init__(
        self,
        status_code: int,
        error_type: str,
        message: str,
        after_answer: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.message = message
        # What to do once the runtime has its answer (e.g. end its process).
        self.after_answer = after_answer


@dataclass
class Extension:
    """An extension registered through the Extensions API, and its events."""

    identifier: str
    name: str
    events: frozenset[str]
    generation: int
    pending: deque[dict[str, object]] = field(default_factory=deque)


@dataclass
class NextCursor:
    """Per-connection memory of a runtime worker: the invoke it was last given."""

    last: Invocation | None = None


def error_body(error_type: str, message: str) -> bytes:
    """The JSON error document Lambda answers with."""
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def format_seconds(seconds: float) -> str:
    """Seconds the way Lambda prints them in timeout messages: `3.00`."""
    return f"{seconds:.2f}"


class ExecutionEnvironment:
    """
    The sandbox: queues invokes, runs the function process, enforces the rules.

    Args:
        command: the bootstrap command line.
        env: extra environment for the function (wins over the Lambda defaults).
        timeout_s: the function timeout; deadlines and the kill follow it.
        memory_mb: AWS_LAMBDA_FUNCTION_MEMORY_SIZE, and the RLIMIT_AS when
            `limit_memory` is set.
        concurrency: invokes in flight at once; above 1 the function gets
            AWS_LAMBDA_MAX_CONCURRENCY as on Lambda Managed Instances.
        init_timeout_s: how long a new process may take to reach its first
            `/next` before it is discarded.
        sink: where the function's output goes.
    """

    # One keyword per Lambda setting, as in Emulator.
    def __init__(  # noqa: PLR0913
        self,
        command: Sequence[str],
        env: dict[str, str] | None = None,
        *,
        timeout_s: float = 3.0,
        memory_mb: int = 128,
        concurrency: int = 1,
        init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S,
        limit_memory: bool = False,
        sink: LogSink | None = None,
    ) -> None:
        if not command:
            raise ValueError("the bootstrap command is empty")
        if timeout_s <= 0 or concurrency < 1 or memory_mb < 1:
            raise ValueError("timeout_s, concurrency and memory_mb must be positive")
        self.command = list(command)
        self.extra_env = dict(env or {})
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.concurrency = concurrency
        self.init_timeout_s = init_timeout_s
        self.limit_memory = limit_memory
        self.sink = sink or LogSink()
        self.runtime_api = ""
        self.process_starts = 0

        self._cond = threading.Condition()
        self._queue: deque[Invocation] = deque()
        self._in_flight: dict[str, Invocation] = {}
        self._known: OrderedDict[str, Invocation] = OrderedDict()
        self._process: FunctionProcess | None = None
        self._generation = itertools.count(1)
        self._current_generation = 0
        self._ready = False
        self._init_error: Answer | None = None
        self._init_timer: threading.Timer | None = None
        self._extensions: dict[str, Extension] = {}
        self._closed = False

    # ------------------------------------------------------------------ caller

    def submit(self, invocation: Invocation) -> Invocation:
        """Queue an invoke; its answer arrives on `invocation.parts`."""
        with self._cond:
            if self._closed:
                self._release_with(invocation, _shut_down_answer())
                return invocation

            self._remember(invocation)
            self._queue.append(invocation)
            self._ensure_process()
            self._cond.notify_all()

        return invocation

    def close(self) -> None:
        """
        Answer every pending invoke, then end the process group.

        With an extension registered the function is shut down as Lambda does:
        SHUTDOWN to the extensions that asked for it, SIGTERM, a grace period,
        then SIGKILL. Without one it is killed at once.
        """
        with self._cond:
            self._closed = True
            for invocation in [*self._queue, *self._in_flight.values()]:
                self._release_with(invocation, _shut_down_answer())
            self._queue.clear()
            process = self._process
            graceful = bool(self._extensions)
            deadline_ms = int((time.time() + SHUTDOWN_GRACE_S) * 1000)
            for extension in self._extensions.values():
                if "SHUTDOWN" in extension.events:
                    extension.pending.append(
                        {
                            "eventType": "SHUTDOWN",
                            "shutdownReason": "spindown",
                            "deadlineMs": deadline_ms,
                        }
                    )
            self._discard_process()
            self._cond.notify_all()

        if process is None:
            return
        if graceful:
            process.terminate(SHUTDOWN_GRACE_S)
        else:
            process.kill()
        process.wait(5.0)

    # ------------------------------------------------------------- extensions

    def register_extension(self, name: str, events: frozenset[str]) -> Extension:
        """Register an extension of the current process for `events`."""
        with self._cond:
            extension = Extension(
                identifier=str(uuid.uuid4()),
                name=name,
                events=events,
                generation=self._current_generation,
            )
            self._extensions[extension.identifier] = extension

        return extension

    def next_extension_event(
        self, identifier: str, peer_gone: Callable[[], bool]
    ) -> dict[str, object] | None:
        """
        The long poll behind the extension's `/event/next`.

        Returns None when the poll must end without an event (its process was
        discarded or its connection closed).

        Raises:
            PostRefusedError: 403 for an identifier that is not registered.
        """
        with self._cond:
            extension = self._extensions.get(identifier)
            if extension is None:
                raise PostRefusedError(
                    403, "Extension.UnknownExtensionIdentifier", "Unknown extension"
                )
            while True:
                # A SHUTDOWN queued at close is delivered even though the
                # process is being discarded: that is its whole point.
                if extension.pending:
                    return extension.pending.popleft()
                if extension.generation != self._current_generation:
                    return None
                self._cond.wait(POLL_INTERVAL_S)
                if peer_gone():
                    return None

    # ----------------------------------------------------------------- runtime

    def next_invocation(
        self, cursor: NextCursor, peer_gone: Callable[[], bool]
    ) -> Invocation | None:
        """
        The long poll behind `/next`: wait for an invoke and hand it out.

        Returns None when the poll must end without an answer (the process it
        came from was discarded, its connection closed, or the emulator closed).

        Raises:
            PostRefusedError: 403 after an init error.
        """
        with self._cond:
            generation = self._current_generation
            if self._init_error is not None:
                # The process is ended only after the runtime has read its 403:
                # killed first, it would never see the answer the real API sends.
                process = self._process
                self._fail_queued(self._init_error)
                if process is not None:
                    self._discard_process()
                raise PostRefusedError(
                    403,
                    "InvalidStateTransition",
                    "State transition from InitError to Ready failed",
                    after_answer=process.kill if process is not None else None,
                )

            # Coming back for work is what completes the previous invoke.
            self._release_previous(cursor)
            if not self._ready:
                self._ready = True
                self._cancel_init_timer()

            while True:
                if self._closed or generation != self._current_generation:
                    return None
                if self._queue and len(self._in_flight) < self.concurrency:
                    # A poll left over from a killed process must not take
                    # the invoke: its socket is closed by now.
                    if peer_gone():
                        return None
                    break
                self._cond.wait(POLL_INTERVAL_S)
                if peer_gone():
                    return None

            invocation = self._queue.popleft()
            invocation.state = State.RUNNING
            invocation.process = self._process
            invocation.deadline_ms = int((time.time() + self.timeout_s) * 1000)
            invocation.timer = threading.Timer(
                self.timeout_s, self._time_out, args=(invocation,)
            )
            invocation.timer.daemon = True
            invocation.timer.start()
            self._in_flight[invocation.request_id] = invocation
            cursor.last = invocation
            self._publish_invoke(invocation)

        return invocation

    def hand_back(self, invocation: Invocation) -> None:
        """Put an invoke back at the front: its `/next` answer never got out."""
        with self._cond:
            if invocation.state is not State.RUNNING:
                return
            self._cancel_timer(invocation)
            self._in_flight.pop(invocation.request_id, None)
            invocation.state = State.QUEUED
            invocation.process = None
            self._queue.appendleft(invocation)
            self._cond.notify_all()

    def claim(self, request_id: str) -> Invocation:
        """
        Start a `/response` or `/error` post for `request_id`.

        Raises:
            PostRefusedError: 400 for an unknown id, 410 when the invoke timed
                out, 403 when it already has an answer.
        """
        with self._cond:
            invocation = self._known.get(request_id)
            if invocation is None or invocation.state is State.QUEUED:
                raise PostRefusedError(400, "InvalidRequestID", "Invalid request ID")
            if invocation.timed_out:
                raise PostRefusedError(
                    410, "InvocationTimedOut", "The invoke has already timed out"
                )
            if invocation.state is not State.RUNNING:
                raise PostRefusedError(
                    403,
                    "InvalidStateTransition",
                    f"The invoke {request_id} already has an answer",
                )
            invocation.state = State.POSTING

        return invocation

    def answer(self, invocation: Invocation, answer: Answer) -> None:
        """Record a buffered answer; the caller gets it on the next `/next`."""
        with self._cond:
            if invocation.state is not State.POSTING:
                return
            invocation.answer = answer
            invocation.state = State.ANSWERED
            self._cond.notify_all()

    def abandon(self, invocation: Invocation) -> None:
        """A post broke off before its body was read: the invoke can be answered."""
        with self._cond:
            if invocation.state is State.POSTING and not invocation.streaming:
                invocation.state = State.RUNNING

    def start_stream(self, invocation: Invocation, content_type: str) -> None:
        """A streamed response begins: the caller gets the head right away."""
        with self._cond:
            if invocation.state is State.POSTING:
                invocation.streaming = True
                invocation.parts.put(
                    Head(200, self._caller_headers(invocation, content_type), True)
                )

    def stream_chunk(self, invocation: Invocation, data: bytes) -> bool:
        """
        Forward a piece of a streamed response; False once it must stop.

        A stream over the 200 MiB limit ends as a failed invoke.
        """
        with self._cond:
            if invocation.state is not State.POSTING:
                return False
            invocation.streamed_bytes += len(data)
            if invocation.streamed_bytes > MAX_STREAMED_RESPONSE_BYTES:
                invocation.stream_trailers = _error_trailers(
                    "Function.ResponseSizeTooLarge",
                    "Response payload size exceeded maximum allowed payload size "
                    f"({MAX_STREAMED_RESPONSE_BYTES} bytes).",
                )
                invocation.state = State.ANSWERED
                return False
            invocation.parts.put(Chunk(data))

        return True

    def end_stream(self, invocation: Invocation, trailers: dict[str, str]) -> None:
        """The streamed response ended; error trailers mark the invoke failed."""
        with self._cond:
            if invocation.state is not State.POSTING:
                return
            error_type = trailers.get("lambda-runtime-function-error-type")
            if error_type:
                invocation.stream_trailers = {
                    "X-Amz-Function-Error": "Unhandled",
                    "Lambda-Runtime-Function-Error-Type": error_type,
                    "Lambda-Runtime-Function-Error-Body": trailers.get(
                        "lambda-runtime-function-error-body", ""
                    ),
                }
            invocation.state = State.ANSWERED
            self._cond.notify_all()

    def break_stream(self, invocation: Invocation, reason: str) -> None:
        """The runtime's stream broke off (bad framing, closed connection)."""
        with self._cond:
            if invocation.state is not State.POSTING:
                return
            invocation.stream_trailers = _error_trailers("Runtime.StreamError", reason)
            invocation.state = State.ANSWERED

    def init_error(self, answer: Answer) -> None:
        """Record `/runtime/init/error`; queued invokes get it as a 502."""
        with self._cond:
            if self._init_error is None:
                self._init_error = answer

    # ------------------------------------------------------------- life cycle

    def _ensure_process(self) -> None:
        if self._process is not None or not self._queue:
            return

        self._current_generation = next(self._generation)
        self._ready = False
        self._init_error = None
        limit = self.memory_mb * 1024 * 1024 if self.limit_memory else None
        try:
            self._process = FunctionProcess(
                self.command,
                self._process_env(),
                self.sink,
                self._process_exited,
                memory_limit_bytes=limit,
            )
        except OSError as exc:
            logger.error(
                "could not start %s (%s); failing queued invokes", self.command, exc
            )
            answer = Answer(
                502,
                error_body(
                    "Runtime.InvalidEntrypoint",
                    f"Could not start the bootstrap: {exc}",
                ),
                function_error="Unhandled",
            )
            self._fail_queued(answer)
            return

        self.process_starts += 1
        logger.info("started function process %d", self._process.pid)
        self._init_timer = threading.Timer(
            self.init_timeout_s, self._init_timed_out, args=(self._process,)
        )
        self._init_timer.daemon = True
        self._init_timer.start()

    def _process_env(self) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            # The host's own Lambda, trace and credential settings stay out.
            if not name.startswith(("AWS_", "_X_AMZN", "_HANDLER", "LAMBDA_"))
        }
        region = os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION", "us-east-1"
        )
        env.update(
            {
                "AWS_LAMBDA_RUNTIME_API": self.runtime_api,
                "_HANDLER": os.environ.get("_HANDLER", ""),
                "LAMBDA_TASK_ROOT": os.getcwd(),
                "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
                "AWS_LAMBDA_FUNCTION_VERSION": FUNCTION_VERSION,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "{}/[{}]{}".format(
                    time.strftime("%Y/%m/%d"), FUNCTION_VERSION, secrets.token_hex(16)
                ),
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "TZ": ":UTC",
                **FAKE_CREDENTIALS,
            }
        )
        if self.concurrency > 1:
            env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(self.concurrency)
        env.update(self.extra_env)

        return env

    def handler(self) -> str:
        """The _HANDLER the function runs with."""
        return self.extra_env.get("_HANDLER") or os.environ.get("_HANDLER", "")

    def function_arn(self) -> str:
        """The ARN handed to the runtime as the invoked function."""
        region = self.extra_env.get("AWS_REGION") or os.environ.get(
            "AWS_REGION", "us-east-1"
        )

        return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{FUNCTION_NAME}"

    def _process_exited(self, process: FunctionProcess, returncode: int) -> None:
        reason = describe_exit(returncode)
        with self._cond:
            current = process is self._process
            if current:
                was_ready = self._ready
                init_error = self._init_error
                self._discard_process()
                if init_error is not None:
                    self._fail_init(init_error)
                elif not was_ready:
                    logger.warning("function process exited during init (%s)", reason)
                    while self._queue:
                        queued = self._queue.popleft()
                        self._release_with(queued, _exit_answer(queued, reason))

            for invocation in list(self._in_flight.values()):
                if invocation.process is process:
                    self._release_with(invocation, _exit_answer(invocation, reason))

            if current and not self._closed:
                self._ensure_process()
            self._cond.notify_all()

    def _time_out(self, invocation: Invocation) -> None:
        with self._cond:
            if invocation.state is State.RELEASED:
                return
            seconds = format_seconds(self.timeout_s)
            logger.warning(
                "invoke %s timed out after %s s; discarding the process",
                invocation.request_id,
                seconds,
            )
            invocation.timed_out = True
            if invocation.state is not State.ANSWERED:
                message = f"Task timed out after {seconds} seconds"
                invocation.stream_trailers = _error_trailers(
                    "Sandbox.Timedout", message
                )
                invocation.answer = Answer(
                    200, message.encode(), "text/plain", function_error="Unhandled"
                )
            self._release(invocation)

            process = invocation.process
            if process is not None and process is self._process:
                self._discard_process()
                self._ensure_process()
            self._cond.notify_all()

        if process is not None:
            process.kill()

    def _init_timed_out(self, process: FunctionProcess) -> None:
        with self._cond:
            if process is not self._process or self._ready:
                return
            seconds = format_seconds(self.init_timeout_s)
            logger.warning(
                "function did not reach /next within %s s; discarding it", seconds
            )
            self._discard_process()
            self._fail_queued(
                Answer(
                    502,
                    error_body(
                        "Sandbox.Timedout",
                        f"Init phase timed out after {seconds} seconds",
                    ),
                    function_error="Unhandled",
                )
            )
            self._cond.notify_all()

        process.kill()

    def _publish_invoke(self, invocation: Invocation) -> None:
        event: dict[str, object] = {
            "eventType": "INVOKE",
            "deadlineMs": invocation.deadline_ms,
            "requestId": invocation.request_id,
            "invokedFunctionArn": self.function_arn(),
        }
        if invocation.trace_id:
            event["tracing"] = {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id}
        for extension in self._extensions.values():
            if "INVOKE" in extension.events:
                extension.pending.append(dict(event))
        self._cond.notify_all()

    def _discard_process(self) -> None:
        # Bumping the generation ends every long poll of the old process;
        # its extensions go too, unless a SHUTDOWN still waits for them.
        self._process = None
        self._current_generation = next(self._generation)
        self._extensions = {
            identifier: extension
            for identifier, extension in self._extensions.items()
            if any(event["eventType"] == "SHUTDOWN" for event in extension.pending)
        }
        self._ready = False
        self._init_error = None
        self._cancel_init_timer()

    def _fail_init(self, answer: Answer) -> None:
        process = self._process
        self._fail_queued(answer)
        if process is not None:
            self._discard_process()
            process.kill()

    def _fail_queued(self, answer: Answer) -> None:
        while self._queue:
            self._release_with(self._queue.popleft(), answer)

    # -------------------------------------------------------------- releasing

    def _release_previous(self, cursor: NextCursor) -> None:
        previous = cursor.last
        cursor.last = None
        if previous is not None and previous.state is State.ANSWERED:
            self._release(previous)
            return

        # A runtime that opens a new connection per request: release the
        # oldest answered invoke instead (exact for one worker).
        for invocation in self._in_flight.values():
            if invocation.state is State.ANSWERED:
                self._release(invocation)
                return

    def _release_with(self, invocation: Invocation, answer: Answer) -> None:
        if invocation.state is State.RELEASED:
            return
        # An invoke that already has its answer keeps it: only the wait for
        # /next was cut short.
        if invocation.state is not State.ANSWERED:
            invocation.answer = answer
            if invocation.streaming:
                invocation.stream_trailers = _error_trailers(
                    _error_type_of(answer), _error_message_of(answer)
                )
        self._release(invocation)

    def _release(self, invocation: Invocation) -> None:
        """Hand the caller its answer; the invoke no longer counts as in flight."""
        self._cancel_timer(invocation)
        self._in_flight.pop(invocation.request_id, None)
        invocation.state = State.RELEASED
        if invocation.streaming:
            invocation.parts.put(End(invocation.stream_trailers))
        else:
            answer = invocation.answer or _shut_down_answer()
            headers = self._caller_headers(invocation, answer.content_type)
            if answer.function_error:
                headers["X-Amz-Function-Error"] = answer.function_error
            headers["Content-Length"] = str(len(answer.body))
            invocation.parts.put(Head(answer.status_code, headers))
            invocation.parts.put(Chunk(answer.body))
            invocation.parts.put(End())

        # Only the state is needed from here on (403 or 410 to a late post).
        invocation.payload = b""
        invocation.answer = None
        self._cond.notify_all()

    def _caller_headers(
        self, invocation: Invocation, content_type: str
    ) -> dict[str, str]:
        return {
            "Content-Type": content_type,
            "X-Amzn-RequestId": invocation.request_id,
            "X-Amz-Executed-Version": FUNCTION_VERSION,
        }

    def _remember(self, invocation: Invocation) -> None:
        self._known[invocation.request_id] = invocation
        while len(self._known) > REMEMBERED_INVOKES:
            self._known.popitem(last=False)

    def _cancel_timer(self, invocation: Invocation) -> None:
        if invocation.timer is not None:
            invocation.timer.cancel()
            invocation.timer = None

    def _cancel_init_timer(self) -> None:
        if self._init_timer is not None:
            self._init_timer.cancel()
            self._init_timer = None


def _error_trailers(error_type: str, message: str) -> dict[str, str]:
    return {
        "X-Amz-Function-Error": "Unhandled",
        "Lambda-Runtime-Function-Error-Type": error_type,
        "Lambda-Runtime-Function-Error-Body": base64.b64encode(
            error_body(error_type, message)
        ).decode(),
    }


def _error_type_of(answer: Answer) -> str:
    try:
        document = json.loads(answer.body)
    except ValueError:
        return "Runtime.Unknown"
    if isinstance(document, dict) and isinstance(document.get("errorType"), str):
        return str(document["errorType"])

    return "Runtime.Unknown"


def _error_message_of(answer: Answer) -> str:
    try:
        document = json.loads(answer.body)
    except ValueError:
        return answer.body.decode("utf-8", "replace")
    if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
        return str(document["errorMessage"])

    return answer.body.decode("utf-8", "replace")


def _exit_answer(invocation: Invocation, reason: str) -> Answer:
    if reason == "exit status 0":
        message = "Runtime exited without providing a reason"
    else:
        message = f"Runtime exited with error: {reason}"
    message = f"RequestId: {invocation.request_id} Error: {message}"

    return Answer(
        502, error_body("Runtime.ExitError", message), function_error="Unhandled"
    )


def _shut_down_answer() -> Answer:
    return Answer(
        503,
        error_body(
            "ServiceException", "The emulator shut down before the invoke finished"
        ),
        function_error="Unhandled",
    )
