"""The build's own machinery on small programs: glibc rebinding, payload, data."""

from __future__ import annotations

import json
import marshal
import shutil
import ssl
import stat
import subprocess
import sys
import sysconfig
import types
import zipfile
import zlib
from pathlib import Path

import botocore.model
import botocore.serialize
import botocore.session
import pytest
from botocore import loaders
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from build import checks, elf, embedded, freeze, package, single, trust
from build.embedded import EmbeddedTree
from build.errors import BuildError
from tests.frozen.antibloat import rewritten_module
from tests.frozen.conftest import require_build

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


# ------------------------------------------------------------ C compilation


def test_compiled_modules_are_built_for_size_after_the_callers_flags() -> None:
    environ = {"CCFLAGS": "-g", "LDFLAGS": "-L/opt/lib", "HOME": "/root"}

    env = freeze.compiler_environment(environ, [Path("/w/payload.o")])

    # Nuitka appends CCFLAGS after its own -O2, and gcc's last -O wins.
    assert env["CCFLAGS"].split() == ["-g", "-Os"]
    assert env["LDFLAGS"].split() == [
        "-L/opt/lib",
        "-Wl,--wrap=dlopen",
        "-Wl,--wrap=patchInspectModule",
        "-Wl,--wrap=Py_InitializeFromConfig",
        "/w/payload.o",
    ]
    assert env["HOME"] == "/root"
    assert environ["CCFLAGS"] == "-g"


# Nuitka's main() calls patchInspectModule() between Py_Initialize and the
# program; build/loader/startup.c replaces it through ld --wrap.
START_UP_PROGRAM = r"""
#include <Python.h>
void patchInspectModule(void *thread_state);
int main(void) {
    Py_Initialize();
    patchInspectModule(PyThreadState_Get());
    PyRun_SimpleString(
        "import gc, sys; print(gc.isenabled(), 'inspect' in sys.modules)");
    return Py_FinalizeEx();
}
"""


def test_start_up_hook_turns_the_collector_off_and_skips_the_inspect_patch(
    tmp_path: Path,
) -> None:
    startup_object = freeze.compile_loader_object(tmp_path, "startup")
    paths = sysconfig.get_paths()
    program = compile_c(
        START_UP_PROGRAM,
        tmp_path / "start-up",
        f"-I{paths['include']}",
        "-Wl,--wrap=patchInspectModule",
        str(startup_object),
        f"-L{sysconfig.get_config_var('LIBPL')}",
        f"-lpython{sysconfig.get_python_version()}",
        *sysconfig.get_config_var("LIBS").split(),
        "-lm",
    )

    result = run(program)

    assert result.returncode == 0, result.stderr
    # Off until bootstrap.main turns it back on at the end of init.
    assert result.stdout.split() == ["False", "False"]


def test_nuitka_compiled_the_last_build_with_the_size_flag() -> None:
    # Nuitka records the CCFLAGS it inherited; its own -O2 comes before them.
    report = require_build(
        freeze.WORK_DIR / "nuitka" / "bootstrap.build" / "scons-report.txt"
    )

    inherited = [
        line.partition("=")[2].split()
        for line in report.read_text().splitlines()
        if line.startswith("cc_flags=")
    ]

    assert inherited and inherited[0][-1] == "-Os"


# ------------------------------------------------------------ trust store

BOTOCORE_BUNDLE = Path(botocore.__file__).parent / "cacert.pem"


def test_amazon_roots_are_the_certificates_after_each_amazon_label() -> None:
    bundle = (
        '# Label: "Amazon Root CA 1"\n-----BEGIN CERTIFICATE-----\nAAA\n'
        "-----END CERTIFICATE-----\n"
        '# Label: "Someone Else"\n-----BEGIN CERTIFICATE-----\nBBB\n'
        "-----END CERTIFICATE-----\n"
    )

    roots = trust.amazon_roots(bundle)

    assert roots == ["-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"]


