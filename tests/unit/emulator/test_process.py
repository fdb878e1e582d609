"""How the emulator words a runtime's exit, as Lambda does in Runtime.ExitError."""

import signal

import pytest

from emulator.environment import error_body, format_seconds
from emulator.process import describe_exit


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (1, "exit status 1"),
        (0, "exit status 0"),
        (-signal.SIGKILL, "signal: killed"),
        (-signal.SIGSEGV, "signal: segmentation fault"),
    ],
)
def test_exit_is_described_like_lambda(returncode: int, reason: str) -> None:
    assert describe_exit(returncode) == reason


@pytest.mark.parametrize(
    ("seconds", "text"), [(3, "3.00"), (0.5, "0.50"), (900, "900.00")]
)
def test_timeout_seconds_have_two_decimals(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_error_body_is_the_lambda_error_document() -> None:
    assert error_body("Runtime.ExitError", 'quote " and\nnewline') == (
        b'{"errorMessage": "quote \\" and\\nnewline", "errorType": "Runtime.ExitError"}'
    )
