"""The sessions API: routes, request checks, and the Lambda entry point.

    POST   /sessions                 create          201, Location, ETag
    GET    /sessions?limit=&cursor=  list, newest    200 {"sessions", "next_cursor"}
    GET    /sessions/{session_id}    read            200, ETag
    PATCH  /sessions/{session_id}    merge, refresh  200, ETag; If-Match -> 412
    DELETE /sessions/{session_id}    delete          204; If-Match -> 412

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


def read_if_match(request: Request) -> int | None:
    """
    The version an If-Match header requires, or None when there is none.

    `*` matches any existing session, so it requires no version. A tag that is
    not a version this service issued can never match: 412, as RFC 9110 says
    for an If-Match that matches nothing.

    Raises:
        VersionMismatchError: the header names no version.
    """
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    tag = raw.strip()
    if tag == "*":
        return None

    # Strong tags as ETag sends them ("3"), and bare numbers for hand-typed
    # requests. Weak tags never match under If-Match's strong comparison.
    if len(tag) >= 2 and tag[0] == tag[-1] == '"':
        tag = tag[1:-1]
    if not tag.isdigit() or not tag.isascii() or len(tag) > 18:
        raise VersionMismatchError('If-Match must name a version, e.g. "3"')

    return int(tag)


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

    def caller(request: Request) -> str:
        return caller_id(request, settings.trust_user_id_header)

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
