"""The sessions API: routes, request checks, and the Lambda entry point.

    POST   /sessions                 create          201, Location, ETag
    GET    /sessions?limit=&cursor=  list, newest    200 {"sessions", "next_cursor"}
    GET    /sessions/{session_id}    read            200, ETag
    PATCH  /sessions/{session_id}    merge, refresh  200, ETag; If-Match -> 412
    DELETE /sessions/{session_id}    delete          204; If-Match -> 412
    GET    /openapi.json             the contract    200, no identity needed

`lambda_handler` is the `_HANDLER` entry point. The DynamoDB client and the
routes are built once, at init, from the environment (handler.config).
"""

from __future__ import annotations

from typing import Any

from bootstrap.http import Request, Response, Router
from handler.client import create_dynamodb_client
from handler.config import Settings
from handler.cursor import decode_cursor, encode_cursor
from handler.errors import (
    MalformedRequestError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    VersionMismatchError,
)
from handler.identity import caller_id
from handler.model import Session, SessionChanges, parse_changes
from handler.store import SessionStore

# A body has at most 8 KiB of metadata plus a little JSON around it; anything
# much larger is refused before it is parsed.
MAX_BODY_BYTES = 16 * 1024

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

# Session data is private to its owner: no shared cache may keep it.
_PRIVATE = {"Cache-Control": "no-store"}


def _etag(session: Session) -> str:
    return f'"{session.version}"'


def _session_response(status_code: int, session: Session) -> Response:
    headers = {"ETag": _etag(session), **_PRIVATE}
    if status_code == 201:
        headers["Location"] = "/sessions/" + session.session_id

    return Response(status_code, session.to_json(), headers)


def _is_json_media_type(content_type: str) -> bool:
    """application/json, or a JSON-based type such as merge-patch+json."""
    media_type = content_type.split(";", 1)[0].strip().lower()

    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def read_changes(request: Request) -> SessionChanges:
    """
    Check and parse the body of a POST or PATCH; an empty body changes nothing.

    Raises:
        PayloadTooLargeError: over MAX_BODY_BYTES.
        UnsupportedMediaTypeError: a body not declared as JSON.
        BadRequestError: the body is not JSON (from Request.json).
        ValidationError: the JSON is not a valid set of changes.
    """
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(
            f"the body is {len(request.body)} bytes; the limit is {MAX_BODY_BYTES}"
        )
    if not request.body:
        return SessionChanges()

    content_type = request.headers.get("content-type") or ""
    if not _is_json_media_type(content_type):
        raise UnsupportedMediaTypeError(
            f"the body must be application/json, not {content_type[:100]!r}"
        )

    return parse_changes(request.json())


def _is_version(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= len(text) <= 18


def _is_entity_tag(text: str) -> bool:
    """RFC 9110 entity-tag: optional W/, then a quoted run of etagc characters."""
    opaque = text[2:] if text.startswith("W/") else text
    if len(opaque) < 2 or opaque[0] != '"' or opaque[-1] != '"':
        return False

    # etagc: any visible character but DQUOTE, and obs-text.
    return all(ch == "!" or "#" <= ch <= "~" or ch >= "\x80" for ch in opaque[1:-1])


def read_if_match(request: Request) -> int | None:
    """
    The version an If-Match header requires, or None when there is none.

    `*` matches any existing session, so it requires no version. Accepted: one
    strong tag as ETag sends it ("3"), or a bare number for hand-typed
    requests. Any other well-formed entity tag (weak, or not a version this
    service issues) can never match, which RFC 9110 answers with 412.

    Raises:
        MalformedRequestError: the header is not one entity tag (400).
        VersionMismatchError: the tag can never match a version (412).
    """
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    tag = raw.strip()
    if tag == "*":
        return None
    if _is_version(tag):
        return int(tag)

    if not _is_entity_tag(tag):
        raise MalformedRequestError('If-Match must be one entity tag, e.g. "3"')
    if tag.startswith("W/") or not _is_version(tag[1:-1]):
        # If-Match compares strongly, so a weak tag never matches either.
        raise VersionMismatchError("If-Match names no version of this session")

    return int(tag[1:-1])


def read_page_size(request: Request) -> int:
    """
    The `limit` query parameter, DEFAULT_PAGE_SIZE when absent.

    Raises:
        MalformedRequestError: not an integer from 1 to MAX_PAGE_SIZE.
    """
    values = request.query.get("limit")
    if not values:
        return DEFAULT_PAGE_SIZE
    raw = values[0]
    if not raw.isdigit() or not raw.isascii() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise MalformedRequestError(
            f"limit must be an integer from 1 to {MAX_PAGE_SIZE}"
        )

    return int(raw)


def create_router(settings: Settings, store: SessionStore) -> Router:
    """
    Build the API's routes over a store.

    Args:
        settings: identity and cursor settings.
        store: where sessions live.
    """
    router = Router()
    contract: dict[str, Any] = {}

    def caller(request: Request) -> str:
        return caller_id(request, settings.trust_user_id_header)

    @router.route("GET", "/openapi.json")
    def get_openapi_document(request: Request) -> Response:
        if not contract:
            # Imported on first use: the contract is never on the cold path.
            from handler.openapi import openapi_document  # noqa: PLC0415 (lazy)

            contract.update(openapi_document(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE))

        return Response(200, contract, {"Cache-Control": "public, max-age=300"})

    @router.route("POST", "/sessions")
    def create_session(request: Request) -> Response:
        user_id = caller(request)
        session = store.create(user_id, read_changes(request))

        return _session_response(201, session)

    @router.route("GET", "/sessions")
    def list_sessions(request: Request) -> Response:
        user_id = caller(request)
        limit = read_page_size(request)
        start_key = None
        cursors = request.query.get("cursor")
        if cursors:
            start_key = decode_cursor(settings.cursor_key, user_id, cursors[0])

        sessions, last_key = store.list(user_id, limit, start_key)
        next_cursor = None
        if last_key is not None:
            next_cursor = encode_cursor(settings.cursor_key, user_id, last_key)
        body: dict[str, Any] = {
            "sessions": [session.to_json() for session in sessions],
            "next_cursor": next_cursor,
        }

        return Response(200, body, dict(_PRIVATE))

    @router.route("GET", "/sessions/{session_id}")
    def get_session(request: Request) -> Response:
        user_id = caller(request)
        session = store.get(user_id, request.path_parameters["session_id"])

        return _session_response(200, session)

    @router.route("PATCH", "/sessions/{session_id}")
    def update_session(request: Request) -> Response:
        user_id = caller(request)
        expected_version = read_if_match(request)
        changes = read_changes(request)
        session = store.update(
            user_id, request.path_parameters["session_id"], changes, expected_version
        )

        return _session_response(200, session)

    @router.route("DELETE", "/sessions/{session_id}")
    def delete_session(request: Request) -> Response:
        user_id = caller(request)
        expected_version = read_if_match(request)
        store.delete(user_id, request.path_parameters["session_id"], expected_version)

        return Response(204)

    return router


def _init() -> Router:
    """Read the environment and create the client: the function's init phase."""
    settings = Settings.from_env()
    store = SessionStore(create_dynamodb_client(settings), settings.table_name)

    return create_router(settings, store)


_router = _init()


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    """
    The function's entry point (`_HANDLER=handler.app.lambda_handler`).

    Args:
        event: an API Gateway (HTTP or REST API), Function URL or ALB event.
        context: the Lambda context.

    Returns:
        The response in the shape the event's source expects.
    """
    return _router.lambda_handler(event, context)
