"""The OpenAPI 3.1 contract of the sessions API, served at GET /openapi.json.

Limits come from the modules that enforce them, so the document cannot drift
from the code; tests check that its paths and methods are exactly the routes
the router serves, and drive the API from it with schemathesis.
"""

from __future__ import annotations

from typing import Any

from handler.model import (
    DEFAULT_TTL_S,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MAX_TTL_S,
    MIN_TTL_S,
    SESSION_ID_LENGTH,
)

API_VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _session_response(description: str, location: bool = False) -> dict[str, Any]:
    headers: dict[str, Any] = {"ETag": {"$ref": "#/components/headers/ETag"}}
    if location:
        headers["Location"] = {
            "description": "The new session's URL path.",
            "schema": {"type": "string"},
        }

    return {
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": _ref("Session")}},
    }


_ERRORS: dict[str, dict[str, Any]] = {
    "400": _problem("Malformed request: body not JSON, bad query or cursor."),
    "401": _problem("No caller identity."),
    "404": _problem("No such session for this caller (absent, expired or not yours)."),
    "409": _problem("Concurrent writes kept changing the session; retry."),
    "412": _problem("If-Match does not name the session's current version."),
    "413": _problem("Request body too large."),
    "415": _problem("Request body not declared as JSON."),
    "422": _problem("Well-formed JSON with a missing, unknown or invalid field."),
    "500": _problem("Unexpected failure; the body names no internals."),
    "503": {
        **_problem("DynamoDB throttled or unreachable after bounded retries."),
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        },
    },
}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: _ERRORS[status] for status in statuses}


_SESSION_ID_PARAMETER = {
    "name": "session_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^[0-9a-f]{{{SESSION_ID_LENGTH}}}$"},
    "description": "Unknown ids, well formed or not, are answered 404.",
}
_IF_MATCH_PARAMETER = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    # One entity tag (RFC 9110), a bare version number, or "*". Anything else
    # is a 400; a tag that is not the current version, a 412.
    "schema": {
        "type": "string",
        "pattern": '^([*]|[0-9]{1,18}|(W/)?"[!#-~\\x80-\\xff]*")$',
    },
    "description": 'The ETag of the version the change applies to, e.g. "3".',
}
_CHANGES_BODY = {
    "required": False,
    "content": {
        "application/json": {"schema": _ref("SessionChanges")},
        "application/merge-patch+json": {"schema": _ref("SessionChanges")},
    },
}

# Stateful links: what a client (and schemathesis) can do with a new session.
_SESSION_LINKS = {
    name: {
        "operationId": operation_id,
        "parameters": {"session_id": "$response.body#/session_id"},
    }
    for name, operation_id in (
        ("GetSession", "getSession"),
        ("UpdateSession", "updateSession"),
        ("DeleteSession", "deleteSession"),
    )
}

_SCALAR = {"type": ["null", "boolean", "number", "string"]}


def _nested_value_schemas() -> dict[str, Any]:
    """
    JSON values whose containers sit at a given depth, spelled out per level.

    The metadata object is depth 1; a container inside it is depth 2, and so
    on up to MAX_METADATA_DEPTH. Below that only scalars fit, which states
    the depth limit exactly in JSON Schema.
    """
    schemas: dict[str, Any] = {}
    for depth in range(2, MAX_METADATA_DEPTH + 1):
        children = (
            _ref(f"ValueAtDepth{depth + 1}") if depth < MAX_METADATA_DEPTH else _SCALAR
        )
        schemas[f"ValueAtDepth{depth}"] = {
            "anyOf": [
                _SCALAR,
                {"type": "array", "items": children},
                {"type": "object", "additionalProperties": children},
            ]
        }

    return schemas


