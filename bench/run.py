"""
`make bench`: every peer on every workload, interleaved, with ratios in one run.

For each workload the peers take turns (round-robin, in a shuffled order each
round so that no peer always follows the same neighbour), one cold start each,
for --runs rounds; then each peer serves --warm invokes on one process. One
uncounted start per peer comes first, so that page cache and bytecode caches
are warm for everyone alike. Progress goes to stderr, the table to stdout, and
JSON, Markdown and a PNG chart to --results-dir.
"""

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import chart, report
from bench.errors import BenchError, PeerUnavailableError, RunFailedError, SetupError
from bench.measure import Job, RunContext, cold_run, warm_series
from bench.peers import (
    TRUST_FULL,
    TRUST_PRODUCTION,
    TRUST_TRIMMED,
    Peer,
    Skipped,
    check_python_peer,
    floor_peers,
    frozen_peers,
    python_peers,
    real_python,
    telemetry_off_peer,
    zip_bytes,
)
from bench.process import BUILD_DIR, REPO_ROOT, Spawner
from bench.runtime_api import RuntimeAPIServer
from bench.tls import TLSMaterial, TLSTerminator, bundle_with_roots, make_material
from bench.workloads import WORKLOADS, Workload, session_id_from

RESULTS_DIR = REPO_ROOT / "bench" / "results"
README = REPO_ROOT / "README.md"
README_BEGIN = "<!-- bench:begin -->"
README_END = "<!-- bench:end -->"
TABLE_NAME = "bench-sessions"
# A peer that fails this many cold starts in a row is dropped from the workload.
MAX_CONSECUTIVE_FAILURES = 3

# Lambda's environment for a function, minus what each run adds. Fake
# credentials: DynamoDB Local accepts any, and no real key is ever read.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "TZ": ":UTC",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIDBENCHEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "bench-secret-not-real",
    "AWS_SESSION_TOKEN": "bench-session-token",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/03/[$LATEST]bench",
    # The deployed configuration (template.yaml): JSON logs, tracing active.
    "AWS_LAMBDA_LOG_FORMAT": "JSON",
    "AWS_LAMBDA_LOG_LEVEL": "INFO",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    # Lambda has no shared AWS config or credentials file: make sure none of
    # this machine's is read (the path does not exist).
    "AWS_CONFIG_FILE": str(BUILD_DIR / "no-aws-config"),
    "AWS_SHARED_CREDENTIALS_FILE": str(BUILD_DIR / "no-aws-credentials"),
}


class Progress:
    """One live line on a terminal; one line per round otherwise (CI logs)."""

    def __init__(self, total: int) -> None:
        self._total = max(total, 1)
        self._done = 0
        self._started = time.monotonic()
        self._live = sys.stderr.isatty()

    def step(self, text: str) -> None:
        """Count one cold start and show where the bench is."""
        self._done += 1
        if self._live:
            elapsed = time.monotonic() - self._started
            left = elapsed / self._done * (self._total - self._done)
            sys.stderr.write(
                f"\r\x1b[K[{self._done}/{self._total}, ~{left:.0f} s left] {text}"
            )
            sys.stderr.flush()

    def note(self, text: str) -> None:
        """A line that stays: a round's summary, a failure, a phase."""
        if self._live:
            sys.stderr.write("\r\x1b[K")
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


