"""The build's own machinery on small programs: glibc rebinding, payload, data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml
from botocore import loaders

from build import checks, elf, embedded, freeze, single
from build.embedded import EmbeddedTree
from build.errors import BuildError

HYPOT_PROGRAM = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    printf("%.1f\n", hypot(atof(argv[1]), atof(argv[2])));
    return 0;
}
"""

LEAF_LIBRARY = "int leaf_value(void) { return 40; }\n"
MODULE_LIBRARY = """
int leaf_value(void);
int module_value(void) { return leaf_value() + 2; }
"""
# Loads "<own folder>/module.so" the way Nuitka loads an extension module.
LOADER_PROGRAM = r"""
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char exe[PATH_MAX] = {0}, path[PATH_MAX + 16];
    if (readlink("/proc/self/exe", exe, sizeof(exe) - 1) < 0) return 2;
    snprintf(path, sizeof(path), "%s/module.so", dirname(exe));
    void *handle = dlopen(path, RTLD_NOW);
    if (handle == NULL) { printf("error: %s\n", dlerror()); return 1; }
    int (*value)(void) = (int (*)(void))dlsym(handle, "module_value");
    printf("%d\n", value());
    return 0;
}
"""


def compile_c(source: str, output: Path, *flags: str) -> Path:
    """Compile a C snippet with the host compiler; the snippet is the test input."""
    # The source goes through stdin so no stray file lands in the folder.
    subprocess.run(
        ["cc", "-O1", "-o", str(output), "-x", "c", "-", "-x", "none", *flags],
        input=source.encode(),
        check=True,
        timeout=120,
    )

    return output


