"""Soak: many invocations of the sessions function, checked against a model.

    python -m tests.soak.soak [--invocations 100000] [--seed 7] [--json PATH]

The function runs on our runtime under the emulator (the frozen dist/bootstrap
when it is there, else `python -m bootstrap` on CPython; the summary says
which) against an in-memory DynamoDB Local. Requests are a seeded mix of
create, read, patch, list and delete by a few users, plus malformed events.
Every answer is checked against the driver's own model of what must exist;
at the end the table itself is scanned and compared with the model, so a lost
or duplicated write shows. The function process's resident memory (VmRSS) is
sampled after warm-up and at the end.

The summary gives invocations, 5xx answers, unexpected answers, function
errors, lost and extra items, memory growth, duration and rate; the exit
status is 0 only when every property holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
from botocore.config import Config

from emulator import Emulator
from emulator.dynamodb_local import DynamoDBLocal
from emulator.process import LogSink
from handler.table import ensure_table
from tests.tools.faults import (
    BEARER_TOKEN,
    COOKIE_VALUE,
    function_pids,
    leaked_secrets,
    resident_kib,
    secret_env,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FROZEN_BOOTSTRAP = PROJECT_ROOT / "dist" / "bootstrap"
TABLE_NAME = "sessions-soak"
REGION = "us-east-1"
ACCESS_KEY_ID = "soak"
MAX_RSS_GROWTH_KIB = 1024
# Per user, so that one page of a listing (limit 100) holds all of them.
MAX_SESSIONS_PER_USER = 60
METADATA_KEYS = 8
# Output kept from the function (the rest is scanned for secrets and dropped).
KEPT_OUTPUT_BYTES = 256 * 1024

# Share of each kind of request, in percent.
MIX = (
    ("create", 22),
    ("read", 24),
    ("patch", 20),
    ("list", 10),
    ("delete", 12),
    ("malformed", 12),
)


@dataclass
class Summary:
    """What one soak run found; `ok` when every property holds."""

    runtime: str
    invocations: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    status_5xx: int = 0
    unexpected: int = 0
    function_errors: int = 0
    lost_items: int = 0
    extra_items: int = 0
    mismatched_items: int = 0
    items_at_end: int = 0
    process_starts: int = 0
    rss_after_warmup_kib: int = 0
    rss_at_end_kib: int = 0
    rss_peak_kib: int = 0
    rss_growth_kib: int = 0
    leaked_secrets: int = 0
    duration_s: float = 0.0
    rate_per_s: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Zero 5xx and surprises, nothing lost or extra, bounded memory growth."""
        return (
            self.status_5xx == 0
            and self.unexpected == 0
            and self.function_errors == 0
            and self.lost_items == 0
            and self.extra_items == 0
            and self.mismatched_items == 0
            and self.process_starts == 1
            and self.rss_growth_kib <= MAX_RSS_GROWTH_KIB
            and self.leaked_secrets == 0
        )

    def note(self, text: str) -> None:
        """Keep the first few surprises for the report."""
        if len(self.examples) < 20:
            self.examples.append(text)

    def lines(self) -> list[str]:
        """The human summary."""
        return [
            f"runtime            {self.runtime}",
            f"invocations        {self.invocations}  {self.by_kind}",
            f"5xx answers        {self.status_5xx}",
            f"unexpected answers {self.unexpected}",
            f"function errors    {self.function_errors}",
            f"items at end       {self.items_at_end} (lost {self.lost_items}, "
            f"extra {self.extra_items}, mismatched {self.mismatched_items})",
            f"process starts     {self.process_starts}",
            f"VmRSS              {self.rss_after_warmup_kib} KiB after warm-up, "
            f"{self.rss_at_end_kib} KiB at end, peak {self.rss_peak_kib} KiB: "
            f"growth {self.rss_growth_kib} KiB (limit {MAX_RSS_GROWTH_KIB})",
            f"secrets in output  {self.leaked_secrets}",
            f"duration           {self.duration_s:.1f} s "
            f"({self.rate_per_s:.0f} invocations/s)",
            f"result             {'OK' if self.ok else 'FAILED'}",
            *(f"  e.g. {example}" for example in self.examples),
        ]