class Bench:
    """The run: peers, workloads, the shared parts, and every sample taken."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.peers: list[Peer] = []
        self.skipped: list[Skipped] = []
        self.workloads: list[Workload] = []
        self.series: dict[tuple[str, str], report.Series] = {}
        self.dynamodb_url: str | None = None
        self.tls_url: str | None = None
        self.tls_material: TLSMaterial | None = None
        self.bundles: dict[Path, Path] = {}
        self.session_id: str | None = None
        self.xray_port = 0
        self.load_at_start: list[float] = []
        # Only the order of peers in a round: not a security use.
        self.rng = random.Random(options.seed)  # noqa: S311

    # -- selection ----------------------------------------------------------------

    def select(self) -> None:
        """Decide which peers and workloads run; note why the others do not."""
        python = real_python()
        candidates: list[Peer] = []
        frozen, skipped = frozen_peers(extra=self.options.frozen)
        candidates += frozen
        if frozen:
            # The first layout found is measured once more with telemetry off,
            # next to the deployed configuration (JSON logs, traces, metrics).
            candidates.append(telemetry_off_peer(frozen[0]))
        self.skipped += skipped
        for peer in python_peers(python):
            try:
                check_python_peer(peer)
            except PeerUnavailableError as exc:
                self.skipped.append(Skipped(peer.name, str(exc)))
                continue
            candidates.append(peer)
        candidates += floor_peers(python)
        wanted = self.options.peers
        self.peers = [
            peer
            for peer in candidates
            if not wanted
            or any(peer.name == w or peer.name.startswith(w + ":") for w in wanted)
        ]
        if self.options.trust_store != TRUST_PRODUCTION:
            self.peers = [
                dataclasses.replace(peer, trust_store=self.options.trust_store)
                for peer in self.peers
            ]

        for name in self.options.workloads:
            workload = WORKLOADS[name]
            missing = [p for p in workload.required_files if not p.exists()]
            if missing:
                reason = ", ".join(str(p.relative_to(REPO_ROOT)) for p in missing)
                self.skipped.append(Skipped(f"workload {name}", f"missing {reason}"))
                continue
            self.workloads.append(workload)

    # -- shared parts ------------------------------------------------------------

    @contextlib.contextmanager
    def services(self) -> Iterator[None]:
        """DynamoDB Local, its table, the TLS terminator and an X-Ray sink."""
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            # Segments sent to the daemon address land here and are dropped
            # unread: sending them is the function's cost, not receiving.
            sink.bind(("127.0.0.1", 0))
            self.xray_port = sink.getsockname()[1]
            if any(w.uses_dynamodb for w in self.workloads):
                try:
                    self.dynamodb_url = self._start_dynamodb(stack)
                except (BenchError, ImportError, OSError) as exc:
                    self._skip_dynamodb(f"DynamoDB Local did not start: {exc}")
            if self.dynamodb_url and any(w.tls for w in self.workloads):
                try:
                    self.tls_url = self._start_tls(stack, self.dynamodb_url)
                except (BenchError, ImportError, OSError) as exc:
                    self._skip_workloads(
                        lambda w: w.tls, f"TLS terminator did not start: {exc}"
                    )
            yield

    def _start_dynamodb(self, stack: contextlib.ExitStack) -> str:
        # Imported here, not at the top: hello must still run (and the DynamoDB
        # workloads be skipped with a note) when the service's modules are
        # missing or broken.
        import boto3  # noqa: PLC0415

        from emulator.dynamodb_local import DynamoDBLocal  # noqa: PLC0415
        from handler.table import ensure_table  # noqa: PLC0415

        self.progress_note("starting DynamoDB Local")
        dynamodb = stack.enter_context(DynamoDBLocal())
        endpoint = str(dynamodb.endpoint_url)
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=BASE_ENV["AWS_REGION"],
            aws_access_key_id=BASE_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=BASE_ENV["AWS_SECRET_ACCESS_KEY"],
        )
        ensure_table(client, TABLE_NAME)

        return endpoint

    def _start_tls(self, stack: contextlib.ExitStack, upstream: str) -> str:
        material = make_material(BUILD_DIR / "tls")
        self.tls_material = material
        port = int(upstream.rsplit(":", 1)[1])
        terminator = stack.enter_context(TLSTerminator(material, port))

        return terminator.endpoint_url

    def _skip_workloads(self, which: Any, reason: str) -> None:
        for workload in [w for w in self.workloads if which(w)]:
            self.skipped.append(Skipped(f"workload {workload.name}", reason))
            self.workloads.remove(workload)

    def _skip_dynamodb(self, reason: str) -> None:
        self._skip_workloads(lambda w: w.uses_dynamodb, reason)

    def progress_note(self, text: str) -> None:
        """Print a phase line on stderr."""
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    # -- environment ------------------------------------------------------------

    def env(self, peer: Peer, workload: Workload, api: str) -> dict[str, str]:
        """The function's environment for one peer on one workload."""
        task_root = workload.task_root
        if workload.packaged and peer.task_root is not None:
            task_root = peer.task_root
        env = dict(BASE_ENV)
        env["AWS_LAMBDA_RUNTIME_API"] = api
        env["_HANDLER"] = workload.handler
        env["LAMBDA_TASK_ROOT"] = str(task_root)
        env["AWS_XRAY_DAEMON_ADDRESS"] = f"127.0.0.1:{self.xray_port}"
        if peer.python_path:
            # python -m awslambdaric imports the handler from sys.path, as the
            # managed Python runtime does from /var/task: same path for both.
            paths = dict.fromkeys([str(task_root), str(REPO_ROOT)])
            env["PYTHONPATH"] = os.pathsep.join(paths)
        if workload.uses_dynamodb:
            env["SESSIONS_TABLE"] = TABLE_NAME
            env["TRUST_USER_ID_HEADER"] = "true"
            endpoint = self.tls_url if workload.tls else self.dynamodb_url
            env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint or ""
        env.update(peer.env)
        bundle = self.trust_bundle(peer) if workload.tls else None
        if bundle is not None:
            env["AWS_CA_BUNDLE"] = str(bundle)

        return env

    def trust_bundle(self, peer: Peer) -> Path | None:
        """
        The CA bundle a peer verifies DynamoDB's certificate with; None for a
        peer that makes no TLS call (the floors).

        Raises:
            SetupError: the TLS terminator is not set up.
        """
        material = self.tls_material
        if material is None:
            raise SetupError("the TLS terminator is not running")
        if peer.trust_store == TRUST_FULL:
            return material.bundle_full
        if peer.trust_store == TRUST_TRIMMED:
            return material.bundle_trimmed
        if peer.roots is None:
            return None
        if peer.roots not in self.bundles:
            self.bundles[peer.roots] = bundle_with_roots(material, peer.roots)

        return self.bundles[peer.roots]

    # -- the run ----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Measure everything selected and return the result document."""
        started = _now()
        self.load_at_start = list(os.getloadavg())
        progress = Progress(
            len(self.workloads) * len(self.peers) * (self.options.runs + 1)
        )
        with (
            RuntimeAPIServer() as server,
            Spawner() as spawner,
            self.services(),
        ):
            log_dir = BUILD_DIR / "logs"
            log_dir.mkdir(parents=True, exist_ok=True)
            context = RunContext(server, spawner, log_dir, self.options.timeout_s)
            for workload in list(self.workloads):
                if workload not in self.workloads:
                    continue
                self._run_workload(context, workload, progress)

        return self._result(started)

    def _seed_session(self, context: RunContext) -> None:
        """Create the session that GET reads, through a runtime that works."""
        create = WORKLOADS["post-http"]
        for peer in self.peers:
            if peer.kind == "floor":
                continue
            try:
                cold_run(context, self._job(peer, create, context))
            except RunFailedError:
                continue
            # The run checked the answer; read it again for the id.
            body = context.server.invocations[0].response_body or b""
            self.session_id = session_id_from(create.check(body))
            return
        self._skip_workloads(
            lambda w: w.needs_session, "no runtime could create a session"
        )

    def _job(self, peer: Peer, workload: Workload, context: RunContext) -> Job:
        env = self.env(peer, workload, context.server.address)

        return Job(peer, workload, env, workload.event(self.session_id))

    def _run_workload(
        self, context: RunContext, workload: Workload, progress: Progress
    ) -> None:
        if workload.needs_session and self.session_id is None:
            self._seed_session(context)
            if workload not in self.workloads:
                return
        for peer in self.peers:
            self.series[(peer.name, workload.name)] = report.Series(
                peer.name, workload.name
            )
        active = self._warm_up(context, workload, progress)
        self._rounds(context, workload, active, progress)
        if self.options.warm > 0:
            self._warm_phase(context, workload, active, progress)

    def _warm_up(
        self, context: RunContext, workload: Workload, progress: Progress
    ) -> list[Peer]:
        """One uncounted start each, so caches are warm for everyone alike."""
        active = list(self.peers)
        progress.note(f"{workload.name}: warming up {len(active)} peers")
        for peer in self.peers:
            progress.step(f"{workload.name} warm-up {peer.name}")
            try:
                cold_run(context, self._job(peer, workload, context))
            except RunFailedError as exc:
                self._drop(peer, workload, active, f"failed its first start: {exc}")
                progress.note(f"  {peer.name} dropped from {workload.name}: {exc}")

        return active

    def _rounds(
        self,
        context: RunContext,
        workload: Workload,
        active: list[Peer],
        progress: Progress,
    ) -> None:
        """The measured cold starts: every active peer once per round."""
        streak = dict.fromkeys((peer.name for peer in active), 0)
        runs = self.options.runs
        for round_number in range(1, runs + 1):
            order = list(active)
            self.rng.shuffle(order)
            summary = []
            for peer in order:
                series = self.series[(peer.name, workload.name)]
                try:
                    sample = cold_run(context, self._job(peer, workload, context))
                except RunFailedError as exc:
                    series.failures.append(str(exc))
                    streak[peer.name] += 1
                    summary.append(f"{peer.name} FAILED")
                    progress.step(f"{workload.name} {peer.name} FAILED")
                    if streak[peer.name] >= MAX_CONSECUTIVE_FAILURES:
                        self._drop(peer, workload, active, f"failed in a row: {exc}")
                        progress.note(f"  {peer.name} dropped: {exc}")
                    continue
                streak[peer.name] = 0
                series.cold.append(sample)
                summary.append(f"{peer.name} {sample.cold_ms:.1f}")
                progress.step(
                    f"{workload.name} run {round_number}/{runs} "
                    f"{peer.name} {sample.cold_ms:.1f} ms"
                )
            if not sys.stderr.isatty():
                progress.note(
                    f"{workload.name} {round_number}/{runs}: " + ", ".join(summary)
                )

    def _warm_phase(
        self,
        context: RunContext,
        workload: Workload,
        active: list[Peer],
        progress: Progress,
    ) -> None:
        """Many invokes on one process per peer: warm latency and throughput."""
        for peer in active:
            if not peer.speaks_runtime_api:
                continue
            count = self.options.warm
            progress.note(f"{workload.name}: {count} warm invokes on {peer.name}")
            series = self.series[(peer.name, workload.name)]
            try:
                series.warm = warm_series(
                    context, self._job(peer, workload, context), count
                )
            except RunFailedError as exc:
                series.warm_error = str(exc)
                progress.note(f"  warm series of {peer.name} failed: {exc}")

    def _drop(
        self, peer: Peer, workload: Workload, active: list[Peer], reason: str
    ) -> None:
        if peer in active:
            active.remove(peer)
        self.series[(peer.name, workload.name)].dropped = reason

    # -- result -----------------------------------------------------------------

    def _result(self, started: str) -> dict[str, Any]:
        workloads: dict[str, Any] = {}
        for workload in self.workloads:
            figures = {
                peer.name: self.series[(peer.name, workload.name)].figures()
                for peer in self.peers
                if (peer.name, workload.name) in self.series
            }
            dropped = {
                peer.name: series.dropped
                for peer in self.peers
                if (series := self.series.get((peer.name, workload.name)))
                and series.dropped
            }
            failures = {
                name: [*series.failures[:5], *filter(None, [series.warm_error])]
                for (name, wl), series in self.series.items()
                if wl == workload.name and (series.failures or series.warm_error)
            }
            workloads[workload.name] = {
                "description": workload.description,
                "peers": figures,
                "ratios": report.ratios(figures),
                "dropped": dropped,
                "failures": failures,
            }
        zip_size = zip_bytes()

        return {
            "schema": 1,
            "started_at": started,
            "finished_at": _now(),
            "machine": {**_machine(), "load_average_at_start": self.load_at_start},
            "options": {
                "runs": self.options.runs,
                "warm": self.options.warm,
                "timeout_s": self.options.timeout_s,
                "seed": self.options.seed,
                "trust_store": self.options.trust_store,
            },
            "peers": [
                {
                    "name": peer.name,
                    "kind": peer.kind,
                    "command": list(peer.argv),
                    "trust_store": peer.trust_store,
                    "roots": str(peer.roots) if peer.roots else None,
                    "note": peer.note,
                }
                for peer in self.peers
            ],
            "skipped": [asdict(skipped) for skipped in self.skipped],
            "zip_bytes": zip_size,
            "workloads": workloads,
            "targets": report.targets(workloads, zip_size),
            "samples": {
                f"{peer}/{workload}": [asdict(sample) for sample in series.cold]
                for (peer, workload), series in self.series.items()
            },
        }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        match = re.search(
            r"^model name\s*:\s*(.+)$",
            Path("/proc/cpuinfo").read_text(encoding="utf-8"),
            re.MULTILINE,
        )
        if match:
            cpu = match.group(1).strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        timeout=10,
    ).stdout.strip()

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": list(os.getloadavg()),
        "commit": commit or None,
    }


