"""`python -m build`: freeze, strip, patch, check and package the function into dist/.

dist/bootstrap             the default layout's executable (see DEFAULT_LAYOUT)
dist/function.zip          the default layout, ready for Lambda
dist/layouts/folder/       standalone folder: bootstrap + its shared objects
dist/layouts/single/       one file: bootstrap with its objects appended
dist/layouts/<name>.zip    each layout zipped
dist/build.json            sizes, checks and timings of this build
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from build import checks, elf, freeze, package, single
from build.errors import BuildError

logger = logging.getLogger("build")

# The single file is the default only while it starts within 1.1x of the
# folder: `python -m build.measure` compares them (dist/cold-start.json).
DEFAULT_LAYOUT = "single"
LAYOUTS = ("folder", "single")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """Command line of the build."""
    parser = argparse.ArgumentParser(prog="python -m build", description=__doc__)
    parser.add_argument("--dist", type=Path, default=freeze.ROOT / "dist")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument(
        "--skip-freeze",
        action="store_true",
        help="reuse the last Nuitka output (to iterate on packaging and checks)",
    )
    parser.add_argument(
        "--skip-smoke-test",
        action="store_true",
        help="no bare-root invoke (for cross builds that cannot run the output)",
    )

    return parser.parse_args(argv)


def bundle_host_libraries(standalone: Path) -> list[str]:
    """
    Copy into the folder the host libraries its objects link beyond glibc.

    Nuitka leaves some libraries to the system (libz.so.1, which zlib and
    binascii link); Lambda's provided.al2023 promises glibc, nothing more.
    """
    bundled = []
    for library in sorted(checks.linked_libraries([standalone])):
        target = standalone / library.name
        if not checks.is_glibc(library) and not target.exists():
            shutil.copy2(library.resolve(), target)
            target.chmod(0o644)
            bundled.append(library.name)

    return bundled


# The CJK codecs (Shift JIS, GB2312, Big5, EUC-KR, ISO-2022...): Nuitka ships
# every encodings module as part of interpreter start-up, and these
# extension modules with them, 0.45 MB of the zip. Lambda runs in a UTF-8
# locale and the service speaks JSON, which is UTF-8; a lookup of one of
# these charsets raises LookupError("unknown encoding") instead.
UNUSED_CODEC_MODULES = (
    "_codecs_cn.so",
    "_codecs_hk.so",
    "_codecs_iso2022.so",
    "_codecs_jp.so",
    "_codecs_kr.so",
    "_codecs_tw.so",
    "_multibytecodec.so",
)


def remove_unused_codecs(standalone: Path) -> int:
    """Delete UNUSED_CODEC_MODULES from the folder; the bytes removed."""
    removed = 0
    for name in UNUSED_CODEC_MODULES:
        path = standalone / name
        if path.exists():
            removed += path.stat().st_size
            path.unlink()

    return removed


def install_layouts(standalone: Path, dist: Path) -> dict[str, Path]:
    """
    Lay out both variants under dist/layouts from Nuitka's standalone folder.

    folder: the standalone folder with the binary renamed `bootstrap`; any
        extension module Nuitka puts in `bootstrap/` (the runtime package's
        name) rides inside the binary, since a file and a folder cannot share
        that name (the runtime's Cython modules are linked in, so none today).
    single: one file, every shared object appended.
    """
    layouts = dist / "layouts"
    if layouts.exists():
        shutil.rmtree(layouts)
    executable = standalone / freeze.EXECUTABLE
    clashing = "bootstrap/"

    folder = layouts / "folder"
    shutil.copytree(
        standalone,
        folder,
        symlinks=True,
        ignore=lambda directory, names: (
            [freeze.EXECUTABLE, "bootstrap"] if Path(directory) == standalone else []
        ),
    )
    embedded = single.assemble(
        standalone,
        executable,
        folder / "bootstrap",
        embed=lambda relative: relative.startswith(clashing),
    )
    logger.info("folder: %d objects inside the binary", len(embedded))

    embedded = single.assemble(standalone, executable, layouts / "single" / "bootstrap")
    logger.info("single file: %d shared objects appended", len(embedded))

    return {"folder": folder, "single": layouts / "single"}


def install_default(layout: Path, dist: Path) -> None:
    """Put the default layout's files at the root of dist/."""
    # Only what a previous default layout put there: dist/x86_64, dist/arm64
    # (Docker builds) and other tools' files stay.
    previous = {path.name for path in (dist / "layouts").glob("*/*")}
    for stale in dist.iterdir():
        if stale.name in previous | {"function.zip"}:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    shutil.copytree(layout, dist, symlinks=True, dirs_exist_ok=True)


@contextmanager
def exclusive_build() -> Iterator[None]:
    """
    Hold the build's lock: one freeze at a time in this checkout.

    Nuitka wipes and rewrites its build folder, so two builds at once (a test
    that runs `make build` while a developer does) corrupt each other. The
    second one waits here for the first, then finds ccache warm.
    """
    freeze.WORK_DIR.mkdir(parents=True, exist_ok=True)
    with (freeze.WORK_DIR / "build.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("another build is running in this checkout: waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str]) -> int:
    """Run the whole build; exit status 1 with a clear message on failure."""
    logging.basicConfig(level=logging.INFO, format="build: %(message)s")
    arguments = parse_arguments(argv)
    with exclusive_build():
        return build(arguments)