_SCHEMAS: dict[str, Any] = {
    "Metadata": {
        "type": "object",
        "additionalProperties": _ref("ValueAtDepth2"),
        "description": (
            f"Any JSON object of at most {MAX_METADATA_BYTES} bytes as compact"
            f" UTF-8 JSON, nested at most {MAX_METADATA_DEPTH} levels deep."
        ),
    },
    **_nested_value_schemas(),
    "Session": {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "session_id",
            "user_id",
            "created_at",
            "last_active",
            "expires_at",
            "metadata",
            "version",
        ],
        "properties": {
            "session_id": {
                "type": "string",
                "pattern": f"^[0-9a-f]{{{SESSION_ID_LENGTH}}}$",
            },
            "user_id": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "last_active": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "metadata": _ref("Metadata"),
            "version": {"type": "integer", "minimum": 1},
        },
    },
    "SessionChanges": {
        "type": "object",
        "additionalProperties": False,
        "description": (
            "On POST the new session's fields; on PATCH a JSON merge patch"
            " (RFC 7386) of the metadata and a new lifetime. Both optional."
        ),
        "properties": {
            "metadata": _ref("Metadata"),
            "ttl_seconds": {
                "type": "integer",
                "minimum": MIN_TTL_S,
                "maximum": MAX_TTL_S,
                "default": DEFAULT_TTL_S,
            },
        },
    },
    "SessionList": {
        "type": "object",
        "additionalProperties": False,
        "required": ["sessions", "next_cursor"],
        "properties": {
            "sessions": {"type": "array", "items": _ref("Session")},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null at the end.",
            },
        },
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
        },
    },
}


def openapi_document(max_page_size: int, default_page_size: int) -> dict[str, Any]:
    """
    Build the OpenAPI 3.1 document of the API.

    Args:
        max_page_size, default_page_size: the listing's `limit` bounds, from
            the routes that enforce them.
    """
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sessions API",
            "version": API_VERSION,
            "description": (
                "User sessions kept in DynamoDB. A session is visible only to its"
                " owner; anyone else gets 404. Errors are application/problem+json."
            ),
        },
        "security": [{"jwt": []}, {"sigv4": []}, {"userIdHeader": []}],
        "paths": {
            "/sessions": {
                "post": {
                    "operationId": "createSession",
                    "requestBody": _CHANGES_BODY,
                    "responses": {
                        "201": {
                            **_session_response("Created.", location=True),
                            "links": _SESSION_LINKS,
                        },
                        **_errors("400", "401", "413", "415", "422", "500", "503"),
                    },
                },
                "get": {
                    "operationId": "listSessions",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": max_page_size,
                                "default": default_page_size,
                            },
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "required": False,
                            "description": (
                                "The next_cursor of the previous page, unchanged;"
                                " valid only for the caller it was given to."
                            ),
                            "schema": {
                                "type": "string",
                                "maxLength": 512,
                                "pattern": "^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$",
                            },
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The caller's sessions, newest first.",
                            "content": {
                                "application/json": {"schema": _ref("SessionList")}
                            },
                        },
                        **_errors("400", "401", "500", "503"),
                    },
                },
            },
            "/sessions/{session_id}": {
                "parameters": [_SESSION_ID_PARAMETER],
                "get": {
                    "operationId": "getSession",
                    "responses": {
                        "200": _session_response("The session."),
                        **_errors("401", "404", "500", "503"),
                    },
                },
                "patch": {
                    "operationId": "updateSession",
                    "parameters": [_IF_MATCH_PARAMETER],
                    "requestBody": _CHANGES_BODY,
                    "responses": {
                        "200": _session_response("Updated; version + 1."),
                        **_errors(
                            "400", "401", "404", "409", "412", "413", "415", "422"
                        ),
                        **_errors("500", "503"),
                    },
                },
                "delete": {
                    "operationId": "deleteSession",
                    "parameters": [_IF_MATCH_PARAMETER],
                    "responses": {
                        "204": {"description": "Deleted."},
                        **_errors("400", "401", "404", "412", "500", "503"),
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenAPIDocument",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "This document.",
                            "content": {
                                "application/json": {"schema": {"type": "object"}}
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": _SCHEMAS,
            "headers": {
                "ETag": {
                    "description": 'The session\'s version as a strong tag, e.g. "3".',
                    "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
                }
            },
            "securitySchemes": {
                "jwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "API Gateway JWT authorizer; the caller is `sub`.",
                },
                "sigv4": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "AWS SigV4 (IAM); the caller is the user ARN.",
                },
                "userIdHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-user-id",
                    "description": (
                        "Local development only (TRUST_USER_ID_HEADER=true):"
                        " the caller names itself."
                    ),
                },
            },
        },
    }
