"""Serve botocore's data files and CA bundle from constants in the frozen binary.

The frozen `bootstrap` carries no botocore data folder: the build parses the
few JSON files a DynamoDB client reads (its service model, endpoint rules, the
partitions and defaults) and writes them, marshalled, into a generated module,
`embedded_files`, that Nuitka compiles in. Nuitka's anti-bloat configuration
(build/anti-bloat.yml) rewrites the file-system calls of `botocore.loaders` to
go through `botocore_fs`, which finds those files as if they were on disk and
hands the loader their content already parsed.

Why: a single-file `bootstrap` has no folder to read data from; the folder
layout would still pay botocore's scan of ~420 service folders, a gunzip per
model, and JSON parsing with an OrderedDict per object (unmarshalling the same
data is several times faster). Paths outside the data folder (a user's
~/.aws/models, AWS_DATA_PATH) still go to the real file system and to JSON.

The CA bundle botocore verifies TLS with must be a path (ssl reads it per
connection): `install_ca_bundle` makes botocore's `where()` return an anonymous
memory file (/proc/self/fd/N) holding the embedded bundle. AWS_CA_BUNDLE or an
explicit `verify=` still win, as in stock botocore.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any


class EmbeddedTree:
    """A read-only file tree rooted at `root`, held in memory."""

    def __init__(self, root: str, files: Mapping[str, bytes]) -> None:
        self.root = root.rstrip(os.sep)
        self.files = {
            os.path.join(self.root, *name.split("/")): data
            for name, data in files.items()
        }
        self.folders: dict[str, set[str]] = {self.root: set()}
        for path in self.files:
            child = path
            parent = os.path.dirname(child)
            while child != self.root:
                self.folders.setdefault(parent, set()).add(os.path.basename(child))
                child, parent = parent, os.path.dirname(parent)

    def owns(self, path: str) -> bool:
        """Whether `path` lies inside the embedded tree."""
        return path == self.root or path.startswith(self.root + os.sep)

    def isfile(self, path: str) -> bool:
        """Like os.path.isfile for the tree."""
        return os.path.normpath(path) in self.files

    def isdir(self, path: str) -> bool:
        """Like os.path.isdir for the tree."""
        return os.path.normpath(path) in self.folders

    def listdir(self, path: str) -> list[str]:
        """Like os.listdir for the tree; FileNotFoundError if absent."""
        try:
            return sorted(self.folders[os.path.normpath(path)])
        except KeyError:
            raise FileNotFoundError(path) from None

    def read(self, path: str) -> bytes:
        """The bytes of one embedded file."""
        try:
            return self.files[os.path.normpath(path)]
        except KeyError:
            raise FileNotFoundError(path) from None


class EmbeddedFileSystem:
    """
    The file-system calls of botocore.loaders: the embedded tree, then the disk.

    Nuitka compiles `os.path.isfile(...)` into a direct call, so replacing the
    module's `os` at run time would change nothing: anti-bloat.yml rewrites
    those calls in botocore/loaders.py at compile time to go through here.
    """

    def __init__(self, load_tree: Callable[[], EmbeddedTree | None]) -> None:
        self._load_tree = load_tree
        self._tree: EmbeddedTree | None = None
        self._loaded = False

    def _owner(self, path: str) -> EmbeddedTree | None:
        if not self._loaded:
            # Built on first use: botocore is fully imported by then.
            self._tree = self._load_tree()
            self._loaded = True
        if self._tree is not None and self._tree.owns(path):
            return self._tree
        return None

    def isfile(self, path: str) -> bool:
        """os.path.isfile, the tree first."""
        tree = self._owner(path)
        return tree.isfile(path) if tree else os.path.isfile(path)

    def isdir(self, path: str) -> bool:
        """os.path.isdir, the tree first."""
        tree = self._owner(path)
        return tree.isdir(path) if tree else os.path.isdir(path)

    def exists(self, path: str) -> bool:
        """os.path.exists, the tree first."""
        return self.isfile(path) or self.isdir(path)

    def listdir(self, path: str) -> list[str]:
        """os.listdir, the tree first."""
        tree = self._owner(path)
        return tree.listdir(path) if tree else os.listdir(path)

    def load_json(self, path: str) -> Any | None:
        """
        The parsed content of an embedded JSON file; None for any other path.

        The tree holds each file as the marshal of its parsed JSON, written by
        build/freeze.py; botocore's loader parses everything else itself.
        """
        tree = self._owner(path)
        if tree is None or not tree.isfile(path):
            return None
        # Written by our own build into the binary: nothing untrusted.
        return marshal.loads(tree.read(path))  # noqa: S302


def _botocore_tree() -> EmbeddedTree | None:
    """botocore's data folder as compiled in, or None outside the frozen binary."""
    try:
        # Imported here, not at the top: the module exists only in the frozen
        # binary, built by build/freeze.py.
        import botocore  # noqa: PLC0415 - already imported when this runs
        import embedded_files  # type: ignore[import-not-found]  # noqa: PLC0415
    except ImportError:
        return None

    root = os.path.join(os.path.dirname(botocore.__file__ or ""), "data")
    return EmbeddedTree(root, embedded_files.BOTOCORE_DATA)


# What the rewritten botocore.loaders calls (anti-bloat.yml).
botocore_fs = EmbeddedFileSystem(_botocore_tree)


# Embedded files already written to a memory file: name -> readable path.
_memory_files: dict[str, str] = {}


def embedded_file_path(name: str) -> str | None:
    """
    A readable path to the embedded data file `name`, or None if not embedded.

    The bytes go to a memory file (memfd_create) kept open for the life of the
    process: nothing is written to disk, and Lambda's read-only /var/task and
    empty /tmp do not matter.
    """
    if name in _memory_files:
        return _memory_files[name]
    try:
        # Imported here, not at the top: the module exists only in the frozen
        # binary, and most processes never need a data file.
        import embedded_files  # noqa: PLC0415
    except ImportError:
        return None

    data: bytes | None = embedded_files.DATA_FILES.get(name)
    if data is None:
        return None
    descriptor = os.memfd_create(name.replace("/", "-"), os.MFD_CLOEXEC)
    os.write(descriptor, data)
    _memory_files[name] = f"/proc/self/fd/{descriptor}"

    return _memory_files[name]


def install_ca_bundle(httpsession: ModuleType) -> None:
    """
    Make botocore's default CA bundle the one compiled into the binary.

    Args:
        httpsession: the botocore.httpsession module, at the end of its body.
    """
    on_disk: str = httpsession.DEFAULT_CA_BUNDLE

    def where() -> str:
        if os.path.isfile(on_disk):
            return on_disk
        return embedded_file_path("botocore/cacert.pem") or on_disk

    # get_cert_path() calls the module global `where` at each new connection.
    setattr(httpsession, "where", where)  # noqa: B010 - a module, not a class
