"""The stdlib `logging` bridge: handler code logs as usual and gets Lambda's lines.

`configure()` puts one handler on the root logger whose formatter renders each
record through bootstrap.telemetry.records: JSON or text per
AWS_LAMBDA_LOG_FORMAT, the level from AWS_LAMBDA_LOG_LEVEL, the invocation's
ids, `extra=` fields kept, exceptions as errorType, errorMessage, stackTrace,
and credentials redacted.

The runtime itself does not import `logging` (it costs the cold start several
ms): Telemetry.start_invocation configures this bridge only once some code,
the handler or botocore, has imported it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from bootstrap.telemetry import records
from bootstrap.telemetry.records import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO


# Attributes every LogRecord has; anything else came from `extra=`.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()
) | {"message", "asctime", "taskName"}
_HANDLER_NAME = "bootstrap.telemetry"


def _message(record: logging.LogRecord, redactor: Redactor) -> object:
    """The record's message; a dict logged on its own stays an object."""
    if isinstance(record.msg, dict) and not record.args:
        return record.msg

    args = record.args
    if args:
        # Mask containers before %-formatting: a headers dict passed as an
        # argument must not print its Authorization value into the message.
        # LogRecord turns a lone mapping argument into `args` itself (botocore
        # logs its HTTPHeaders that way).
        if isinstance(args, Mapping):
            record.args = redactor.value(dict(args))  # type: ignore[assignment]
        else:
            record.args = tuple(
                redactor.value(arg) if isinstance(arg, (dict, list, tuple)) else arg
                for arg in args
            )
    try:
        return record.getMessage()
    except (TypeError, ValueError) as exc:
        # A format string that does not match its arguments must not cost the
        # line (logging would print a multi-line traceback instead of JSON).
        return f"{record.msg} (log arguments not formatted: {exc})"
    finally:
        record.args = args


def _error_fields(record: logging.LogRecord) -> dict[str, object] | None:
    """errorType, errorMessage and stackTrace of the record's exception."""
    if record.exc_info and record.exc_info[1] is not None:
        # Imported here: only a record with an exception pays for traceback
        # (and linecache, tokenize), which a cold start would otherwise load.
        import traceback  # noqa: PLC0415

        exc = record.exc_info[1]
        return {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
    if record.exc_text:
        return {"stackTrace": [record.exc_text]}

    return None


class JsonFormatter(logging.Formatter):
    """
    Formats each record as one JSON object (see bootstrap.telemetry.records).

    Args:
        redactor: masks credentials; one built from os.environ when None.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one line of JSON."""
        fields = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _RECORD_FIELDS
        }
        if record.stack_info:
            fields["stackInfo"] = record.stack_info

        return records.render_json(
            self.redactor,
            record.levelno,
            record.name,
            _message(record, self.redactor),
            fields,
            _error_fields(record),
            record.created,
        )


class TextFormatter(logging.Formatter):
    """
    Formats records as the managed Python runtime's text lines.

    Args:
        redactor: masks credentials; one built from os.environ when None.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        """Render `[LEVEL]\\ttimestamp\\trequestId\\tmessage` on one line."""
        message = _message(record, self.redactor)
        if record.exc_info and record.exc_info[1] is not None:
            import traceback  # noqa: PLC0415 - see _error_fields

            message = "{}\n{}".format(
                message,
                "".join(traceback.format_exception(*record.exc_info)).rstrip("\n"),
            )

        return records.render_text(
            self.redactor, record.levelno, message, record.created
        )


def make_formatter(environ: Mapping[str, str] | None = None) -> logging.Formatter:
    """Pick the formatter AWS_LAMBDA_LOG_FORMAT (and concurrency) asks for."""
    environ = os.environ if environ is None else environ
    redactor = Redactor(environ)
    if records.wants_json(environ):
        return JsonFormatter(redactor)

    return TextFormatter(redactor)


def configure(
    environ: Mapping[str, str] | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """
    Send every logger's records through our formatter, at AWS_LAMBDA_LOG_LEVEL.

    The root logger gets one handler writing to `stream` (stderr, like the
    runtime's own lines, when None). Calling it again replaces the handler it
    installed and leaves other handlers alone.

    Returns:
        The installed handler.
    """
    environ = os.environ if environ is None else environ
    logging.addLevelName(records.LEVELS["TRACE"], "TRACE")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(make_formatter(environ))

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(records.log_level(environ))

    return handler


def is_configured() -> bool:
    """Tell whether configure() installed its handler on the root logger."""
    return any(h.get_name() == _HANDLER_NAME for h in logging.getLogger().handlers)