def write_outputs(result: dict[str, Any], results_dir: Path) -> dict[str, Path]:
    """Write latest.json, a timestamped JSON, latest.md and latest.png."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["finished_at"].replace(":", "").replace("-", "")
    document = json.dumps(result, indent=1, sort_keys=False) + "\n"
    paths = {
        "json": results_dir / "latest.json",
        "history": results_dir / f"{stamp}.json",
        "markdown": results_dir / "latest.md",
        "chart": results_dir / "latest.png",
    }
    paths["json"].write_text(document, encoding="utf-8")
    paths["history"].write_text(document, encoding="utf-8")
    paths["markdown"].write_text(report.markdown_table(result), encoding="utf-8")
    chart.draw(result, paths["chart"])

    return paths


def update_readme(markdown: str, readme: Path = README) -> bool:
    """Replace the README's bench section between its markers; False if absent."""
    text = readme.read_text(encoding="utf-8")
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        return False
    chart_link = "![cold start per peer](bench/results/latest.png)\n"
    section = f"{README_BEGIN}\n{markdown}\n{chart_link}{README_END}"
    readme.write_text(
        text[:begin] + section + text[end + len(README_END) :], encoding="utf-8"
    )

    return True


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of `python -m bench`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Cold and warm benchmarks of the function against its peers.",
    )
    parser.add_argument("--runs", type=int, default=30, help="cold starts per peer")
    parser.add_argument(
        "--warm", type=int, default=200, help="warm invokes per peer (0: none)"
    )
    parser.add_argument(
        "--peers",
        type=lambda text: [p for p in text.split(",") if p],
        default=[],
        help="comma list: frozen, ours-cpython, awslambdaric, c-floor, "
        "python-floor, or frozen:<layout> (default: all)",
    )
    parser.add_argument(
        "--workloads",
        type=lambda text: [w for w in text.split(",") if w],
        default=None,
        help=f"comma list of {', '.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke: 2 runs, 20 warm invokes, hello only unless --workloads",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--timeout-s", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--frozen",
        type=Path,
        action="append",
        default=[],
        help="another frozen bootstrap to measure (repeatable)",
    )
    parser.add_argument(
        "--trust-store",
        choices=[TRUST_PRODUCTION, TRUST_FULL, TRUST_TRIMMED],
        default=TRUST_PRODUCTION,
        help="roots each peer trusts over TLS, plus the bench CA: production "
        "(what each would trust on Lambda), full (certifi) or trimmed (Amazon "
        "roots) for every peer",
    )
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="rewrite the README's Benchmarks section with this run",
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.runs = 2
        options.warm = 20
        options.workloads = options.workloads or ["hello"]
    options.workloads = options.workloads or list(WORKLOADS)
    unknown = [w for w in options.workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")
    if options.runs < 1:
        parser.error("--runs must be at least 1")

    return options


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when the outputs were written."""
    options = parse_options(argv)
    os.chdir(REPO_ROOT)
    bench = Bench(options)
    try:
        bench.select()
        if not bench.peers or not bench.workloads:
            sys.stderr.write("nothing to measure:\n")
            for skipped in bench.skipped:
                sys.stderr.write(f"  {skipped.name}: {skipped.reason}\n")
            return 1
        names = ", ".join(peer.name for peer in bench.peers)
        sys.stderr.write(
            f"peers: {names}\nworkloads: "
            f"{', '.join(w.name for w in bench.workloads)}; {options.runs} runs\n"
        )
        result = bench.run()
    except SetupError as exc:
        sys.stderr.write(f"bench setup failed: {exc}\n")
        return 1

    paths = write_outputs(result, options.results_dir)
    sys.stdout.write(report.text_table(result) + "\n")
    for kind, path in paths.items():
        sys.stderr.write(f"{kind}: {os.path.relpath(path, REPO_ROOT)}\n")
    if options.update_readme and not update_readme(report.markdown_table(result)):
        sys.stderr.write(f"README has no {README_BEGIN} section: left as is\n")

    return 0
