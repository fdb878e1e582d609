"""Nuitka's options for freezing `python -m bootstrap`, each with its reason."""

from __future__ import annotations

import gzip
import json
import marshal
import os
import platform
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore

from build import regex_cache, trust
from build.errors import BuildError, ToolError

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
WORK_DIR = ROOT / ".build" / "freeze"
# A copy of the CA bundle compiled into the binary, for the bench and tests.
EMBEDDED_CA_BUNDLE = WORK_DIR / "ca-bundle.pem"
# Where setup.py has Cython write the C of the runtime's modules.
CYTHON_OUTPUT_DIR = ROOT / ".build" / "cython"

# The handler the frozen runtime serves; bootstrap imports it by name at run
# time, which Nuitka cannot see, so its package is compiled in explicitly.
HANDLER_PACKAGE = "handler"

# The name Nuitka gives the binary; the layouts ship it as `bootstrap`.
EXECUTABLE = "bootstrap.bin"

# What a DynamoDB client reads from botocore/data, found with strace on
# `create_client("dynamodb")` and a first call (endpoints and partitions for
# the endpoint resolver, the defaults of the "standard"/"legacy" modes, the
# legacy retry table) plus the paginators and waiters a table setup may use.
# Paths are relative to botocore/data; .json.gz files are stored decompressed.
BOTOCORE_DATA = (
    "_retry.json",
    "endpoints.json",
    "partitions.json",
    "sdk-default-configuration.json",
    "dynamodb/2012-08-10/service-2.json.gz",
    "dynamodb/2012-08-10/endpoint-rule-set-1.json.gz",
    "dynamodb/2012-08-10/paginators-1.json",
    "dynamodb/2012-08-10/waiters-2.json",
)


# Standard library modules Nuitka ships with every standalone build although
# nothing the function runs imports them (the compilation report's reason:
# "part of the non-excluded parts of standard library"): tools, other
# protocols, interactive shells. Where a shipped module names one, it is
# inside a function for a path a DynamoDB service never takes (urllib.request's
# ftp:// handler, warnings' allocation tracebacks under tracemalloc, sysconfig's
# printing and macOS/AIX helpers).
STDLIB_NEVER_IMPORTED = (
    "__hello__",
    "__phello__",
    "_aix_support",
    "_osx_support",
    "_pyio",
    "cgi",
    "cgitb",
    "chunk",
    "cmd",
    "code",
    "codeop",
    "colorsys",
    "crypt",
    "difflib",
    "filecmp",
    "fileinput",
    "ftplib",
    "getopt",
    "graphlib",
    "imaplib",
    "imghdr",
    "imp",
    "mailcap",
    "modulefinder",
    "netrc",
    "pickletools",
    "pipes",
    "poplib",
    "pprint",
    "pstats",
    "pyclbr",
    "rlcompleter",
    "sched",
    "sndhdr",
    "socketserver",
    "symtable",
    "timeit",
    "tomllib",
    "trace",
    "tracemalloc",
    "uu",
    "webbrowser",
    "xdrlib",
)

# Packages shipped as bytecode instead of C: a cold start never imports them,
# and Nuitka's C for a module is several times the size of its bytecode (the
# zip pays for every byte). They still work, at interpreter speed, on the
# rare path that imports them.
BYTECODE_PACKAGES = (
    ("dateutil", "timestamps and expiry times; DynamoDB item calls parse none"),
    ("six", "only dateutil imports it (botocore has its own, vendored)"),
    (
        "botocore.vendored.six",
        "botocore.compat's six, for code that imports it from there; botocore "
        "itself uses none of it",
    ),
    ("botocore.crt", "the optional CRT signers; awscrt is not shipped"),
    (
        "bootstrap._wire_py",
        "the pure-Python twins of the compiled parsers, for "
        "BOOTSTRAP_NO_EXTENSIONS=1 only",
    ),
    ("bootstrap.http._events_py", "see the line above"),
    (
        "jmespath",
        "paginators, waiters and batch calls' endpoint rules; the service's "
        "item calls and queries use none of them",
    ),
    ("handler.openapi", "builds the contract for GET /openapi.json only"),
    *(
        (f"botocore.docs.{name}", "reference docs; only botocore.docs.utils is used")
        for name in (
            "bcdoc",
            "client",
            "docstring",
            "example",
            "method",
            "paginator",
            "params",
            "service",
            "shape",
            "sharedexample",
            "translator",
            "waiter",
        )
    ),
)


