"""Errors of the runtime, and the errorType strings it reports to the Runtime API.

The tree::

    BootstrapError                      base of every runtime error
    ├── ConfigurationError              the environment cannot start a runtime
    ├── CodecError (also ValueError)    not JSON in, or no JSON form out
    ├── HandlerLoadError                _HANDLER cannot be loaded (an init error)
    └── RuntimeAPIError                 the Runtime API failed: endpoint, status, body
        ├── ConnectionClosedError       unreachable, or closed before a full answer
        └── MalformedResponseError      answered something that is not HTTP/1.1

bootstrap.http.errors.HTTPError also derives from BootstrapError.
"""

from __future__ import annotations


class ErrorType:
    """The errorType strings the runtime reports; the only place they are spelled.

    Lambda users search their logs and alarms for these exact strings, so they
    follow the names the managed Python runtimes use.
    """

    IMPORT_MODULE = "Runtime.ImportModuleError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    USER_CODE_SYNTAX = "Runtime.UserCodeSyntaxError"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    MARSHAL = "Runtime.MarshalError"
    UNMARSHAL = "Runtime.UnmarshalError"
    # The handler ran out of memory: Lambda replaces such an environment.
    OUT_OF_MEMORY = "Runtime.OutOfMemory"
    # A failure inside the runtime itself while it handled an invoke.
    RUNTIME = "Runtime.Unknown"


class BootstrapError(Exception):
    """Base of every error the runtime raises."""


class ConfigurationError(BootstrapError):
    """The environment lacks what a runtime needs (AWS_LAMBDA_RUNTIME_API...)."""


class CodecError(BootstrapError, ValueError):
    """Input is not valid JSON, or a value cannot be written as JSON.

    It is also a ValueError so that code written against the `json` package, which
    catches ValueError, keeps working.
    """


class HandlerLoadError(BootstrapError):
    """The handler named by _HANDLER cannot be loaded.

    Args:
        error_type: one of the ErrorType init error strings.
        message: what went wrong, for the init error report and the log.
    """

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class RuntimeAPIError(BootstrapError):
    """The Runtime API answered with an unexpected status, or not at all.

    Args:
        message: what happened.
        endpoint: the request that failed, e.g.
            "GET /2018-06-01/runtime/invocation/next".
        status: the HTTP status when one was received.
        body: the response body when one was received.
    """

    def __init__(
        self,
        message: str,
        endpoint: str | None = None,
        status: int | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.status = status
        self.body = body

    def __str__(self) -> str:
        """Say what failed, where, and with which status and body when known."""
        parts = [self.message]
        if self.endpoint is not None:
            parts.append("endpoint: " + self.endpoint)
        if self.status is not None:
            parts.append(f"status: {self.status}")
        if self.body:
            # A peer answering garbage could send megabytes: keep the log line short.
            parts.append(f"body: {self.body[:200]!r}")

        return "; ".join(parts)


class ConnectionClosedError(RuntimeAPIError):
    """The Runtime API could not be reached, or closed before a complete answer."""


class MalformedResponseError(RuntimeAPIError):
    """The Runtime API answered bytes that are not a valid HTTP/1.1 response."""
