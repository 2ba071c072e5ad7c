"""The log-spaced latency histogram's quantiles against exact sample quantiles."""

import numpy as np
import pytest

from sim.engine.kernels.histogram import LATENCY_BINS, bin_value, histogram_quantile, latency_bin


def histogram_of(values: np.ndarray) -> np.ndarray:
    hist = np.zeros(LATENCY_BINS, dtype=np.int64)
    for v in values:
        hist[latency_bin(v)] += 1
    return hist


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99, 0.999])
def test_quantile_relative_error_under_one_percent(seed, q):
    rng = np.random.default_rng(seed)
    values = np.concatenate(
        [rng.lognormal(np.log(0.15), 0.4, 20000), rng.lognormal(0.0, 0.6, 3000)]
    )
    exact = np.quantile(values, q, method="inverted_cdf")
    got = histogram_quantile(histogram_of(values), q)
    assert abs(got / exact - 1) <= 0.005


def test_bins_bracket_their_values():
    rng = np.random.default_rng(3)
    for v in 10 ** rng.uniform(-3.9, 5.9, 2000):
        k = latency_bin(v)
        assert abs(bin_value(k) / v - 1) <= 0.005


def test_empty_histogram_has_no_quantile():
    assert np.isnan(histogram_quantile(np.zeros(LATENCY_BINS, dtype=np.int64), 0.5))


def test_zero_latency_lands_in_the_first_bin():
    assert latency_bin(0.0) == 0
    assert bin_value(0) == 0.0
