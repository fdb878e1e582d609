"""Figures, ratios, targets and their text, Markdown and chart renderings."""

import json
from pathlib import Path
from typing import Any

from bench import chart, report
from bench.measure import ColdSample, WarmSeries
from bench.run import update_readme, write_outputs


def series(peer: str, workload: str, cold_ms: list[float], rss_kib: int) -> Any:
    result = report.Series(peer, workload)
    result.cold = [ColdSample(ms, ms / 2, ms / 4, rss_kib) for ms in cold_ms]
    result.warm = WarmSeries([1.0, 2.0, 3.0], 500.0, rss_kib + 100)

    return result


def document(frozen_hello_ms: float) -> dict[str, Any]:
    workloads: dict[str, Any] = {}
    for workload, official_ms in (("hello", 100.0), ("post-http", 400.0)):
        figures = {
            "frozen:bootstrap": series(
                "frozen:bootstrap", workload, [frozen_hello_ms] * 3, 20_000
            ).figures(),
            "awslambdaric": series(
                "awslambdaric", workload, [official_ms] * 3, 40_000
            ).figures(),
            "python-floor": series(
                "python-floor", workload, [20.0] * 3, 8_000
            ).figures(),
        }
        workloads[workload] = {
            "description": workload,
            "peers": figures,
            "ratios": report.ratios(figures),
            "dropped": {},
            "failures": {},
        }

    return {
        "finished_at": "2026-12-03T10:00:00Z",
        "machine": {"cpu": "test cpu", "cpus": 2},
        "options": {"runs": 3},
        "peers": [
            {"name": "frozen:bootstrap", "kind": "frozen"},
            {"name": "awslambdaric", "kind": "official"},
            {"name": "python-floor", "kind": "floor"},
        ],
        "skipped": [{"name": "c-floor", "reason": "no gcc"}],
        "zip_bytes": 9_000_000,
        "workloads": workloads,
        "targets": report.targets(workloads, 9_000_000),
    }


def test_figures_take_rss_from_cold_runs_and_the_warm_process() -> None:
    figures = series("p", "hello", [10.0, 30.0, 20.0], 1000).figures()

    assert figures["cold_ms"]["median"] == 20.0
    assert figures["cold_ms"]["p90"] == 30.0
    assert figures["first_next_ms"]["median"] == 10.0
    assert figures["warm_ms"] == {"invokes": 3, "p50": 2.0, "p99": 3.0}
    assert figures["peak_rss_kib"] == 1100


def test_ratios_are_against_the_official_client_and_the_interpreter_floor() -> None:
    ratios = document(frozen_hello_ms=30.0)["workloads"]["hello"]["ratios"]

    assert ratios["frozen:bootstrap"]["vs_awslambdaric"] == 0.3
    assert ratios["frozen:bootstrap"]["vs_python_floor"] == 1.5
    assert ratios["awslambdaric"]["vs_awslambdaric"] == 1.0


def test_targets_say_which_hold_and_which_do_not() -> None:
    checks = {c["target"]: c for c in document(frozen_hello_ms=60.0)["targets"]}

    assert not checks["frozen:bootstrap hello cold start vs awslambdaric"]["met"]
    assert not checks["frozen:bootstrap hello cold start vs the interpreter floor"][
        "met"
    ]
    assert checks["frozen:bootstrap POST /sessions cold start vs awslambdaric"]["met"]
    assert checks["frozen:bootstrap peak RSS vs awslambdaric (POST /sessions)"]["met"]
    assert checks["dist/function.zip size (bytes)"]["met"]
    assert checks["frozen:bootstrap POST ratio over TLS vs over HTTP"]["met"] is None


def test_text_and_markdown_tables_list_every_peer_and_the_verdicts() -> None:
    result = document(frozen_hello_ms=30.0)

    text = report.text_table(result)
    markdown = report.markdown_table(result)

    for peer in ("frozen:bootstrap", "awslambdaric", "python-floor"):
        assert peer in text
        assert f"| {peer} |" in markdown
    assert "skipped c-floor: no gcc" in text
    assert "NOT met" not in text.split("hello cold start vs awslambdaric")[1][:40]


def test_outputs_are_written_and_the_chart_is_a_png(tmp_path: Path) -> None:
    result = document(frozen_hello_ms=30.0)

    paths = write_outputs(result, tmp_path)

    assert json.loads(paths["json"].read_text())["workloads"].keys() == {
        "hello",
        "post-http",
    }
    assert paths["history"].read_text() == paths["json"].read_text()
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| frozen:bootstrap |" in paths["markdown"].read_text()


def test_chart_of_a_run_with_no_workload_is_still_a_png(tmp_path: Path) -> None:
    result = document(frozen_hello_ms=30.0)
    result["workloads"] = {}

    output = chart.draw(result, tmp_path / "empty.png")

    assert output.read_bytes()[:4] == b"\x89PNG"


def test_readme_section_between_the_markers_is_replaced_and_nothing_else(
    tmp_path: Path,
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:begin -->\nold\n<!-- bench:end -->\noutro\n")

    updated = update_readme("new table\n", readme)

    text = readme.read_text()
    assert updated
    assert text.startswith("intro\n<!-- bench:begin -->\nnew table\n")
    assert "\nold\n" not in text
    assert text.endswith("<!-- bench:end -->\noutro\n")


def test_readme_without_the_markers_is_left_untouched(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("no section here\n")

    updated = update_readme("new table\n", readme)

    assert not updated
    assert readme.read_text() == "no section here\n"
