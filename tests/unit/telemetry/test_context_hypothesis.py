"""Properties of the trace header parsers: any input parses or is ignored."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from bootstrap.telemetry.context import (
    TraceContext,
    format_traceparent,
    parse_traceparent,
    parse_xray_header,
)

hex_digits = st.text(alphabet="0123456789abcdef", min_size=1, max_size=40)


@given(st.text(max_size=120))
@example("00-" + "0" * 32 + "-" + "1" * 16 + "-01")
@example("00--" * 20)
@example("Root=1-;Parent=")
def test_parsers_never_raise(value: str) -> None:
    context = parse_traceparent(value)
    header = parse_xray_header(value)

    assert context is None or len(context.trace_id) == 32
    assert header is None or header.root.startswith("1-")


@given(
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).filter(
        lambda value: value != "0" * 32
    ),
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=16).filter(
        lambda value: value != "0" * 16
    ),
    st.booleans(),
)
def test_formatted_traceparent_parses_back(
    trace_id: str, span_id: str, sampled: bool
) -> None:
    context = TraceContext(trace_id, span_id, sampled, remote=True)

    assert parse_traceparent(format_traceparent(context)) == context


@given(hex_digits, hex_digits)
def test_xray_root_needs_exact_digit_counts(first: str, second: str) -> None:
    header = parse_xray_header(f"Root=1-{first}-{second};Sampled=1")

    assert (header is not None) == (len(first) == 8 and len(second) == 24)