class ScanningSink(LogSink):
    """
    Function output: scanned for secrets as it arrives, only the tail kept.

    A soak writes hundreds of megabytes of log lines; keeping them all would
    measure the driver's memory, not the function's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.leaks: list[str] = []
        self._tail = b""
        self._carry = b""

    def write(self, data: bytes) -> None:
        """Scan (across chunk borders) and keep the last KEPT_OUTPUT_BYTES."""
        window = self._carry + data
        found = leaked_secrets(window.decode("utf-8", "replace"))
        self.leaks.extend(secret for secret in found if secret not in self.leaks)
        self._carry = window[-256:]
        self._tail = (self._tail + data)[-KEPT_OUTPUT_BYTES:]

    def text(self) -> str:
        """The last part of the output."""
        return self._tail.decode("utf-8", "replace")


@dataclass
class Expected:
    """The model's view of one session."""

    user: str
    metadata: dict[str, Any]
    version: int


def http_event(
    method: str,
    path: str,
    user: str | None,
    body: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> dict[str, Any]:
    """A payload 2.0 event as API Gateway sends it, with a JWT authorizer."""
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "soak",
        "domainName": "soak.example.com",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "soak",
        },
        "requestId": os.urandom(8).hex(),
        "routeKey": "$default",
        "stage": "$default",
        "timeEpoch": int(time.time() * 1000),
    }
    if user is not None:
        context["authorizer"] = {"jwt": {"claims": {"sub": user}, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "content-type": "application/json",
            "authorization": "Bearer " + BEARER_TOKEN,
            **(headers or {}),
        },
        "cookies": ["sid=" + COOKIE_VALUE],
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body

    return event


class Soak:
    """
    One soak run: the function under the emulator, the model, the checks.

    Args:
        emulator: a started emulator running the sessions function.
        client: a DynamoDB client for the final scan.
        summary: where the counts go.
        seed: the random seed of the request mix.
        users: how many users send requests.
    """

    def __init__(
        self,
        emulator: Emulator,
        client: Any,
        summary: Summary,
        seed: int,
        users: int = 12,
    ) -> None:
        self.emulator = emulator
        self.client = client
        self.summary = summary
        # A seeded mix, replayable from its seed; nothing here is a secret.
        self.random = random.Random(seed)  # noqa: S311
        self.users = [f"user-{number}" for number in range(users)]
        self.model: dict[str, Expected] = {}
        self.by_user: dict[str, list[str]] = {user: [] for user in self.users}
        kinds, weights = zip(*MIX, strict=True)
        self._kinds = kinds
        self._weights = weights
        self._started = 0.0
        self._pid = 0
        self._steps: dict[str, Callable[[str], None]] = {
            "create": self.create,
            "read": self.read,
            "patch": self.patch,
            "list": self.list_sessions,
            "delete": self.delete,
            "malformed": self.malformed,
        }

    # ---------------------------------------------------------------- driving

    def run_part(self, count: int, warmup: int, sample_every: int = 1000) -> None:
        """Send `count` more requests; the first memory sample after `warmup`."""
        if not self._started:
            self._started = time.monotonic()
        for _ in range(count):
            kind = self.random.choices(self._kinds, self._weights)[0]
            user = self.random.choice(self.users)
            self._steps[kind](user)
            self.summary.by_kind[kind] = self.summary.by_kind.get(kind, 0) + 1
            self.summary.invocations += 1
            done = self.summary.invocations
            if done == warmup:
                self._pid = function_pids(self.emulator)[0]
                self.summary.rss_after_warmup_kib = resident_kib(self._pid)
            if self._pid and done % sample_every == 0:
                self._sample(self._pid)

    def finish(self) -> None:
        """Last memory sample, duration and rate, process starts."""
        summary = self.summary
        if self._pid:
            self._sample(self._pid)
            summary.rss_at_end_kib = resident_kib(self._pid)
            summary.rss_growth_kib = (
                summary.rss_at_end_kib - summary.rss_after_warmup_kib
            )
        summary.duration_s = time.monotonic() - self._started
        summary.rate_per_s = summary.invocations / max(summary.duration_s, 1e-9)
        summary.process_starts = self.emulator.process_starts

    def _sample(self, pid: int) -> None:
        self.summary.rss_peak_kib = max(self.summary.rss_peak_kib, resident_kib(pid))

    def send(self, event: dict[str, Any] | bytes) -> dict[str, Any] | None:
        """Invoke; the API answer, or None for a function error (counted)."""
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        result = self.emulator.invoke(payload)
        if result.function_error is not None:
            return None
        answer: dict[str, Any] = json.loads(result.body)
        if answer["statusCode"] >= 500:
            self.summary.status_5xx += 1
            self.summary.note(f"{answer['statusCode']}: {answer.get('body')!r:.200}")

        return answer

    def expect(self, what: str, answer: dict[str, Any] | None, status: int) -> bool:
        """Check the status; count and note a surprise. True when as expected."""
        if answer is None:
            self.summary.function_errors += 1
            self.summary.note(f"{what}: function error")
            return False
        if answer["statusCode"] != status:
            self.summary.unexpected += 1
            self.summary.note(
                f"{what}: {answer['statusCode']} instead of {status}: "
                f"{answer.get('body')!r:.200}"
            )
            return False

        return True

    def mismatch(self, what: str) -> None:
        """An answer with the right status and the wrong content."""
        self.summary.unexpected += 1
        self.summary.note(what)

    # ------------------------------------------------------------- operations

    def create(self, user: str) -> None:
        """POST /sessions; the new session joins the model."""
        if len(self.by_user[user]) >= MAX_SESSIONS_PER_USER:
            self.delete(user)
            return
        metadata = {"k0": self.random.randrange(1000)}
        answer = self.send(
            http_event("POST", "/sessions", user, json.dumps({"metadata": metadata}))
        )
        if not self.expect("create", answer, 201):
            return
        assert answer is not None
        session = json.loads(answer["body"])
        if session["session_id"] in self.model:
            self.mismatch(f"create returned an existing id {session['session_id']}")
            return
        self.model[session["session_id"]] = Expected(user, metadata, 1)
        self.by_user[user].append(session["session_id"])

    def _pick(self, user: str) -> str | None:
        sessions = self.by_user[user]

        return self.random.choice(sessions) if sessions else None

    def read(self, user: str) -> None:
        """GET one of the user's sessions (or another's: 404)."""
        session_id = self._pick(user)
        if session_id is None:
            self.create(user)
            return
        other = self.random.random() < 0.1
        reader = user + "-intruder" if other else user
        answer = self.send(http_event("GET", "/sessions/" + session_id, reader))
        if not self.expect("read", answer, 404 if other else 200) or other:
            return
        assert answer is not None
        self._compare("read", session_id, json.loads(answer["body"]))

    def patch(self, user: str) -> None:
        """PATCH with If-Match: the current version (200) or a stale one (412)."""
        session_id = self._pick(user)
        if session_id is None:
            self.create(user)
            return
        expected = self.model[session_id]
        stale = expected.version > 1 and self.random.random() < 0.1
        version = expected.version - 1 if stale else expected.version
        key = f"k{self.random.randrange(METADATA_KEYS)}"
        value = self.random.randrange(1_000_000)
        answer = self.send(
            http_event(
                "PATCH",
                "/sessions/" + session_id,
                user,
                json.dumps({"metadata": {key: value}}),
                headers={"if-match": f'"{version}"'},
            )
        )
        if not self.expect("patch", answer, 412 if stale else 200) or stale:
            return
        assert answer is not None
        expected.metadata = {**expected.metadata, key: value}
        expected.version += 1
        self._compare("patch", session_id, json.loads(answer["body"]))

    def list_sessions(self, user: str) -> None:
        """GET /sessions: exactly the user's sessions in the model."""
        answer = self.send(http_event("GET", "/sessions", user, query="limit=100"))
        if not self.expect("list", answer, 200):
            return
        assert answer is not None
        page = json.loads(answer["body"])
        listed = {session["session_id"] for session in page["sessions"]}
        if listed != set(self.by_user[user]) or page["next_cursor"] is not None:
            self.mismatch(
                f"list for {user}: {len(listed)} listed, "
                f"{len(self.by_user[user])} in the model"
            )

    def delete(self, user: str) -> None:
        """DELETE one of the user's sessions; it leaves the model."""
        session_id = self._pick(user)
        if session_id is None:
            self.create(user)
            return
        answer = self.send(http_event("DELETE", "/sessions/" + session_id, user))
        if not self.expect("delete", answer, 204):
            return
        del self.model[session_id]
        self.by_user[user].remove(session_id)

    def malformed(self, user: str) -> None:
        """A request the service must refuse with the right 4xx, or bad bytes."""
        some_id = self._pick(user) or "0" * 32
        cases: list[tuple[str, dict[str, Any] | bytes, int | None]] = [
            ("body not JSON", http_event("POST", "/sessions", user, "{nope"), 400),
            ("body a list", http_event("POST", "/sessions", user, "[1, 2]"), 422),
            (
                "unknown field",
                http_event("POST", "/sessions", user, '{"owner": "x"}'),
                422,
            ),
            (
                "metadata too large",
                http_event(
                    "POST",
                    "/sessions",
                    user,
                    json.dumps({"metadata": {"x": "y" * 9000}}),
                ),
                422,
            ),
            (
                "body over the limit",
                http_event("POST", "/sessions", user, "x" * 20_000),
                413,
            ),
            ("no identity", http_event("GET", "/sessions", None), 401),
            ("unknown path", http_event("GET", "/nowhere", user), 404),
            ("wrong method", http_event("PUT", "/sessions", user), 405),
            ("bad limit", http_event("GET", "/sessions", user, query="limit=0"), 400),
            (
                "bad If-Match",
                http_event(
                    "PATCH",
                    "/sessions/" + some_id,
                    user,
                    "{}",
                    headers={"if-match": "not a tag"},
                ),
                400,
            ),
            (
                "bad cursor",
                http_event("GET", "/sessions", user, query="cursor=AAAA"),
                400,
            ),
            ("not an HTTP event", {"hello": "world"}, 400),
            ("event not JSON", b"{not json", None),
        ]
        what, event, status = self.random.choice(cases)
        if status is None:
            # The runtime refuses the bytes itself, as Lambda does.
            payload = event if isinstance(event, bytes) else b""
            result = self.emulator.invoke(payload)
            error = json.loads(result.body) if result.function_error else {}
            if error.get("errorType") != "Runtime.UnmarshalError":
                self.mismatch(f"{what}: {result.body!r:.200}")
            return
        self.expect(what, self.send(event), status)

    def _compare(self, what: str, session_id: str, session: dict[str, Any]) -> None:
        expected = self.model[session_id]
        if (
            session["session_id"] != session_id
            or session["user_id"] != expected.user
            or session["metadata"] != expected.metadata
            or session["version"] != expected.version
        ):
            self.mismatch(f"{what} {session_id}: {session} vs {expected}")

    # ------------------------------------------------------------------ final

    def verify_table(self) -> None:
        """Scan the table and compare every item with the model."""
        stored: dict[str, dict[str, Any]] = {}
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=TABLE_NAME, ConsistentRead=True):
            for item in page["Items"]:
                stored[item["session_id"]["S"]] = item
        self.summary.items_at_end = len(stored)
        lost = set(self.model) - set(stored)
        extra = set(stored) - set(self.model)
        self.summary.lost_items = len(lost)
        self.summary.extra_items = len(extra)
        for session_id in sorted(lost)[:3]:
            self.summary.note(f"lost {session_id}")
        for session_id in sorted(extra)[:3]:
            self.summary.note(f"extra {session_id}")
        for session_id in set(self.model) & set(stored):
            item, expected = stored[session_id], self.model[session_id]
            if (
                item["user_id"]["S"] != expected.user
                or json.loads(item["metadata"]["S"]) != expected.metadata
                or int(item["version"]["N"]) != expected.version
            ):
                self.summary.mismatched_items += 1
                self.summary.note(f"stored {session_id} differs from the model")


