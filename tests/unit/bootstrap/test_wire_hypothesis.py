"""Whatever bytes the Runtime API sends, the client parses them or raises its error."""

from types import ModuleType

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bootstrap.errors import RuntimeAPIError
from tests.unit.bootstrap.fakes import canned_connection

_HEAD = b"HTTP/1.1 200 OK\r\n"

# Fragments that make random answers look like HTTP often enough to reach the
# body parsers, not just the status line check.
_fragments = st.sampled_from(
    [
        _HEAD,
        b"HTTP/1.0 204 No Content\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"Content-Length: 3\r\n",
        b"Content-Length: 99999999999999999\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Connection: close\r\n",
        b"\r\n",
        b"0\r\n\r\n",
        b"5\r\nhello\r\n",
        b"ffffffff\r\n",
        b"abc",
        b"\x00\xff",
    ]
)
_answers = st.one_of(
    st.binary(max_size=2048),
    st.lists(st.one_of(_fragments, st.binary(max_size=16)), max_size=12).map(b"".join),
)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(answer=_answers)
@example(answer=b"")
@example(answer=_HEAD)
@example(answer=_HEAD + b"Content-Length: 999999999999999999\r\n\r\nabc")
@example(answer=_HEAD + b"Content-Length: 1000000000000000000000\r\n\r\n")
@example(answer=_HEAD + b"Transfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\nab")
@example(answer=_HEAD + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n")
@example(answer=_HEAD + b"Transfer-Encoding: chunked\r\n\r\n0x10\r\n")
@example(answer=_HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n")
@example(answer=_HEAD + b"Content-Length: \xd9\xa3\r\n\r\nabc")  # Arabic-Indic 3
@example(answer=b"HTTP/1.1 \xd9\xa3\xd9\xa3\xd9\xa3 OK\r\n\r\n")
@example(answer=b"HTTP/1.1 100 Continue\r\n\r\n" * 20)
@example(answer=b"HTTP/1.1 200 OK\n\n")
def test_arbitrary_answers_parse_or_raise_our_error(
    wire: ModuleType, method: str, answer: bytes
) -> None:
    with canned_connection(wire, answer) as connection:
        try:
            response = connection.request(method, "/2018-06-01/runtime/invocation/next")
        except RuntimeAPIError as exc:
            outcome: object = exc
        else:
            outcome = response

    if isinstance(outcome, RuntimeAPIError):
        assert outcome.endpoint == method + " /2018-06-01/runtime/invocation/next"
    else:
        assert 200 <= outcome.status <= 999  # type: ignore[attr-defined]
        assert isinstance(outcome.body, bytes)  # type: ignore[attr-defined]
        assert answer.startswith(b"HTTP/1.")
