"""Errors of the telemetry layer.

The tree::

    BootstrapError                  base of every runtime error (bootstrap.errors)
    └── TelemetryError              base of every telemetry error
        ├── TelemetryConfigError    an OTEL_* or AWS_* setting cannot be used
        └── ExportError             a collector or daemon did not take a batch:
                                    endpoint, status, and whether a retry may help

Telemetry never fails an invocation: these errors are logged by the code that
flushes and the invocation goes on.
"""

from __future__ import annotations

from bootstrap.errors import BootstrapError


class TelemetryError(BootstrapError):
    """Base of every error the telemetry layer raises."""


class TelemetryConfigError(TelemetryError):
    """A setting (endpoint, header list, daemon address, sampler) is malformed."""


class ExportError(TelemetryError):
    """An exporter could not deliver a batch.

    Args:
        message: what happened.
        endpoint: where the batch was going (never with credentials in it).
        status: the HTTP status when one was received.
        retryable: True when the same batch may succeed later (connection refused,
            429, 502, 503, 504), so the spans are kept for the next flush.
    """

    def __init__(
        self,
        message: str,
        endpoint: str | None = None,
        status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.status = status
        self.retryable = retryable

    def __str__(self) -> str:
        """Say what failed, where, and with which status when known."""
        parts = [self.message]
        if self.endpoint is not None:
            parts.append("endpoint: " + self.endpoint)
        if self.status is not None:
            parts.append(f"status: {self.status}")

        return "; ".join(parts)
