"""Fixtures that run a function under the project's own Lambda emulator.

- `lambda_runtime(handler, env=None, timeout_s=3.0, concurrency=1, command=None)`
  runs our runtime (`python -m bootstrap`, or the command in the environment
  variable BOOTSTRAP_COMMAND, e.g. `BOOTSTRAP_COMMAND=dist/bootstrap` for the
  frozen build) with `_HANDLER=handler` and returns a started `Emulator`.
- `scripted_emulator(env=None, timeout_s=3.0, concurrency=1, **kwargs)` runs
  SCRIPTED_RUNTIME, a tiny stdlib-only runtime whose behaviour each event
  scripts, so the emulator is tested without depending on bootstrap/.
- `http_front(emulator)` puts the API Gateway (payload 2.0) front before an
  emulator and returns its base URL, "http://127.0.0.1:PORT".

Every emulator a fixture starts is closed (process group killed) after the test.
"""

import os
import shlex
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import Emulator
from emulator.front import FrontServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# A runtime written against the Runtime API with nothing but the stdlib.
#
# An event {"steps": [...]} is played step by step; any other event is echoed
# back as {"echo": event, "pid", "request_id", "invocation_id", "deadline_ms",
# "headers", "env"}. Steps (one key each):
#   {"respond": value}          POST /response with JSON(value)
#   {"respond_bytes": n}        POST /response with n bytes of "x"
#   {"error": {...}}            POST /error with that JSON, type from errorType
#   {"post_to": "id"}           POST /response for another (wrong) request id
#   {"sleep": seconds}
#   {"touch": path}             create the file at path
#   {"allocate_mb": n}          hold n MiB for the rest of the invoke
#   {"wait_for_file": path}     wait (at most 10 s) until path exists
#   {"spawn_sleeper": true}     start a `sleep 60` child; its pid goes in a file
#                               "<SCRIPT_DIR>/sleeper.pid"
#   {"exit": code}              exit the process at once
#   {"stream": {"chunks": [...], "content_type": ..., "wait_for_file": path,
#               "error": {"type": ..., "body": ...}, "pause_s": s}}
#        a chunked streaming /response; with wait_for_file it sends the first
#        chunk, then waits (at most 10 s) for that file before the rest, and
#        sends "[gave up]" first if it had to stop waiting.
# SCRIPT_ANSWER (a JSON list of steps) in the environment is played for every
# event without its own steps, e.g. events built by the HTTP front.
# SCRIPT_INIT in the environment scripts the init phase: "error" (post
# /init/error, then call /next), "error-exit" (post it and exit 1), "crash"
# (exit 3 at once), "hang" (never call /next). Each post's status is printed.
# SCRIPT_EXTENSION (a comma-separated event list, possibly empty) registers an
# extension at init that prints each event it gets ("extension: INVOKE <id>",
# "extension: SHUTDOWN <reason>"), and a SIGTERM handler that prints
# "runtime: got SIGTERM" and exits.
SCRIPTED_RUNTIME = r"""
import base64, http.client, json, os, signal, socket, sys, threading, time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
HOST, PORT = API.rsplit(":", 1)
PREFIX = "/2018-06-01/runtime"


def say(text):
    print("runtime:", text, flush=True)


def call(conn, method, path, body=None, headers=None):
    conn.request(method, PREFIX + path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    say("%s %s -> %d" % (method, path, response.status))
    return response, data


def wait_for_file(path):
    give_up = time.monotonic() + 10
    while not os.path.exists(path):
        if time.monotonic() > give_up:
            say("gave up waiting for %s" % path)
            return False
        time.sleep(0.01)
    return True


def stream(request_id, invocation_id, spec):
    sock = socket.create_connection((HOST, int(PORT)))
    head = (
        "POST %s/invocation/%s/response HTTP/1.1\r\n"
        "Host: %s\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        "Lambda-Runtime-Invocation-Id: %s\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Type, "
        "Lambda-Runtime-Function-Error-Body\r\n"
        "Content-Type: %s\r\n\r\n"
    ) % (PREFIX, request_id, API, invocation_id,
         spec.get("content_type", "application/octet-stream"))
    sock.sendall(head.encode())
    for index, chunk in enumerate(spec.get("chunks", [])):
        data = chunk.encode("latin-1")
        sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        if index == 0 and spec.get("wait_for_file"):
            if not wait_for_file(spec["wait_for_file"]):
                sock.sendall(b"9\r\n[gave up]\r\n")
        time.sleep(spec.get("pause_s", 0))
    trailers = b""
    if spec.get("error"):
        error = spec["error"]
        encoded = base64.b64encode(json.dumps(error["body"]).encode())
        error_type = error["type"].encode()
        trailers = b"Lambda-Runtime-Function-Error-Type: %s\r\n" % error_type
        trailers += b"Lambda-Runtime-Function-Error-Body: %s\r\n" % encoded
    sock.sendall(b"0\r\n" + trailers + b"\r\n")
    status_line = sock.makefile("rb").readline()
    say("stream -> %s" % status_line.split()[1].decode())
    sock.close()


def handle(conn, event, request_id, invocation_id, response_headers):
    echo = {"Lambda-Runtime-Invocation-Id": invocation_id} if invocation_id else {}
    steps = event.get("steps") if isinstance(event, dict) else None
    if steps is None and os.environ.get("SCRIPT_ANSWER"):
        steps = json.loads(os.environ["SCRIPT_ANSWER"])
    if steps is None:
        answer = {
            "echo": event,
            "pid": os.getpid(),
            "request_id": request_id,
            "invocation_id": invocation_id,
            "deadline_ms": int(response_headers.get("Lambda-Runtime-Deadline-Ms")),
            "headers": {k.lower(): v for k, v in response_headers.items()},
            "env": {k: v for k, v in os.environ.items()
                    if k.startswith(("AWS_", "_HANDLER", "LAMBDA_", "SCRIPT_"))},
        }
        call(conn, "POST", "/invocation/%s/response" % request_id,
             json.dumps(answer).encode(), echo)
        return
    for step in steps:
        kind, arg = next(iter(step.items()))
        if kind == "respond":
            call(conn, "POST", "/invocation/%s/response" % request_id,
                 json.dumps(arg).encode(), echo)
        elif kind == "respond_bytes":
            call(conn, "POST", "/invocation/%s/response" % request_id,
                 b"x" * arg, echo)
        elif kind == "error":
            headers = dict(echo)
            headers["Lambda-Runtime-Function-Error-Type"] = arg.get("errorType", "")
            headers["Content-Type"] = "application/vnd.aws.lambda.error+json"
            call(conn, "POST", "/invocation/%s/error" % request_id,
                 json.dumps(arg).encode(), headers)
        elif kind == "post_to":
            call(conn, "POST", "/invocation/%s/response" % arg, b"{}", echo)
        elif kind == "sleep":
            time.sleep(arg)
        elif kind == "allocate_mb":
            held = bytearray(arg * 1024 * 1024)
        elif kind == "touch":
            open(arg, "w").close()
        elif kind == "wait_for_file":
            wait_for_file(arg)
        elif kind == "spawn_sleeper":
            import subprocess
            child = subprocess.Popen(["sleep", "60"])
            with open(os.path.join(os.environ["SCRIPT_DIR"], "sleeper.pid"), "w") as f:
                f.write(str(child.pid))
        elif kind == "exit":
            os._exit(arg)
        elif kind == "stream":
            stream(request_id, invocation_id, arg)


def worker():
    conn = http.client.HTTPConnection(HOST, int(PORT))
    while True:
        response, body = call(conn, "GET", "/invocation/next")
        if response.status != 200:
            say("no invoke (%d): exiting" % response.status)
            os._exit(1)
        headers = dict(response.getheaders())
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
        invocation_id = response.getheader("Lambda-Runtime-Invocation-Id")
        handle(conn, json.loads(body), request_id, invocation_id, headers)


def extension(events):
    conn = http.client.HTTPConnection(HOST, int(PORT))
    body = json.dumps({"events": events}).encode()
    conn.request("POST", "/2020-01-01/extension/register", body=body,
                 headers={"Lambda-Extension-Name": "scripted"})
    response = conn.getresponse()
    response.read()
    say("register -> %d" % response.status)
    identifier = response.getheader("Lambda-Extension-Identifier")

    poller = threading.Thread(target=lambda: poll(), daemon=True)

    def on_sigterm(signum, frame):
        say("got SIGTERM")
        # Like a telemetry flush: let the extension take its SHUTDOWN first.
        if poller.is_alive():
            poller.join(1.5)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)

    def poll():
        while True:
            conn.request("GET", "/2020-01-01/extension/event/next",
                         headers={"Lambda-Extension-Identifier": identifier})
            event = json.loads(conn.getresponse().read())
            if event["eventType"] == "INVOKE":
                print("extension: INVOKE", event["requestId"], flush=True)
            else:
                print("extension: SHUTDOWN", event["shutdownReason"], flush=True)
                return

    if events:
        poller.start()


if "SCRIPT_EXTENSION" in os.environ:
    extension([e for e in os.environ["SCRIPT_EXTENSION"].split(",") if e])

init = os.environ.get("SCRIPT_INIT", "")
if init == "crash":
    os._exit(3)
if init == "hang":
    time.sleep(3600)
if init in ("error", "error-exit"):
    conn = http.client.HTTPConnection(HOST, int(PORT))
    error = {"errorMessage": "cannot import module 'nowhere'",
             "errorType": "Runtime.ImportModuleError", "stackTrace": []}
    call(conn, "POST", "/init/error", json.dumps(error).encode(),
         {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
    if init == "error-exit":
        sys.exit(1)

workers = int(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY", "1"))
threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


def bootstrap_command() -> list[str]:
    """The runtime under test: BOOTSTRAP_COMMAND, or `python -m bootstrap`."""
    configured = os.environ.get("BOOTSTRAP_COMMAND")
    if configured:
        return shlex.split(configured)

    return [sys.executable, "-m", "bootstrap"]


def _python_path() -> str:
    inherited = os.environ.get("PYTHONPATH")

    return os.pathsep.join([str(PROJECT_ROOT), *([inherited] if inherited else [])])


@pytest.fixture
def lambda_runtime() -> Iterator[Callable[..., Emulator]]:
    """
    Factory: our runtime with a handler under the emulator, closed after the test.

    Call as `lambda_runtime("tests.handlers.echo.handler", env={...},
    timeout_s=3.0, concurrency=1, command=None)`; `command` replaces the
    bootstrap command for this one emulator.
    """
    started: list[Emulator] = []

    def start(
        handler: str,
        env: dict[str, str] | None = None,
        timeout_s: float = 3.0,
        concurrency: int = 1,
        command: list[str] | None = None,
        **options: Any,
    ) -> Emulator:
        function_env = {
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(PROJECT_ROOT),
            "PYTHONPATH": _python_path(),
            **(env or {}),
        }
        emulator = Emulator(
            command or bootstrap_command(),
            env=function_env,
            timeout_s=timeout_s,
            concurrency=concurrency,
            **options,
        )
        started.append(emulator)

        return emulator.start()

    yield start

    for emulator in started:
        emulator.close()
        # Shown by pytest only when the test failed: the function's own words.
        print(emulator.logs())


@pytest.fixture
def scripted_emulator() -> Iterator[Callable[..., Emulator]]:
    """Factory: an emulator over SCRIPTED_RUNTIME, closed after the test."""
    started: list[Emulator] = []

    def start(
        env: dict[str, str] | None = None,
        timeout_s: float = 3.0,
        concurrency: int = 1,
        **options: Any,
    ) -> Emulator:
        emulator = Emulator(
            [sys.executable, "-I", "-c", SCRIPTED_RUNTIME],
            env=env,
            timeout_s=timeout_s,
            concurrency=concurrency,
            **options,
        )
        started.append(emulator)

        return emulator.start()

    yield start

    for emulator in started:
        emulator.close()


@pytest.fixture
def http_front() -> Iterator[Callable[[Emulator], str]]:
    """Factory: an HTTP front over an emulator; returns its base URL."""
    fronts: list[FrontServer] = []

    def start(emulator: Emulator) -> str:
        front = FrontServer(emulator.submit, 0)
        fronts.append(front)
        threading.Thread(
            target=front.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="http-front",
            daemon=True,
        ).start()

        return f"http://127.0.0.1:{front.port}"

    yield start

    for front in fronts:
        front.shutdown()
        front.server_close()
