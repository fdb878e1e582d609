"""pytest plugin: keep only the tests that run a function through `lambda_runtime`.

Loaded (`-p tests.frozen.runtime_only`) when the integration suites run again
against the frozen bootstrap: the tests that never start the runtime (the
emulator's scripted runtime, in-process handler calls) would only repeat.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Deselect every test whose fixtures do not include `lambda_runtime`."""
    kept = [item for item in items if "lambda_runtime" in _fixtures(item)]
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def _fixtures(item: pytest.Item) -> list[str]:
    return list(getattr(item, "fixturenames", ()))
