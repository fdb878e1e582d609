"""
The peers the function is measured against, and how each one is started.

    frozen:<layout>   the Nuitka-built bootstrap, one peer per layout in dist/
    ours-cpython      our runtime on plain CPython: .venv/bin/python -m bootstrap
    awslambdaric      the official client, python -m awslambdaric <handler>
    c-floor           a C client doing only GET /next and POST /response
    python-floor      python -S -I -c pass: an interpreter start, no runtime

A peer whose artifact is missing is skipped with a note, never faked.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.errors import PeerUnavailableError, SetupError
from bench.process import BUILD_DIR, REPO_ROOT, compile_c
from bench.workloads import Workload

DIST_DIR = REPO_ROOT / "dist"
FUNCTION_ZIP = DIST_DIR / "function.zip"
FLOOR_SOURCE = REPO_ROOT / "bench" / "floor" / "client.c"

# Over TLS each peer trusts what it would trust on Lambda plus the bench's CA,
# because the trust store's size is part of the first request's cost: the
# Python peers run stock botocore, which loads certifi's bundle; the frozen
# build embeds botocore's own bundle, or the one its dist/build.json names under
# "ca_bundle" (a trimmed build). `--trust-store full|trimmed` overrides this.
TRUST_PRODUCTION = "production"
TRUST_FULL = "full"
TRUST_TRIMMED = "trimmed"
BUILD_REPORT = DIST_DIR / "build.json"

ELF_MAGIC = b"\x7fELF"
# e_machine values of the ELF header, to skip builds for the other architecture.
ELF_MACHINES = {"x86_64": 62, "aarch64": 183}


@dataclass(frozen=True)
class Peer:
    """One way of running the function, with what the bench needs to start it."""

    name: str
    kind: str
    argv: tuple[str, ...]
    speaks_runtime_api: bool = True
    handler_as_argument: bool = False
    python_path: bool = False
    trust_store: str = TRUST_PRODUCTION
    roots: Path | None = None
    task_root: Path | None = None
    note: str = ""
    # Variables that differ from the deployed configuration (bench/run.py's
    # BASE_ENV), e.g. telemetry off for the with/without comparison.
    env: tuple[tuple[str, str], ...] = ()

    def command(self, workload: Workload) -> list[str]:
        """The argv that starts this peer for the workload."""
        argv = list(self.argv)
        if self.handler_as_argument:
            argv.append(workload.handler)

        return argv


@dataclass(frozen=True)
class Skipped:
    """A peer that could not run, and why."""

    name: str
    reason: str


def real_python() -> str:
    """
    Return the venv's interpreter, refusing anything that is not a real binary.

    A pyenv shim is a shell script that adds ~100 ms to every start; the venv's
    `python` symlink resolves to the interpreter itself and keeps the venv's
    site-packages, so the bench starts that path.

    Raises:
        SetupError: the venv's python is missing or not an ELF executable.
    """
    venv_python = REPO_ROOT / ".venv" / "bin" / "python"
    candidate = venv_python if venv_python.exists() else Path(sys.executable)
    with candidate.resolve().open("rb") as binary:
        if binary.read(4) != ELF_MAGIC:
            raise SetupError(f"{candidate} is not an ELF binary (a shim?)")

    return str(candidate)


def certifi_roots() -> Path | None:
    """The bundle stock botocore verifies with on CPython: certifi's."""
    spec = importlib.util.find_spec("certifi")
    if spec is None or spec.origin is None:
        return None

    return Path(spec.origin).parent / "cacert.pem"


def frozen_roots(dist: Path = DIST_DIR) -> Path | None:
    """
    The bundle the frozen build embeds: the one dist/build.json names under
    "ca_bundle", else botocore's own cacert.pem (what the build embeds unless
    told otherwise).
    """
    report = dist / "build.json"
    with contextlib.suppress(OSError, ValueError):
        named = json.loads(report.read_text(encoding="utf-8")).get("ca_bundle")
        if isinstance(named, str) and Path(named).is_file():
            return Path(named)
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        return None

    return Path(spec.origin).parent / "cacert.pem"


def python_peers(python: str) -> list[Peer]:
    """Our runtime on CPython and the official client, on the same interpreter."""
    return [
        Peer(
            name="ours-cpython",
            kind="runtime",
            argv=(python, "-m", "bootstrap"),
            python_path=True,
            roots=certifi_roots(),
            note="our runtime, not frozen",
        ),
        Peer(
            name="awslambdaric",
            kind="official",
            argv=(python, "-m", "awslambdaric"),
            handler_as_argument=True,
            python_path=True,
            roots=certifi_roots(),
            note="official runtime interface client, stock boto3",
        ),
    ]


