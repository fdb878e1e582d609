"""W3C traceparent and X-Ray header parsing, id generation and sampling."""

from __future__ import annotations

import time

import pytest

from bootstrap.telemetry.context import (
    Sampler,
    TraceContext,
    find_header,
    format_traceparent,
    new_span_id,
    new_trace_id,
    parse_traceparent,
    parse_xray_header,
    trace_id_to_xray,
    xray_to_context,
    xray_to_trace_id,
)
from bootstrap.telemetry.errors import TelemetryConfigError

from .conftest import TRACEPARENT, XRAY_PARENT, XRAY_ROOT


def test_traceparent_parses_ids_flags_and_state() -> None:
    context = parse_traceparent(TRACEPARENT, "vendor=abc")

    assert context == TraceContext(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        sampled=True,
        trace_state="vendor=abc",
        remote=True,
    )


def test_traceparent_unsampled_flag_is_honoured() -> None:
    context = parse_traceparent(TRACEPARENT[:-2] + "00")

    assert context is not None
    assert context.sampled is False


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-zz",
    ],
)
def test_invalid_traceparent_is_ignored(value: str) -> None:
    assert parse_traceparent(value) is None


def test_future_traceparent_version_keeps_known_fields() -> None:
    context = parse_traceparent(
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-ever"
    )

    assert context is not None
    assert context.span_id == "b7ad6b7169203331"


def test_traceparent_round_trips_through_format() -> None:
    context = parse_traceparent(TRACEPARENT)

    assert context is not None
    assert format_traceparent(context) == TRACEPARENT


def test_xray_header_parses_root_parent_sampled_and_lineage() -> None:
    header = parse_xray_header(
        f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=1;Lineage=1:abc:0"
    )

    assert header is not None
    assert header.root == XRAY_ROOT
    assert header.parent == XRAY_PARENT
    assert header.sampled is True
    assert header.lineage == "1:abc:0"
    assert header.trace_id == "5759e988bd862e3fe1be46a994272793"


@pytest.mark.parametrize(("field", "expected"), [("0", False), ("?", None), ("", None)])
def test_xray_sampling_decision_is_kept_or_deferred(
    field: str, expected: bool | None
) -> None:
    header = parse_xray_header(f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled={field}")

    assert header is not None
    assert header.sampled is expected


@pytest.mark.parametrize(
    "value", [None, "", "Parent=53995c3f42cd8ad8", "Root=1-xyz;Sampled=1", "Root=2-a-b"]
)
def test_xray_header_without_valid_root_is_ignored(value: str | None) -> None:
    assert parse_xray_header(value) is None


def test_xray_header_without_parent_gives_no_remote_parent() -> None:
    header = parse_xray_header(f"Root={XRAY_ROOT};Sampled=1")

    assert header is not None
    assert header.parent is None
    assert xray_to_context(header) is None


def test_xray_header_becomes_remote_parent_context() -> None:
    header = parse_xray_header(f"Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=1")
    assert header is not None

    context = xray_to_context(header)

    assert context == TraceContext(
        "5759e988bd862e3fe1be46a994272793", XRAY_PARENT, sampled=True, remote=True
    )


def test_trace_ids_convert_between_xray_and_w3c() -> None:
    assert trace_id_to_xray(xray_to_trace_id(XRAY_ROOT)) == XRAY_ROOT


def test_new_trace_id_starts_with_epoch_seconds_for_xray() -> None:
    before = int(time.time())
    trace_id = new_trace_id()
    after = int(time.time())

    assert len(trace_id) == 32
    assert before <= int(trace_id[:8], 16) <= after
    assert new_trace_id() != trace_id


def test_new_span_id_is_sixteen_hex_digits_and_not_zero() -> None:
    span_id = new_span_id()

    assert len(span_id) == 16
    assert int(span_id, 16) != 0


def test_find_header_ignores_case_and_takes_first_of_a_list() -> None:
    assert find_header({"TraceParent": "a"}, "traceparent") == "a"
    assert find_header({"traceparent": ["b", "c"]}, "traceparent") == "b"
    assert find_header(None, "traceparent") is None
    assert find_header({"traceparent": 3}, "traceparent") is None


def test_parent_based_sampler_follows_the_parent() -> None:
    sampler = Sampler("parentbased_always_off")
    sampled_parent = TraceContext("a" * 32, "b" * 16, sampled=True, remote=True)
    unsampled_parent = TraceContext("a" * 32, "b" * 16, sampled=False, remote=True)

    assert sampler.should_sample("a" * 32, sampled_parent) is True
    assert sampler.should_sample("a" * 32, unsampled_parent) is False
    assert sampler.should_sample("a" * 32, None) is False


def test_ratio_sampler_decides_by_trace_id() -> None:
    sampler = Sampler("traceidratio", 0.5)

    assert sampler.should_sample("0" * 16 + "0000000000000001", None) is True
    assert sampler.should_sample("0" * 16 + "ffffffffffffffff", None) is False


def test_sampler_from_env_reads_name_and_ratio() -> None:
    sampler = Sampler.from_env(
        {
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
        }
    )

    assert sampler.parent_based is True
    assert sampler.ratio == 0.25


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_SAMPLER": "sometimes"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "two"},
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
    ],
)
def test_bad_sampler_settings_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(TelemetryConfigError):
        Sampler.from_env(environ)
