"""Distributions: scipy objects for the reference engine and quantile tables for the kernels.

Every latent is one uniform u, turned into a value by inverse transform, so the value is monotone
in u (common random numbers, and the rank a verifier's copula needs). Constant and exponential have
closed forms; everything else is a quantile table (built with scipy, or from a sample). A table
has a dense uniform grid for the body, where a lookup costs one multiply, and a grid uniform in
logit(u) for the tails (u < 1/128 or u > 127/128), so extreme quantiles stay accurate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from sim import samples
from sim.problems import BadInput
from sim.scenario import Beta, Constant, Empirical, Exponential, LogitNormal, Lognormal

KIND_CONSTANT = 0
KIND_EXPONENTIAL = 1
KIND_TABLE = 2

BODY_POINTS = 16385
BODY_EDGE = 1.0 / 128.0
TAIL_POINTS = 2049
TAIL_LOGIT = 36.0  # tails cover logit(u) in [-36, logit(BODY_EDGE)]: u down to 2e-16


class _LogitNormalDist:
    """The logistic of a normal, with the ppf/cdf/rvs the reference engine needs."""

    def __init__(self, mu: float, sigma: float) -> None:
        self.normal = stats.norm(mu, sigma)

    def ppf(self, u: Any) -> Any:
        return special.expit(self.normal.ppf(u))

    def cdf(self, x: Any) -> Any:
        return self.normal.cdf(special.logit(np.clip(x, 0.0, 1.0)))

    def mean(self) -> float:
        z, w = np.polynomial.hermite_e.hermegauss(80)
        return float(
            np.sum(w * special.expit(self.normal.mean() + self.normal.std() * z)) / np.sum(w)
        )


class _ConstantDist:
    def __init__(self, value: float) -> None:
        self.value = value

    def ppf(self, u: Any) -> Any:
        return np.full_like(np.asarray(u, dtype=float), self.value)

    def cdf(self, x: Any) -> Any:
        return (np.asarray(x, dtype=float) >= self.value).astype(float)

    def mean(self) -> float:
        return self.value


STANDARD_NORMAL = "standard_normal"  # internal: the verifier copula's Φ⁻¹


def frozen(dist: Any) -> Any:
    """A scipy-like frozen distribution (ppf, cdf, mean) for a scenario distribution."""
    if dist == STANDARD_NORMAL:
        return stats.norm()
    if isinstance(dist, Constant):
        return _ConstantDist(dist.value)
    if isinstance(dist, Exponential):
        return stats.expon(scale=dist.mean)
    if isinstance(dist, Lognormal):
        return (
            stats.lognorm(s=dist.sigma, scale=dist.median)
            if dist.sigma > 0
            else _ConstantDist(dist.median)
        )
    if isinstance(dist, Beta):
        return stats.beta(dist.a, dist.b)
    if isinstance(dist, LogitNormal):
        if dist.sigma == 0:  # scipy's normal with scale 0 is undefined (NaN), not a point mass
            return _ConstantDist(float(special.expit(dist.mu)))
        return _LogitNormalDist(dist.mu, dist.sigma)
    if isinstance(dist, Empirical):
        return samples.EmpiricalDist(samples.load(dist.path, dist.column))
    raise ValueError(f"unsupported distribution {dist!r}")


def lower_bound(dist: Any) -> float:
    """The smallest value a distribution can take."""
    if isinstance(dist, Constant):
        return dist.value
    if isinstance(dist, Lognormal) and dist.sigma == 0:
        return dist.median
    if isinstance(dist, Empirical):
        try:
            return float(samples.load(dist.path, dist.column)[0])
        except BadInput:  # validation reports the file's problems with the field's path
            return 0.0
    return 0.0


@dataclass(frozen=True)
class QuantileTables:
    """All distributions of a scenario as two arrays the kernels index by distribution id.

    spec[d] = (kind, parameter); table[d] = body grid, then lower tail, then upper tail.
    """

    spec: np.ndarray  # float64[D, 2]: kind and the constant or the exponential's mean
    table: np.ndarray  # float64[D, BODY_POINTS + 2 * TAIL_POINTS]


LOWER_START = BODY_POINTS
UPPER_START = BODY_POINTS + TAIL_POINTS


def _tail_grid() -> tuple[np.ndarray, np.ndarray]:
    top = float(special.logit(BODY_EDGE))
    x = np.linspace(-TAIL_LOGIT, top, TAIL_POINTS)
    return special.expit(x), special.expit(-x)


def build_tables(dists: list[Any]) -> QuantileTables:
    """Tabulate quantile functions for the kernels, one row per distribution."""
    n = len(dists)
    spec = np.zeros((n, 2))
    spec[:, 0] = KIND_TABLE
    table = np.zeros((n, BODY_POINTS + 2 * TAIL_POINTS))
    u_body = np.linspace(BODY_EDGE, 1.0 - BODY_EDGE, BODY_POINTS)
    u_low, u_high = _tail_grid()
    for i, dist in enumerate(dists):
        if isinstance(dist, Constant):
            spec[i] = (KIND_CONSTANT, dist.value)
            continue
        if isinstance(dist, Exponential):
            spec[i] = (KIND_EXPONENTIAL, dist.mean)
            continue
        # validation bounds every parameter so these stay finite; scipy's warnings at the far
        # tails (an underflow to 0, say) are expected there and must not reach the user raw
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f = frozen(dist)
            table[i, :LOWER_START] = f.ppf(u_body)
            table[i, LOWER_START:UPPER_START] = f.ppf(u_low)
            table[i, UPPER_START:] = f.ppf(u_high)
        if not np.isfinite(table[i]).all():  # the kernels index with these values: never NaN
            raise ValueError(f"a quantile table of {dist!r} is not finite")
    return QuantileTables(spec, table)