def floor_peers(python: str) -> list[Peer]:
    """The C runtime client floor and the interpreter floor."""
    binary = compile_c(FLOOR_SOURCE, BUILD_DIR / "floor-client")

    return [
        Peer(name="c-floor", kind="floor", argv=(str(binary),), note="GET+POST in C"),
        Peer(
            name="python-floor",
            kind="floor",
            argv=(python, "-S", "-I", "-c", "pass"),
            speaks_runtime_api=False,
            note="interpreter start and exit, no runtime",
        ),
    ]


def check_python_peer(peer: Peer) -> None:
    """
    Raise PeerUnavailableError when a Python peer's code is not there.

    Raises:
        PeerUnavailableError: bootstrap/__main__.py or awslambdaric is missing.
    """
    if (
        peer.name == "ours-cpython"
        and not (REPO_ROOT / "bootstrap/__main__.py").exists()
    ):
        raise PeerUnavailableError("bootstrap/__main__.py is missing")
    if peer.name == "awslambdaric" and importlib.util.find_spec("awslambdaric") is None:
        raise PeerUnavailableError("awslambdaric is not installed in the venv")


def _host_elf_machine() -> int | None:
    return ELF_MACHINES.get(os.uname().machine)


def _runs_here(binary: Path) -> bool:
    """True for an executable ELF file built for this machine's architecture."""
    if not binary.is_file() or not os.access(binary, os.X_OK):
        return False
    with binary.open("rb") as handle:
        header = handle.read(20)
    if header[:4] != ELF_MAGIC:
        return False

    # e_machine: 2 bytes at offset 18, little-endian on both targets.
    return int.from_bytes(header[18:20], "little") == _host_elf_machine()


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)

    return sha.hexdigest()


def _extract_zip(archive: Path) -> Path:
    """
    Unpack the deployment zip the way Lambda does, executable bits included.

    Lambda runs /var/task/bootstrap from the unpacked zip; the bench unpacks into
    .build/bench/zip/<name>/ and runs that.
    """
    target = BUILD_DIR / "zip" / archive.stem
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            path = Path(bundle.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)

    return target


def frozen_peers(
    dist: Path = DIST_DIR, extra: Iterable[Path] = ()
) -> tuple[list[Peer], list[Skipped]]:
    """
    Find every runnable layout of the frozen bootstrap.

    A layout is an executable named `bootstrap` in a folder under dist/ (e.g.
    dist/layouts/single/bootstrap is the peer frozen:single), then the default
    dist/bootstrap (frozen:default), then the bootstrap at the root of each zip
    directly in dist/ once unpacked (frozen:function.zip). Byte-identical
    executables are measured once, under the first name, with a note on which
    other names they stand for; builds for another CPU are skipped.
    """
    candidates: list[tuple[str, Path]] = []
    if dist.is_dir():
        nested = [
            binary
            for binary in sorted(dist.rglob("bootstrap"))
            if binary.is_file() and binary.parent != dist
        ]
        candidates += [(binary.parent.name, binary) for binary in nested]
        if (dist / "bootstrap").is_file():
            candidates.append(("default", dist / "bootstrap"))
        for archive in sorted(dist.glob("*.zip")):
            candidates.append((archive.name, _extract_zip(archive) / "bootstrap"))
    candidates += [(str(path), path) for path in extra]

    peers: dict[str, Peer] = {}
    skipped: list[Skipped] = []
    by_digest: dict[str, str] = {}
    if not candidates:
        skipped.append(Skipped("frozen", f"no bootstrap in {dist}: run `make build`"))
    for label, binary in candidates:
        name = f"frozen:{label}"
        if not _runs_here(binary):
            skipped.append(Skipped(name, f"{binary} is not an executable for this CPU"))
            continue
        digest = _digest(binary)
        if digest in by_digest:
            first = peers[by_digest[digest]]
            peers[first.name] = replace(first, note=f"{first.note}, = {name}")
            skipped.append(Skipped(name, f"same executable as {first.name}"))
            continue
        by_digest[digest] = name
        peers[name] = Peer(
            name=name,
            kind="frozen",
            argv=(str(binary),),
            roots=frozen_roots(dist),
            task_root=binary.parent,
            note=os.path.relpath(binary, REPO_ROOT),
        )

    return list(peers.values()), skipped


# Logs as plain text and no traces, metrics or exporters: what the deployed
# configuration costs on a cold start is the gap between the two peers.
TELEMETRY_OFF_ENV = (("BOOTSTRAP_TELEMETRY", "off"), ("AWS_LAMBDA_LOG_FORMAT", "Text"))


def telemetry_off_peer(peer: Peer) -> Peer:
    """The same executable with logs as text and telemetry off."""
    return replace(
        peer,
        name=f"{peer.name}:telemetry-off",
        env=TELEMETRY_OFF_ENV,
        note=f"{peer.note}, telemetry off".lstrip(", "),
    )


def zip_bytes(archive: Path = FUNCTION_ZIP) -> int | None:
    """Size of the deployment zip, or None when it has not been built."""
    return archive.stat().st_size if archive.is_file() else None