def test_embedded_bundle_holds_the_five_amazon_roots_of_botocores_bundle() -> None:
    bundle = trust.embedded_bundle(BOTOCORE_BUNDLE, {})

    context = ssl.create_default_context(cadata=bundle.decode("ascii"))
    subjects = {
        value
        for certificate in context.get_ca_certs()
        for field in certificate["subject"]
        for key, value in field
        if key == "commonName"
    }
    starfield = "Starfield Services Root Certificate Authority - G2"
    assert subjects == {f"Amazon Root CA {n}" for n in range(1, 5)} | {starfield}


def test_freeze_ca_bundle_names_the_bundle_to_embed(tmp_path: Path) -> None:
    chosen = tmp_path / "roots.pem"
    chosen.write_bytes(BOTOCORE_BUNDLE.read_bytes())

    bundle = trust.embedded_bundle(BOTOCORE_BUNDLE, {"FREEZE_CA_BUNDLE": str(chosen)})

    assert bundle == BOTOCORE_BUNDLE.read_bytes()
    with pytest.raises(BuildError, match="is not a file"):
        trust.embedded_bundle(
            BOTOCORE_BUNDLE, {"FREEZE_CA_BUNDLE": str(tmp_path / "missing.pem")}
        )


def test_a_bundle_without_the_amazon_roots_stops_the_build(tmp_path: Path) -> None:
    other = tmp_path / "cacert.pem"
    other.write_text('# Label: "Someone Else"\n', encoding="ascii")

    with pytest.raises(BuildError, match="found 0 of the 5 Amazon roots"):
        trust.embedded_bundle(other, {})


# ------------------------------------------------------------ packaging


@pytest.mark.parametrize(
    "deflate", [package.deflate_zlib, package.deflate_zopfli], ids=["zlib", "zopfli"]
)
def test_zip_holds_every_file_with_its_mode_and_reads_back_intact(
    tmp_path: Path, deflate: package.Deflate
) -> None:
    folder = tmp_path / "layout"
    (folder / "lib").mkdir(parents=True)
    (folder / "bootstrap").write_bytes(b"\x7fELF" + bytes(range(256)) * 64)
    (folder / "bootstrap").chmod(0o755)
    (folder / "lib" / "data.txt").write_text("sessions " * 500)
    (folder / "lib" / "data.txt").chmod(0o644)
    (folder / "empty").write_bytes(b"")

    size = package.write_zip(folder, tmp_path / "a.zip", deflate)

    assert size == (tmp_path / "a.zip").stat().st_size
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.testzip() is None  # every CRC checks
        infos = {info.filename: info for info in zf.infolist()}
        assert sorted(infos) == ["bootstrap", "empty", "lib/data.txt"]
        assert zf.read("bootstrap") == (folder / "bootstrap").read_bytes()
        assert zf.read("lib/data.txt") == (folder / "lib" / "data.txt").read_bytes()
        assert zf.read("empty") == b""
    assert infos["bootstrap"].external_attr >> 16 == stat.S_IFREG | 0o755
    assert infos["lib/data.txt"].external_attr >> 16 == stat.S_IFREG | 0o644
    assert {info.date_time for info in infos.values()} == {package.ZIP_EPOCH}
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in infos.values())
    # Reproducible: the same folder gives the same bytes.
    package.write_zip(folder, tmp_path / "b.zip", deflate)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_unzip_extracts_the_zopfli_zip_with_the_executable_bit(tmp_path: Path) -> None:
    # Lambda unpacks with its own tooling; Info-ZIP's unzip is the common one.
    unzip = shutil.which("unzip")
    if unzip is None:
        pytest.skip("unzip is not installed")
    folder = tmp_path / "layout"
    folder.mkdir()
    (folder / "bootstrap").write_text("#!/bin/sh\necho ok\n")
    (folder / "bootstrap").chmod(0o755)
    package.write_zip(folder, tmp_path / "f.zip", package.deflate_zopfli)

    subprocess.run(
        [unzip, "-q", str(tmp_path / "f.zip"), "-d", str(tmp_path / "out")],
        check=True,
    )
    ran = subprocess.run(
        [str(tmp_path / "out" / "bootstrap")], check=True, capture_output=True
    )

    assert ran.stdout == b"ok\n"


