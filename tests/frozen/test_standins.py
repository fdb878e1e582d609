"""The lazy stand-ins of the frozen build: deferred imports, same botocore results."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from build import freeze
from build.lazy import LazyModule, no_docstring


def _replacements() -> list[tuple[str, str]]:
    """(module, text to replace) for every compile-time edit of anti-bloat.yml."""
    config = yaml.safe_load((freeze.BUILD_DIR / "anti-bloat.yml").read_text())

    return [
        (entry["module-name"], old)
        for entry in config
        for edit in entry["anti-bloat"]
        for old in edit.get("replacements_plain", {})
    ]


@pytest.mark.parametrize(("module", "old"), _replacements())
def test_every_compile_time_edit_still_matches_the_installed_source(
    module: str, old: str
) -> None:
    # A text that no longer matches (a botocore upgrade) would leave the
    # module unedited: the cold path silently grows back.
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text(encoding="utf-8")

    assert old in source


def test_lazy_module_imports_nothing_until_an_attribute_is_read() -> None:
    sys.modules.pop("colorsys", None)
    colorsys = LazyModule("colorsys")

    assert "colorsys" not in sys.modules
    assert colorsys.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert "colorsys" in sys.modules


def test_lazy_module_of_a_submodule_reads_the_submodule() -> None:
    element_tree = LazyModule("xml.etree.ElementTree")

    parse_error = element_tree.ParseError

    assert parse_error is sys.modules["xml.etree.ElementTree"].ParseError
    # botocore.compat's stand-in catches parse errors through this base class.
    assert issubclass(parse_error, SyntaxError)


def test_lazy_module_of_a_missing_module_fails_on_first_use() -> None:
    missing = LazyModule("no_such_module_for_the_stand_in_test")

    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        _ = missing.anything


def test_docstring_stand_in_builds_no_docstring() -> None:
    docstring = no_docstring(operation_model=object(), method_description="x")  # type: ignore[func-returns-value]

    assert docstring is None


def test_frozen_client_defers_the_stand_ins_and_still_runs_their_paths(
    frozen_bootstrap: Path,
    lambda_runtime: Callable[..., Any],
    sessions_env: dict[str, str],
    sessions_table: str,
) -> None:
    emulator = lambda_runtime(
        "tests.frozen.handlers.standins.handler", env=sessions_env, timeout_s=30.0
    )

    result = emulator.invoke(b"{}")

    assert result.function_error is None, (result, emulator.logs()[-3000:])
    answer = json.loads(result.body)
    assert answer["loaded_at_init"] == []
    assert answer["paginated_items"] == 0
    assert answer["batch_tables"] == [sessions_table]
    assert answer["xml_errors_caught"] is True
    assert answer["client_method_doc"] is None
