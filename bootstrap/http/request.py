"""The one request type every event source is parsed into."""

from __future__ import annotations

from bootstrap import codec
from bootstrap.http.errors import BadRequestError

# `typing` and `collections.abc` cost a cold start milliseconds; only mypy
# needs them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any


class Headers:
    """
    Case-insensitive, multi-value HTTP headers.

    Names are stored lower-cased (HTTP/2 and API Gateway payload 2.0 already
    send them that way); values keep their order of arrival.
    """

    __slots__ = ("_values",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        """
        Args:
            pairs: (name, value) pairs in arrival order; repeated names add values.
        """
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Append one value to the header `name`."""
        key = name.lower()
        values = self._values.get(key)
        if values is None:
            self._values[key] = [value]
        else:
            values.append(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of header `name`, or `default` when absent."""
        values = self._values.get(name.lower())

        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Return every value of header `name` (an empty list when absent)."""
        return list(self._values.get(name.lower(), ()))

    def items(self) -> Iterator[tuple[str, str]]:
        """Yield (lower-cased name, value) pairs, one per value."""
        for name, values in self._values.items():
            for value in values:
                yield name, value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._values == other._values

    def __hash__(self) -> int:
        raise TypeError("Headers are mutable and cannot be hashed")

    def __repr__(self) -> str:
        return f"Headers({list(self.items())!r})"


class Authorizer:
    """
    What the event source's authorizer established about the caller.

    Attributes:
        jwt_claims: claims of a JWT or Cognito user pool authorizer.
        lambda_context: the context a Lambda authorizer returned.
        iam: the IAM identity of a SigV4-signed caller.
    """

    __slots__ = ("iam", "jwt_claims", "lambda_context")

    def __init__(
        self,
        jwt_claims: dict[str, Any] | None = None,
        lambda_context: dict[str, Any] | None = None,
        iam: dict[str, Any] | None = None,
    ) -> None:
        self.jwt_claims = jwt_claims
        self.lambda_context = lambda_context
        self.iam = iam

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Authorizer) and (
            (self.jwt_claims, self.lambda_context, self.iam)
            == (other.jwt_claims, other.lambda_context, other.iam)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dict

    def __repr__(self) -> str:
        return (
            f"Authorizer(jwt_claims={self.jwt_claims!r}, "
            f"lambda_context={self.lambda_context!r}, iam={self.iam!r})"
        )


class Request:
    """
    One HTTP request, whatever the event source that carried it.

    Attributes:
        source: "http-api" (API Gateway HTTP API, payload 2.0), "function-url",
            "rest-api" (payload 1.0) or "alb".
        method: the HTTP method, upper case.
        raw_path: the path as the source sent it.
        path_parameters: the route's {params}; filled by the router.
        query: percent-decoded query parameters, every value of each.
        headers: case-insensitive, multi-value headers. Payload 2.0 joins a
            repeated header into one comma-separated value before we see it.
        cookies: request cookies by name (the first of a repeated name).
        body: the body, base64-decoded when the source encoded it.
        source_ip: the client address the source saw.
        request_id: the source's id for this request.
        stage: the API Gateway stage ("" for ALB).
        domain_name: the host the client called.
        authorizer: what the source's authorizer said about the caller.
        multi_value_headers: the source sent (and expects back)
            multiValueHeaders; decides the shape of an ALB response.
        event: the raw event, for fields this type does not carry.
        context: the Lambda context; set by the router.
    """

    __slots__ = (
        "authorizer",
        "body",
        "context",
        "cookies",
        "domain_name",
        "event",
        "headers",
        "method",
        "multi_value_headers",
        "path_parameters",
        "query",
        "raw_path",
        "request_id",
        "source",
        "source_ip",
        "stage",
    )

    def __init__(  # noqa: PLR0913  # one keyword per field of the request
        self,
        source: str,
        method: str,
        raw_path: str,
        *,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, list[str]] | None = None,
        headers: Headers | None = None,
        cookies: dict[str, str] | None = None,
        body: bytes = b"",
        source_ip: str = "",
        request_id: str = "",
        stage: str = "",
        domain_name: str = "",
        authorizer: Authorizer | None = None,
        multi_value_headers: bool = False,
        event: dict[str, Any] | None = None,
    ) -> None:
        self.source = source
        self.method = method
        self.raw_path = raw_path
        self.path_parameters = path_parameters if path_parameters is not None else {}
        self.query = query if query is not None else {}
        self.headers = headers if headers is not None else Headers()
        self.cookies = cookies if cookies is not None else {}
        self.body = body
        self.source_ip = source_ip
        self.request_id = request_id
        self.stage = stage
        self.domain_name = domain_name
        self.authorizer = authorizer if authorizer is not None else Authorizer()
        self.multi_value_headers = multi_value_headers
        self.event = event if event is not None else {}
        self.context: Any = None

    def json(self) -> Any:
        """
        Parse the body as JSON.

        Returns:
            The decoded document.

        Raises:
            BadRequestError: the body is empty, not UTF-8 or not JSON.
        """
        if not self.body:
            raise BadRequestError(
                "the request body is empty; a JSON document is required"
            )
        try:
            return codec.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequestError(f"the request body is not valid JSON: {exc}") from exc

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.raw_path} from {self.source}>"
