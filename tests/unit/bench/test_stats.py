"""Order statistics used for every figure of the benchmark."""

import pytest

from bench.stats import median, percentile


def test_percentile_uses_the_nearest_rank_so_it_is_always_a_measured_value() -> None:
    samples = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 7.0, 6.0, 9.0, 8.0]

    assert percentile(samples, 0.9) == 9.0
    assert percentile(samples, 0.99) == 10.0
    assert percentile(samples, 0.0) == 1.0
    assert percentile(samples, 1.0) == 10.0


def test_median_averages_the_two_middle_values_of_an_even_count() -> None:
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_statistics_of_no_samples_raise_instead_of_inventing_a_figure() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="no samples"):
        median([])
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)
