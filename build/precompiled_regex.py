"""Hand `re` the cold path's patterns already compiled by the build.

build/regex_cache.py records the regular expressions the function compiles on
its cold path and writes their SRE opcodes into a generated module compiled
into the frozen binary. That module calls `install_when_imported` at start.

A hello-world cold start never imports `re`, and importing it costs a few
milliseconds, so nothing is done until something else imports it: a finder
at the front of sys.meta_path waits for `re`, lets the usual loader run it,
then replaces `re._compile` (what re.compile, re.match and the rest call)
with a function that builds table patterns with `_sre.compile` directly and
leaves every other pattern to the original. The opcodes belong to the
interpreter that made them: another Python version or SRE magic number
ignores the table.

This module runs at every frozen start: it imports nothing beyond what the
interpreter has already loaded.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]  # no stub: the C half of re
import marshal
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

    # (pattern, flags) as re._compile receives them.
    Key = tuple[str | bytes, int]
    # What _sre.compile takes after the pattern: flags, code, groups,
    # groupindex, indexgroup.
    Parts = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]


def compile_from(
    table: dict[Key, Parts], original: Callable[..., Any]
) -> Callable[..., Any]:
    """A stand-in for re._compile that builds table patterns without parsing them."""
    built: dict[tuple[type, str | bytes, int], Any] = {}

    def compile_pattern(pattern: Any, flags: Any) -> Any:
        # re passes RegexFlag members as well as plain ints.
        flags = int(flags) if isinstance(flags, int) else flags
        kind = type(pattern)
        if kind is not str and kind is not bytes:
            return original(pattern, flags)
        key = (kind, pattern, flags)
        compiled = built.get(key)
        if compiled is None:
            parts = table.get((pattern, flags))
            if parts is None:
                return original(pattern, flags)
            compiled = built[key] = _sre.compile(pattern, *parts)

        return compiled

    return compile_pattern


class _AfterLoading:
    """A loader that runs another loader, then a function on the module."""

    def __init__(self, loader: Any, then: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._then = then

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._then(module)


class _WhenImported:
    """A meta path finder that waits for one module, then steps aside."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self._name = name
        self._then = then

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> ModuleSpec | None:
        if fullname != self._name:
            return None
        sys.meta_path.remove(self)
        # The search the import system would have made without this finder.
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = find_spec and find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None:
            spec.loader = _AfterLoading(spec.loader, self._then)  # type: ignore[assignment]

        return spec


def install_when_imported(magic: int, version: tuple[int, int], blob: bytes) -> bool:
    """
    Use the table for every pattern `re` compiles from the moment it is imported.

    Args:
        magic, version: _sre.MAGIC and the Python version the table was made
            with; any other interpreter ignores the table.
        blob: the marshalled table, from build/regex_cache.py.

    Returns:
        Whether the table will be used.
    """
    if magic != _sre.MAGIC or version != tuple(sys.version_info[:2]):
        return False

    def patch(re_module: ModuleType) -> None:
        # Written by our own build and compiled into the binary.
        table: dict[Key, Parts] = marshal.loads(blob)  # noqa: S302
        original = re_module._compile
        re_module._compile = compile_from(table, original)  # type: ignore[attr-defined]

    re_module = sys.modules.get("re")
    if re_module is not None:
        patch(re_module)
    else:
        sys.meta_path.insert(0, _WhenImported("re", patch))

    return True
