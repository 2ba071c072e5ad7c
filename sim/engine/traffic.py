"""Traffic: the arrival rate, rate(t) = calls_per_day/DAY_S · diurnal · weekly · growth."""

from __future__ import annotations

import numpy as np

from sim.clock import DAY_S, HOUR_S, MONTH_S
from sim.scenario.models import Traffic


def weekly_factors(traffic: Traffic) -> np.ndarray:
    """The seven day factors normalised to mean 1."""
    w = np.asarray(traffic.weekly, dtype=float)
    return w * 7.0 / w.sum()


def rate_params(traffic: Traffic) -> np.ndarray:
    """Parameters the arrival kernel reads: base rate, amplitude, peak hour, log growth, 7 days."""
    head = [
        traffic.calls_per_day / DAY_S,
        traffic.diurnal_amplitude,
        traffic.peak_hour,
        np.log1p(traffic.growth_per_month) / MONTH_S,
    ]
    return np.concatenate([np.asarray(head), weekly_factors(traffic)])


def rate(traffic: Traffic, t_s: np.ndarray | float) -> np.ndarray:
    """Calls per second at time t (seconds since the start, day 0 a Monday)."""
    t = np.asarray(t_s, dtype=float)
    hour = (t / HOUR_S) % 24.0
    diurnal = 1.0 + traffic.diurnal_amplitude * np.cos(2 * np.pi * (hour - traffic.peak_hour) / 24)
    day = (t // DAY_S).astype(np.int64) % 7
    growth = (1.0 + traffic.growth_per_month) ** (t / MONTH_S)
    return traffic.calls_per_day / DAY_S * diurnal * weekly_factors(traffic)[day] * growth


def expected_calls(traffic: Traffic, start_s: float, end_s: float) -> float:
    """The integral of the rate over [start, end): expected calls.

    Gauss-Legendre with 16 nodes on each piece between clock hours: day boundaries (where the
    weekly factor jumps) are clock hours, and between them the rate is a smooth cosine times an
    exponential, so the rule is exact to rounding.
    """
    hours = np.arange(np.ceil(start_s / HOUR_S) * HOUR_S, end_s, HOUR_S)
    edges = np.unique(np.concatenate([[start_s], hours, [end_s]]))
    a, b = edges[:-1], edges[1:]
    nodes, weights = np.polynomial.legendre.leggauss(16)
    t = (a + b)[:, None] / 2 + (b - a)[:, None] / 2 * nodes[None, :]
    return float(np.sum((b - a) / 2 * (rate(traffic, t) @ weights)))
