"""template.yaml and samconfig.toml against the code they deploy.

The template is read as CloudFormation sees it (cfn-lint's decoder turns !Ref,
!Sub and friends into their long forms). What is checked here is what a linter
cannot know: that the table is the one handler/table.py creates, that the
function may do exactly what the store does and no more, and that the routes
the API exposes are the ones the service answers.
"""

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from bootstrap.http import parse_event
from handler import table
from handler.identity import caller_id
from handler.openapi import openapi_document

PROJECT_ROOT = Path(__file__).resolve().parents[3]

SESSION_ROUTES = {
    "POST /sessions",
    "GET /sessions",
    "GET /sessions/{session_id}",
    "PATCH /sessions/{session_id}",
    "DELETE /sessions/{session_id}",
}
PUBLIC_ROUTES = {"GET /openapi.json"}

# Variables Lambda sets itself and refuses in a function's configuration
# (Lambda developer guide, "Defined runtime environment variables").
RESERVED_VARIABLES = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
}

TABLE_ARN = {"Fn::GetAtt": ["SessionsTable", "Arn"]}
INDEX_ARN = {"Fn::Sub": "${SessionsTable.Arn}/index/" + table.USER_INDEX_NAME}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """template.yaml with intrinsic functions in their long form."""
    decoded, problems = decode(str(PROJECT_ROOT / "template.yaml"))
    assert not problems, problems

    return json.loads(json.dumps(decoded))


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    """The template's resources by logical id."""
    return template["Resources"]