def run(executable: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run a test program, bounded in time."""
    return subprocess.run(
        [str(executable), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def newest_glibc(path: Path) -> tuple[int, ...]:
    """The newest GLIBC_ version `path` needs, as a comparable tuple."""
    needs = checks.glibc_needs(path)

    return max(elf.glibc_version_key(version) or () for version in needs)


# ------------------------------------------------------------ glibc floor


def test_hypot_bound_to_a_new_glibc_is_rebound_and_still_computes(
    tmp_path: Path,
) -> None:
    program = compile_c(HYPOT_PROGRAM, tmp_path / "hypot", "-lm")
    if newest_glibc(program) <= (2, 34, 0):
        pytest.skip("this host's glibc binds hypot at or below 2.34 already")

    changes = elf.lower_glibc_needs(program, "GLIBC_2.34")

    assert any("hypot@GLIBC_2.35" in change for change in changes)
    assert newest_glibc(program) <= (2, 34, 0)
    assert run(program, "3", "4").stdout.strip() == "5.0"


def test_glibc_floor_check_names_the_file_and_symbol_above_the_floor(
    tmp_path: Path,
) -> None:
    program = compile_c(HYPOT_PROGRAM, tmp_path / "hypot", "-lm")
    newest = newest_glibc(program)
    below = f"GLIBC_{newest[0]}.{newest[1] - 1}"

    with pytest.raises(BuildError, match=r"hypot.*GLIBC_|GLIBC_.*hypot|needs GLIBC"):
        checks.check_glibc_floor([program], floor=below)


def test_elf_hash_matches_the_hash_the_linker_wrote() -> None:
    libm = elf.ElfFile(elf.resolve_library("libm.so.6"))
    needs = libm.version_needs()
    written = [
        int.from_bytes(libm.data[need.offset : need.offset + 4], "little")
        for need in needs
    ]

    assert needs
    assert [elf.elf_hash(need.version) for need in needs] == written


# ------------------------------------------------------ single-file payload


@pytest.fixture
def loader_folder(tmp_path: Path) -> Path:
    """A standalone-like folder: a program, a module and the library it links."""
    folder = tmp_path / "folder"
    folder.mkdir()
    compile_c(
        LEAF_LIBRARY,
        folder / "libleaf.so",
        "-shared",
        "-fPIC",
        "-Wl,-soname,libleaf.so",
    )
    compile_c(
        MODULE_LIBRARY,
        folder / "module.so",
        "-shared",
        "-fPIC",
        f"-L{folder}",
        "-lleaf",
        "-Wl,-rpath,$ORIGIN",
    )
    payload_object = freeze.compile_loader_object(tmp_path, "payload")
    compile_c(
        LOADER_PROGRAM,
        folder / "bootstrap",
        "-Wl,--wrap=dlopen",
        str(payload_object),
    )

    return folder


def test_folder_program_loads_its_module_from_disk(loader_folder: Path) -> None:
    result = run(loader_folder / "bootstrap")

    assert result.stdout.strip() == "42"


def test_single_file_loads_module_and_its_library_without_the_folder(
    loader_folder: Path, tmp_path: Path
) -> None:
    target = tmp_path / "single" / "bootstrap"

    appended = single.assemble(loader_folder, loader_folder / "bootstrap", target)
    shutil.rmtree(loader_folder)
    result = run(target)

    assert appended == ["libleaf.so", "module.so"]
    assert result.stdout.strip() == "42", result


def test_single_file_refuses_a_folder_with_data_files(
    loader_folder: Path, tmp_path: Path
) -> None:
    (loader_folder / "cacert.pem").write_text("data a single file cannot serve")

    with pytest.raises(BuildError, match=r"cacert\.pem"):
        single.assemble(
            loader_folder,
            loader_folder / "bootstrap",
            tmp_path / "single" / "bootstrap",
        )


def test_only_the_selected_objects_ride_in_the_binary(
    loader_folder: Path, tmp_path: Path
) -> None:
    target = tmp_path / "partial" / "bootstrap"
    target.parent.mkdir()
    shutil.copy2(loader_folder / "libleaf.so", target.parent / "libleaf.so")

    embedded = single.assemble(
        loader_folder,
        loader_folder / "bootstrap",
        target,
        embed=lambda relative: relative == "module.so",
    )
    result = run(target)

    assert embedded == ["module.so"]
    assert result.stdout.strip() == "42", result


def test_objects_are_ordered_after_the_libraries_they_link(
    loader_folder: Path,
) -> None:
    objects = single.collect_objects(
        loader_folder, loader_folder / "bootstrap", single.embed_everything
    )

    assert [obj.path for obj in objects] == ["libleaf.so", "module.so"]


# ------------------------------------------------------------ embedded data


def test_embedded_tree_answers_like_a_file_system() -> None:
    tree = EmbeddedTree(
        "/pkg/data",
        {"endpoints.json": b"{}", "dynamodb/2012-08-10/service-2.json": b"[]"},
    )

    assert tree.isfile("/pkg/data/endpoints.json")
    assert tree.isdir("/pkg/data/dynamodb/2012-08-10")
    assert not tree.isfile("/pkg/data/s3/2006-03-01/service-2.json")
    assert tree.listdir("/pkg/data") == ["dynamodb", "endpoints.json"]
    assert tree.open("/pkg/data/dynamodb/2012-08-10/service-2.json").read() == b"[]"
    with pytest.raises(FileNotFoundError):
        tree.listdir("/pkg/data/s3")


def rewritten_botocore_loaders(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """botocore.loaders with anti-bloat.yml's compile-time edits applied."""
    config = yaml.safe_load((freeze.BUILD_DIR / "anti-bloat.yml").read_text())
    entry = next(e for e in config if e["module-name"] == "botocore.loaders")
    source = Path(loaders.__file__ or "").read_text()
    for old, new in entry["anti-bloat"][0]["replacements_plain"].items():
        assert old in source, f"botocore.loaders no longer contains {old!r}"
        source = source.replace(old, new)
    module = types.ModuleType("rewritten_loaders")
    module.__file__ = loaders.__file__
    exec(compile(source, "rewritten_loaders", "exec"), module.__dict__)  # noqa: S102

    return module


def test_rewritten_botocore_loader_reaches_the_disk_only_through_the_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree = EmbeddedTree(
        loaders.Loader.BUILTIN_DATA_PATH,
        {"fake-service/2020-01-01/service-2.json": b'{"metadata": {"x": 1}}'},
    )
    monkeypatch.setattr(
        embedded, "botocore_fs", embedded.EmbeddedFileSystem(lambda: tree)
    )

    rewritten = rewritten_botocore_loaders(monkeypatch)
    loader = rewritten.Loader()
    services = loader.list_available_services("service-2")
    model = loader.load_service_model("fake-service", "service-2")

    assert "fake-service" in services
    assert "dynamodb" not in services  # the data folder on disk is never read
    assert model["metadata"] == {"x": 1}


def test_embedded_file_system_sends_other_paths_to_the_disk(tmp_path: Path) -> None:
    (tmp_path / "on-disk.json").write_text("{}")
    fs = embedded.EmbeddedFileSystem(
        lambda: EmbeddedTree("/nowhere/data", {"a.json": b"[]"})
    )

    assert fs.isfile(str(tmp_path / "on-disk.json"))
    assert fs.isfile("/nowhere/data/a.json")
    assert fs.listdir(str(tmp_path)) == ["on-disk.json"]
    assert fs.open_json("/nowhere/data/a.json").read() == b"[]"
    assert not fs.exists("/nowhere/data/b.json")


def test_ca_bundle_is_served_from_a_memory_file_when_not_on_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    generated = types.ModuleType("embedded_files")
    generated.DATA_FILES = {  # type: ignore[attr-defined]
        "botocore/cacert.pem": b"-----BEGIN CERTIFICATE-----\n"
    }
    monkeypatch.setitem(sys.modules, "embedded_files", generated)
    monkeypatch.setattr(embedded, "_memory_files", {})
    httpsession = types.ModuleType("httpsession")
    httpsession.DEFAULT_CA_BUNDLE = str(tmp_path / "missing.pem")  # type: ignore[attr-defined]

    embedded.install_ca_bundle(httpsession)
    path = httpsession.where()  # type: ignore[attr-defined]

    assert path.startswith("/proc/self/fd/")
    assert Path(path).read_bytes() == b"-----BEGIN CERTIFICATE-----\n"
    assert httpsession.where() == path  # type: ignore[attr-defined]
