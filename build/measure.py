"""`python -m build.measure`: cold start of each layout against CPython, paired.

Cold start here is what Lambda bills as init plus the first invoke: from the
exec of the bootstrap to the first response received by the Runtime API. Each
round starts every peer once, in turn, so machine noise hits them alike; the
figures are medians over the rounds and ratios to the folder layout within the
same run. Peak RSS is the process's own (wait4), not the tooling's.

The sessions handler answers the build's smoke event (an unknown path: the
runtime, the event layer, the handler's init and its botocore client, no
DynamoDB call). `make bench` measures the full workloads; this decides which
layout the build ships (DEFAULT_LAYOUT in build/__main__.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from build.checks import SMOKE_TIMEOUT_S, lambda_environment, runtime_api
from build.freeze import ROOT


def cold_start(
    command: list[str], env: dict[str, str], handler: str | None = None
) -> tuple[float, int]:
    """
    Start `command` once against a one-event Runtime API.

    Returns:
        Milliseconds from exec to the first response, and peak RSS in KiB.
    """
    with runtime_api() as server:
        address = f"127.0.0.1:{server.server_address[1]}"
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env={
                **env,
                **lambda_environment(address),
                # A handler of the checkout (tests/handlers) loads from the
                # task root, as a user's handler would on Lambda.
                **(
                    {"_HANDLER": handler, "LAMBDA_TASK_ROOT": str(ROOT)}
                    if handler
                    else {}
                ),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        answered = server.done.wait(SMOKE_TIMEOUT_S)
        elapsed_ms = (time.perf_counter() - started) * 1000
        process.kill()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = status

    if not answered:
        raise RuntimeError(f"{command[0]} never answered")

    return elapsed_ms, usage.ru_maxrss


def peers(dist: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each peer's command and extra environment."""
    layouts = dist / "layouts"
    cpython = {"PYTHONPATH": str(ROOT), "LAMBDA_TASK_ROOT": str(ROOT)}

    return {
        "folder": ([str(layouts / "folder" / "bootstrap")], {}),
        "single": ([str(layouts / "single" / "bootstrap")], {}),
        "cpython": ([sys.executable, "-m", "bootstrap"], cpython),
    }


def main(argv: list[str]) -> int:
    """Measure, print a table and write JSON next to the build."""
    parser = argparse.ArgumentParser(prog="python -m build.measure")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument(
        "--handler",
        default=None,
        help="another handler, e.g. tests.handlers.echo.handler (default: sessions)",
    )
    arguments = parser.parse_args(argv)

    commands = peers(arguments.dist)
    times: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, list[int]] = {name: [] for name in commands}
    for round_number in range(arguments.rounds):
        for name, (command, env) in commands.items():
            elapsed_ms, peak_kib = cold_start(command, env, arguments.handler)
            times[name].append(elapsed_ms)
            rss[name].append(peak_kib)
        print(f"\rround {round_number + 1}/{arguments.rounds}", end="", flush=True)
    print()

    folder_median = statistics.median(times["folder"])
    results = {}
    for name in commands:
        ordered = sorted(times[name])
        median = statistics.median(ordered)
        results[name] = {
            "median_ms": round(median, 1),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
            "ratio_to_folder": round(median / folder_median, 3),
            "peak_rss_mib": round(max(rss[name]) / 1024, 1),
        }
        print(
            f"{name:8} median {median:7.1f} ms  p90 {results[name]['p90_ms']:7.1f} ms"
            f"  x{results[name]['ratio_to_folder']:.3f} of folder"
            f"  peak RSS {results[name]['peak_rss_mib']:.1f} MiB"
        )
    name = "cold-start" + (f"-{arguments.handler}" if arguments.handler else "")
    output = arguments.dist / f"{name}.json"
    summary = {"rounds": arguments.rounds, "handler": arguments.handler, **results}
    output.write_text(json.dumps(summary, indent=2))

    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
