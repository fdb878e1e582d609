"""Read and rebind the GLIBC symbol versions an ELF file needs from its libraries.

Lambda's provided.al2023 has glibc 2.34. The build machine may have a newer glibc,
and whatever links against it (a static libpython, an extension module) records
the newest version of each symbol it uses: `hypot` became `hypot@GLIBC_2.35`
when glibc 2.35 rewrote it, although `hypot@GLIBC_2.2.5` is still exported for
older programs. The dynamic loader refuses to start a program whose version
needs it cannot meet, so such a binary dies on Lambda before its first line.

This module reads those needs straight from the ELF tables and, when the
library also exports an older version of the same symbol, rebinds the symbol to
it: a few bytes in `.gnu.version` (or `.gnu.version_r`), no relinking.

Wire format (ELF64, little endian: x86_64 and aarch64):

    .dynsym        Elf64_Sym[n]     24 bytes each; st_name indexes .dynstr
    .gnu.version   uint16[n]        version index of symbol i (bit 15: hidden)
    .gnu.version_r Elf64_Verneed    16 bytes: version, count, file, aux, next
                   Elf64_Vernaux    16 bytes: hash, flags, other, name, next
                                    `other` is the index .gnu.version refers to
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from build.errors import ElfFormatError, GlibcVersionError, ToolError

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1

SHT_DYNSYM = 11
SHT_GNU_VERSYM = 0x6FFFFFFF
SHT_GNU_VERNEED = 0x6FFFFFFE

# A weak version need only warns when the library lacks it (glibc dl-version.c).
VER_FLG_WEAK = 0x2
VERSYM_HIDDEN = 0x8000

SECTION_HEADER = struct.Struct("<IIQQQQIIQQ")
SYMBOL = struct.Struct("<IBBHQQ")
VERNEED = struct.Struct("<HHIII")
VERNAUX = struct.Struct("<IHHII")

GLIBC_VERSION = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")


@dataclass(frozen=True)
class VersionNeed:
    """One `library: version` requirement of an ELF file (a Vernaux entry)."""

    library: str
    version: str
    index: int
    flags: int
    offset: int  # file offset of the Vernaux entry, for rebinding in place

    @property
    def weak(self) -> bool:
        """Whether the loader tolerates a library that lacks this version."""
        return bool(self.flags & VER_FLG_WEAK)


@dataclass(frozen=True)
class VersionedSymbol:
    """An undefined dynamic symbol and the version index it is bound to."""

    name: str
    index: int
    versym_offset: int  # file offset of its .gnu.version entry


def is_elf(path: Path) -> bool:
    """Whether `path` is a regular file that starts with the ELF magic."""
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as stream:
        return stream.read(4) == ELF_MAGIC


def glibc_version_key(version: str) -> tuple[int, ...] | None:
    """Turn `GLIBC_2.35` into (2, 35, 0) for comparison; None if not glibc."""
    match = GLIBC_VERSION.match(version)
    if match is None:
        return None

    return tuple(int(part or 0) for part in match.groups())


class ElfFile:
    """The dynamic symbol versioning tables of one ELF64 little-endian file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = bytearray(path.read_bytes())
        if self.data[:4] != ELF_MAGIC:
            raise ElfFormatError(path, "not an ELF file")
        if self.data[4] != ELFCLASS64 or self.data[5] != ELFDATA2LSB:
            raise ElfFormatError(path, "only ELF64 little endian is supported")

        self.sections = self._read_sections()

    def _read_sections(self) -> list[tuple[int, int, int, int, int]]:
        """Return (type, offset, size, link, entsize) for each section."""
        (shoff,) = struct.unpack_from("<Q", self.data, 0x28)
        (shentsize, shnum) = struct.unpack_from("<HH", self.data, 0x3A)
        sections = []
        for number in range(shnum):
            fields = SECTION_HEADER.unpack_from(self.data, shoff + number * shentsize)
            _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize = (
                fields
            )
            sections.append((kind, offset, size, link, entsize))

        return sections

    def _section(self, kind: int) -> tuple[int, int, int, int, int] | None:
        return next((s for s in self.sections if s[0] == kind), None)

    def _string(self, table_offset: int, index: int) -> str:
        start = table_offset + index
        end = self.data.index(0, start)

        return self.data[start:end].decode("ascii", "replace")

    def _dynstr_offset(self) -> int:
        dynsym = self._section(SHT_DYNSYM)
        if dynsym is None:
            raise ElfFormatError(self.path, "no .dynsym section")

        return self.sections[dynsym[3]][1]

    def version_needs(self) -> list[VersionNeed]:
        """Every version this file requires, grouped by library."""
        verneed = self._section(SHT_GNU_VERNEED)
        if verneed is None:
            return []

        strings = self.sections[verneed[3]][1]
        needs = []
        offset = verneed[1]
        while True:
            _ver, count, file_name, aux, next_need = VERNEED.unpack_from(
                self.data, offset
            )
            library = self._string(strings, file_name)
            aux_offset = offset + aux
            for _ in range(count):
                _hash, flags, other, name, next_aux = VERNAUX.unpack_from(
                    self.data, aux_offset
                )
                version = self._string(strings, name)
                needs.append(VersionNeed(library, version, other, flags, aux_offset))
                aux_offset += next_aux
            if next_need == 0:
                break
            offset += next_need

        return needs

    def undefined_symbols(self) -> list[VersionedSymbol]:
        """Undefined dynamic symbols with their version index."""
        dynsym = self._section(SHT_DYNSYM)
        versym = self._section(SHT_GNU_VERSYM)
        if dynsym is None or versym is None:
            return []

        strings = self._dynstr_offset()
        symbols = []
        for number in range(dynsym[2] // SYMBOL.size):
            name, _info, _other, shndx, _value, _size = SYMBOL.unpack_from(
                self.data, dynsym[1] + number * SYMBOL.size
            )
            versym_offset = versym[1] + 2 * number
            (index,) = struct.unpack_from("<H", self.data, versym_offset)
            if shndx == 0 and name:
                symbols.append(
                    VersionedSymbol(
                        self._string(strings, name),
                        index & ~VERSYM_HIDDEN,
                        versym_offset,
                    )
                )

        return symbols

    def find_dynstr(self, text: str) -> int | None:
        """Index of `text` as a NUL-terminated string in the version strings."""
        verneed = self._section(SHT_GNU_VERNEED)
        if verneed is None:
            return None

        table = self.sections[verneed[3]]
        needle = b"\0" + text.encode("ascii") + b"\0"
        found = self.data.find(needle, table[1], table[1] + table[2])
        if found < 0:
            return None

        return found + 1 - table[1]

    def rebind(self, symbol: VersionedSymbol, need: VersionNeed) -> None:
        """Point `symbol` at the version need `need` (same library)."""
        struct.pack_into("<H", self.data, symbol.versym_offset, need.index)

    def rename_need(self, need: VersionNeed, version: str) -> bool:
        """Rewrite a version need in place to `version`; False if impossible."""
        name = self.find_dynstr(version)
        if name is None:
            return False

        struct.pack_into("<I", self.data, need.offset, elf_hash(version))
        struct.pack_into("<I", self.data, need.offset + 8, name)

        return True

    def mark_weak(self, need: VersionNeed) -> None:
        """Let the loader start even if the library lacks this version."""
        struct.pack_into("<H", self.data, need.offset + 4, need.flags | VER_FLG_WEAK)

    def save(self) -> None:
        """Write the patched bytes back, keeping the file mode."""
        self.path.write_bytes(bytes(self.data))


def elf_hash(name: str) -> int:
    """The SysV ELF hash that Vernaux.vna_hash stores for a version name."""
    value = 0
    for char in name.encode("ascii"):
        value = ((value << 4) + char) & 0xFFFFFFFF
        high = value & 0xF0000000
        if high:
            value ^= high >> 24
        value &= ~high & 0xFFFFFFFF

    return value


def library_versions(library: str) -> dict[str, list[str]]:
    """Versions each symbol of a host library is exported under (objdump -T)."""
    path = resolve_library(library)
    listing = subprocess.run(
        ["objdump", "-T", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    exported: dict[str, list[str]] = {}
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 7 or fields[-3] == "*UND*":
            continue
        version = fields[-2].strip("()")
        exported.setdefault(fields[-1], []).append(version)

    return exported


def resolve_library(library: str) -> Path:
    """Where the host's dynamic loader finds `library` (e.g. libm.so.6)."""
    cache = subprocess.run(
        ["/sbin/ldconfig", "-p"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in cache.splitlines():
        name, _, target = line.strip().partition(" => ")
        if name.split(" ", 1)[0] == library:
            return Path(target)

    raise GlibcVersionError(Path(library), "not found in the ldconfig cache")


def lower_glibc_needs(path: Path, floor: str) -> list[str]:
    """
    Rebind every symbol that needs a glibc version above `floor` to an older one.

    Each symbol moves to the newest version at or below the floor that the same
    host library still exports (glibc keeps the old implementations for binaries
    built against it). The emptied version need is renamed or marked weak.

    Args:
        path: the ELF file, patched in place.
        floor: the newest version allowed, e.g. "GLIBC_2.34".

    Returns:
        One line per rebound symbol, for the build log.

    Raises:
        GlibcVersionError: a symbol has no version at or below the floor.
    """
    floor_key = glibc_version_key(floor)
    if floor_key is None:
        raise GlibcVersionError(path, f"{floor!r} is not a GLIBC_ version")
    elf = ElfFile(path)
    needs = elf.version_needs()
    too_new = [
        need
        for need in needs
        if (key := glibc_version_key(need.version)) and key > floor_key
        if not need.weak
    ]
    if not too_new:
        return []

    changes: list[str] = []
    symbols = elf.undefined_symbols()
    for need in too_new:
        exported = library_versions(need.library)
        bound = [symbol for symbol in symbols if symbol.index == need.index]
        targets: dict[str, list[VersionedSymbol]] = {}
        for symbol in bound:
            older = [
                version
                for version in exported.get(symbol.name, [])
                if (key := glibc_version_key(version)) and key <= floor_key
            ]
            if not older:
                raise GlibcVersionError(
                    path,
                    f"{symbol.name}@{need.version} has no version at or below "
                    f"{floor} in {need.library}",
                )
            best = max(older, key=lambda version: glibc_version_key(version) or ())
            targets.setdefault(best, []).append(symbol)

        renamed = False
        for version, moved in targets.items():
            existing = next(
                (
                    other
                    for other in needs
                    if other.library == need.library and other.version == version
                ),
                None,
            )
            if existing is not None:
                for symbol in moved:
                    elf.rebind(symbol, existing)
            elif not renamed and elf.rename_need(need, version):
                # The symbols keep their index; the need now names the old
                # version. Symbols of any other target rebind to existing needs.
                renamed = True
            else:
                raise GlibcVersionError(
                    path, f"cannot express {moved[0].name}@{version} in this file"
                )
            changes.extend(
                f"{path.name}: {symbol.name}@{need.version} -> {version}"
                for symbol in moved
            )

        if not renamed:
            # Nothing refers to the new version any more; only the need is left.
            elf.mark_weak(need)

    elf.save()

    return changes


def strip_debug_information(path: Path) -> int:
    """
    Remove the debug information and local symbols of a shared object.

    The interpreter's extension modules come from a pyenv build compiled with
    -g: a third of their bytes are DWARF that nothing reads at run time, yet
    the zip carries them and the single file copies them into memory files at
    each start. The dynamic symbol table and symbol versions, which loading
    needs, are kept.

    Returns:
        The number of bytes saved.
    """
    before = path.stat().st_size
    command = ["strip", "--strip-unneeded", str(path)]
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise ToolError(command, completed.returncode)

    return before - path.stat().st_size
