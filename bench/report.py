"""
Figures, ratios and targets out of the raw samples, as JSON, text and Markdown.

Ratios are always between peers of the same run and the same workload: the
machine is shared and noisy, so absolute milliseconds drift between runs while
ratios measured side by side hold.
"""

from dataclasses import dataclass, field
from typing import Any

from bench.measure import ColdSample, WarmSeries
from bench.stats import median, percentile

OFFICIAL = "awslambdaric"
INTERPRETER_FLOOR = "python-floor"
KIB_PER_MIB = 1024
# Issue targets (ratios within one run). "The same ratio over HTTPS as over
# HTTP" is read as: the TLS ratio at most 10 % above the HTTP one.
TARGET_HELLO_VS_OFFICIAL = 0.4
TARGET_HELLO_VS_FLOOR = 1.5
TARGET_POST_VS_OFFICIAL = 0.3
TARGET_TLS_OVER_HTTP = 1.10
TARGET_ZIP_BYTES = 10_000_000


@dataclass
class Series:
    """Every sample of one peer on one workload."""

    peer: str
    workload: str
    cold: list[ColdSample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warm: WarmSeries | None = None
    warm_error: str | None = None
    dropped: str | None = None

    def figures(self) -> dict[str, Any]:
        """The figures of the series; None where nothing was measured."""
        cold = [sample.cold_ms for sample in self.cold]
        first_next = [s.first_next_ms for s in self.cold if s.first_next_ms is not None]
        first_invoke = [
            s.first_invoke_ms for s in self.cold if s.first_invoke_ms is not None
        ]
        rss = [sample.maxrss_kib for sample in self.cold]
        if self.warm is not None:
            rss.append(self.warm.maxrss_kib)
        warm = self.warm.latencies_ms if self.warm else []

        return {
            "runs": len(cold),
            "failures": len(self.failures),
            "cold_ms": _spread(cold),
            "first_next_ms": _spread(first_next),
            "first_invoke_ms": _spread(first_invoke),
            "warm_ms": {
                "invokes": len(warm),
                "p50": percentile(warm, 0.5) if warm else None,
                "p99": percentile(warm, 0.99) if warm else None,
            },
            "invocations_per_s": self.warm.invocations_per_s if self.warm else None,
            "peak_rss_kib": max(rss) if rss else None,
            "cold_rss_kib_median": median(rss[: len(cold)]) if cold else None,
        }


def _spread(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"median": None, "p90": None, "min": None, "max": None}

    return {
        "median": median(samples),
        "p90": percentile(samples, 0.9),
        "min": min(samples),
        "max": max(samples),
    }


def ratios(figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """
    Cold-start median of each peer over awslambdaric's and the interpreter's.

    Args:
        figures: peer name -> figures of one workload.
    """
    official = figures.get(OFFICIAL, {}).get("cold_ms", {}).get("median")
    floor = figures.get(INTERPRETER_FLOOR, {}).get("cold_ms", {}).get("median")
    result = {}
    for peer, figure in figures.items():
        cold = figure["cold_ms"]["median"]
        result[peer] = {
            "vs_awslambdaric": cold / official if cold and official else None,
            "vs_python_floor": cold / floor if cold and floor else None,
        }

    return result


def _target(
    name: str, value: float | None, limit: float, detail: str
) -> dict[str, Any]:
    return {
        "target": name,
        "value": value,
        "limit": limit,
        "met": None if value is None else value <= limit,
        "detail": detail,
    }


def targets(workloads: dict[str, Any], zip_size: int | None) -> list[dict[str, Any]]:
    """Check the issue's targets for every frozen layout that was measured."""
    checks: list[dict[str, Any]] = []
    frozen = sorted(
        {
            peer
            for workload in workloads.values()
            for peer in workload["peers"]
            if peer.startswith("frozen")
        }
    )

    def ratio(workload: str, peer: str, key: str) -> float | None:
        value = workloads.get(workload, {}).get("ratios", {}).get(peer, {}).get(key)
        return value if isinstance(value, float) else None

    def rss(workload: str, peer: str) -> float | None:
        peers = workloads.get(workload, {}).get("peers", {})
        value = peers.get(peer, {}).get("peak_rss_kib")
        return float(value) if value is not None else None

    for peer in frozen:
        checks.append(
            _target(
                f"{peer} hello cold start vs awslambdaric",
                ratio("hello", peer, "vs_awslambdaric"),
                TARGET_HELLO_VS_OFFICIAL,
                "median over median, same run",
            )
        )
        checks.append(
            _target(
                f"{peer} hello cold start vs the interpreter floor",
                ratio("hello", peer, "vs_python_floor"),
                TARGET_HELLO_VS_FLOOR,
                "median over python -S -I -c pass",
            )
        )
        checks.append(
            _target(
                f"{peer} POST /sessions cold start vs awslambdaric",
                ratio("post-http", peer, "vs_awslambdaric"),
                TARGET_POST_VS_OFFICIAL,
                "DynamoDB write over HTTP",
            )
        )
        http = ratio("post-http", peer, "vs_awslambdaric")
        tls = ratio("post-tls", peer, "vs_awslambdaric")
        checks.append(
            _target(
                f"{peer} POST ratio over TLS vs over HTTP",
                tls / http if tls and http else None,
                TARGET_TLS_OVER_HTTP,
                "(TLS ratio to awslambdaric) / (HTTP ratio to awslambdaric)",
            )
        )
        ours, official = rss("post-http", peer), rss("post-http", OFFICIAL)
        checks.append(
            _target(
                f"{peer} peak RSS vs awslambdaric (POST /sessions)",
                ours / official if ours and official else None,
                1.0,
                "ru_maxrss, max over cold runs and the warm process",
            )
        )
    checks.append(
        _target(
            "dist/function.zip size (bytes)",
            float(zip_size) if zip_size is not None else None,
            TARGET_ZIP_BYTES,
            "10 MB",
        )
    )

    return checks


# -- text and Markdown ----------------------------------------------------------

COLUMNS = (
    ("peer", "peer"),
    ("cold p50", "cold p50 ms"),
    ("cold p90", "cold p90 ms"),
    ("1st /next", "first /next ms"),
    ("1st invoke", "first invoke ms"),
    ("warm p50", "warm p50 ms"),
    ("warm p99", "warm p99 ms"),
    ("inv/s", "inv/s"),
    ("RSS MiB", "peak RSS MiB"),
    ("x ric", "x awslambdaric"),
    ("x floor", "x python floor"),
    ("fail", "failed runs"),
)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _row(
    peer: str, figure: dict[str, Any], ratio: dict[str, float | None]
) -> list[str]:
    ips = figure["invocations_per_s"]
    rss = figure["peak_rss_kib"]
    vs_official, vs_floor = ratio["vs_awslambdaric"], ratio["vs_python_floor"]

    return [
        peer,
        _ms(figure["cold_ms"]["median"]),
        _ms(figure["cold_ms"]["p90"]),
        _ms(figure["first_next_ms"]["median"]),
        _ms(figure["first_invoke_ms"]["median"]),
        _ms(figure["warm_ms"]["p50"]),
        _ms(figure["warm_ms"]["p99"]),
        "-" if ips is None else f"{ips:.0f}",
        "-" if rss is None else f"{rss / KIB_PER_MIB:.1f}",
        "-" if vs_official is None else f"{vs_official:.2f}",
        "-" if vs_floor is None else f"{vs_floor:.2f}",
        f"{figure['failures']}/{figure['runs'] + figure['failures']}",
    ]


def _rows(workload: dict[str, Any]) -> list[list[str]]:
    return [
        _row(peer, figure, workload["ratios"][peer])
        for peer, figure in workload["peers"].items()
    ]


def text_table(result: dict[str, Any]) -> str:
    """The run as aligned plain text, one block per workload, then the targets."""
    lines: list[str] = []
    for name, workload in result["workloads"].items():
        lines.append(f"{name}: {workload['description']}")
        header = [short for short, _ in COLUMNS]
        rows = [header, *_rows(workload)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [row[0].ljust(widths[0])]
            cells += [
                cell.rjust(width)
                for cell, width in zip(row[1:], widths[1:], strict=True)
            ]
            lines.append("  " + "  ".join(cells))
        for peer, note in workload.get("dropped", {}).items():
            lines.append(f"  ! {peer}: {note}")
        lines.append("")
    lines.extend(_footer(result))

    return "\n".join(lines)


def markdown_table(result: dict[str, Any]) -> str:
    """The run as Markdown, for the README."""
    lines = [
        f"Run of {result['finished_at']} on {result['machine']['cpu']} "
        f"({result['machine']['cpus']} CPUs), {result['options']['runs']} cold "
        f"starts per peer, interleaved; times in ms, ratios within the run "
        f"(load average {_load(result)}).",
        "",
    ]
    for name, workload in result["workloads"].items():
        lines.append(f"**{name}**: {workload['description']}")
        lines.append("")
        lines.append("| " + " | ".join(long for _, long in COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        for row in _rows(workload):
            lines.append("| " + " | ".join(row) + " |")
        for peer, note in workload.get("dropped", {}).items():
            lines.append(f"\n{peer}: {note.splitlines()[0]}")
        lines.append("")
    lines.extend("- " + line for line in _footer(result))

    return "\n".join(lines) + "\n"


def _load(result: dict[str, Any]) -> str:
    machine = result["machine"]
    start = machine.get("load_average_at_start") or [None]
    end = machine.get("load_average") or [None]
    if start[0] is None or end[0] is None:
        return "unknown"

    return f"{start[0]:.1f} at start, {end[0]:.1f} at end"


def _footer(result: dict[str, Any]) -> list[str]:
    lines = []
    zip_size = result["zip_bytes"]
    lines.append(
        "zip: dist/function.zip not built"
        if zip_size is None
        else f"zip: dist/function.zip {zip_size / 1e6:.2f} MB"
    )
    for skipped in result["skipped"]:
        lines.append(f"skipped {skipped['name']}: {skipped['reason']}")
    for check in result["targets"]:
        if check["met"] is None:
            verdict = "not measured"
        else:
            verdict = "met" if check["met"] else "NOT met"
        value = check["value"]
        shown = "-" if value is None else f"{value:.3g}"
        lines.append(
            f"target {check['target']}: {shown} (limit {check['limit']:g}) {verdict}"
        )

    return lines
