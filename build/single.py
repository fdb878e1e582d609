"""Assemble the single-file `bootstrap`: the standalone binary plus its objects.

The standalone folder holds the executable and the shared objects it loads at
run time (extension modules such as `_ssl.so`, the libraries they link). The
single file is the executable followed by those objects and an index, in the
format build/loader/payload.c reads (see its header). Nothing is extracted at
run time: each object is copied into a memory file only when it is imported.

Python data files cannot be served that way; the build compiles the ones the
function reads into the binary (build/embedded.py), and this step refuses a
folder that still holds any other file, so nothing is silently lost.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
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


def collect_objects(folder: Path, executable: Path) -> list[PayloadObject]:
    """
    Every shared object of the folder, each after the ones it links.

    Raises:
        BuildError: the folder holds a file that is not a shared object.
    """
    objects: dict[str, PayloadObject] = {}
    strays = []
    for path in sorted(folder.rglob("*")):
        if path == executable or path.is_dir():
            continue
        relative = path.relative_to(folder).as_posix()
        if not is_elf(path):
            strays.append(relative)
            continue
        objects[relative] = PayloadObject(
            relative, path.read_bytes(), needed_libraries(path)
        )
    if strays:
        raise BuildError(
            "the single file cannot serve these data files; compile them in "
            "(build/embedded.py) or exclude them: {}".format(", ".join(strays))
        )

    # Leaves first, so an object's libraries precede it in the payload.
    by_name = {Path(name).name: name for name in objects}
    ordered: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in trail:
            raise BuildError(
                "shared objects link in a cycle: {}".format(" -> ".join(trail))
            )
        for library in objects[name].needed:
            if library in by_name:
                visit(by_name[library], (*trail, name))
        ordered.append(name)

    for name in objects:
        visit(name, ())

    return [objects[name] for name in ordered]


def assemble(folder: Path, target: Path) -> int:
    """
    Write the single-file bootstrap for a standalone folder.

    Args:
        folder: Nuitka's standalone folder (bootstrap.dist).
        target: the single file to write; its mode is the executable's.

    Returns:
        The number of objects appended.
    """
    executable = folder / "bootstrap"
    objects = collect_objects(folder, executable)
    line_of = {obj.path: number for number, obj in enumerate(objects)}
    by_name = {Path(obj.path).name: obj.path for obj in objects}

    image = executable.read_bytes()
    body = bytearray(image)
    index_lines = []
    for obj in objects:
        offset = len(body)
        body += obj.data
        deps = [str(line_of[by_name[n]]) for n in obj.needed if n in by_name]
        index_lines.append(f"{obj.path}\t{offset}\t{len(obj.data)}\t{','.join(deps)}\n")

    index = "".join(index_lines).encode("utf-8")
    index_offset = len(body)
    body += index
    body += struct.pack("<QQ", index_offset, len(index)) + PAYLOAD_MAGIC

    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(body))
    shutil.copymode(executable, target)

    return len(objects)
