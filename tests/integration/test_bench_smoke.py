"""`make bench-smoke` runs the whole harness briefly and writes every output.

Timings are never asserted here (the machine is shared and noisy): only that
the bench completes, measures the peers it finds, and writes well-formed JSON,
Markdown and PNG.
"""

import json
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT_S = 600
# Peers that need nothing but this checkout, gcc and the venv.
ALWAYS_PRESENT = ("awslambdaric", "c-floor", "python-floor")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    results = tmp_path_factory.mktemp("bench-smoke")
    completed = subprocess.run(
        ["make", "--no-print-directory", "bench-smoke", f"BENCH_SMOKE_DIR={results}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    return results, completed.stdout


def test_smoke_writes_json_history_markdown_and_a_png(smoke: tuple[Path, str]) -> None:
    results, _ = smoke

    latest = json.loads((results / "latest.json").read_text())
    history = [p for p in results.glob("*.json") if p.name != "latest.json"]
    assert latest["schema"] == 1
    assert len(history) == 1
    assert json.loads(history[0].read_text()) == latest
    assert (results / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "**hello**" in (results / "latest.md").read_text()


def test_smoke_measures_every_peer_it_found_without_failures(
    smoke: tuple[Path, str],
) -> None:
    results, stdout = smoke
    latest = json.loads((results / "latest.json").read_text())
    hello = latest["workloads"]["hello"]

    measured = set(hello["peers"])
    assert set(ALWAYS_PRESENT) <= measured
    for peer, figures in hello["peers"].items():
        assert figures["runs"] == latest["options"]["runs"], hello["failures"]
        assert figures["failures"] == 0, hello["failures"].get(peer)
        assert figures["cold_ms"]["median"] > 0
        assert figures["peak_rss_kib"] > 0
        assert peer in stdout
    assert hello["ratios"]["awslambdaric"]["vs_awslambdaric"] == 1.0
    assert hello["ratios"]["python-floor"]["vs_python_floor"] == 1.0


def test_smoke_skips_only_what_is_missing_and_says_why(
    smoke: tuple[Path, str],
) -> None:
    results, _ = smoke
    latest = json.loads((results / "latest.json").read_text())

    for skipped in latest["skipped"]:
        assert skipped["reason"]
    frozen_built = any((REPO_ROOT / "dist").rglob("bootstrap"))
    frozen_measured = any(
        p.startswith("frozen:") for p in latest["workloads"]["hello"]["peers"]
    )
    assert frozen_measured == frozen_built