def test_zopfli_deflate_is_smaller_than_zlibs_and_inflates_to_the_input() -> None:
    data = (Path(freeze.__file__).read_bytes() + bytes(range(256))) * 20

    zopfli_data = package.deflate_zopfli(data)

    assert zlib.decompress(zopfli_data, -zlib.MAX_WBITS) == data
    assert len(zopfli_data) < len(package.deflate_zlib(data))


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
        {
            "endpoints.json": marshal.dumps({}),
            "dynamodb/2012-08-10/service-2.json": marshal.dumps([]),
        },
    )

    assert tree.isfile("/pkg/data/endpoints.json")
    assert tree.isdir("/pkg/data/dynamodb/2012-08-10")
    assert not tree.isfile("/pkg/data/s3/2006-03-01/service-2.json")
    assert tree.listdir("/pkg/data") == ["dynamodb", "endpoints.json"]
    assert (
        marshal.loads(tree.read("/pkg/data/dynamodb/2012-08-10/service-2.json")) == []
    )
    with pytest.raises(FileNotFoundError):
        tree.listdir("/pkg/data/s3")


def test_rewritten_botocore_loader_reaches_the_disk_only_through_the_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tree = EmbeddedTree(
        loaders.Loader.BUILTIN_DATA_PATH,
        {
            "fake-service/2020-01-01/service-2.json": marshal.dumps(
                {"metadata": {"x": 1}}
            )
        },
    )
    monkeypatch.setattr(
        embedded, "botocore_fs", embedded.EmbeddedFileSystem(lambda: tree)
    )

    loader = rewritten_module("botocore.loaders").Loader()
    services = loader.list_available_services("service-2")
    model = loader.load_service_model("fake-service", "service-2")

    assert "fake-service" in services
    assert "dynamodb" not in services  # the data folder on disk is never read
    assert model["metadata"] == {"x": 1}


def test_embedded_file_system_sends_other_paths_to_the_disk(tmp_path: Path) -> None:
    (tmp_path / "on-disk.json").write_text("{}")
    fs = embedded.EmbeddedFileSystem(
        lambda: EmbeddedTree("/nowhere/data", {"a.json": marshal.dumps([1])})
    )

    assert fs.isfile(str(tmp_path / "on-disk.json"))
    assert fs.isfile("/nowhere/data/a.json")
    assert fs.listdir(str(tmp_path)) == ["on-disk.json"]
    assert fs.load_json("/nowhere/data/a.json") == [1]
    # Paths outside the tree are botocore's to open and parse.
    assert fs.load_json(str(tmp_path / "on-disk.json")) is None
    assert not fs.exists("/nowhere/data/b.json")


def test_embedded_data_loads_as_stock_botocore_loads_it(tmp_path: Path) -> None:
    # What the frozen loader hands botocore must equal what stock botocore
    # parses from disk, file by file, documentation aside (endpoints.json is
    # checked separately, since the build trims it).
    site_packages = Path(loaders.__file__ or "").parent.parent
    target = tmp_path / "embedded_files.py"
    freeze.write_embedded_files(site_packages, target)
    generated: dict[str, object] = {}
    exec(compile(target.read_text(), str(target), "exec"), generated)  # noqa: S102
    stock = loaders.JSONFileLoader()
    data_dir = Path(loaders.Loader.BUILTIN_DATA_PATH)

    embedded_data = generated["BOTOCORE_DATA"]
    assert isinstance(embedded_data, dict)
    assert sorted(embedded_data) == sorted(
        name.removesuffix(".gz") for name in freeze.BOTOCORE_DATA
    )
    for name, marshalled in embedded_data.items():
        if name == "endpoints.json":
            continue
        expected = stock.load_file(str(data_dir / name.removesuffix(".json")))
        assert marshal.loads(marshalled) == freeze.blank_documentation(expected), name


