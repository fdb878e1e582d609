"""The PNG chart of a run: cold start per peer and workload, with p90 whiskers."""

from pathlib import Path
from typing import Any

import matplotlib

# No display on CI or on a server: render straight to PNG.
matplotlib.use("Agg")

import matplotlib.pyplot as plt

KIND_COLOURS = {
    "frozen": "#1b7837",
    "runtime": "#5aae61",
    "official": "#c51b7d",
    "floor": "#878787",
}


def draw(result: dict[str, Any], output: Path) -> Path:
    """
    Draw one panel per workload: median cold start as a bar, p90 as a whisker,
    and the ratio to awslambdaric written next to each bar.
    """
    workloads = [
        (name, workload)
        for name, workload in result["workloads"].items()
        if workload["peers"]
    ]
    kinds = {peer["name"]: peer["kind"] for peer in result["peers"]}
    rows = max(len(workloads), 1)
    figure, axes = plt.subplots(rows, 1, figsize=(9, 1.2 + 2.1 * rows), squeeze=False)
    for axis, (name, workload) in zip(
        axes[: len(workloads), 0], workloads, strict=True
    ):
        peers = [
            (peer, figure_)
            for peer, figure_ in workload["peers"].items()
            if figure_["cold_ms"]["median"] is not None
        ]
        labels = [peer for peer, _ in peers]
        medians = [figure_["cold_ms"]["median"] for _, figure_ in peers]
        p90s = [figure_["cold_ms"]["p90"] for _, figure_ in peers]
        whiskers = [
            [0] * len(peers),
            [p - m for p, m in zip(p90s, medians, strict=True)],
        ]
        colours = [KIND_COLOURS.get(kinds.get(peer, ""), "#4393c3") for peer in labels]
        positions = range(len(peers))
        axis.barh(positions, medians, xerr=whiskers, color=colours, capsize=3)
        axis.set_yticks(list(positions), labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_title(f"{name}: {workload['description']}", fontsize=9, loc="left")
        axis.set_xlabel("cold start, ms (bar: median, whisker: p90)", fontsize=8)
        axis.tick_params(axis="x", labelsize=8)
        for position, (peer, _) in zip(positions, peers, strict=True):
            vs_official = workload["ratios"][peer]["vs_awslambdaric"]
            if vs_official is not None:
                axis.text(
                    p90s[position],
                    position,
                    f"  {vs_official:.2f}x",
                    va="center",
                    fontsize=7,
                )
        axis.margins(x=0.15)
    figure.suptitle(
        f"Cold start, exec to first response ({result['finished_at']}); "
        "ratios to awslambdaric",
        fontsize=10,
    )
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)

    return output
