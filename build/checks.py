"""Compatibility checks that fail the build: glibc floor and a bare-root invoke.

1. No ELF of the output needs a `GLIBC_` symbol version above Lambda's glibc
   (2.34 on provided.al2023), read with `objdump -T`, independently of the
   patcher in build/elf.py.
2. The frozen `bootstrap` starts and answers an invoke inside a root file system
   that holds only the built files and the shared libraries they link: no
   Python, no site-packages, an environment of only Lambda's variables. A
   minimal Runtime API of our own serves one event; `/proc` is mounted inside,
   since a frozen binary finds itself through /proc/self/exe.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from build.elf import glibc_version_key, is_elf
from build.errors import GlibcVersionError, SmokeTestError

LAMBDA_GLIBC = "GLIBC_2.34"
TASK_ROOT = "/var/task"
SMOKE_TIMEOUT_S = 60.0

# An HTTP API (payload 2.0) request for a path no route serves: it exercises
# the runtime, the event layer and the handler's import (boto3 included)
# without needing DynamoDB.
SMOKE_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/frozen-smoke-test",
    "rawQueryString": "",
    "headers": {"host": "localhost", "user-agent": "build-check"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {
            "method": "GET",
            "path": "/frozen-smoke-test",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "build-check",
        },
        "requestId": "smoke-request",
        "routeKey": "$default",
        "stage": "$default",
        "time": "03/Dec/2026:10:00:00 +0000",
        "timeEpoch": 1796292000000,
    },
    "isBase64Encoded": False,
}
SMOKE_EXPECTED_STATUS = 404


def elf_files(paths: list[Path]) -> list[Path]:
    """Every ELF file among `paths` and under those that are folders."""
    found: list[Path] = []
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        found.extend(candidate for candidate in candidates if is_elf(candidate))

    return found


def glibc_needs(path: Path) -> dict[str, list[str]]:
    """Symbols of `path` grouped by the GLIBC_ version objdump says they need."""
    listing = subprocess.run(
        ["objdump", "-T", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    needs: dict[str, list[str]] = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 5 and "*UND*" in fields:
            version = fields[-2].strip("()")
            if glibc_version_key(version) is not None:
                needs.setdefault(version, []).append(fields[-1])

    return needs


def check_glibc_floor(paths: list[Path], floor: str = LAMBDA_GLIBC) -> list[str]:
    """
    Fail if any ELF under `paths` needs a glibc symbol version above `floor`.

    Returns:
        One line per file: its newest glibc version, for the build log.

    Raises:
        GlibcVersionError: naming the file, the version and its symbols.
    """
    floor_key = glibc_version_key(floor)
    report = []
    for path in elf_files(paths):
        needs = glibc_needs(path)
        if not needs:
            continue
        newest = max(needs, key=lambda version: glibc_version_key(version) or ())
        newest_key = glibc_version_key(newest)
        if newest_key is not None and floor_key is not None and newest_key > floor_key:
            raise GlibcVersionError(
                path,
                "needs {} ({}); Lambda has {}".format(
                    newest, ", ".join(sorted(needs[newest])), floor
                ),
            )
        report.append(f"{path.name}: {newest}")

    return report


# What every Linux has, Amazon Linux 2023 included: glibc's own libraries and
# its loader. Anything else an output links must ship in the layout.
GLIBC_LIBRARIES = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
    }
)


def is_glibc(library: Path) -> bool:
    """Whether `library` is part of glibc, which the target provides."""
    return library.name in GLIBC_LIBRARIES


def linked_libraries(paths: list[Path]) -> set[Path]:
    """The host libraries every ELF under `paths` loads, the loader included."""
    libraries: set[Path] = set()
    for path in elf_files(paths):
        listing = subprocess.run(
            ["ldd", str(path)],
            check=False,
            capture_output=True,
            text=True,
        ).stdout
        for raw_line in listing.splitlines():
            line = raw_line.strip()
            if "=>" in line:
                target = line.split("=>", 1)[1].split("(", 1)[0].strip()
            else:
                target = line.split("(", 1)[0].strip()
            # Objects of the layout itself are shipped, not host libraries.
            shipped = any(Path(target).is_relative_to(root.resolve()) for root in paths)
            if target.startswith("/") and not shipped:
                libraries.add(Path(target))

    return libraries


def build_root(files: Path, libraries_of: list[Path], root: Path) -> None:
    """
    Lay out a bare root file system: the built files in /var/task, and glibc.

    Args:
        files: the layout as shipped (a folder, or a folder with one file).
        libraries_of: the ELF files whose host libraries the root needs.
        root: an empty directory to fill.
    """
    task = root / TASK_ROOT.lstrip("/")
    shutil.copytree(files, task, symlinks=True)
    # Only glibc from the host: anything else must come with the layout.
    for library in sorted(filter(is_glibc, linked_libraries(libraries_of))):
        for source in (library, library.resolve()):
            target = root / str(source).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copy2(source.resolve(), target)
    # Lambda sets LANG=en_US.UTF-8 and provided.al2023 has only the C.utf8
    # locale (glibc-minimal-langpack); without any UTF-8 locale the frozen
    # interpreter aborts at start, so the root gets exactly that one.
    locale = Path("/usr/lib/locale/C.utf8")
    if locale.is_dir():
        shutil.copytree(locale, root / "usr/lib/locale/C.utf8")
    # Lambda's root has /tmp (the only writable place) and /proc.
    (root / "tmp").mkdir(mode=0o1777, exist_ok=True)
    (root / "proc").mkdir(exist_ok=True)


class _RuntimeAPI(http.server.BaseHTTPRequestHandler):
    """One-event Lambda Runtime API: hands out the event, keeps the answer."""

    server: _RuntimeServer

    def do_GET(self) -> None:
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        if self.server.served:
            # A second /next means the answer is in: park this long poll.
            self.server.done.wait(SMOKE_TIMEOUT_S)
            self.send_error(410)
            return
        self.server.served = True
        body = json.dumps(SMOKE_EVENT).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "smoke-request")
        self.send_header("Lambda-Runtime-Deadline-Ms", "9999999999999")
        self.send_header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:smoke",
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.answers.append((self.path, body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.done.set()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the build log quiet."""


