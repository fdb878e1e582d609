"""Errors of the benchmark harness.

BenchError
├── PeerUnavailableError   a peer's artifact or tool is missing: skip it
├── RunFailedError         one run did not produce a valid response
└── SetupError             a shared part (DynamoDB Local, TLS) did not start
"""


class BenchError(Exception):
    """Base of every error the benchmark harness raises."""


class PeerUnavailableError(BenchError):
    """A peer cannot run on this machine; the bench skips it with this reason."""


class RunFailedError(BenchError):
    """One cold or warm run failed; the message says how, the log says why."""


class SetupError(BenchError):
    """A part every run depends on could not be started."""