@dataclass(frozen=True)
class Option:
    """One Nuitka command-line option and why the build sets it."""

    flag: str
    reason: str


def nuitka_options(output_dir: Path, jobs: int) -> list[Option]:
    """The whole freeze recipe: every option Nuitka gets, in one place."""
    return [
        Option(
            "--mode=standalone",
            "a folder with the binary and its shared objects next to it; the "
            "single file is assembled from it (build/single.py) because "
            "--onefile extracts everything to /tmp at every cold start",
        ),
        Option("--python-flag=-m", "compile the package as `python -m bootstrap`"),
        Option(
            f"--output-filename={EXECUTABLE}",
            "Lambda executes /var/task/bootstrap, but the runtime package is "
            "also named bootstrap and Nuitka puts its extension modules in a "
            "bootstrap/ folder: the layouts rename the binary (build/single.py)",
        ),
        Option(f"--output-dir={output_dir}", "keep Nuitka's work out of dist/"),
        Option(
            "--python-flag=no_site",
            "site.py looks for site-packages and .pth files that a frozen "
            "binary does not have: a few ms on every cold start for nothing",
        ),
        Option(
            "--python-flag=no_docstrings",
            "docstrings are only read by help(); dropping them shrinks the "
            "binary and the constants unpacked at start",
        ),
        Option(
            "--python-flag=isolated",
            "PYTHON* variables of the environment must not change the frozen program",
        ),
        Option(
            f"--include-package={HANDLER_PACKAGE}",
            "the runtime imports _HANDLER by name at run time, out of Nuitka's sight",
        ),
        Option("--include-package=bootstrap", "every runtime module, lazy ones too"),
        Option(
            "--include-module=_json",
            "anti-bloat drops the C JSON accelerator when boto3 is included; "
            "botocore then parses its models in pure Python, 1.4x slower",
        ),
        Option(
            "--include-module=_bisect",
            "anti-bloat drops it too; bisect falls back to pure Python",
        ),
        Option(
            "--include-module=embedded_files",
            "the botocore data the function reads, generated by this build "
            "and served from memory by build/embedded.py",
        ),
        Option("--include-module=build.embedded", "see the line above"),
        Option(
            "--include-module=bootstrap_regex_cache",
            "the SRE opcodes of the regular expressions the cold path "
            "compiles, generated by build/regex_cache.py; bootstrap/__main__.py "
            "imports it, out of Nuitka's sight",
        ),
        Option("--include-module=build.precompiled_regex", "see the line above"),
        Option(
            "--include-module=build.lazy",
            "the lazy stand-ins anti-bloat.yml puts in botocore's imports",
        ),
        Option(
            "--include-module=botocore.vendored.six",
            "botocore.compat imports it on first use through a stand-in, out "
            "of Nuitka's sight",
        ),
        Option(
            "--include-package=jmespath",
            "paginators, waiters and endpoint rules import it on first use "
            "through a stand-in, out of Nuitka's sight",
        ),
        Option(
            "--include-module=xml.etree.ElementTree",
            "same for XML protocols (botocore.compat and botocore.serialize)",
        ),
        Option(
            "--include-package=dateutil.parser",
            "same for timestamps and credential expiry (botocore.utils, "
            "botocore.credentials, botocore.tokens)",
        ),
        Option("--include-package=dateutil.tz", "see the line above"),
        Option(
            "--noinclude-data-files=botocore/data/*",
            "the 400+ service models (tens of MB) a DynamoDB function never "
            "reads; the few it reads are compiled in (embedded_files)",
        ),
        Option(
            "--noinclude-data-files=botocore/data/**",
            "same, for the nested service folders",
        ),
        Option(
            "--noinclude-data-files=botocore/cacert.pem",
            "compiled in as well (embedded_files), served from a memory file",
        ),
        Option(
            "--nofollow-import-to=certifi",
            "botocore then uses its own CA bundle; certifi's where() would "
            "import importlib.resources on the cold path",
        ),
        Option(
            "--noinclude-data-files=boto3/data/**",
            "boto3 resource models; the function uses clients only",
        ),
        Option(
            "--nofollow-import-to=s3transfer",
            "S3 transfer manager, pulled in by boto3.compat only for a "
            "TransferConfig attribute (anti-bloat.yml cuts that import)",
        ),
        Option("--nofollow-import-to=boto3.s3", "S3 helpers; no S3 here"),
        Option("--nofollow-import-to=boto3.crt", "the CRT S3 client; not used"),
        Option(
            "--nofollow-import-to=boto3.dynamodb.transform",
            "only for the resource API, not the client",
        ),
        Option("--nofollow-import-to=boto3.docs", "docstrings for interactive help"),
        Option("--nofollow-import-to=awscrt", "optional native CRT, not installed"),
        Option(
            "--nofollow-import-to=urllib3.contrib.pyopenssl",
            "botocore tries it first and falls back to the stdlib ssl module "
            "on ImportError; it would drag in cryptography (a 10 MB Rust "
            "extension) for nothing",
        ),
        Option("--nofollow-import-to=cryptography", "see the line above"),
        Option("--nofollow-import-to=OpenSSL", "see the line above"),
        Option(
            "--nofollow-import-to=urllib3.http2.connection",
            "HTTP/2 needs h2, which is not installed; botocore speaks HTTP/1.1",
        ),
        Option(
            "--nofollow-import-to=urllib3.contrib.emscripten",
            "browser-only transport",
        ),
        Option("--nofollow-import-to=urllib3.contrib.socks", "no SOCKS proxy"),
        Option("--nofollow-import-to=idna", "IDNA host names: AWS endpoints are ASCII"),
        Option(
            "--nofollow-import-to=opentelemetry",
            "the runtime's OpenTelemetry bridge loads only when the handler "
            "imported opentelemetry; the sessions handler does not",
        ),
        Option(
            "--nofollow-import-to=bootstrap.telemetry.otel_bridge",
            "see the line above",
        ),
        *(
            Option(
                f"--nofollow-import-to={name}",
                "a Cython module, linked into the executable as a built-in "
                "module (build/loader/extensions.c), not shipped as a file",
            )
            for name in cython_modules()
        ),
        Option(
            "--nofollow-import-to=concurrent.futures.process",
            "process pools (and with them multiprocessing, which Nuitka's "
            "plugin would wire in); botocore only uses CancelledError",
        ),
        # Standard library accelerators with a pure-Python fallback (each
        # import is in a try/except ImportError) for code a DynamoDB JSON
        # service never runs hot: megabytes of zip for nothing.
        Option(
            "--nofollow-import-to=_decimal",
            "1.7 MB; botocore only type-checks Decimal parameters (_pydecimal)",
        ),
        Option(
            "--nofollow-import-to=_elementtree",
            "XML protocols only; DynamoDB speaks JSON",
        ),
        Option(
            "--nofollow-import-to=pyexpat",
            "the XML parser, loaded only to parse XML responses",
        ),
        Option("--nofollow-import-to=_pickle", "pickle falls back to Python"),
        Option(
            "--nofollow-import-to=_lzma",
            "optional compression of zipfile/tarfile/shutil",
        ),
        Option("--nofollow-import-to=_bz2", "same as the line above"),
        Option(
            "--nofollow-import-to=_hashlib",
            "hashlib and hmac fall back to CPython's own md5, sha1, sha2, sha3 "
            "and blake2: its module init enumerates every OpenSSL digest, about "
            "1 ms of each cold start. OpenSSL-only algorithms (ripemd160, "
            "sha512_256, scrypt...) then raise ValueError or AttributeError",
        ),
        Option(
            "--nofollow-import-to=_uuid",
            "uuid1() and getnode() only (and with it libuuid); botocore's "
            "idempotency tokens are uuid4(), from os.urandom",
        ),
        # The CJK codecs (_codecs_*, 1.2 MB) cannot be left out here: Nuitka
        # ships every encodings module for interpreter start-up, and
        # --nofollow-import-to does not apply to those. build/__main__.py
        # deletes them from its output (UNUSED_CODEC_MODULES).
        Option(
            "--nofollow-import-to=ctypes",
            "uuid uses the _uuid module; dateutil imports ctypes on Windows only",
        ),
        Option("--nofollow-import-to=pydoc", "interactive help"),
        Option("--nofollow-import-to=tkinter", "never on a server"),
        Option("--nofollow-import-to=unittest", "test tooling"),
        Option("--nofollow-import-to=doctest", "test tooling"),
        *(
            Option(f"--nofollow-import-to={name}", "auto-included, never imported")
            for name in STDLIB_NEVER_IMPORTED
        ),
        *(
            Option(f"--noinclude-custom-mode={name}:bytecode", reason)
            for name, reason in BYTECODE_PACKAGES
        ),
        Option("--noinclude-setuptools-mode=nofollow", "build tooling"),
        Option("--noinclude-pytest-mode=nofollow", "test tooling"),
        Option("--noinclude-unittest-mode=nofollow", "test tooling"),
        Option("--noinclude-pydoc-mode=nofollow", "interactive help"),
        Option("--noinclude-IPython-mode=nofollow", "interactive shells"),
        Option(
            "--user-package-configuration-file=%s" % (BUILD_DIR / "anti-bloat.yml"),
            "compile-time edits of boto3/botocore imports (see the file)",
        ),
        Option(
            "--static-libpython=yes",
            "the interpreter is linked into the binary: nothing to find on "
            "disk at exec time, which the single file requires",
        ),
        Option(
            "--lto=no",
            "measured no cold-start gain here, and it doubles the link time",
        ),
        Option(f"--jobs={jobs}", "the C compiler's parallelism"),
        Option(
            f"--progress-bar={'auto' if sys.stderr.isatty() else 'none'}",
            "Nuitka's own progress on a terminal; plain log lines in CI",
        ),
        Option("--assume-yes-for-downloads", "never stop a build on a prompt"),
        Option(
            "--report=%s" % (output_dir / "compilation-report.xml"),
            "what went in and why, for reviewing the size of the build",
        ),
    ]


