"""Stand-ins the frozen build puts where botocore imports what DynamoDB never runs.

build/anti-bloat.yml rewrites a few botocore imports at compile time to use these:
a module proxy that imports the real module on first attribute access (jmespath,
xml.etree.ElementTree), and a docstring builder that builds nothing (the frozen
binary drops docstrings anyway, so botocore.docs and its HTML and ReST machinery
would be imported for text nobody can read). Each stand-in keeps the behaviour a
DynamoDB client relies on; only the import moves off the cold path.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any


class LazyModule:
    """A module that is imported the first time one of its attributes is read."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            # fromlist makes __import__ return the submodule, not the package.
            module = __import__(self._name, fromlist=["_"])
            self._module = module

        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"

        return f"<lazy module {self._name!r}, {state}>"


def no_docstring(*args: object, **kwargs: object) -> None:
    """Stand in for botocore's lazily built docstrings: the binary has none."""
    return None
