"""The short soak in `make test`: 2000 mixed invocations through the runtime
under the emulator against DynamoDB Local (`make soak` runs 100000)."""

from __future__ import annotations

from tests.soak.soak import MAX_RSS_GROWTH_KIB, run_soak

SHORT_INVOCATIONS = 2000


def test_short_soak_has_no_5xx_no_lost_write_and_bounded_memory() -> None:
    summary = run_soak(SHORT_INVOCATIONS, seed=11, warmup=500)
    print("\n".join(summary.lines()))

    assert summary.invocations == SHORT_INVOCATIONS
    assert summary.status_5xx == 0, summary.examples
    assert summary.unexpected == 0, summary.examples
    assert summary.function_errors == 0, summary.examples
    # Every kind of request was exercised, malformed ones included.
    assert set(summary.by_kind) == {
        "create", "read", "patch", "list", "delete", "malformed",
    }  # fmt: skip
    assert summary.items_at_end > 0
    assert summary.lost_items == summary.extra_items == 0, summary.examples
    assert summary.mismatched_items == 0, summary.examples
    assert summary.process_starts == 1
    assert summary.rss_after_warmup_kib > 0
    assert summary.rss_growth_kib <= MAX_RSS_GROWTH_KIB
    assert summary.leaked_secrets == 0
    assert summary.ok