# The services whose endpoints the function resolves. endpoints.json lists
# every AWS service in every partition (1.2 MB); the resolver only ever looks
# up the client's own service, so the rest is dropped from each partition.
ENDPOINT_SERVICES = frozenset(("dynamodb",))


def trim_endpoints(endpoints: dict[str, Any]) -> dict[str, Any]:
    """endpoints.json with only ENDPOINT_SERVICES left in each partition."""
    partitions = [
        {
            **partition,
            "services": {
                name: service
                for name, service in partition["services"].items()
                if name in ENDPOINT_SERVICES
            },
        }
        for partition in endpoints["partitions"]
    ]

    return {**endpoints, "partitions": partitions}


def blank_documentation(content: Any) -> Any:
    """
    `content` with every "documentation" string emptied, at any depth.

    The DynamoDB model is 80% documentation (451 KB of marshal, 88 KB
    without), which only docstrings and the reference docs read; the frozen
    binary drops docstrings. The keys stay, as "": botocore reads some with
    [] (client context parameters), and every shape keeps its structure.
    """
    if isinstance(content, dict):
        return {
            key: (
                ""
                if key == "documentation" and isinstance(value, str)
                else blank_documentation(value)
            )
            for key, value in content.items()
        }
    if isinstance(content, list):
        return [blank_documentation(item) for item in content]

    return content


