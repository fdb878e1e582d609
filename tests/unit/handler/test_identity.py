"""The caller's identity comes from the authorizer; the header only when trusted."""

from __future__ import annotations

from typing import Any

import pytest

from bootstrap.http import Authorizer, Headers, Request
from handler.errors import UnauthenticatedError
from handler.identity import caller_id


def make_request(
    authorizer: Authorizer | None = None, headers: dict[str, str] | None = None
) -> Request:
    return Request(
        "http-api",
        "GET",
        "/sessions",
        headers=Headers(list((headers or {}).items())),
        authorizer=authorizer,
    )


@pytest.mark.parametrize(
    ("authorizer", "expected"),
    [
        (Authorizer(jwt_claims={"sub": "jwt-user"}), "jwt-user"),
        (Authorizer(lambda_context={"principalId": "principal"}), "principal"),
        (Authorizer(lambda_context={"userId": "from-context"}), "from-context"),
        (
            Authorizer(iam={"userArn": "arn:aws:iam::1:user/u", "caller": "C"}),
            "arn:aws:iam::1:user/u",
        ),
        (Authorizer(iam={"caller": "AIDAEXAMPLE"}), "AIDAEXAMPLE"),
        (Authorizer(iam={"callerId": "AROAEXAMPLE:s"}), "AROAEXAMPLE:s"),
    ],
)
def test_identity_comes_from_each_authorizer_kind(
    authorizer: Authorizer, expected: str
) -> None:
    assert caller_id(make_request(authorizer), trust_user_id_header=False) == expected


def test_jwt_sub_wins_over_the_header_even_when_trusted() -> None:
    request = make_request(
        Authorizer(jwt_claims={"sub": "real"}), headers={"x-user-id": "spoofed"}
    )

    assert caller_id(request, trust_user_id_header=True) == "real"


def test_header_is_ignored_unless_trusted() -> None:
    request = make_request(headers={"X-User-Id": "alice"})

    with pytest.raises(UnauthenticatedError) as caught:
        caller_id(request, trust_user_id_header=False)

    assert caller_id(request, trust_user_id_header=True) == "alice"
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    "authorizer",
    [
        None,
        Authorizer(jwt_claims={}),
        Authorizer(jwt_claims={"sub": ""}),
        Authorizer(jwt_claims={"sub": 42}),
        Authorizer(lambda_context={"other": "x"}),
        Authorizer(iam={"accountId": "1"}),
    ],
)
def test_no_usable_identity_is_401(authorizer: Any) -> None:
    with pytest.raises(UnauthenticatedError):
        caller_id(make_request(authorizer), trust_user_id_header=True)


@pytest.mark.parametrize("user_id", ["x" * 257, "bad\nid", "tab\tid"])
def test_oversized_or_unprintable_identity_is_401(user_id: str) -> None:
    request = make_request(Authorizer(jwt_claims={"sub": user_id}))

    with pytest.raises(UnauthenticatedError):
        caller_id(request, trust_user_id_header=False)