def by_type(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The resources of one type, by logical id."""
    return {
        name: resource
        for name, resource in resources.items()
        if resource["Type"] == resource_type
    }


def evaluate(node: Any, template: dict[str, Any], parameters: dict[str, str]) -> Any:
    """
    Evaluate a condition the way CloudFormation would, for given parameters.

    Only the functions conditions in this template use are known; anything
    else fails the test rather than being guessed.
    """
    if isinstance(node, str):
        return node
    (function, argument), *rest = node.items()
    assert not rest, node

    def value(part: Any) -> Any:
        return evaluate(part, template, parameters)

    def ref(name: str) -> str | list[str]:
        declared = template["Parameters"][name]
        given = parameters.get(name, declared["Default"])
        is_list = declared["Type"] == "CommaDelimitedList"
        return given.split(",") if is_list else given

    functions = {
        "Ref": ref,
        "Condition": lambda name: value(template["Conditions"][name]),
        "Fn::Equals": lambda sides: value(sides[0]) == value(sides[1]),
        "Fn::Not": lambda parts: not value(parts[0]),
        "Fn::And": lambda parts: all(value(part) for part in parts),
        "Fn::Join": lambda parts: parts[0].join(value(parts[1])),
    }
    assert function in functions, f"unknown function in a condition: {function}"

    return functions[function](argument)


# --- table -------------------------------------------------------------------


def test_table_key_and_attributes_match_handler_schema(
    resources: dict[str, Any],
) -> None:
    properties = resources["SessionsTable"]["Properties"]

    def attributes(definitions: list[dict[str, str]]) -> set[tuple[str, str]]:
        return {(d["AttributeName"], d["AttributeType"]) for d in definitions}

    assert properties["KeySchema"] == table.TABLE_SCHEMA["KeySchema"]
    assert attributes(properties["AttributeDefinitions"]) == attributes(
        table.TABLE_SCHEMA["AttributeDefinitions"]
    )
    assert properties["BillingMode"] == table.TABLE_SCHEMA["BillingMode"]


def test_table_index_matches_handler_schema(resources: dict[str, Any]) -> None:
    properties = resources["SessionsTable"]["Properties"]

    def indexes(declared: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            index["IndexName"]: (index["KeySchema"], index["Projection"])
            for index in declared
        }

    assert indexes(properties["GlobalSecondaryIndexes"]) == indexes(
        table.TABLE_SCHEMA["GlobalSecondaryIndexes"]
    )


def test_table_expires_items_on_the_handler_ttl_attribute(
    resources: dict[str, Any],
) -> None:
    ttl = resources["SessionsTable"]["Properties"]["TimeToLiveSpecification"]

    assert ttl == {"AttributeName": table.TTL_ATTRIBUTE, "Enabled": True}


def test_table_is_encrypted_and_point_in_time_recoverable(
    resources: dict[str, Any],
) -> None:
    properties = resources["SessionsTable"]["Properties"]

    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }


# --- function ----------------------------------------------------------------


def test_function_is_the_frozen_bootstrap_on_provided_al2023(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    function = resources["SessionsFunction"]
    properties = function["Properties"]
    architecture = template["Parameters"]["Architecture"]

    assert function["Metadata"]["BuildMethod"] == "makefile"
    assert properties["Runtime"] == "provided.al2023"
    assert properties["Handler"] == "handler.app.lambda_handler"
    assert properties["Architectures"] == [{"Ref": "Architecture"}]
    assert set(architecture["AllowedValues"]) == {"x86_64", "arm64"}
    assert properties["Tracing"] == "Active"


def test_function_logs_json_at_configurable_levels(
    resources: dict[str, Any],
) -> None:
    logging_config = resources["SessionsFunction"]["Properties"]["LoggingConfig"]

    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["ApplicationLogLevel"] == {"Ref": "ApplicationLogLevel"}
    assert logging_config["SystemLogLevel"] == {"Ref": "SystemLogLevel"}
    assert logging_config["LogGroup"] == {"Ref": "SessionsLogGroup"}
    assert "RetentionInDays" in resources["SessionsLogGroup"]["Properties"]


def test_function_environment_sets_no_reserved_variable(
    resources: dict[str, Any],
) -> None:
    variables = resources["SessionsFunction"]["Properties"]["Environment"]["Variables"]

    assert not RESERVED_VARIABLES & set(variables)
    assert not [name for name in variables if name.startswith("AWS_LAMBDA_")]
    assert variables["SESSIONS_TABLE"] == {"Ref": "SessionsTable"}
    assert variables["TRUST_USER_ID_HEADER"] == "false"


def test_function_policy_is_limited_to_the_table_and_its_index(
    resources: dict[str, Any],
) -> None:
    policies = resources["SessionsFunction"]["Properties"]["Policies"]
    # Strings would be managed policies, {"XPolicy": ...} SAM policy templates:
    # both grant more than this table.
    statements = [statement for policy in policies for statement in policy["Statement"]]
    granted = {
        (action, json.dumps(statement["Resource"], sort_keys=True))
        for statement in statements
        for action in statement["Action"]
    }
    table_arn = json.dumps(TABLE_ARN, sort_keys=True)
    index_arn = json.dumps(INDEX_ARN, sort_keys=True)

    assert all(
        isinstance(policy, dict) and "Statement" in policy for policy in policies
    )
    assert all(statement["Effect"] == "Allow" for statement in statements)
    assert {resource for _, resource in granted} <= {table_arn, index_arn}
    assert all(
        re.fullmatch(r"dynamodb:[A-Z][A-Za-z]+", action) for action, _ in granted
    )
    assert ("dynamodb:Query", index_arn) in granted
    assert not {action for action, resource in granted if resource == index_arn} - {
        "dynamodb:Query"
    }
    assert "dynamodb:Scan" not in {action for action, _ in granted}


def test_function_policy_allows_every_call_the_store_makes(
    resources: dict[str, Any],
) -> None:
    # The store's calls are read from its source: a new call without a grant
    # would be an AccessDenied in production only.
    source = (PROJECT_ROOT / "handler" / "store.py").read_text()
    calls = set(re.findall(r"\bclient\.([a-z_]+)\(", source))
    needed = {"dynamodb:" + call.title().replace("_", "") for call in calls}
    statements = [
        statement
        for policy in resources["SessionsFunction"]["Properties"]["Policies"]
        for statement in policy["Statement"]
    ]
    allowed = {action for statement in statements for action in statement["Action"]}

    assert calls, "no DynamoDB call found in handler/store.py"
    assert needed <= allowed


# --- API ---------------------------------------------------------------------


def test_api_routes_are_the_sessions_routes_and_the_contract(
    resources: dict[str, Any],
) -> None:
    routes = by_type(resources, "AWS::ApiGatewayV2::Route")
    route_keys = {route["Properties"]["RouteKey"] for route in routes.values()}

    assert route_keys == SESSION_ROUTES | PUBLIC_ROUTES


def test_api_routes_are_the_operations_of_the_openapi_document(
    resources: dict[str, Any],
) -> None:
    # The published contract and the deployed API must list the same
    # operations: a route missing from either is a 404 a client was promised.
    document = openapi_document(max_page_size=100, default_page_size=20)
    operations = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    }
    routes = by_type(resources, "AWS::ApiGatewayV2::Route").values()

    assert {route["Properties"]["RouteKey"] for route in routes} == operations


def test_session_routes_require_jwt_or_iam_identity(
    resources: dict[str, Any],
) -> None:
    routes = by_type(resources, "AWS::ApiGatewayV2::Route").values()
    authorization = {
        route["Properties"]["RouteKey"]: route["Properties"]["AuthorizationType"]
        for route in routes
    }
    jwt_or_iam = {"Fn::If": ["UseJwtAuthorizer", "JWT", "AWS_IAM"]}

    assert {key: authorization[key] for key in SESSION_ROUTES} == dict.fromkeys(
        SESSION_ROUTES, jwt_or_iam
    )
    assert {key: authorization[key] for key in PUBLIC_ROUTES} == dict.fromkeys(
        PUBLIC_ROUTES, "NONE"
    )


@pytest.mark.parametrize(
    ("parameters", "jwt_on"),
    [
        ({}, False),
        ({"JwtIssuer": "https://issuer.example.com"}, False),
        ({"JwtAudience": "client-1"}, False),
        ({"JwtIssuer": "https://issuer.example.com", "JwtAudience": "a,b"}, True),
    ],
)
def test_jwt_authorizer_is_on_only_with_issuer_and_audience(
    template: dict[str, Any],
    resources: dict[str, Any],
    parameters: dict[str, str],
    jwt_on: bool,
) -> None:
    authorizer = resources["JwtAuthorizer"]
    condition = {"Condition": authorizer["Condition"]}

    assert evaluate(condition, template, parameters) is jwt_on
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"
    assert authorizer["Properties"]["JwtConfiguration"] == {
        "Issuer": {"Ref": "JwtIssuer"},
        "Audience": {"Ref": "JwtAudience"},
    }


def test_api_invokes_the_function_with_payload_2(resources: dict[str, Any]) -> None:
    integration = resources["SessionsIntegration"]["Properties"]
    permission = resources["ApiInvokePermission"]["Properties"]

    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["SessionsFunction", "Arn"]}
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert "${SessionsApi}/" in permission["SourceArn"]["Fn::Sub"]


def test_outputs_give_the_api_url_and_the_table_name(
    template: dict[str, Any],
) -> None:
    outputs = template["Outputs"]

    assert outputs["ApiUrl"]["Value"]["Fn::Sub"].startswith("https://${SessionsApi}.")
    assert outputs["SessionsTableName"]["Value"] == {"Ref": "SessionsTable"}


# --- the deployed API and the handler agree ----------------------------------


def http_api_event(route_key: str, authorizer: dict[str, Any] | None) -> dict[str, Any]:
    """A payload 2.0 event as API Gateway sends it for one of the template's routes."""
    method, path = route_key.split(" ", 1)
    path = path.replace("{session_id}", "3f0c2a5e-0000-4000-8000-000000000000")
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abcdef1234",
        "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "pytest",
        },
        "requestId": "deploy-test",
        "routeKey": route_key,
        "stage": "$default",
        "timeEpoch": 1767225600000,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer

    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": context["domainName"], "content-type": "application/json"},
        "requestContext": context,
        "body": "{}" if method in {"POST", "PATCH"} else None,
        "isBase64Encoded": False,
    }


