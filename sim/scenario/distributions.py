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

from sim.scenario.quantile_grid import (
    BODY_EDGE,
    BODY_POINTS,
    KIND_CONSTANT,
    KIND_EXPONENTIAL,
    KIND_TABLE,
    LOWER_START,
    TAIL_LOGIT,
    TAIL_POINTS,
    UPPER_START,
)

__all__ = [
    "BODY_EDGE", "BODY_POINTS", "KIND_CONSTANT", "KIND_EXPONENTIAL", "KIND_TABLE", "LOWER_START",
    "TAIL_LOGIT", "TAIL_POINTS", "UPPER_START", "STANDARD_NORMAL", "ConstantDist",
    "LogitNormalDist", "QuantileTables", "build_tables", "frozen", "lower_bound",
]  # fmt: skip


class LogitNormalDist:
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


class ConstantDist:
    """A point mass, with the ppf/cdf the reference engine needs."""

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
    if isinstance(dist, str) and dist == STANDARD_NORMAL:
        return stats.norm()
    if not hasattr(dist, "frozen"):
        raise ValueError(f"unsupported distribution {dist!r}")
    return dist.frozen()


def lower_bound(dist: Any) -> float:
    """The smallest value a distribution can take."""
    return float(dist.lower_bound())


@dataclass(frozen=True)
class QuantileTables:
    """All distributions of a scenario as two arrays the kernels index by distribution id.

    spec[d] = (kind, parameter); table[d] = body grid, then lower tail, then upper tail.
    """

    spec: np.ndarray  # float64[D, 2]: kind and the constant or the exponential's mean
    table: np.ndarray  # float64[D, BODY_POINTS + 2 * TAIL_POINTS]


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
        if not isinstance(dist, str) and dist.kernel_kind != KIND_TABLE:  # a closed form
            spec[i] = (dist.kernel_kind, dist.kernel_parameter())
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
