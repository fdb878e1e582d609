"""Fixtures of the HTTP layer tests: sample events and both parser forms."""

from __future__ import annotations

import copy
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bootstrap import codec
from bootstrap.http import _events_py, events

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"

# The compiled parser and its pure-Python twin must behave the same: every
# test that takes `parser` runs over both.
PARSERS = {"compiled": events, "pure": _events_py}


def load_event(name: str) -> dict[str, Any]:
    """Return a fresh copy of tests/events/<name>.json."""
    event: dict[str, Any] = codec.loads((EVENTS_DIR / (name + ".json")).read_bytes())

    return copy.deepcopy(event)


@pytest.fixture(params=sorted(PARSERS), ids=sorted(PARSERS))
def parser(request: pytest.FixtureRequest) -> ModuleType:
    """The parser module under test: compiled or pure."""
    return PARSERS[request.param]
