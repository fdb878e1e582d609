"""Command line of the emulator.

python -m emulator [--port P] [--timeout-s 3] [--memory-mb 128]
                   [--concurrency N] [--handler H] -- <bootstrap command...>
python -m emulator serve [--port 3000] [--frozen PATH]
"""

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from emulator.api import Emulator
from emulator.errors import EmulatorError

logger = logging.getLogger("emulator")


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Run a Lambda bootstrap command behind a local Runtime API.",
        epilog="Invoke with: curl -d '{}' "
        "http://127.0.0.1:PORT/2015-03-31/functions/function/invocations",
    )
    parser.add_argument("--port", type=int, default=9001, help="0 picks a free port")
    parser.add_argument("--timeout-s", type=float, default=3.0)
    parser.add_argument("--memory-mb", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--init-timeout-s", type=float, default=10.0)
    parser.add_argument("--handler", help="_HANDLER for the function")
    parser.add_argument(
        "--limit-memory", action="store_true", help="enforce --memory-mb as RLIMIT_AS"
    )
    parser.add_argument("-v", "--verbose", action="store_true")

    return parser


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m emulator serve",
        description="The sessions API behind an API Gateway (payload 2.0) front, "
        "with DynamoDB Local.",
    )
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--frozen", type=Path, help="the frozen bootstrap executable")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="DynamoDB Local's data directory (default: .dynamodb/ in the checkout)",
    )
    parser.add_argument("--timeout-s", type=float, default=10.0)
    parser.add_argument("--memory-mb", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("-v", "--verbose", action="store_true")

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["serve"]:
        return _serve(args_in[1:])

    command: list[str] = []
    if "--" in args_in:
        split = args_in.index("--")
        args_in, command = args_in[:split], args_in[split + 1 :]
    parser = _run_parser()
    args = parser.parse_args(args_in)
    if not command:
        parser.error("give the bootstrap command after --")
    _configure_logging(args.verbose)

    env = {"_HANDLER": args.handler} if args.handler else None
    try:
        emulator = Emulator(
            command,
            env=env,
            timeout_s=args.timeout_s,
            memory_mb=args.memory_mb,
            concurrency=args.concurrency,
            port=args.port,
            init_timeout_s=args.init_timeout_s,
            limit_memory=args.limit_memory,
            echo_logs=True,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        emulator.start()
    except OSError as exc:
        print(
            f"emulator: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr
        )
        return 1

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"emulator listening on 127.0.0.1:{emulator.port}", flush=True)
    print(f"invoke: curl -d '{{}}' {emulator.invoke_url}", flush=True)
    try:
        stop.wait()
    finally:
        emulator.close()

    return 0


def _serve(args_in: list[str]) -> int:
    args = _serve_parser().parse_args(args_in)
    _configure_logging(args.verbose)
    from emulator.serve import serve  # noqa: PLC0415 - serve pulls in boto3

    try:
        serve(
            port=args.port,
            frozen=args.frozen,
            timeout_s=args.timeout_s,
            data_dir=args.data_dir,
            memory_mb=args.memory_mb,
            concurrency=args.concurrency,
        )
    except (EmulatorError, OSError) as exc:
        print(f"emulator serve: {exc}", file=sys.stderr)
        return 1

    return 0


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="emulator %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
