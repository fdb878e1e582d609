"""`sam build` of template.yaml: the makefile build method, without Docker.

SAM runs `make build-SessionsFunction` with ARTIFACTS_DIR set; what lands in
.aws-sam/build/SessionsFunction/ is what `sam deploy` uploads. Builds go to a
temporary directory so that a developer's .aws-sam/ is left alone. Docker is
made unreachable (DOCKER_HOST points nowhere) so a build that needed it fails.
"""

import json
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from emulator import Emulator

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAM = PROJECT_ROOT / ".venv-sam" / "bin" / "sam"

# Reading the package CI built is seconds; freezing boto3 from scratch takes
# about 10 minutes on 2 shared cores, so the full build gets far more room.
PACKAGE_TIMEOUT_S = 180
FREEZE_TIMEOUT_S = 2400

# e_machine in the ELF header (offset 18, little endian) of each Lambda arch.
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}


def sam_build(build_dir: Path, timeout_s: float, **env: str) -> str:
    """
    Run `sam build` on the project's template into build_dir.

    Returns:
        SAM's output (stdout and stderr), for the failure message.
    """
    assert SAM.exists(), "the SAM CLI is missing: `make dev` installs it"
    environment = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        **env,
    }
    completed = subprocess.run(
        [
            str(SAM),
            "build",
            "--template-file",
            str(PROJECT_ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    return output


def built_function(build_dir: Path) -> dict[str, Any]:
    """The SessionsFunction resource of the template sam build wrote."""
    built, problems = decode(str(build_dir / "template.yaml"))
    assert not problems, problems

    return dict(built["Resources"]["SessionsFunction"])


def test_sam_build_packages_a_given_function_zip_without_docker(
    tmp_path: Path,
) -> None:
    # A stand-in package in the folder layout: bootstrap plus a file beside it.
    package = tmp_path / "function.zip"
    with zipfile.ZipFile(package, "w") as archive:
        script = zipfile.ZipInfo("bootstrap")
        script.external_attr = 0o100755 << 16  # regular file, rwxr-xr-x
        archive.writestr(script, "#!/bin/sh\necho packaged\n")
        archive.writestr("lib/data.txt", "beside bootstrap\n")
    build_dir = tmp_path / "build"

    sam_build(build_dir, PACKAGE_TIMEOUT_S, FUNCTION_ZIP=str(package))

    artifacts = build_dir / "SessionsFunction"
    function = built_function(build_dir)

    assert os.access(artifacts / "bootstrap", os.X_OK)
    assert (artifacts / "bootstrap").read_text() == "#!/bin/sh\necho packaged\n"
    assert (artifacts / "lib" / "data.txt").read_text() == "beside bootstrap\n"
    assert function["Properties"]["CodeUri"] == "SessionsFunction"
    assert function["Properties"]["Handler"] == "handler.app.lambda_handler"


def test_build_target_refuses_to_run_outside_sam_build() -> None:
    environment = {k: v for k, v in os.environ.items() if k != "ARTIFACTS_DIR"}
    completed = subprocess.run(
        ["make", "--no-print-directory", "build-SessionsFunction"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode != 0
    assert "ARTIFACTS_DIR is unset" in completed.stderr


@pytest.mark.frozen
@pytest.mark.slow
@pytest.mark.timeout(FREEZE_TIMEOUT_S + 300)
def test_sam_build_freezes_an_executable_bootstrap_that_serves_the_api(
    tmp_path: Path,
) -> None:
    # The whole path a user takes: sam build -> make build-SessionsFunction ->
    # make build (Nuitka, incremental when dist/ is current) -> unzip.
    build_dir = tmp_path / "build"
    sam_build(build_dir, FREEZE_TIMEOUT_S, FUNCTION_ZIP="")
    bootstrap = build_dir / "SessionsFunction" / "bootstrap"
    header = bootstrap.read_bytes()[:20]

    assert os.access(bootstrap, os.X_OK)
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[platform.machine()]

    # What Lambda would run: the packaged bootstrap alone answers an API
    # Gateway request. Without an identity the service says 401 before it
    # touches DynamoDB, so no table is needed here.
    event = {
        "version": "2.0",
        "routeKey": "GET /sessions",
        "rawPath": "/sessions",
        "rawQueryString": "",
        "headers": {"host": "abcdef1234.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "http": {"method": "GET", "path": "/sessions", "sourceIp": "192.0.2.1"},
            "requestId": "sam-build-test",
            "routeKey": "GET /sessions",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    environment = {
        "_HANDLER": "handler.app.lambda_handler",
        "SESSIONS_TABLE": "sessions",
        "TRUST_USER_ID_HEADER": "false",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-secret",
    }
    with Emulator(
        [str(bootstrap)], env=environment, timeout_s=10.0, init_timeout_s=60.0
    ) as emulator:
        result = emulator.invoke(json.dumps(event).encode())
        logs = emulator.logs()

    assert result.function_error is None, logs
    response = json.loads(result.body)

    assert response["statusCode"] == 401, (response, logs)
    assert json.loads(response["body"])["status"] == 401


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