def test_blanked_documentation_keeps_every_key_and_every_other_value() -> None:
    model = {
        "documentation": "<p>The service.</p>",
        "operations": {
            "PutItem": {"documentation": "<p>Puts.</p>", "input": {"shape": "In"}}
        },
        "clientContextParams": {"P": {"type": "string", "documentation": "p"}},
        "shapes": {"S": {"members": {"documentation": {"shape": "X"}}}},
        "list": [{"documentation": "d", "n": 1}, "documentation"],
    }

    blanked = freeze.blank_documentation(model)

    assert blanked == {
        "documentation": "",
        "operations": {"PutItem": {"documentation": "", "input": {"shape": "In"}}},
        "clientContextParams": {"P": {"type": "string", "documentation": ""}},
        # A member named "documentation" is a shape reference, not text.
        "shapes": {"S": {"members": {"documentation": {"shape": "X"}}}},
        "list": [{"documentation": "", "n": 1}, "documentation"],
    }


def test_dynamodb_client_from_blanked_data_serializes_as_stock() -> None:
    # The client built from the embedded (blanked) model must build the same
    # requests: compare a PutItem's wire form both ways.
    site_packages = Path(loaders.__file__ or "").parent.parent
    data_dir = site_packages / "botocore" / "data"
    blanked = freeze.parsed_botocore_data(
        data_dir, "dynamodb/2012-08-10/service-2.json.gz"
    )
    stock = loaders.Loader().load_service_model("dynamodb", "service-2")
    params = {"TableName": "t", "Item": {"k": {"S": "v"}}}

    requests = []
    for model in (stock, blanked):
        service = botocore.model.ServiceModel(model, "dynamodb")
        serializer = botocore.serialize.create_serializer("json")
        requests.append(
            serializer.serialize_to_request(params, service.operation_model("PutItem"))
        )

    assert requests[0] == requests[1]
    assert len(json.dumps(blanked)) < len(json.dumps(stock)) / 3


# Regions of every partition the trimmed endpoints.json must still resolve.
REGIONS = (
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "cn-north-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "eu-isoe-west-1",
    "local",
)
ENDPOINT_VARIANTS = (
    {},
    {"use_fips_endpoint": True},
    {"use_dualstack_endpoint": True},
)


def _resolved_endpoint(
    data_path: Path | None, region: str, variant: dict[str, bool]
) -> tuple[str, str, str]:
    session = botocore.session.Session()
    if data_path is not None:
        # Searched before botocore's own data folder, as AWS_DATA_PATH is.
        session.set_config_variable("data_path", str(data_path))
    try:
        client = session.create_client(
            "dynamodb",
            region_name=region,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
            config=Config(**variant),
        )
    except BotoCoreError as error:
        # A variant a partition does not offer must fail the same way too.
        return type(error).__name__, str(error), ""
    signer = client._request_signer

    return client.meta.endpoint_url, signer.region_name, signer.signing_name


@pytest.mark.parametrize(
    "variant", ENDPOINT_VARIANTS, ids=("plain", "fips", "dualstack")
)
def test_trimmed_endpoints_resolve_dynamodb_as_the_full_file_does(
    tmp_path: Path, variant: dict[str, bool]
) -> None:
    data_dir = Path(loaders.Loader.BUILTIN_DATA_PATH)
    trimmed = freeze.parsed_botocore_data(data_dir, "endpoints.json")
    (tmp_path / "endpoints.json").write_text(json.dumps(trimmed))

    for region in REGIONS:
        assert _resolved_endpoint(tmp_path, region, variant) == _resolved_endpoint(
            None, region, variant
        ), region
    assert len(json.dumps(trimmed)) < 100_000


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
