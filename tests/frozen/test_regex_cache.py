"""The build's regex cache: recorded patterns, their opcodes, and the hook in re."""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from build import precompiled_regex, regex_cache

PATTERNS = [
    (r"^(?P<scheme>[a-z]+)://(?P<host>[^/:]+)(?::(?P<port>\d+))?", 0),
    (r"[A-Z][a-z]+", re.IGNORECASE),
    (
        r"""
        (?P<word> \w+ )   # a word
        \s*               # then spaces
     """,
        re.VERBOSE,
    ),
    (rb"\x00(?P<tag>[\x01-\x7f])", 0),
    (r"(?<=[a-z])(?=[A-Z])", 0),
    (r"\d{1,3}(?:\.\d{1,3}){3}", re.ASCII),
]


@pytest.mark.parametrize(("pattern", "flags"), PATTERNS)
def test_opcodes_build_the_pattern_re_builds(pattern: str | bytes, flags: int) -> None:
    parts = regex_cache.compile_parts(pattern, flags)

    built = _sre.compile(pattern, *parts)

    expected = re.compile(pattern, flags)
    assert built == expected  # same pattern, flags and opcodes
    assert built.groupindex == expected.groupindex
    assert built.groups == expected.groups


def test_recorder_sees_every_pattern_compiled_cached_or_not() -> None:
    re.compile(r"cached-before-\d+")

    def run() -> None:
        re.compile(r"cached-before-\d+")
        re.match(r"fresh-(\w+)", "fresh-one", re.IGNORECASE)
        re.compile(re.compile("already-a-pattern"))

    recorded = regex_cache.record_patterns(run)

    assert recorded == [
        (r"cached-before-\d+", 0),
        (r"fresh-(\w+)", int(re.IGNORECASE)),
        ("already-a-pattern", 0),
    ]
    assert re._compile is not None  # the recorder is gone again
    assert "record" not in re._compile.__qualname__


def test_stand_in_serves_table_patterns_and_leaves_the_rest_to_re() -> None:
    table = regex_cache.table_for([(r"a(b+)c", 0)])
    calls: list[object] = []

    def original(pattern: object, flags: int) -> re.Pattern[str]:
        calls.append(pattern)
        return re.compile(pattern, flags)  # type: ignore[call-overload, no-any-return]

    compile_pattern = precompiled_regex.compile_from(table, original)

    first = compile_pattern(r"a(b+)c", re.RegexFlag(0))
    assert first == re.compile(r"a(b+)c")
    assert compile_pattern(r"a(b+)c", 0) is first
    assert first.match("abbbc").group(1) == "bbb"
    assert calls == []
    # Not in the table, bytes for a str pattern, a Pattern: all go to re.
    compile_pattern(r"x+", 0)
    compile_pattern(rb"a(b+)c", 0)
    compile_pattern(first, 0)
    assert calls == [r"x+", rb"a(b+)c", first]


def _generated(tmp_path: Path, patterns: list[tuple[str, int]]) -> Path:
    target = tmp_path / f"{regex_cache.MODULE_NAME}.py"
    regex_cache.write_module(regex_cache.table_for(patterns), target)
    return tmp_path


INSTALL_CHECK = """
import sys
pre_import = {pre_import!r}
if pre_import:
    import re
import bootstrap_regex_cache
lazy = "re" not in sys.modules
import re
compiled = re.compile(r"(?P<user>[a-z]+)@(?P<host>[a-z.]+)")
other = re.compile(r"not-in-the-table")
import json
print(json.dumps({{
    "re_loaded_by_install": not lazy,
    "hooked": re._compile.__module__,
    "groups": compiled.match("me@example.com").groupdict(),
    "other": other.pattern,
}}))
"""


@pytest.mark.parametrize("pre_import", [False, True], ids=["re-later", "re-loaded"])
def test_generated_module_hooks_re_without_importing_it(
    tmp_path: Path, pre_import: bool
) -> None:
    folder = _generated(tmp_path, [(r"(?P<user>[a-z]+)@(?P<host>[a-z.]+)", 0)])
    script = INSTALL_CHECK.format(pre_import=pre_import)

    completed = subprocess.run(
        [sys.executable, "-S", "-c", script],
        env={"PYTHONPATH": f"{folder}:{regex_cache.Path(__file__).parents[2]}"},
        capture_output=True,
        text=True,
        check=True,
    )

    answer = json.loads(completed.stdout)
    assert answer["re_loaded_by_install"] is pre_import
    assert answer["hooked"] == "build.precompiled_regex"
    assert answer["groups"] == {"user": "me", "host": "example.com"}
    assert answer["other"] == "not-in-the-table"


def test_a_table_from_another_interpreter_is_ignored() -> None:
    assert not precompiled_regex.install_when_imported(_sre.MAGIC + 1, (3, 11), b"")
    assert not precompiled_regex.install_when_imported(_sre.MAGIC, (2, 7), b"")
