"""Assemble a `bootstrap`: the standalone binary with shared objects appended.

The standalone folder holds the executable and the shared objects it loads at
run time (extension modules such as `_ssl.so`, the libraries they link). The
single file is the executable followed by those objects and an index, in the
format build/loader/payload.c reads (see its header). Nothing is extracted at
run time: each object is copied into a memory file only when it is imported.

The folder layout uses the same mechanism for one folder only: the runtime
package is named `bootstrap`, so Nuitka would put extension modules of that
package in a folder `bootstrap/` right where Lambda wants the executable
`bootstrap`. Any such module rides in the executable; everything else stays a
file. (The runtime's own Cython modules are linked into the executable
instead, build/loader/extensions.c, so today the folder has none.)

Python data files cannot be served that way; the build compiles the ones the
function reads into the binary (build/embedded.py), and this step refuses a
folder that still holds any other file, so nothing is silently lost.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from build.elf import is_elf
from build.errors import BuildError

PAYLOAD_MAGIC = b"LMBDPAY1"


@dataclass(frozen=True)
class PayloadObject:
    """One shared object of the standalone folder and the ones it links."""

    path: str  # relative to the folder, with "/" separators
    data: bytes
    needed: tuple[str, ...]


def needed_libraries(path: Path) -> tuple[str, ...]:
    """The DT_NEEDED entries of an ELF file, in link order."""
    listing = subprocess.run(
        ["readelf", "--dynamic", "--wide", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    needed = []
    for line in listing.splitlines():
        if "(NEEDED)" in line and "[" in line:
            needed.append(line[line.index("[") + 1 : line.rindex("]")])

    return tuple(needed)


def collect_objects(
    folder: Path, executable: Path, embed: Callable[[str], bool]
) -> list[PayloadObject]:
    """
    The shared objects of the folder that `embed` selects, libraries first.

    Args:
        folder: Nuitka's standalone folder.
        executable: the binary in it, never part of its own payload.
        embed: takes a path relative to the folder; True to embed that file.

    Raises:
        BuildError: a selected file is not a shared object (a data file the
            payload cannot serve), or the objects link in a cycle.
    """
    objects: dict[str, PayloadObject] = {}
    strays = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path == executable or path.is_dir() or not embed(relative):
            continue
        # A symlinked library (libfoo.so -> libfoo.so.1) is stored as a copy.
        if not is_elf(path.resolve()):
            strays.append(relative)
            continue
        objects[relative] = PayloadObject(
            relative, path.read_bytes(), needed_libraries(path)
        )
    if strays:
        raise BuildError(
            "the single file cannot serve these data files; compile them in "
            f"(build/embedded.py) or exclude them: {', '.join(strays)}"
        )

    # Leaves first, so an object's libraries precede it in the payload.
    by_name = {Path(name).name: name for name in objects}
    ordered: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in trail:
            raise BuildError(f"shared objects link in a cycle: {' -> '.join(trail)}")
        for library in objects[name].needed:
            if library in by_name:
                visit(by_name[library], (*trail, name))
        ordered.append(name)

    for name in objects:
        visit(name, ())

    return [objects[name] for name in ordered]


def embed_everything(relative: str) -> bool:
    """The single file: every object of the folder goes into the payload."""
    return True


def assemble(
    folder: Path,
    executable: Path,
    target: Path,
    embed: Callable[[str], bool] = embed_everything,
) -> list[str]:
    """
    Write `executable` followed by the selected objects of `folder` to `target`.

    Args:
        folder: Nuitka's standalone folder.
        executable: the binary Nuitka built in it.
        target: the file to write; it gets the executable's mode.
        embed: which files (relative paths) go into the payload.

    Returns:
        The relative paths of the embedded objects.
    """
    objects = collect_objects(folder, executable, embed)
    line_of = {obj.path: number for number, obj in enumerate(objects)}
    by_name = {Path(obj.path).name: obj.path for obj in objects}

    body = bytearray(executable.read_bytes())
    index_lines = []
    for obj in objects:
        offset = len(body)
        body += obj.data
        deps = [str(line_of[by_name[n]]) for n in obj.needed if n in by_name]
        # Libraries it links that stay files beside the executable.
        deps += [
            f"={n}"
            for n in obj.needed
            if n not in by_name and (folder / n).is_file() and n != executable.name
        ]
        index_lines.append(f"{obj.path}\t{offset}\t{len(obj.data)}\t{','.join(deps)}\n")

    index = "".join(index_lines).encode("utf-8")
    index_offset = len(body)
    body += index
    body += struct.pack("<QQ", index_offset, len(index)) + PAYLOAD_MAGIC

    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(body))
    shutil.copymode(executable, target)

    return [obj.path for obj in objects]