def parsed_botocore_data(data_dir: Path, name: str) -> Any:
    """
    One of BOTOCORE_DATA as botocore's loader sees it (dicts, not
    OrderedDicts), endpoints trimmed and documentation blanked.
    """
    raw = (data_dir / name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    content = json.loads(raw)
    if name == "endpoints.json":
        content = trim_endpoints(content)

    return blank_documentation(content)


def write_embedded_files(site_packages: Path, target: Path) -> int:
    """
    Generate `embedded_files.py`: the botocore data and CA bundle it reads.

    Each data file is stored as the marshal of its parsed JSON, which
    build/embedded.py hands to botocore's loader: no gunzip and no JSON
    parsing at run time.

    Args:
        site_packages: where botocore is installed.
        target: the module file to write.

    Returns:
        The number of bytes embedded, for the build log.
    """
    data_dir = site_packages / "botocore" / "data"
    lines = [
        '"""botocore data compiled into the frozen bootstrap (generated)."""',
        "",
        "BOTOCORE_DATA = {",
    ]
    total = 0
    for source in BOTOCORE_DATA:
        raw = marshal.dumps(parsed_botocore_data(data_dir, source))
        total += len(raw)
        lines.append(f"    {source.removesuffix('.gz')!r}: {raw!r},")
    lines.append("}")

    # The TLS roots botocore verifies with (build/trust.py says which).
    raw = trust.write_embedded_bundle(
        site_packages / "botocore" / "cacert.pem", EMBEDDED_CA_BUNDLE
    )
    total += len(raw)
    lines += ["", "DATA_FILES = {", f"    'botocore/cacert.pem': {raw!r},", "}"]

    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")

    return total


def write_regex_cache(target: Path) -> None:
    """
    Generate the regex cache module (build/regex_cache.py) in a fresh interpreter.

    Fresh, so that every pattern the cold path compiles is compiled, and
    recorded, after the recorder is in place.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        **regex_cache.COLD_PATH_ENV,
    }
    run([sys.executable, "-m", "build.regex_cache", str(target)], env=env)


def compile_object(source: Path, target: Path, flags: list[str]) -> Path:
    """Compile one C file that calls Python's C API into `target`, for our link."""
    run(
        [
            os.environ.get("CC", "cc"),
            "-fPIC",
            f"-I{sysconfig.get_paths()['include']}",
            *flags,
            "-c",
            str(source),
            "-o",
            str(target),
        ]
    )

    return target


def compile_loader_object(
    work_dir: Path, name: str, include_dirs: tuple[Path, ...] = ()
) -> Path:
    """
    Compile build/loader/<name>.c into an object linked into the binary:
    payload.c (the single file's dlopen wrapper), startup.c or extensions.c.
    """
    return compile_object(
        BUILD_DIR / "loader" / f"{name}.c",
        work_dir / f"{name}.o",
        ["-O2", "-Wall", "-Werror", *(f"-I{d}" for d in include_dirs)],
    )


def cython_modules() -> list[str]:
    """The runtime's Cython modules: every .pyx under bootstrap/, as setup.py builds."""
    return [
        ".".join(pyx.relative_to(ROOT).with_suffix("").parts)
        for pyx in sorted((ROOT / "bootstrap").rglob("*.pyx"))
    ]


def compile_linked_extensions(work_dir: Path) -> list[Path]:
    """
    Compile the Cython modules' C and their registration (extensions.c) into
    objects for the executable's link, so that no cold start loads them as
    files.

    Raises:
        BuildError: Cython's C for a module is missing (`make dev` writes it).
    """
    objects_dir = work_dir / "extensions"
    objects_dir.mkdir(parents=True, exist_ok=True)
    objects = []
    entries = []
    for name in cython_modules():
        source = CYTHON_OUTPUT_DIR / (name.replace(".", "/") + ".c")
        if not source.is_file():
            raise BuildError(f"{source} is missing: run `make dev` to generate it")
        # setuptools' flags for extension modules, at the size level the rest
        # of the binary is compiled for.
        flags = ["-Os", "-fwrapv", "-fno-strict-aliasing", "-DNDEBUG"]
        objects.append(compile_object(source, objects_dir / f"{name}.o", flags))
        entries.append(f'    EXTENSION("{name}", PyInit_{name.rpartition(".")[2]})')
    table = objects_dir / "extension_table.h"
    table.write_text(
        "/* Generated by build/freeze.py: the Cython modules linked in. */\n"
        "#define EXTENSION_TABLE \\\n" + " \\\n".join(entries) + "\n"
    )
    objects.append(compile_loader_object(objects_dir, "extensions", (objects_dir,)))

    return objects


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a build tool, its output going to ours; ToolError if it fails."""
    completed = subprocess.run(command, env=env, check=False)
    if completed.returncode != 0:
        raise ToolError(command, completed.returncode)


def freeze(output_dir: Path, jobs: int | None = None) -> Path:
    """
    Freeze `python -m bootstrap` with the handler into a standalone folder.

    Args:
        output_dir: Nuitka's output directory.
        jobs: C compiler jobs; defaults to the number of CPUs.

    Returns:
        The standalone folder, holding the executable `bootstrap`.
    """
    site_packages = Path(botocore.__file__ or "").parent.parent
    generated = WORK_DIR / "generated"
    write_embedded_files(site_packages, generated / "embedded_files.py")
    write_regex_cache(generated / f"{regex_cache.MODULE_NAME}.py")
    payload_object = compile_loader_object(WORK_DIR, "payload")
    startup_object = compile_loader_object(WORK_DIR, "startup")
    extension_objects = compile_linked_extensions(WORK_DIR)

    options = nuitka_options(output_dir, jobs or os.cpu_count() or 1)
    env = compiler_environment(
        os.environ, [payload_object, startup_object, *extension_objects]
    )
    env["PYTHONPATH"] = os.pathsep.join([str(generated), str(ROOT)])
    command = [sys.executable, "-m", "nuitka", *(o.flag for o in options)]
    command.append(str(ROOT / "bootstrap"))
    run(command, env=env)

    return output_dir / "bootstrap.dist"


def compiler_environment(
    environ: Mapping[str, str], loader_objects: list[Path]
) -> dict[str, str]:
    """
    The environment Nuitka's C compilation runs in: `environ` plus our flags.

    Nuitka appends CCFLAGS and LDFLAGS from the environment after its own.

    - CCFLAGS `-Os` (after Nuitka's `-O2`): most of the compiled C is module
      bodies that run once, at import, and its size is paid in the zip and
      in the pages a cold start touches. Measured paired over 40 cold
      starts: .text 14.9 -> 9.9 MB, zip 13.0 -> 11.8 MB, peak RSS 47.4 ->
      44.4 MiB, cold start unchanged (98.8 against 102.3 ms for the sessions
      handler, 17.9 against 17.7 ms for hello). Warm invokes, 400 each: POST
      p50 4.53 against 4.26 ms, GET 3.14 against 3.11 ms, within noise.
    - LDFLAGS: the single-file loader wraps dlopen at link time (see
      payload.c), startup.c drops Nuitka's inspect patch from every cold
      start, and extensions.c registers the Cython modules linked in.
    """
    env = dict(environ)
    env["CCFLAGS"] = " ".join([env.get("CCFLAGS", ""), "-Os"]).strip()
    env["LDFLAGS"] = " ".join(
        [
            env.get("LDFLAGS", ""),
            "-Wl,--wrap=dlopen",
            "-Wl,--wrap=patchInspectModule",
            "-Wl,--wrap=Py_InitializeFromConfig",
            *(str(o) for o in loader_objects),
        ]
    ).strip()

    return env


def host_arch() -> str:
    """The Lambda name of this machine's architecture."""
    machine = platform.machine()

    return {"aarch64": "arm64", "arm64": "arm64"}.get(machine, "x86_64")
