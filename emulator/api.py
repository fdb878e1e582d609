"""`Emulator`: a local Lambda function for tests, benchmarks and the command line."""

import threading
from collections.abc import Sequence
from types import TracebackType

from emulator.client import InvokeResult, StreamedInvoke, invoke, invoke_headers
from emulator.environment import (
    DEFAULT_INIT_TIMEOUT_S,
    ExecutionEnvironment,
    Invocation,
)
from emulator.process import LogSink
from emulator.server import INVOKE_PATH, EmulatorServer, RuntimeExchange

# Margin added to the function timeout for the caller's socket reads: init,
# queueing behind other invokes and a slow machine.
READ_MARGIN_S = 30.0


class Emulator:
    """
    A local Lambda: Runtime API server plus the function process it runs.

    Args:
        command: the bootstrap command, e.g. [sys.executable, "-m", "bootstrap"].
        env: environment for the function on top of the Lambda variables
            (_HANDLER goes here).
        timeout_s: the function timeout.
        memory_mb: the function memory size (and its RLIMIT_AS when
            `limit_memory` is set).
        concurrency: invokes in flight at once (AWS_LAMBDA_MAX_CONCURRENCY).
        port: the loopback port; 0 picks a free one.
        init_timeout_s: how long a new process may take to reach `/next`.
        limit_memory: enforce `memory_mb` as an address-space limit.
        echo_logs: copy the function's output to this process's stdout.

    Example:
        with Emulator([sys.executable, "-m", "bootstrap"],
                      env={"_HANDLER": "app.handler"}) as emu:
            result = emu.invoke(b'{"name": "x"}')
    """

    # The contract every test codes against: one keyword per Lambda setting.
    def __init__(  # noqa: PLR0913
        self,
        command: Sequence[str],
        env: dict[str, str] | None = None,
        timeout_s: float = 3.0,
        memory_mb: int = 128,
        concurrency: int = 1,
        *,
        port: int = 0,
        init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S,
        limit_memory: bool = False,
        echo_logs: bool = False,
    ) -> None:
        self.environment = ExecutionEnvironment(
            command,
            env=env,
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            concurrency=concurrency,
            init_timeout_s=init_timeout_s,
            limit_memory=limit_memory,
            sink=LogSink(echo=echo_logs),
        )
        self.timeout_s = timeout_s
        self._port = port
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ life cycle

    def start(self) -> "Emulator":
        """Bind the port and serve; the function starts on the first invoke."""
        if self._server is not None:
            return self
        self._server = EmulatorServer(self.environment, self._port)
        self.environment.runtime_api = f"127.0.0.1:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="emulator-server",
            daemon=True,
        )
        self._thread.start()

        return self

    def close(self) -> None:
        """Answer pending invokes, kill the function's process group, unbind."""
        self.environment.close()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --------------------------------------------------------------- invoking

    # One keyword per optional field of the Invoke API.
    def invoke(  # noqa: PLR0913
        self,
        payload: bytes,
        *,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        read_timeout_s: float | None = None,
    ) -> InvokeResult:
        """
        Invoke through the HTTP endpoint and wait for the whole answer.

        Raises:
            InvokeError: the endpoint could not be reached or answered garbage.
        """
        return invoke(
            "127.0.0.1",
            self.port,
            payload,
            invoke_headers(trace_id, client_context, cognito_identity, tenant_id),
            read_timeout_s or self.timeout_s + READ_MARGIN_S,
        )

    def invoke_stream(  # noqa: PLR0913 - as invoke()
        self,
        payload: bytes,
        *,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        tenant_id: str | None = None,
        read_timeout_s: float | None = None,
    ) -> StreamedInvoke:
        """
        Invoke and iterate over the answer's chunks as they arrive.

        Raises:
            InvokeError: the endpoint could not be reached or answered garbage.
        """
        return StreamedInvoke(
            "127.0.0.1",
            self.port,
            payload,
            invoke_headers(trace_id, client_context, cognito_identity, tenant_id),
            read_timeout_s or self.timeout_s + READ_MARGIN_S,
        )

    def submit(self, payload: bytes, trace_id: str | None = None) -> Invocation:
        """Queue an invoke in process (no HTTP); read `invocation.parts`."""
        return self.environment.submit(Invocation(payload, trace_id=trace_id))

    # ------------------------------------------------------------ inspection

    @property
    def port(self) -> int:
        """The loopback port of the Runtime API and the invoke endpoint."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")

        return self._server.port

    @property
    def runtime_api(self) -> str:
        """AWS_LAMBDA_RUNTIME_API as the function sees it: `127.0.0.1:PORT`."""
        return f"127.0.0.1:{self.port}"

    @property
    def invoke_url(self) -> str:
        """Where to POST invokes, e.g. with curl."""
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"

    @property
    def process_starts(self) -> int:
        """How many function processes have been started so far."""
        return self.environment.process_starts

    def logs(self) -> str:
        """Captured stdout and stderr of every function process, as text."""
        return self.environment.sink.text()

    def runtime_exchanges(self) -> list[RuntimeExchange]:
        """Every Runtime API request so far and the emulator's answer to it."""
        if self._server is None:
            return []
        with self._server.exchanges_lock:
            return list(self._server.exchanges)
