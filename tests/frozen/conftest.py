"""Fixtures for the tests of the frozen bootstrap and of the build recipe.

`frozen_layout` yields each layout `make build` produced (dist/layouts/folder and
dist/layouts/single). Without a build the tests that need one are skipped,
unless FROZEN_REQUIRED=1 (set by `make test`, which builds first): then a
missing build is a failure, so the frozen suite can never pass by not running.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DIST = Path(os.environ.get("FROZEN_DIST", PROJECT_ROOT / "dist"))
LAYOUTS = ("folder", "single")


def require_build(path: Path) -> Path:
    """`path` if the build made it; else skip (or fail under FROZEN_REQUIRED)."""
    if path.exists():
        return path
    message = f"{path} is missing: run `make build` first"
    if os.environ.get("FROZEN_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=LAYOUTS)
def frozen_layout(request: pytest.FixtureRequest) -> Path:
    """The folder of one built layout, holding its executable `bootstrap`."""
    folder = DIST / "layouts" / request.param
    require_build(folder / "bootstrap")

    return folder


@pytest.fixture
def frozen_bootstrap(frozen_layout: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """That layout's bootstrap, made the command of the `lambda_runtime` fixture."""
    executable = frozen_layout / "bootstrap"
    monkeypatch.setenv("BOOTSTRAP_COMMAND", str(executable))

    return executable
