"""Compiling the bench's C helpers and starting measured processes through one."""

import os
import select
import signal
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.errors import SetupError

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / ".build" / "bench"
SPAWNER_SOURCE = REPO_ROOT / "bench" / "native" / "spawner.c"


def compile_c(source: Path, output: Path) -> Path:
    """
    Build a one-file C program with gcc -O2 unless the binary is up to date.

    Raises:
        SetupError: gcc is missing or the compile failed (its output attached).
    """
    if output.exists() and output.stat().st_mtime >= source.stat().st_mtime:
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(
            ["gcc", "-O2", "-Wall", "-Wextra", "-o", str(output), str(source)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SetupError("gcc is not installed") from exc
    if result.returncode != 0:
        raise SetupError(f"gcc failed on {source}:\n{result.stderr}")

    return output


@dataclass
class ExitInfo:
    """How a measured process ended, as wait4 saw it."""

    wait_status: int
    maxrss_kib: int
    exited_ns: int

    @property
    def describe(self) -> str:
        """ "exit 1" or "killed by signal 9"."""
        if os.WIFSIGNALED(self.wait_status):
            return f"killed by signal {os.WTERMSIG(self.wait_status)}"

        return f"exit {os.WEXITSTATUS(self.wait_status)}"


class Spawner:
    """
    Starts one measured process at a time through bench/native/spawner.c.

    The C spawner forks from a ~1 MiB address space so that wait4's ru_maxrss
    is the function's own peak and not the harness's (Linux carries the peak of
    the pre-exec address space over into ru_maxrss).
    """

    def __init__(self) -> None:
        binary = compile_c(SPAWNER_SOURCE, BUILD_DIR / "spawner")
        self._process = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        if self._process.stdin is None or self._process.stdout is None:
            raise SetupError("the spawner has no pipes")
        self._stdin = self._process.stdin
        self._stdout = self._process.stdout
        self._stdout_fd = self._stdout.fileno()
        self._buffer = b""
        self.child_pid: int | None = None

    def close(self) -> None:
        """Kill any live child, then stop the spawner."""
        if self.child_pid is not None:
            self.kill()
            self.reap(timeout_s=5.0)
        self._stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._stdout.close()

    def __enter__(self) -> "Spawner":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def spawn(self, argv: list[str], env: dict[str, str], log_path: Path) -> int:
        """
        Start argv (argv[0] an absolute path) with exactly env; output to log_path.

        Returns:
            The exec timestamp (time.perf_counter_ns clock) taken before fork.
        """
        if self.child_pid is not None:
            raise SetupError("the previous process was not reaped")
        fields = [str(log_path), str(len(argv)), *argv]
        fields += ["{}={}".format(*item) for item in env.items()]
        payload = b"\0".join(field.encode() for field in fields) + b"\0"
        self._stdin.write(struct.pack("=I", len(payload)) + payload)
        self._stdin.flush()
        reply = self._read_line(timeout_s=10.0).split()
        if len(reply) != 3 or reply[0] != b"spawned":
            raise SetupError(f"spawner answered {reply!r}")
        self.child_pid = int(reply[1])

        return int(reply[2])

    def kill(self) -> None:
        """SIGKILL the live child, as Lambda does to an environment it drops."""
        if self.child_pid is not None:
            try:
                os.kill(self.child_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reap(self, timeout_s: float) -> ExitInfo:
        """
        Wait for the live child to end and return its status and peak RSS.

        Raises:
            SetupError: it did not end in time (the caller should kill it first).
        """
        reply = self._read_line(timeout_s).split()
        if len(reply) != 5 or reply[0] != b"exited":
            raise SetupError(f"spawner answered {reply!r}")
        self.child_pid = None

        return ExitInfo(
            wait_status=int(reply[2]),
            maxrss_kib=int(reply[3]),
            exited_ns=int(reply[4]),
        )

    def _read_line(self, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SetupError(f"no answer from the spawner in {timeout_s:.0f} s")
            readable, _, _ = select.select([self._stdout_fd], [], [], remaining)
            if readable:
                chunk = os.read(self._stdout_fd, 4096)
                if not chunk:
                    raise SetupError("the spawner exited")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")

        return line
