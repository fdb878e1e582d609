"""Runs every test that takes `wire` over both forms of the HTTP connection."""

from types import ModuleType

import pytest

from bootstrap import _wire_c, _wire_py


@pytest.fixture(params=[_wire_c, _wire_py], ids=["compiled", "python"])
def wire(request: pytest.FixtureRequest) -> ModuleType:
    """The compiled `_wire_c` and its pure-Python twin `_wire_py`."""
    module: ModuleType = request.param

    return module
