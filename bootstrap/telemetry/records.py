"""Log lines as Lambda writes them, JSON or text, with the invocation's ids, no secrets.

JSON (AWS_LAMBDA_LOG_FORMAT=JSON, the deployed default), one object per line::

    {"timestamp": "2026-01-02T03:04:05.678Z", "level": "INFO",
     "message": "Session created", "logger": "handler.routes",
     "requestId": "8f5a...", "tenantId": "t-1", "xrayTraceId": "1-5759e988-...",
     "traceId": "5759e988...", "spanId": "53995c3f...", ...extra fields,
     "errorType": "ValueError", "errorMessage": "...", "stackTrace": [...]}

The `level` names are the ones AWS_LAMBDA_LOG_LEVEL uses (TRACE, DEBUG, INFO,
WARN, ERROR, FATAL), because Lambda's application log-level filter reads that
field from JSON lines. Text (AWS_LAMBDA_LOG_FORMAT=Text) is the managed Python
runtime's layout: `[LEVEL]\\t<timestamp>\\t<requestId>\\t<message>`, newlines
turned into carriage returns so that one record stays one CloudWatch event.

Both the stdlib `logging` bridge (bootstrap.telemetry.logging) and the runtime's
own writer (bootstrap.logs) render through here, so this module imports neither
`logging` nor `re`: the runtime writes its lines without paying for them.

Redaction is a security choice made once, here, for every line: values under
keys that name credentials (Authorization, Cookie, tokens, passwords, AWS keys)
become "[REDACTED]"; bearer and basic credentials and AWS access key ids inside
free text are masked; the literal values of the function's own AWS credentials
never appear.
"""

from __future__ import annotations

import os
import time

from bootstrap import codec
from bootstrap.telemetry import active

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


REDACTED = "[REDACTED]"

# AWS_LAMBDA_LOG_LEVEL names and the stdlib numbers they stand for.
LEVELS = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "WARN": 30,
    "WARNING": 30,
    "ERROR": 40,
    "FATAL": 50,
    "CRITICAL": 50,
}
_LEVEL_NAMES = {
    5: "TRACE",
    10: "DEBUG",
    20: "INFO",
    30: "WARN",
    40: "ERROR",
    50: "FATAL",
}

# Keys whose values are credentials, compared lower-case with "_" read as "-".
_SECRET_KEYS = frozenset(
    (
        "authorization",
        "proxy-authorization",
        "cookie",
        "cookies",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-amz-security-token",
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-session-token",
        "credentials",
        "client-secret",
    )
)
# A key containing one of these is treated as a credential too.
_SECRET_KEY_PARTS = ("password", "passwd", "secret", "token", "credential")
_MAX_DEPTH = 8

# Characters of a bearer token, a base64 basic credential, or a JWT.
_TOKEN_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/=-"
)
_KEY_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# Shorter words after "Basic"/"Bearer" are prose ("basic checks"), not secrets.
_MIN_TOKEN_LENGTH = 8
# Credentials from the environment shorter than this are not masked as text:
# they would mask ordinary words. Real AWS keys are 16 to 40+ characters.
_MIN_LITERAL_LENGTH = 6
# The SigV4 Authorization value, as botocore's DEBUG lines print it inside the
# repr of a request: masked up to the quote or line end that closes it.
_SIGV4 = "AWS4-HMAC-SHA256"


def is_secret_key(key: object) -> bool:
    """Tell whether a mapping key names a credential."""
    if not isinstance(key, str):
        return False
    name = key.lower().replace("_", "-")

    return name in _SECRET_KEYS or any(part in name for part in _SECRET_KEY_PARTS)


def _mask_scheme(text: str, scheme: str) -> str:
    """Mask the token after each "<scheme> " (case-insensitive) in text."""
    lowered = text.lower()
    start = lowered.find(scheme)
    while start >= 0:
        token_start = start + len(scheme)
        while token_start < len(text) and text[token_start] in " \t":
            token_start += 1
        token_end = token_start
        while token_end < len(text) and text[token_end] in _TOKEN_CHARS:
            token_end += 1
        token = text[token_start:token_end]
        # Prose like "basic validation" has no digit, "=", "+" or "/" in it.
        if len(token) >= _MIN_TOKEN_LENGTH and (
            scheme == "bearer" or any(char in "0123456789=+/" for char in token)
        ):
            text = text[:token_start] + REDACTED + text[token_end:]
            lowered = text.lower()
            token_end = token_start + len(REDACTED)
        start = lowered.find(scheme, token_end)

    return text


def _mask_key_ids(text: str, prefix: str) -> str:
    """Mask AWS access key ids: prefix + 16 upper-case letters or digits."""
    start = text.find(prefix)
    while start >= 0:
        end = start + 20
        candidate = text[start + 4 : end]
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if (
            len(candidate) == 16
            and _KEY_ID_CHARS.issuperset(candidate)
            and before not in _KEY_ID_CHARS
            and after not in _KEY_ID_CHARS
        ):
            text = text[:start] + REDACTED + text[end:]
            end = start + len(REDACTED)
        start = text.find(prefix, end)

    return text


def _mask_sigv4(text: str) -> str:
    """Mask each "AWS4-HMAC-SHA256 Credential=..., Signature=..." value."""
    start = text.find(_SIGV4)
    while start >= 0:
        value_start = start + len(_SIGV4)
        ends = [text.find(char, value_start) for char in "'\"\n"]
        value_end = min((end for end in ends if end >= 0), default=len(text))
        text = text[:value_start] + " " + REDACTED + text[value_end:]
        start = text.find(_SIGV4, value_start + len(REDACTED) + 1)

    return text


