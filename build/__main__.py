"""`python -m build`: freeze, patch, check and package the function into dist/.

dist/bootstrap             the default layout's executable (see DEFAULT_LAYOUT)
dist/function.zip          the default layout, ready for Lambda
dist/layouts/folder/       standalone folder: bootstrap + its shared objects
dist/layouts/single/       one file: bootstrap with its objects appended
dist/layouts/<name>.zip    each layout zipped
dist/build.json            sizes, checks and timings of this build
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
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


def install_layouts(standalone: Path, dist: Path) -> dict[str, Path]:
    """Copy the folder layout and assemble the single file under dist/layouts."""
    layouts = dist / "layouts"
    if layouts.exists():
        shutil.rmtree(layouts)
    folder = layouts / "folder"
    shutil.copytree(standalone, folder, symlinks=True)
    objects = single.assemble(folder, layouts / "single" / "bootstrap")
    logger.info("single file: %d shared objects appended", objects)

    return {"folder": folder, "single": layouts / "single"}


def install_default(layout: Path, dist: Path) -> None:
    """Put the default layout's files at the root of dist/."""
    for stale in dist.iterdir():
        if stale.name not in {"layouts", "build.json"}:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    shutil.copytree(layout, dist, symlinks=True, dirs_exist_ok=True)


def main(argv: list[str]) -> int:
    """Run the whole build; exit status 1 with a clear message on failure."""
    logging.basicConfig(level=logging.INFO, format="build: %(message)s")
    arguments = parse_arguments(argv)
    dist: Path = arguments.dist.resolve()
    started = time.monotonic()
    report: dict[str, object] = {"arch": freeze.host_arch()}

    try:
        standalone = freeze.WORK_DIR / "nuitka" / "bootstrap.dist"
        if not arguments.skip_freeze:
            standalone = freeze.freeze(freeze.WORK_DIR / "nuitka", arguments.jobs)
        report["freeze_s"] = round(time.monotonic() - started, 1)

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
            zip_bytes = package.write_zip(folder, dist / "layouts" / (name + ".zip"))
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
