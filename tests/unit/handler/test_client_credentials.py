"""Environment credentials go straight to the client; anything else to the chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from handler.client import create_dynamodb_client, environment_credentials
from handler.config import Settings

LAMBDA_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDENVIRONMENT",
    "AWS_SECRET_ACCESS_KEY": "environment-secret",
    "AWS_SESSION_TOKEN": "environment-token",
}


def test_lambda_environment_credentials_become_client_arguments() -> None:
    assert environment_credentials(LAMBDA_ENV) == {
        "aws_access_key_id": "AKIDENVIRONMENT",
        "aws_secret_access_key": "environment-secret",
        "aws_session_token": "environment-token",
    }


def test_credentials_without_a_token_leave_the_token_out() -> None:
    env = {k: v for k, v in LAMBDA_ENV.items() if k != "AWS_SESSION_TOKEN"}

    assert "aws_session_token" not in environment_credentials(env)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AWS_ACCESS_KEY_ID": "AKIDONLY"},
        {**LAMBDA_ENV, "AWS_CREDENTIAL_EXPIRATION": "2026-12-03T12:00:00Z"},
    ],
    ids=["none", "key-without-secret", "refreshable"],
)
def test_anything_but_static_environment_credentials_is_left_to_the_chain(
    env: dict[str, str],
) -> None:
    assert environment_credentials(env) == {}


def test_client_signs_with_the_environment_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in LAMBDA_ENV.items():
        monkeypatch.setenv(name, value)

    client = create_dynamodb_client(Settings.from_env({"AWS_REGION": "eu-west-1"}))

    credentials = client._request_signer._credentials  # type: ignore[attr-defined]
    assert credentials.access_key == "AKIDENVIRONMENT"
    assert credentials.token == "environment-token"
    # "explicit": passed to the client; the chain would have said "env".
    assert credentials.method == "explicit"


def test_client_without_environment_credentials_finds_them_through_the_chain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (*LAMBDA_ENV, "AWS_PROFILE", "AWS_CREDENTIAL_EXPIRATION"):
        monkeypatch.delenv(name, raising=False)
    shared = tmp_path / "credentials"
    shared.write_text(
        "[default]\naws_access_key_id = AKIDFROMFILE\n"
        "aws_secret_access_key = file-secret\n",
        encoding="ascii",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    client = create_dynamodb_client(Settings.from_env({"AWS_REGION": "eu-west-1"}))

    credentials = client._request_signer._credentials  # type: ignore[attr-defined]
    assert credentials.access_key == "AKIDFROMFILE"
    assert credentials.method == "shared-credentials-file"