class Redactor:
    """
    Removes credentials from values and text before they are written.

    Args:
        environ: where the function's own AWS credentials are read; their literal
            values are masked wherever they appear. os.environ when None.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self.literals = tuple(
            value
            for value in (
                environ.get("AWS_SECRET_ACCESS_KEY"),
                environ.get("AWS_SESSION_TOKEN"),
                environ.get("AWS_ACCESS_KEY_ID"),
            )
            if value and len(value) >= _MIN_LITERAL_LENGTH
        )

    def text(self, text: str) -> str:
        """Mask credentials inside free text."""
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        lowered = text.lower()
        if "bearer" in lowered:
            text = _mask_scheme(text, "bearer")
        if "basic" in lowered:
            text = _mask_scheme(text, "basic")
        if "AKIA" in text:
            text = _mask_key_ids(text, "AKIA")
        if "ASIA" in text:
            text = _mask_key_ids(text, "ASIA")
        if _SIGV4 in text:
            text = _mask_sigv4(text)

        return text

    def value(  # noqa: PLR0911 - one return per kind of value
        self, value: object, depth: int = 0
    ) -> object:
        """
        Copy a value into JSON-ready form with credentials masked.

        Mappings lose the values of secret keys, containers are copied, strings
        are scrubbed, numbers and booleans pass, anything else becomes its str().
        """
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            # JSON has no NaN or Infinity; write them as text rather than fail.
            return value if value - value == 0 else str(value)
        if depth >= _MAX_DEPTH:
            return self.text(str(value))
        if isinstance(value, dict):
            return {
                str(key): REDACTED
                if is_secret_key(key)
                else self.value(item, depth + 1)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(item, depth + 1) for item in value]
        if isinstance(value, (bytes, bytearray)):
            return self.text(bytes(value).decode("utf-8", "replace"))

        return self.text(str(value))


def level_name(levelno: int) -> str:
    """Name a level as AWS_LAMBDA_LOG_LEVEL does (WARN, FATAL, ...)."""
    return _LEVEL_NAMES.get(levelno) or f"LEVEL{levelno}"


def log_level(environ: Mapping[str, str]) -> int:
    """
    Read AWS_LAMBDA_LOG_LEVEL.

    Returns:
        The stdlib level number; INFO when unset or unknown (an unknown value is
        no reason to fail the function).
    """
    name = environ.get("AWS_LAMBDA_LOG_LEVEL", "").strip().upper()

    return LEVELS.get(name, LEVELS["INFO"])


def wants_json(environ: Mapping[str, str]) -> bool:
    """
    Tell whether lines are JSON (AWS_LAMBDA_LOG_FORMAT=JSON).

    JSON is forced when AWS_LAMBDA_MAX_CONCURRENCY is set: lines of concurrent
    invocations interleave and only JSON keeps each line's requestId.
    """
    log_format = environ.get("AWS_LAMBDA_LOG_FORMAT", "").strip().upper()

    return log_format == "JSON" or bool(environ.get("AWS_LAMBDA_MAX_CONCURRENCY"))


def timestamp(epoch_s: float) -> str:
    """RFC 3339 in UTC with milliseconds: 2026-01-02T03:04:05.678Z."""
    millis = int(epoch_s * 1000) % 1000

    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s))

    return f"{seconds}.{millis:03d}Z"


def render_json(  # noqa: PLR0913, PLR0917 - one argument per part of the line
    redactor: Redactor,
    levelno: int,
    logger_name: str,
    message: object,
    fields: Mapping[str, object] | None = None,
    error: Mapping[str, object] | None = None,
    created_s: float | None = None,
) -> str:
    """
    Render one JSON log line (without the newline).

    Args:
        redactor: masks credentials in the message and fields.
        levelno: stdlib level number.
        logger_name: the logger's name.
        message: text, or a dict logged as an object.
        fields: extra fields (the `extra=` of stdlib logging); they never replace
            the standard ones.
        error: errorType, errorMessage and stackTrace of an exception, if any.
        created_s: the record's time in epoch seconds; now when None.

    Returns:
        The line.
    """
    entry: dict[str, object] = {
        "timestamp": timestamp(time.time() if created_s is None else created_s),
        "level": level_name(levelno),
        "message": redactor.value(message),
        "logger": logger_name,
    }
    entry.update(active.log_fields())
    if fields:
        for key, value in fields.items():
            if key not in entry:
                entry[key] = REDACTED if is_secret_key(key) else redactor.value(value)
    if error:
        entry.update(redactor.value(error))  # type: ignore[call-overload]  # a dict

    return codec.dumps(entry).decode("utf-8")


def render_text(
    redactor: Redactor,
    levelno: int,
    message: object,
    created_s: float | None = None,
    request_id: str | None = None,
) -> str:
    """
    Render one text line: `[LEVEL]\\t<timestamp>\\t<requestId>\\t<message>`.

    Newlines become carriage returns so that one record is one CloudWatch event.
    """
    if not isinstance(message, str):
        message = codec.dumps(redactor.value(message)).decode("utf-8")
    if request_id is None:
        scope = active.current_scope()
        request_id = scope.request_id if scope is not None else ""
    when = timestamp(time.time() if created_s is None else created_s)
    line = "\t".join(
        (f"[{level_name(levelno)}]", when, request_id, redactor.text(message))
    )

    return line.replace("\n", "\r")
