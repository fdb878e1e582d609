"""build/anti-bloat.yml's compile-time edits, applied to the installed sources.

The frozen build runs botocore and urllib3 with these edits; the tests apply
the same edits here, on CPython, to check what the edited modules do.
"""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import yaml

from build import freeze


def edits() -> dict[str, list[tuple[str, str]]]:
    """Module name -> its (old, new) text replacements, in file order."""
    config = yaml.safe_load((freeze.BUILD_DIR / "anti-bloat.yml").read_text())

    return {
        entry["module-name"]: [
            (old, new)
            for edit in entry["anti-bloat"]
            for old, new in edit.get("replacements_plain", {}).items()
        ]
        for entry in config
    }


def installed_source(module_name: str) -> tuple[str, str]:
    """(path, source text) of the installed module."""
    spec = importlib.util.find_spec(module_name)
    assert spec is not None and spec.origin is not None
    return spec.origin, Path(spec.origin).read_text(encoding="utf-8")


def rewritten_module(module_name: str) -> types.ModuleType:
    """
    A fresh copy of `module_name` with its edits applied, executed.

    The copy is not put in sys.modules: importing it changes nothing else.
    """
    path, source = installed_source(module_name)
    for old, new in edits()[module_name]:
        assert old in source, f"{module_name} no longer contains {old!r}"
        source = source.replace(old, new)
    spec = importlib.util.find_spec(module_name)
    assert spec is not None
    module = types.ModuleType(module_name)
    module.__file__ = path
    # Relative imports resolve against the real package.
    module.__package__ = module_name if spec.submodule_search_locations else spec.parent
    exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102

    return module
