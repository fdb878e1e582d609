"""The OpenAPI document agrees with the routes, and schemathesis finds the API
true to it (in process, through a WSGI bridge, against DynamoDB Local)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from bootstrap.http import Router
from handler import errors
from handler.app import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, create_router
from handler.config import Settings
from handler.openapi import openapi_document
from handler.store import SessionStore
from tests.plugins.dynamodb import SessionsAPI, http_api_event, make_client

DOCUMENT = openapi_document(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def documented_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


@pytest.fixture
def router(sessions_env: dict[str, str], dynamodb_client: Any) -> Router:
    settings_ = Settings.from_env({**sessions_env, "TRUST_USER_ID_HEADER": "true"})
    endpoint = sessions_env["AWS_ENDPOINT_URL_DYNAMODB"]
    store = SessionStore(make_client(endpoint), settings_.table_name)

    return create_router(settings_, store)


# ------------------------------------------------------------ routes <-> document


def test_document_operations_are_exactly_the_routes(router: Router) -> None:
    # The router keeps its table private; this test exists to read it.
    served = {
        (method, route.template)
        for route in router._routes
        for method in route.handlers
    }

    assert served == documented_operations()


def test_every_documented_path_allows_exactly_its_documented_methods(
    inprocess_sessions_api: SessionsAPI,
) -> None:
    for path, item in DOCUMENT["paths"].items():
        concrete = path.replace("{session_id}", "a" * 32)
        documented = {m.upper() for m in item if m in HTTP_METHODS}

        response = inprocess_sessions_api.request("PUT", concrete)

        assert response.status == 405, (path, response)
        allowed = set(response.headers["allow"].replace(" ", "").split(","))
        assert allowed - {"HEAD", "OPTIONS"} == documented - {"PUT"}


def test_document_is_served_without_identity(
    inprocess_sessions_api: SessionsAPI,
) -> None:
    response = inprocess_sessions_api.request("GET", "/openapi.json", user=None)

    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == json.loads(json.dumps(DOCUMENT))


def test_every_error_the_service_defines_is_documented() -> None:
    statuses = {
        str(value.status_code)
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, errors.SessionsError)
        and value is not errors.SessionsError
    }
    documented = {
        status
        for item in DOCUMENT["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for status in operation["responses"]
    }

    assert statuses <= documented


# ------------------------------------------------------------ schemathesis


def wsgi_bridge(router: Router) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that turns each request into a payload 2.0 event, as API
    Gateway does, and the function's answer back into HTTP."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        event = http_api_event(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO") or "/",
            headers=headers,
            query=environ.get("QUERY_STRING", ""),
        )
        if body:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True

        answer = router.lambda_handler(event, None)

        payload = answer.get("body") or ""
        data = (
            base64.b64decode(payload)
            if answer.get("isBase64Encoded")
            else payload.encode()
        )
        reason = {200: "OK", 201: "Created", 204: "No Content"}.get(
            answer["statusCode"], "Status"
        )
        start_response(
            f"{answer['statusCode']} {reason}", list(answer.get("headers", {}).items())
        )

        return [data]

    return app


# Schemathesis's own defaults, plus two answers that come before the body is
# read: 413, a body over the size limit, and 412, an If-Match that names no
# version (RFC 9110 evaluates preconditions before processing the content).
REJECTION_STATUSES = [
    "400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422",
    "428", "429", "5xx",
]  # fmt: skip

CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REJECTION_STATUSES}}}
)


@pytest.fixture
def api_schema(router: Router) -> Any:
    return schemathesis.openapi.from_wsgi(
        "/openapi.json", wsgi_bridge(router), config=CONFIG
    )


# ignored_auth replays a request with "invalid credentials" and expects 401;
# the local x-user-id scheme has no invalid value (any name is a user), and
# a missing identity is tested to be 401 in test_sessions_api.py.
NOT_APPLICABLE = [ignored_auth]


def checks_to_skip(case: Any) -> list[Any]:
    """The checks that cannot apply to this case (see NOT_APPLICABLE)."""
    skipped = list(NOT_APPLICABLE)
    headers = {name.lower() for name in case.headers or {}}
    if (case.query and "cursor" in case.query) or "if-match" in headers:
        # A cursor is valid only if the API issued it to this caller, and an
        # If-Match only if it names the current version; no schema can state
        # either, so a well-formed made-up one is rightly a 400 or a 412.
        skipped.append(positive_data_acceptance)

    return skipped


FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_every_operation_conforms_to_the_document(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]

    for operation in operations:

        @given(case=operation.as_strategy())
        @FUZZ_SETTINGS
        def check(case: Any) -> None:
            case.call_and_validate(
                headers={"x-user-id": "schemathesis"},
                excluded_checks=checks_to_skip(case),
            )

        check()

    # Schemathesis leaves out the operation that serves the schema itself.
    fuzzed = {tuple(operation.label.split(" ", 1)) for operation in operations}
    assert fuzzed == documented_operations() - {("GET", "/openapi.json")}


def test_stateful_links_conform_to_the_document(api_schema: Any) -> None:
    base = api_schema.as_state_machine()

    # A class built at run time by schemathesis: mypy cannot see its type.
    class Machine(base):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"x-user-id": "schemathesis"}}

        def validate_response(
            self,
            response: Any,
            case: Any,
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=checks_to_skip(case),
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=10,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
