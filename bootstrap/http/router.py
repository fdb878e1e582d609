"""Routes requests to handlers by method and path template; answers every error."""

from __future__ import annotations

from bootstrap.http.errors import (
    BadRequestError,
    HTTPError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    problem_response,
)
from bootstrap.http.parsing import detect_source, parse_event, unquote
from bootstrap.http.responses import Response, StreamingResponse, serialize_response
from bootstrap.telemetry import annotate_http

# `typing` and `collections.abc` cost a cold start milliseconds; only mypy
# needs them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Sequence
    from typing import Any, TypeAlias

    from bootstrap.http.request import Request
    from bootstrap.streaming import StreamingBody

    AnyResponse: TypeAlias = Response | StreamingResponse
    RouteHandler: TypeAlias = Callable[[Request], AnyResponse]


def _logger() -> logging.Logger:
    """This module's logger, importing `logging` only when there is a failure."""
    # `logging` costs a cold start about 10 ms here and the runtime does not
    # load it: only a request that fails needs it.
    import logging  # noqa: PLC0415  # lazy for the cold path, see above

    return logging.getLogger(__name__)


def _path_is_encoded(request: Request) -> bool:
    """
    Whether the request's raw_path is still percent-encoded.

    NOTE: API Gateway HTTP APIs hand the function an already decoded path
    (rawPath in payload 2.0, path in 1.0, whose events say version "1.0");
    REST APIs, Function URLs and ALB pass it on encoded. Decoding twice would
    turn a literal "%41" into "A" or refuse a literal "%".
    """
    if request.source == "http-api":
        return False

    return not (request.source == "rest-api" and request.event.get("version") == "1.0")


class Cors:
    """
    Cross-origin resource sharing: which browser origins may call the API.

    Args:
        allow_origins: origins allowed to call, or ("*",) for any. With
            credentials, "*" echoes the caller's origin (the CORS spec forbids
            a literal "*" with credentials).
        allow_headers: request headers a cross-origin call may send.
        expose_headers: response headers the browser lets scripts read.
        max_age_s: how long a browser may cache a preflight answer.
        allow_credentials: whether cookies and Authorization may be sent.
    """

    __slots__ = (
        "allow_credentials",
        "allow_headers",
        "allow_origins",
        "expose_headers",
        "max_age_s",
    )

    def __init__(
        self,
        allow_origins: Sequence[str] = ("*",),
        allow_headers: Sequence[str] = ("Authorization", "Content-Type"),
        expose_headers: Sequence[str] = (),
        max_age_s: int = 600,
        allow_credentials: bool = False,
    ) -> None:
        self.allow_origins = tuple(allow_origins)
        self.allow_headers = tuple(allow_headers)
        self.expose_headers = tuple(expose_headers)
        self.max_age_s = max_age_s
        self.allow_credentials = allow_credentials

    def allowed_origin(self, origin: str | None) -> str | None:
        """Return the Access-Control-Allow-Origin value for `origin`, or None."""
        if not origin:
            return None
        if "*" in self.allow_origins:
            return origin if self.allow_credentials else "*"

        return origin if origin in self.allow_origins else None


class _Route:
    """One path template and the handler of each method on it."""

    __slots__ = ("handlers", "segments", "template")

    def __init__(self, template: str) -> None:
        if not template.startswith("/"):
            raise ValueError(f"a path template starts with /: {template!r}")
        self.template = template
        self.segments = template[1:].split("/")
        for index, segment in enumerate(self.segments):
            if segment.endswith("+}") and index != len(self.segments) - 1:
                raise ValueError(f"{{name+}} must be the last segment: {template!r}")
        self.handlers: dict[str, RouteHandler] = {}

    def specificity(self) -> tuple[int, ...]:
        """Sort key: literal segments before parameters, greedy ones last."""
        return tuple(
            2 if segment.endswith("+}") else 1 if segment.startswith("{") else 0
            for segment in self.segments
        )

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """Return the raw (still encoded) parameters if the path matches."""
        params: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):
                rest = "/".join(segments[index:])
                if not rest:
                    return None
                params[pattern[1:-2]] = rest
                return params
            if index >= len(segments):
                return None
            segment = segments[index]
            if pattern.startswith("{") and pattern.endswith("}"):
                if not segment:
                    return None
                params[pattern[1:-1]] = segment
            elif pattern != segment:
                return None

        return params if len(segments) == len(self.segments) else None

    def allowed_methods(self, cors: bool) -> list[str]:
        """The methods this path answers, as the Allow header lists them."""
        methods = set(self.handlers)
        if "GET" in methods:
            methods.add("HEAD")
        if cors:
            methods.add("OPTIONS")

        return sorted(methods)


