"""The daily cosine 1 + a·cos(2π(hour − peak)/24) fitted to a trace's calls by hour of day."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.clock import DAY_S, HOUR_S

# A rate averaged over a clock hour sees the cosine shrunk by sinc(1/24): undo it
HOUR_AVERAGING = math.sin(math.pi / 24) / (math.pi / 24)


@dataclass(frozen=True)
class Diurnal:
    """Calls and exposure by hour of day, and the fitted cosine when the trace spans a day."""

    estimable: bool
    note: str
    calls_by_hour: list[int]
    exposure_s_by_hour: list[float]  # seconds of each clock hour the trace covers
    mean_rate_per_s: float | None  # the cosine's level: the mean rate over a whole day
    mean_rate_se_per_s: float | None
    amplitude: float  # 0 when not estimable (the proposal: no daily swing)
    amplitude_se: float | None
    peak_hour: float | None
    peak_hour_se: float | None


def exposure_by_hour(start_s: float, duration_s: float) -> np.ndarray:
    """Seconds of each hour of day within [start_s, start_s + duration_s), from a midnight."""
    end_s = start_s + duration_s
    days = np.arange(math.floor(start_s / DAY_S), math.floor(end_s / DAY_S) + 1)
    lo = days[:, None] * DAY_S + np.arange(24)[None, :] * HOUR_S
    overlap = np.minimum(end_s, lo + HOUR_S) - np.maximum(start_s, lo)
    return np.clip(overlap, 0.0, None).sum(axis=0)


def fit_diurnal(calls: np.ndarray, start_s: float, duration_s: float, dispersion: float) -> Diurnal:
    """Weighted least squares of hourly rates on [1, cos, sin]; errors by the delta method.

    Each hour's rate r_h = calls_h / exposure_h has variance D·λ_h / exposure_h (Poisson with
    dispersion D), so the weights are the exposures and the coefficients' covariance is the
    sandwich (XᵀWX)⁻¹ XᵀW Σ WX (XᵀWX)⁻¹ with Σ from the fitted rates.
    """
    exposure = exposure_by_hour(start_s, duration_s)
    shown = {"calls_by_hour": calls.astype(int).tolist(), "exposure_s_by_hour": exposure.tolist()}
    if duration_s < DAY_S:
        return Diurnal(
            estimable=False,
            note=f"the trace spans {duration_s / HOUR_S:.3g} h, less than a day: no daily profile "
            "can be estimated; proposing diurnal_amplitude = 0",
            mean_rate_per_s=None,
            mean_rate_se_per_s=None,
            amplitude=0.0,
            amplitude_se=None,
            peak_hour=None,
            peak_hour_se=None,
            **shown,
        )
    angle = 2 * np.pi * (np.arange(24) + 0.5) / 24
    x = np.column_stack([np.ones(24), np.cos(angle), np.sin(angle)])
    rates = np.divide(calls, exposure, out=np.zeros(24), where=exposure > 0)
    normal = x.T @ (exposure[:, None] * x)
    beta = np.linalg.solve(normal, x.T @ (exposure * rates))
    fitted = np.clip(x @ beta, 0.0, None)
    meat = x.T @ ((exposure * dispersion * fitted)[:, None] * x)  # W Σ W = exposure · D · λ
    inverse = np.linalg.inv(normal)
    cov = inverse @ meat @ inverse
    scale = np.array([1.0, 1 / HOUR_AVERAGING, 1 / HOUR_AVERAGING])
    level, c, s = beta * scale
    cov = cov * np.outer(scale, scale)
    swing = math.hypot(c, s)
    amplitude = swing / level
    grad_amplitude = np.array([-amplitude / level, c / (swing * level), s / (swing * level)])
    grad_angle = np.array([0.0, -s / swing**2, c / swing**2])
    hours_per_radian = 24 / (2 * np.pi)
    return Diurnal(
        estimable=True,
        note=f"fitted on {duration_s / DAY_S:.3g} days of calls by clock hour",
        mean_rate_per_s=float(level),
        mean_rate_se_per_s=math.sqrt(cov[0, 0]),
        amplitude=float(amplitude),
        amplitude_se=math.sqrt(grad_amplitude @ cov @ grad_amplitude),
        peak_hour=float((math.atan2(s, c) * hours_per_radian) % 24),
        peak_hour_se=math.sqrt(grad_angle @ cov @ grad_angle) * hours_per_radian,
        **shown,
    )
