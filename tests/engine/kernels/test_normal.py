"""The kernels' standard normal quantile against scipy.special.ndtri, tails included."""

import math

import numpy as np
import pytest
from numba import njit
from scipy import special

from sim.engine.kernels.normal import ndtri


@njit
def _many(p):
    out = np.empty(p.shape[0])
    for i in range(p.shape[0]):
        out[i] = ndtri(p[i])
    return out


def test_matches_scipy_to_double_precision_in_the_body_and_both_tails():
    p = np.concatenate(
        [
            10.0 ** -np.linspace(0.31, 300, 4000),  # the lower tail down to 1e-300
            np.random.default_rng(3).random(200_000),
            1 - 10.0 ** -np.linspace(0.31, 15.9, 2000),  # the upper tail as far as doubles go
            [0.5, 0.02425, 1 - 0.02425, 2.0**-53, 1 - 2.0**-53],  # the seams, the uniforms' ends
        ]
    )
    got, exact = _many(p), special.ndtri(p)
    assert np.all(np.isfinite(got))
    assert np.max(np.abs(got - exact) / np.maximum(1.0, np.abs(exact))) < 1e-12


def test_is_odd_monotone_and_infinite_at_the_ends():
    p = np.sort(np.random.default_rng(4).random(100_000))
    got = _many(p)
    assert np.all(np.diff(got) >= 0)
    assert np.allclose(_many(1 - p[p > 0.5]), -got[p > 0.5], rtol=0, atol=1e-12)
    assert _many(np.array([0.0, 1.0, 0.5])).tolist() == [-math.inf, math.inf, 0.0]


@pytest.mark.parametrize("p", [1e-310, 5e-324])
def test_subnormal_probabilities_keep_the_approximation(p):
    """Below 1e-300 the Halley step would overflow; Acklam's approximation alone is within 1e-8."""
    got = _many(np.array([p]))[0]
    assert got == pytest.approx(special.ndtri(p), rel=1e-8)