def test_iam_signed_caller_is_the_session_owner() -> None:
    # What API Gateway puts in the event for an AWS_IAM route (the template's
    # default): the service must find an identity there, or every call is 401.
    iam = {
        "accessKey": "ASIAEXAMPLE",
        "accountId": "123456789012",
        "callerId": "AROAEXAMPLE:smoke",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": "arn:aws:sts::123456789012:assumed-role/deploy/smoke",
        "userId": "AROAEXAMPLE:smoke",
    }
    request = parse_event(http_api_event("GET /sessions", {"iam": iam}))

    assert caller_id(request, trust_user_id_header=False) == iam["userArn"]


def test_jwt_caller_is_the_token_subject() -> None:
    jwt = {"claims": {"sub": "user-7", "iss": "https://issuer.example.com"}}
    request = parse_event(http_api_event("GET /sessions", {"jwt": jwt}))

    assert caller_id(request, trust_user_id_header=False) == "user-7"


@pytest.mark.parametrize(
    "route_key",
    sorted(SESSION_ROUTES | PUBLIC_ROUTES),
)
def test_every_template_route_is_served_by_the_handler(route_key: str) -> None:
    # Import here: handler.app creates its DynamoDB client at import (its init
    # phase); creating one needs no network, and no call is made below.
    from handler.app import lambda_handler  # noqa: PLC0415

    response = lambda_handler(http_api_event(route_key, authorizer=None), None)

    # Without an identity a session route answers 401 from the route itself;
    # 404 or 405 would mean the router does not know the route at all.
    assert response["statusCode"] not in (404, 405)
    if route_key in SESSION_ROUTES:
        assert response["statusCode"] == 401
    else:
        assert response["statusCode"] == 200


# --- samconfig.toml and the Makefile -----------------------------------------


def test_samconfig_builds_in_source_and_names_only_template_parameters(
    template: dict[str, Any],
) -> None:
    config = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text())
    overrides = [
        override
        for environment in config.values()
        if isinstance(environment, dict)
        for command in environment.values()
        for override in command.get("parameters", {})
        .get("parameter_overrides", "")
        .split()
    ]

    assert config["default"]["build"]["parameters"]["build_in_source"] is True
    assert config["ci"]["build"]["parameters"]["build_in_source"] is True
    assert config["default"]["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"
    assert config["ci"]["deploy"]["parameters"]["confirm_changeset"] is False
    assert overrides
    assert {override.split("=", 1)[0] for override in overrides} <= set(
        template["Parameters"]
    )


def test_makefile_has_the_build_target_of_every_makefile_function(
    resources: dict[str, Any],
) -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    functions = [
        name
        for name, resource in by_type(resources, "AWS::Serverless::Function").items()
        if resource.get("Metadata", {}).get("BuildMethod") == "makefile"
    ]

    assert functions == ["SessionsFunction"]
    assert all(
        re.search(rf"^build-{name}:", makefile, re.MULTILINE) for name in functions
    )