def bootstrap_command(frozen: Path | None) -> tuple[list[str], str]:
    """The runtime to soak and how to name it in the summary."""
    if frozen is not None and os.access(frozen, os.X_OK):
        return [str(frozen)], f"frozen {frozen}"

    return [sys.executable, "-m", "bootstrap"], f"CPython {sys.version.split()[0]}"


def make_client(endpoint_url: str) -> Any:
    """A DynamoDB client for the final scan, with the function's access key."""
    return botocore.session.get_session().create_client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key="soak",
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )


def run_soak(
    invocations: int,
    seed: int = 7,
    warmup: int | None = None,
    frozen: Path | None = FROZEN_BOOTSTRAP,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """
    Run a soak and return its summary.

    Args:
        invocations: how many requests to send.
        seed: the random seed of the mix.
        warmup: requests before the first memory sample (default: a tenth, at
            least 500 and at most 5000).
        frozen: the frozen bootstrap to use when it exists.
        progress: called with a line every 10 % of the run.
    """
    warmup = warmup or min(max(invocations // 10, 500), 5000)
    command, runtime = bootstrap_command(frozen)
    summary = Summary(runtime=runtime)
    with DynamoDBLocal() as dynamodb:
        client = make_client(dynamodb.endpoint_url)
        ensure_table(client, TABLE_NAME)
        env = {
            "_HANDLER": "handler.app.lambda_handler",
            "LAMBDA_TASK_ROOT": str(PROJECT_ROOT),
            "PYTHONPATH": str(PROJECT_ROOT),
            "SESSIONS_TABLE": TABLE_NAME,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint_url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            **secret_env(),
        }
        with Emulator(command, env=env, timeout_s=10.0, memory_mb=256) as emulator:
            sink = ScanningSink()
            # Before the first invoke: the process is started with this sink.
            emulator.environment.sink = sink
            soak = Soak(emulator, client, summary, seed)
            chunk = max(invocations // 10, 1)
            done = 0
            while done < invocations:
                step = min(chunk, invocations - done)
                soak.run_part(step, warmup)
                done += step
                if progress is not None:
                    progress(
                        f"{done}/{invocations} invocations, "
                        f"5xx {summary.status_5xx}, "
                        f"unexpected {summary.unexpected}"
                    )
            soak.finish()
            summary.leaked_secrets = len(sink.leaks)
            if sink.leaks:
                summary.note("secrets in the output")
        soak.verify_table()

    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line: run, print the summary, exit 0 only when it holds."""
    parser = argparse.ArgumentParser(prog="python -m tests.soak.soak")
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--json", type=Path, help="write the summary here too")
    parser.add_argument("--cpython", action="store_true", help="ignore dist/bootstrap")
    args = parser.parse_args(argv)

    frozen = None if args.cpython else FROZEN_BOOTSTRAP
    summary = run_soak(
        args.invocations,
        seed=args.seed,
        warmup=args.warmup,
        frozen=frozen,
        progress=lambda line: print(line, flush=True),
    )
    for line in summary.lines():
        print(line)
    if args.json is not None:
        args.json.write_text(
            json.dumps({**asdict(summary), "ok": summary.ok}, indent=2)
        )

    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
