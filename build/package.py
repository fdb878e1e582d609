"""Package a layout for Lambda: a zip with `bootstrap` at its root, executable."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

# Fixed timestamps make the zip depend only on its contents (reproducible).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_zip(folder: Path, target: Path) -> int:
    """
    Zip every file under `folder` at the zip's root, keeping executable bits.

    Lambda unpacks function.zip into /var/task and runs /var/task/bootstrap,
    which must carry its executable bit inside the zip (Unix mode in the
    external attributes; zipfile drops it unless told).

    Returns:
        The size of the zip in bytes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_dir():
                continue
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), ZIP_EPOCH)
            mode = stat.S_IMODE(path.stat().st_mode)
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode bits are honoured
            zf.writestr(info, path.read_bytes(), compresslevel=9)

    return target.stat().st_size


def unpacked_size(folder: Path) -> int:
    """Bytes the layout takes once unpacked in /var/task."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