def build(arguments: argparse.Namespace) -> int:
    """Freeze, patch, check and package, as the module docstring lists."""
    dist: Path = arguments.dist.resolve()
    started = time.monotonic()
    report: dict[str, object] = {"arch": freeze.host_arch()}

    try:
        standalone = freeze.WORK_DIR / "nuitka" / "bootstrap.dist"
        if not arguments.skip_freeze:
            standalone = freeze.freeze(freeze.WORK_DIR / "nuitka", arguments.jobs)
        report["freeze_s"] = round(time.monotonic() - started, 1)

        for library in bundle_host_libraries(standalone):
            logger.info("bundled %s (linked, not part of glibc)", library)

        logger.info(
            "removed the CJK codecs: %.1f MB less",
            remove_unused_codecs(standalone) / 1e6,
        )

        # The executable is stripped by Nuitka; the shared objects are not.
        shared_objects = [
            path
            for path in checks.elf_files([standalone])
            if path.name != freeze.EXECUTABLE
        ]
        saved = sum(elf.strip_debug_information(path) for path in shared_objects)
        logger.info(
            "stripped %d shared objects: %.1f MB less",
            len(shared_objects),
            saved / 1e6,
        )

        # Rebind symbols a newer build glibc versioned (hypot@GLIBC_2.35...).
        for path in checks.elf_files([standalone]):
            for change in elf.lower_glibc_needs(path, checks.LAMBDA_GLIBC):
                logger.info("glibc: %s", change)
        report["glibc"] = checks.check_glibc_floor([standalone])

        dist.mkdir(parents=True, exist_ok=True)
        layouts = install_layouts(standalone, dist)
        # The single file's image is the folder's executable, checked above;
        # check the bytes actually shipped too.
        checks.check_glibc_floor([layouts["single"]])

        sizes = {}
        for name, folder in layouts.items():
            # The shipped zip gets zopfli's smaller Deflate (about 45 s); the
            # others zlib's, in seconds (build/package.py).
            deflate = (
                package.deflate_zopfli
                if name == DEFAULT_LAYOUT
                else package.deflate_zlib
            )
            zip_bytes = package.write_zip(
                folder, dist / "layouts" / (name + ".zip"), deflate
            )
            sizes[name] = {
                "zip_bytes": zip_bytes,
                "unpacked_bytes": package.unpacked_size(folder),
            }
            logger.info(
                "%s: zip %.1f MB, unpacked %.1f MB",
                name,
                zip_bytes / 1e6,
                sizes[name]["unpacked_bytes"] / 1e6,
            )
        report["layouts"] = sizes

        if not arguments.skip_smoke_test:
            for name, folder in layouts.items():
                response = checks.smoke_test_in_bare_root(folder, [layouts["folder"]])
                logger.info(
                    "%s: answered an invoke in a bare root (status %s)",
                    name,
                    response["statusCode"],
                )
            report["bare_root_smoke_test"] = "passed"

        install_default(layouts[DEFAULT_LAYOUT], dist)
        shutil.copy2(
            dist / "layouts" / (DEFAULT_LAYOUT + ".zip"), dist / "function.zip"
        )
        report["default_layout"] = DEFAULT_LAYOUT
        # The roots the binary trusts (build/trust.py); the bench gives the
        # frozen peer the same ones.
        report["ca_bundle"] = str(freeze.EMBEDDED_CA_BUNDLE)
        report["total_s"] = round(time.monotonic() - started, 1)
        (dist / "build.json").write_text(json.dumps(report, indent=2) + "\n")
    except BuildError as exc:
        logger.error("%s", exc)
        return 1

    logger.info(
        "dist/function.zip (%s layout) in %.0f s", DEFAULT_LAYOUT, report["total_s"]
    )

    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
