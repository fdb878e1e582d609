"""The runtime's and the sessions service's integration tests, on the frozen build.

Each suite runs again in its own pytest process with BOOTSTRAP_COMMAND set to
one layout's bootstrap, so every test that starts the runtime under the emulator
(against DynamoDB Local for the sessions service) starts the frozen executable
instead of `python -m bootstrap`. Only those tests are kept (runtime_only.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.frozen.conftest import PROJECT_ROOT

SUITE_TIMEOUT_S = 1500


@pytest.mark.timeout(SUITE_TIMEOUT_S + 60)
def test_integration_suites_pass_on_the_frozen_bootstrap(
    frozen_layout: Path, tmp_path: Path
) -> None:
    report = tmp_path / "junit.xml"
    env = dict(os.environ, BOOTSTRAP_COMMAND=str(frozen_layout / "bootstrap"))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(PROJECT_ROOT / "tests" / "integration"),
            "-p",
            "tests.frozen.runtime_only",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={report}",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_S,
        check=False,
    )
    suite = ElementTree.parse(report).getroot()
    counts = suite if suite.tag == "testsuite" else suite[0]
    ran = int(counts.get("tests", 0)) - int(counts.get("skipped", 0))

    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr
    assert ran > 0, completed.stdout[-2000:]
