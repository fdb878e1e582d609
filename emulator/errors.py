"""Errors of the local Lambda emulator.

EmulatorError
├── ProtocolError        a peer broke HTTP/1.1 framing (bad chunk, bad status line)
├── BodyTooLargeError    a body went past the limit the emulator enforces
└── InvokeError          an invoke through the emulator's endpoint could not finish
"""


class EmulatorError(Exception):
    """Base of every error the emulator raises."""


class ProtocolError(EmulatorError):
    """A peer sent bytes that are not valid HTTP/1.1 framing."""


class BodyTooLargeError(EmulatorError):
    """A request or response body went past the emulator's limit."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"body larger than {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


class InvokeError(EmulatorError):
    """The invoke endpoint could not be reached or answered garbage."""
