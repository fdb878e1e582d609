"""Order statistics for benchmark samples (nearest-rank, no interpolation)."""

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """
    Return the nearest-rank percentile of the samples.

    Nearest rank always returns a value that was measured, which keeps p90 and
    p99 honest on the small sample counts a cold-start benchmark can afford.

    Args:
        samples: at least one measurement.
        fraction: between 0 and 1 (0.5 for the median, 0.9 for p90).

    Raises:
        ValueError: when there are no samples or the fraction is out of range.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))

    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    """Return the median: the mean of the two middle values for an even count."""
    if not samples:
        raise ValueError("median of no samples")
    ordered = sorted(samples)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]

    return (ordered[middle - 1] + ordered[middle]) / 2
