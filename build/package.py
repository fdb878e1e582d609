"""Package a layout for Lambda: a zip with `bootstrap` at its root, executable.

Two ways to compress the same entries, both plain Deflate that any unzip
(Lambda's included) reads:

- zlib at level 9, in a second or two: every layout's zip;
- zopfli, an exhaustive Deflate encoder, 3.3% smaller for the 28 MB single
  file (10.27 -> 9.94 MB) in about 45 s: the zip that ships (function.zip).

zipfile cannot store data compressed elsewhere, so write_zip writes the zip
format itself: a local header and the data per file, then the central
directory (APPNOTE.TXT 4.3; no zip64, which a Lambda zip never needs).
"""

from __future__ import annotations

import stat
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import zopfli.zopfli

# Fixed timestamps make the zip depend only on its contents (reproducible):
# 1980-01-01 00:00:00, the first date the format can hold, in MS-DOS form.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_DOS_DATE = ((ZIP_EPOCH[0] - 1980) << 9) | (ZIP_EPOCH[1] << 5) | ZIP_EPOCH[2]
_DOS_TIME = 0

_DEFLATED = 8
_VERSION_NEEDED = 20  # 2.0: Deflate
_MADE_BY_UNIX = 3 << 8 | _VERSION_NEEDED  # Unix, so the mode bits are honoured
_ZIP32_LIMIT = 0xFFFFFFFF
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_OF_CENTRAL_DIRECTORY = struct.Struct("<IHHHHIIH")

Deflate = Callable[[bytes], bytes]


def deflate_zlib(data: bytes) -> bytes:
    """Raw Deflate at zlib's level 9."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)

    return compressor.compress(data) + compressor.flush()


def deflate_zopfli(data: bytes) -> bytes:
    """Raw Deflate by zopfli, one iteration (more gain 0.3% for 8x the time)."""
    # zopfli.zopfli.compress frames its output as zlib: a 2-byte header and
    # an Adler-32 trailer around the raw Deflate stream.
    framed: bytes = zopfli.zopfli.compress(data, numiterations=1)

    return framed[2:-4]


def write_zip(folder: Path, target: Path, deflate: Deflate = deflate_zlib) -> int:
    """
    Zip every file under `folder` at the zip's root, keeping executable bits.

    Lambda unpacks function.zip into /var/task and runs /var/task/bootstrap,
    which must carry its executable bit inside the zip (Unix mode in the
    external attributes).

    Returns:
        The size of the zip in bytes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    central = []
    with target.open("wb") as out:
        for path in sorted(folder.rglob("*")):
            if path.is_dir():
                continue
            name = path.relative_to(folder).as_posix().encode("utf-8")
            data = path.read_bytes()
            compressed = deflate(data)
            if len(data) > _ZIP32_LIMIT or out.tell() > _ZIP32_LIMIT:
                raise ValueError(f"{path} does not fit a zip without zip64")
            # The fields both headers share, from "version needed" to the
            # name's length; no flags, no extra field.
            common = (
                _VERSION_NEEDED,
                0,
                _DEFLATED,
                _DOS_TIME,
                _DOS_DATE,
                zlib.crc32(data),
                len(compressed),
                len(data),
                len(name),
                0,
            )
            mode = stat.S_IFREG | stat.S_IMODE(path.stat().st_mode)
            offset = out.tell()
            out.write(_LOCAL_HEADER.pack(0x04034B50, *common) + name + compressed)
            # No comment, disk 0, no internal attributes, then the Unix mode.
            central.append(
                _CENTRAL_HEADER.pack(
                    0x02014B50, _MADE_BY_UNIX, *common, 0, 0, 0, mode << 16, offset
                )
                + name
            )
        directory_offset = out.tell()
        for entry in central:
            out.write(entry)
        out.write(
            _END_OF_CENTRAL_DIRECTORY.pack(
                0x06054B50,
                0,
                0,
                len(central),
                len(central),
                out.tell() - directory_offset,
                directory_offset,
                0,
            )
        )

    return target.stat().st_size


def unpacked_size(folder: Path) -> int:
    """Bytes the layout takes once unpacked in /var/task."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
