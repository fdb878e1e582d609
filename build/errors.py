"""Errors of the freeze and package recipe.

BuildError
├── ToolError            a tool the build runs failed (Nuitka, gcc, objdump)
├── ElfFormatError       a file is not the ELF the build expects
├── GlibcVersionError    an output needs a glibc newer than Lambda's
└── SmokeTestError       the frozen bootstrap failed to answer an invoke
"""

from __future__ import annotations

from pathlib import Path


class BuildError(Exception):
    """Base of every error the build reports; the message says what to fix."""


class ToolError(BuildError):
    """A tool the build runs exited non-zero."""

    def __init__(self, command: list[str], returncode: int) -> None:
        self.command = command
        self.returncode = returncode
        super().__init__(f"{' '.join(command)} exited with {returncode}")


class ElfFormatError(BuildError):
    """A file the build inspects is not an ELF64 little-endian file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


class GlibcVersionError(BuildError):
    """An output requires a glibc symbol version newer than the target has."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


class SmokeTestError(BuildError):
    """The frozen bootstrap did not answer an invoke in a bare root filesystem."""