class _RuntimeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeAPI)
        self.served = False
        self.answers: list[tuple[str, bytes]] = []
        self.done = threading.Event()


@contextmanager
def runtime_api() -> Iterator[_RuntimeServer]:
    """A one-event Runtime API on 127.0.0.1, shut down on exit."""
    server = _RuntimeServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.done.set()
        server.shutdown()
        server.server_close()


def lambda_environment(runtime_api_address: str) -> dict[str, str]:
    """Only the variables Lambda sets for a provided.al2023 function."""
    return {
        "AWS_LAMBDA_RUNTIME_API": runtime_api_address,
        "_HANDLER": "handler.app.lambda_handler",
        "LAMBDA_TASK_ROOT": TASK_ROOT,
        "LAMBDA_RUNTIME_DIR": TASK_ROOT,
        "AWS_LAMBDA_FUNCTION_NAME": "smoke",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/smoke",
        "AWS_LAMBDA_LOG_STREAM_NAME": "smoke",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "smoke-secret",
        "AWS_SESSION_TOKEN": "smoke-token",
        "SESSIONS_TABLE": "sessions",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin/:/bin",
        "LD_LIBRARY_PATH": "/var/task/lib:/lib64:/usr/lib64",
    }


def smoke_test_in_bare_root(layout: Path, libraries_of: list[Path]) -> dict[str, Any]:
    """
    Start the layout's bootstrap in a bare root and check it answers an invoke.

    Args:
        layout: the folder as it is zipped (bootstrap at its root).
        libraries_of: ELF files whose host libraries the root must hold (for
            the single file, the objects inside it, which ldd cannot see).

    Returns:
        The decoded response the function posted.

    Raises:
        SmokeTestError: it did not start, answered an error or a wrong status.
    """
    with tempfile.TemporaryDirectory(prefix="bare-root-") as scratch:
        root = Path(scratch)
        build_root(layout, libraries_of, root)
        with runtime_api() as server:
            address = f"127.0.0.1:{server.server_address[1]}"
            # A new mount and PID namespace: /proc is mounted inside the root
            # only for this process tree and disappears with it.
            command = [
                "unshare",
                *([] if running_as_root() else ["--map-root-user"]),
                "--mount",
                "--pid",
                "--fork",
                # Mounted after the chroot: the path is inside the new root.
                "--mount-proc=/proc",
                f"--root={root}",
                f"--wd={TASK_ROOT}",
                f"{TASK_ROOT}/bootstrap",
            ]
            process = subprocess.Popen(
                command,
                env=lambda_environment(address),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            answered = server.done.wait(SMOKE_TIMEOUT_S)
            process.kill()
            output, _ = process.communicate(timeout=SMOKE_TIMEOUT_S)
            log = output.decode("utf-8", "replace")[-4000:]

    if not answered or not server.answers:
        raise SmokeTestError(
            f"bootstrap never answered (exit {process.returncode}):\n{log}"
        )
    path, body = server.answers[0]
    if not path.endswith("/smoke-request/response"):
        raise SmokeTestError(f"bootstrap reported an error to {path}: {body!r}")
    response: dict[str, Any] = json.loads(body)
    if response.get("statusCode") != SMOKE_EXPECTED_STATUS:
        raise SmokeTestError(
            f"expected status {SMOKE_EXPECTED_STATUS}, got {response!r}\n{log}"
        )

    return response


def running_as_root() -> bool:
    """Without root, unshare needs a user namespace to mount /proc."""
    return os.geteuid() == 0
