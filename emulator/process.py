"""The function's process: started in its own process group, output captured."""

import logging
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

# After the leader exits, its output pipe may stay open in a straggler child
# for a moment; the exit is reported after the pipe drains or this many seconds.
DRAIN_WAIT_S = 2.0


class LogSink:
    """The captured stdout and stderr of every function process, in order."""

    def __init__(self, echo: bool = False) -> None:
        self._parts: list[bytes] = []
        self._lock = threading.Lock()
        self._echo = echo

    def write(self, data: bytes) -> None:
        """Append output of a function process (and echo it when asked)."""
        with self._lock:
            self._parts.append(data)
        if self._echo:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    def text(self) -> str:
        """Everything captured so far, decoded as UTF-8 (bad bytes replaced)."""
        with self._lock:
            data = b"".join(self._parts)

        return data.decode("utf-8", errors="replace")


class FunctionProcess:
    """
    One execution environment's process: the bootstrap command and its children.

    It runs in a new session, so that one signal to its process group ends
    everything it started (Lambda discards the whole sandbox the same way).
    `on_exit(process, returncode)` is called once from a monitor thread.

    Raises:
        OSError: when the command cannot be started (missing, not executable).
    """

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        sink: LogSink,
        on_exit: Callable[["FunctionProcess", int], None],
        memory_limit_bytes: int | None = None,
    ) -> None:
        self.started_at_s = time.monotonic()
        self._popen = subprocess.Popen(  # noqa: S603 - the command is the caller's own function
            list(command),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Only setrlimit runs between fork and exec: no lock can be held.
            preexec_fn=_limit_memory(memory_limit_bytes)  # noqa: PLW1509
            if memory_limit_bytes
            else None,
        )
        self.pid = self._popen.pid
        self._sink = sink
        self._on_exit = on_exit
        self._reader = threading.Thread(
            target=self._pump_output, name=f"function-output-{self.pid}", daemon=True
        )
        self._reader.start()
        threading.Thread(
            target=self._monitor, name=f"function-monitor-{self.pid}", daemon=True
        ).start()

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has exited (negative: signal)."""
        return self._popen.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group; harmless when it is already gone."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, grace_s: float) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after `grace_s`."""
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        try:
            self._popen.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def wait(self, timeout_s: float) -> int | None:
        """Wait for the exit and the end of the output; None if still running."""
        try:
            returncode = self._popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(DRAIN_WAIT_S)

        return returncode

    def _pump_output(self) -> None:
        stream = self._popen.stdout
        if stream is None:  # Popen was given stdout=PIPE; never None
            return
        # os.read hands on whatever arrived, without waiting for a full buffer.
        with stream:
            descriptor = stream.fileno()
            for chunk in iter(lambda: os.read(descriptor, 65536), b""):
                self._sink.write(chunk)

    def _monitor(self) -> None:
        returncode = self._popen.wait()

        # The leader is gone: whatever it left behind goes with it, as in Lambda.
        self.kill()
        self._reader.join(DRAIN_WAIT_S)
        logger.debug("function process %d exited with %d", self.pid, returncode)
        self._on_exit(self, returncode)


def _limit_memory(limit_bytes: int) -> Callable[[], None]:
    def set_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return set_limit


def describe_exit(returncode: int) -> str:
    """The reason Lambda gives for an exit status: `exit status 1`, `signal: killed`."""
    if returncode < 0:
        try:
            name = signal.strsignal(-returncode) or f"signal {-returncode}"
        except ValueError:
            name = f"signal {-returncode}"
        return f"signal: {name.lower()}"

    return f"exit status {returncode}"