class Router:
    """
    A small router: method plus path template, with {params} and {greedy+}.

    Unknown paths get 404, known paths with another method 405 with Allow,
    HEAD is served by the GET handler without the body, and with a Cors config
    preflights are answered and CORS headers added to every response.
    """

    def __init__(self, cors: Cors | None = None) -> None:
        """
        Args:
            cors: the CORS policy; None answers no preflight and adds no header.
        """
        self.cors = cors
        self._routes: list[_Route] = []

    def route(
        self, method: str, template: str
    ) -> Callable[[RouteHandler], RouteHandler]:
        """
        Register the decorated function for `method` on `template`.

        Args:
            method: an HTTP method, e.g. "GET".
            template: a path such as "/sessions/{session_id}"; a last segment
                "{path+}" matches the rest of the path.

        Raises:
            ValueError: the same method and template are registered twice.
        """
        method = method.upper()
        route = next((r for r in self._routes if r.template == template), None)
        if route is None:
            route = _Route(template)
            self._routes.append(route)
            self._routes.sort(key=_Route.specificity)

        def register(handler: RouteHandler) -> RouteHandler:
            if method in route.handlers:
                raise ValueError(f"{method} {template} is already routed")
            route.handlers[method] = handler

            return handler

        return register

    # --- dispatch ------------------------------------------------------------

    def _matches(self, path: str) -> list[tuple[_Route, dict[str, str]]]:
        segments = path[1:].split("/")
        matches = []
        for route in self._routes:
            params = route.match(segments)
            if params is not None:
                matches.append((route, params))

        return matches

    def _preflight(self, request: Request, allowed: list[str]) -> Response:
        cors = self.cors
        assert cors is not None  # noqa: S101  # only called with a Cors policy
        headers = {"Vary": "Origin"}
        origin = cors.allowed_origin(request.headers.get("origin"))
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
            headers["Access-Control-Allow-Headers"] = ", ".join(cors.allow_headers)
            headers["Access-Control-Max-Age"] = str(cors.max_age_s)
            if cors.allow_credentials:
                headers["Access-Control-Allow-Credentials"] = "true"

        return Response(204, None, headers)

    def dispatch(self, request: Request) -> AnyResponse:
        """
        Call the handler routed for the request and return its response.

        Raises:
            NotFoundError: no template matches the path.
            MethodNotAllowedError: templates match, none for this method.
            BadRequestError: a path parameter is not valid percent-encoding.
            HTTPError: whatever the handler raised.
        """
        matches = self._matches(request.raw_path)
        if not matches:
            raise NotFoundError(f"no route for {request.raw_path[:200]}")

        method = request.method
        lookup = "GET" if method == "HEAD" else method
        for route, raw_params in matches:
            handler = route.handlers.get(method) or route.handlers.get(lookup)
            if handler is None:
                continue
            # The route template names the invocation's span and access line.
            annotate_http(method, route.template)
            request.path_parameters = (
                {name: unquote(value, False) for name, value in raw_params.items()}
                if _path_is_encoded(request)
                else raw_params
            )
            response = handler(request)
            if not isinstance(response, Response | StreamingResponse):
                raise TypeError(
                    f"{method} {route.template} returned "
                    f"{type(response).__name__}, not a Response"
                )
            if method == "HEAD" and "HEAD" not in route.handlers:
                return response.without_body()
            return response

        allowed = sorted(
            {m for route, _ in matches for m in route.allowed_methods(bool(self.cors))}
        )
        if method == "OPTIONS":
            if self.cors is not None and "access-control-request-method" in (
                request.headers
            ):
                return self._preflight(request, allowed)
            return Response(204, None, {"Allow": ", ".join(allowed)})
        raise MethodNotAllowedError(
            f"{method} is not allowed on {request.raw_path[:200]}",
            headers={"Allow": ", ".join(allowed)},
        )

    def _add_cors_headers(self, request: Request, response: AnyResponse) -> None:
        cors = self.cors
        if cors is None or request.method == "OPTIONS":
            return  # preflights carry their own headers
        origin = cors.allowed_origin(request.headers.get("origin"))
        if origin is None:
            return
        response.set_header("Access-Control-Allow-Origin", origin)
        if origin != "*":
            response.set_header("Vary", "Origin")
        if cors.expose_headers:
            response.set_header(
                "Access-Control-Expose-Headers", ", ".join(cors.expose_headers)
            )
        if cors.allow_credentials:
            response.set_header("Access-Control-Allow-Credentials", "true")

    # --- the Lambda entry point ------------------------------------------------

    def lambda_handler(
        self, event: Any, context: Any
    ) -> dict[str, Any] | StreamingBody:
        """
        Answer one Lambda invocation carrying an HTTP event.

        Never raises: a malformed event is a 400, an HTTPError its own status,
        and anything else is logged and answered 500 without internals.

        Args:
            event: the HTTP event of any supported source.
            context: the Lambda context; handlers find it on request.context.

        Returns:
            The response in the shape the event's source expects.
        """
        try:
            request = parse_event(event)
        except BadRequestError as exc:
            _logger().info("rejected a malformed event, answering 400: %s", exc.detail)
            return serialize_response(
                problem_response(exc),
                detect_source(event) or "rest-api",
                isinstance(event, dict) and event.get("multiValueHeaders") is not None,
            )
        request.context = context

        try:
            response = self.dispatch(request)
        except HTTPError as exc:
            response = problem_response(exc)
        except Exception:
            _logger().exception(
                "handler failed on %s %s, answering 500",
                request.method,
                request.raw_path[:200],
            )
            response = problem_response(InternalServerError())
        self._add_cors_headers(request, response)
        annotate_http(request.method, None, response.status_code)

        try:
            return serialize_response(
                response, request.source, request.multi_value_headers
            )
        except Exception:
            _logger().exception(
                "response of %s %s cannot be serialized, answering 500",
                request.method,
                request.raw_path[:200],
            )
            fallback = problem_response(InternalServerError())
            self._add_cors_headers(request, fallback)
            return serialize_response(
                fallback, request.source, request.multi_value_headers
            )
