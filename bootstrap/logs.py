"""The runtime's own log lines, as text or JSON, filtered by AWS_LAMBDA_LOG_LEVEL.

The stdlib `logging` package costs a cold start several ms before the first
invoke, so the runtime writes its few lines itself, in the shapes Lambda uses:

    text:  [LEVEL]\\t2026-12-03T10:00:00.123Z\\t<request id>\\tmessage\\n
    JSON:  {"timestamp": ..., "level": ..., "message": ..., "logger": ...,
            "requestId": ...}\\n

Messages take lazy %-style arguments, formatted only when the line is written.
"""

from __future__ import annotations

import sys
import time

from bootstrap.telemetry import records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

# Lambda's level names (AWS_LAMBDA_LOG_LEVEL) and their stdlib numbers.
LEVELS = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "WARN": 30, "ERROR": 40, "FATAL": 50}
_NAMES = {number: name for name, number in LEVELS.items()}


class LogSettings:
    """
    How lines are written: format, threshold and stream.

    Args:
        log_format: "JSON" or "Text" (AWS_LAMBDA_LOG_FORMAT); anything else is text.
        log_level: a LEVELS name (AWS_LAMBDA_LOG_LEVEL); unknown or empty is INFO.
        stream: where lines go; stderr, which Lambda ships to CloudWatch.
    """

    __slots__ = ("json", "level", "stream")

    def __init__(
        self,
        log_format: str | None = None,
        log_level: str | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.json = (log_format or "").upper() == "JSON"
        self.level = LEVELS.get((log_level or "").upper(), LEVELS["INFO"])
        self.stream = stream


_settings = LogSettings()
# Masks the function's own AWS credentials (read once, at import) in every line.
_redactor = records.Redactor()


def configure(settings: LogSettings) -> None:
    """Replace the settings every logger of the runtime writes with."""
    global _settings  # noqa: PLW0603 - one process-wide log configuration
    _settings = settings


def settings_from_environ(environ: dict[str, str]) -> LogSettings:
    """
    Read the log settings Lambda passes in the environment.

    Args:
        environ: the process environment.

    Returns:
        The settings; JSON is forced when AWS_LAMBDA_MAX_CONCURRENCY is set,
        because lines of concurrent invokes interleave and only JSON lines carry
        their request id reliably.
    """
    log_format = environ.get("AWS_LAMBDA_LOG_FORMAT")
    if environ.get("AWS_LAMBDA_MAX_CONCURRENCY"):
        log_format = "JSON"

    return LogSettings(log_format, environ.get("AWS_LAMBDA_LOG_LEVEL"))


def _timestamp() -> str:
    """UTC time with milliseconds, the way Lambda stamps its lines."""
    now = time.time()
    millis = int(now * 1000) % 1000

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{millis:03d}Z"


class Logger:
    """
    A named writer of log lines.

    Args:
        name: the module that logs, e.g. "bootstrap.loop".
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def log(
        self,
        level: int,
        message: str,
        *args: Any,
        request_id: str | None = None,
        **fields: Any,
    ) -> None:
        """
        Write one line when `level` passes the threshold.

        Args:
            level: a LEVELS number.
            message: the text, with %-style placeholders for `args`.
            args: formatted into message only if the line is written.
            request_id: the invoke the line belongs to, when there is one.
            fields: extra JSON fields (ignored by the text format).
        """
        settings = _settings
        if level < settings.level:
            return

        text = message % args if args else message
        # One renderer for every line of the process (telemetry.records): the
        # invocation's trace ids, and credentials redacted.
        if settings.json:
            if request_id is not None:
                fields["requestId"] = request_id
            line = records.render_json(_redactor, level, self.name, text, fields)
        else:
            line = records.render_text(_redactor, level, text, request_id=request_id)

        stream = settings.stream or sys.stderr
        stream.write(line + "\n")
        stream.flush()

    def debug(self, message: str, *args: Any, **fields: Any) -> None:
        """Write a DEBUG line."""
        self.log(LEVELS["DEBUG"], message, *args, **fields)

    def info(self, message: str, *args: Any, **fields: Any) -> None:
        """Write an INFO line."""
        self.log(LEVELS["INFO"], message, *args, **fields)

    def warning(self, message: str, *args: Any, **fields: Any) -> None:
        """Write a WARN line."""
        self.log(LEVELS["WARN"], message, *args, **fields)

    def error(self, message: str, *args: Any, **fields: Any) -> None:
        """Write an ERROR line."""
        self.log(LEVELS["ERROR"], message, *args, **fields)


def get_logger(name: str) -> Logger:
    """Return a logger for a module: `get_logger(__name__)`."""
    return Logger(name)
