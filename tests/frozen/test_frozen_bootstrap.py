"""The built bootstrap, each layout: what it carries, what it loads, how it ships."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.report import TARGET_ZIP_BYTES
from build import checks, freeze
from tests.frozen.conftest import DIST, require_build

# Modules the recipe keeps out of the binary (build/freeze.py says why).
EXCLUDED_MODULES = [
    "s3transfer",
    "multiprocessing",
    "cryptography",
    "urllib3.contrib.pyopenssl",
    "unittest",
    "_hashlib",
    "_uuid",
]


@pytest.fixture
def introspection(
    frozen_bootstrap: Path,
    lambda_runtime: Callable[..., Any],
    sessions_env: dict[str, str],
) -> dict[str, Any]:
    """What the frozen process reports about itself after creating its client."""
    emulator = lambda_runtime(
        "tests.frozen.handlers.introspect.handler", env=sessions_env, timeout_s=30.0
    )
    result = emulator.invoke(b"{}")
    assert result.function_error is None, (result, emulator.logs()[-3000:])
    answer: dict[str, Any] = json.loads(result.body)

    return answer


def test_frozen_process_runs_compiled_code_with_the_json_accelerator(
    introspection: dict[str, Any],
) -> None:
    assert introspection["compiled"] is True
    assert introspection["json_scanner"] == "builtin_function_or_method"
    assert introspection["no_site"] == 1


def test_frozen_client_reads_the_dynamodb_model_from_the_binary(
    introspection: dict[str, Any], frozen_layout: Path
) -> None:
    # The folder ships no botocore data: the model must come from the binary.
    assert not (frozen_layout / "botocore" / "data").exists()

    assert "PutItem" in introspection["operations"]
    assert "GetItem" in introspection["operations"]


def test_frozen_process_imports_none_of_the_excluded_modules(
    introspection: dict[str, Any],
) -> None:
    loaded = set(introspection["modules"])

    assert [name for name in EXCLUDED_MODULES if name in loaded] == []


def test_frozen_process_builds_cold_path_patterns_from_the_build_table(
    introspection: dict[str, Any],
) -> None:
    # bootstrap/__main__.py imports the generated table; without it every
    # pattern would be parsed at start again, silently.
    assert introspection["regex_compile"] == "build.precompiled_regex"


def test_frozen_start_up_skips_nuitkas_inspect_patch(
    frozen_bootstrap: Path, lambda_runtime: Callable[..., Any]
) -> None:
    # build/loader/startup.c: Nuitka's main() would import inspect and ast at
    # every cold start; a handler that imports neither must find neither.
    emulator = lambda_runtime("tests.frozen.handlers.modules.handler")

    loaded = set(json.loads(emulator.invoke(b"{}").body))

    assert "bootstrap.loop" in loaded
    assert {"inspect", "ast", "dis", "tokenize"} & loaded == set()


def test_frozen_process_runs_the_cython_modules_linked_into_the_executable(
    introspection: dict[str, Any], frozen_layout: Path
) -> None:
    # build/loader/extensions.c: no dlopen (nor memory file) on a cold start.
    assert set(introspection["cython_origins"].values()) == {"built-in"}
    assert not any(
        name in path
        for path in introspection["mapped"]
        for name in ("_wire_c", "client", "loop", "events")
    ), introspection["mapped"]
    assert not (frozen_layout / "bootstrap").is_dir()


def test_frozen_process_hashes_without_openssls_hashlib(
    introspection: dict[str, Any],
) -> None:
    digests = introspection["digests"]

    assert digests["sha256-type"] == "_sha256"
    assert digests == {
        "sha256": hashlib.sha256(b"abc").hexdigest(),
        "sha1": hashlib.sha1(b"abc").hexdigest(),  # noqa: S324 - a known vector
        "md5": hashlib.md5(b"abc").hexdigest(),  # noqa: S324 - a known vector
        "hmac-sha256": hmac.new(b"key", b"abc", hashlib.sha256).hexdigest(),
        "sha256-type": "_sha256",
    }


def test_frozen_process_verifies_tls_with_the_bundle_in_the_binary(
    introspection: dict[str, Any], frozen_layout: Path
) -> None:
    assert not (frozen_layout / "botocore" / "cacert.pem").exists()

    assert introspection["ca_path"].startswith("/proc/self/fd/")
    # The roots build/trust.py chose (five Amazon roots unless FREEZE_CA_BUNDLE).
    embedded = require_build(freeze.EMBEDDED_CA_BUNDLE).read_text(encoding="ascii")
    assert introspection["ca_certificates"] == embedded.count("BEGIN CERTIFICATE")


def test_frozen_process_keeps_the_idna_codec(introspection: dict[str, Any]) -> None:
    assert introspection["idna_codec"] is True


def test_frozen_process_decodes_western_charsets_and_refuses_cjk_ones_clearly(
    introspection: dict[str, Any],
) -> None:
    charsets = introspection["charsets"]

    assert {name: charsets[name] for name in ("utf-8", "latin-1", "cp1252")} == {
        "utf-8": "\u00e9",
        "latin-1": "\u00e9",
        "cp1252": "\u00e9",
    }
    assert charsets["ascii"] == "?"
    assert charsets["shift_jis"] == "LookupError: unknown encoding: shift_jis"
    assert charsets["gb2312"] == "LookupError: unknown encoding: gb2312"


def test_single_file_maps_its_extension_modules_from_memory_files(
    introspection: dict[str, Any], frozen_layout: Path
) -> None:
    mapped = introspection["mapped"]
    from_layout = [path for path in mapped if path.startswith(str(frozen_layout))]
    from_memory = [path for path in mapped if path.startswith("/memfd:")]

    if frozen_layout.name == "single":
        assert from_layout == [str(frozen_layout / "bootstrap")]
        assert any(path.startswith("/memfd:_ssl.so") for path in from_memory), mapped
    else:
        # Only the runtime's own modules ride in the folder's binary (their
        # folder would be named like the executable); the rest are files.
        assert str(frozen_layout / "_ssl.so") in from_layout, mapped
        assert not any(path.startswith("/memfd:_ssl") for path in from_memory)


def test_no_output_needs_a_glibc_newer_than_lambdas() -> None:
    layouts = require_build(DIST / "layouts")

    report = checks.check_glibc_floor([layouts])

    assert report, "no ELF file found under dist/layouts"


@pytest.mark.skipif(
    not checks.running_as_root(), reason="mount namespaces need root here"
)
def test_bootstrap_answers_an_invoke_in_a_bare_root(frozen_layout: Path) -> None:
    folder = require_build(DIST / "layouts" / "folder")

    response = checks.smoke_test_in_bare_root(frozen_layout, [folder])

    assert response["statusCode"] == checks.SMOKE_EXPECTED_STATUS


def test_shipped_objects_carry_no_debug_information() -> None:
    # The interpreter's extension modules are built with -g; the build strips
    # them (build/elf.py) so the zip and the single file's memory files do not
    # carry DWARF nobody reads.
    folder = require_build(DIST / "layouts" / "folder")
    with_debug = []
    for path in checks.elf_files([folder]):
        sections = subprocess.run(
            ["readelf", "-S", "-W", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        if ".debug_info" in sections or ".symtab" in sections:
            with_debug.append(path.name)

    assert with_debug == []


def test_function_zip_has_an_executable_bootstrap_at_its_root() -> None:
    archive = require_build(DIST / "function.zip")

    with zipfile.ZipFile(archive) as zf:
        entry = zf.getinfo("bootstrap")
        names = zf.namelist()
    mode = entry.external_attr >> 16

    assert stat.S_ISREG(mode)
    assert mode & 0o111 == 0o111
    assert not any(name.startswith("/") or ".." in name.split("/") for name in names)


def test_function_zip_is_at_most_10_mb() -> None:
    # The bench's limit (DESIGN 8), in bytes: 10 MB, not MiB.
    archive = require_build(DIST / "function.zip")

    assert archive.stat().st_size <= TARGET_ZIP_BYTES
