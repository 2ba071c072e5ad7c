"""Arrivals: counts against the integral of the rate, the diurnal shape, and the rate kernels."""

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sim.analysis.metrics import tick_frame, timeseries
from sim.clock import DAY_S, MONTH_S
from sim.engine.control import run_fast
from sim.engine.kernels.arrivals import rate_at, rate_bound, rate_floor
from sim.engine.traffic import expected_calls, rate, rate_params
from sim.scenario.loading import validate
from sim.scenario.models import Traffic

TAIL = stats.norm.sf(4.5)  # two-sided tail of 4.5 standard errors, each side


def closed_form_calls(traffic: Traffic, start_s: float, end_s: float) -> float:
    """∫ rate over [start, end) in closed form, one day (one weekly factor) at a time.

    rate = base · w(day) · (1 + a·cos(ωt − φ)) · e^{kt}, with ω = 2π/day, φ = 2π·peak/24 and
    k = ln(1 + g)/month; the antiderivative of (1 + a·cos(ωt − φ))·e^{kt} is
    e^{kt}/k + a·e^{kt}·(k·cos(ωt − φ) + ω·sin(ωt − φ))/(k² + ω²), with t for e^{kt}/k if k = 0.
    """
    base = traffic.calls_per_day / DAY_S
    a = traffic.diurnal_amplitude
    weekly = np.asarray(traffic.weekly, dtype=float)
    weekly = weekly * 7.0 / weekly.sum()
    k = math.log1p(traffic.growth_per_month) / MONTH_S
    omega = 2.0 * math.pi / DAY_S
    phase = 2.0 * math.pi * traffic.peak_hour / 24.0

    def antiderivative(t: float) -> float:
        e = math.exp(k * t)
        trend = e / k if k != 0.0 else t
        wave = e * (k * math.cos(omega * t - phase) + omega * math.sin(omega * t - phase))
        return trend + a * wave / (k * k + omega * omega)

    total = 0.0
    for day in range(int(start_s // DAY_S), math.ceil(end_s / DAY_S)):
        lo, hi = max(start_s, day * DAY_S), min(end_s, (day + 1) * DAY_S)
        if hi > lo:
            total += base * weekly[day % 7] * (antiderivative(hi) - antiderivative(lo))
    return total


def test_expected_calls_growth_only_closed_form():
    traffic = Traffic(calls_per_day=120_000, growth_per_month=0.25)
    horizon_s = 45.5 * DAY_S
    g = 1.25 ** (horizon_s / MONTH_S)
    exact = traffic.calls_per_day / DAY_S * MONTH_S / math.log(1.25) * (g - 1.0)
    assert expected_calls(traffic, 0.0, horizon_s) == pytest.approx(exact, rel=1e-12)


def test_expected_calls_weekly_only_closed_form():
    weekly = [3, 2, 2, 2, 2, 1, 1]
    traffic = Traffic(calls_per_day=70_000, weekly=weekly)
    factors = np.asarray(weekly) * 7.0 / sum(weekly)
    # 17.25 days: two whole weeks, then Monday to Wednesday, then a quarter of Thursday
    exact = 70_000 * (14 + factors[0] + factors[1] + factors[2] + 0.25 * factors[3])
    assert expected_calls(traffic, 0.0, 17.25 * DAY_S) == pytest.approx(exact, rel=1e-12)


def test_expected_calls_diurnal_only_closed_form():
    a, peak, horizon_s = 0.7, 9.5, 2.4 * DAY_S
    traffic = Traffic(calls_per_day=50_000, diurnal_amplitude=a, peak_hour=peak)
    phase = 2.0 * math.pi * peak / 24.0
    omega = 2.0 * math.pi / DAY_S
    wave = (math.sin(omega * horizon_s - phase) + math.sin(phase)) / omega
    exact = 50_000 / DAY_S * (horizon_s + a * wave)
    assert expected_calls(traffic, 0.0, horizon_s) == pytest.approx(exact, rel=1e-12)


COMBINED = Traffic(
    calls_per_day=1e6,
    diurnal_amplitude=0.6,
    peak_hour=13.5,
    weekly=[1.3, 1.0, 1.0, 1.0, 1.0, 0.7, 0.4],
    growth_per_month=0.5,
)


@pytest.mark.parametrize(
    ("start_s", "end_s"), [(0.0, 30 * DAY_S), (0.0, 9.37 * DAY_S), (7200.0, 3 * DAY_S + 1800.0)]
)
def test_expected_calls_combined_closed_form(start_s, end_s):
    exact = closed_form_calls(COMBINED, start_s, end_s)
    assert expected_calls(COMBINED, start_s, end_s) == pytest.approx(exact, rel=1e-12)


def test_expected_calls_off_the_hour_grid():
    # a 5000 s tick straddling the Friday → Saturday boundary (day 5 starts at 432000 s)
    exact = closed_form_calls(COMBINED, 430_000.0, 435_000.0)
    assert expected_calls(COMBINED, 430_000.0, 435_000.0) == pytest.approx(exact, rel=1e-9)


def traffic_scenario(traffic: dict[str, Any], horizon_days: float, tick_s: float):
    return validate(
        {
            "scenario": {"name": "traffic", "horizon_days": horizon_days, "tick_s": tick_s},
            "traffic": traffic,
            "segments": [
                {
                    "name": "only",
                    "weight": 1.0,
                    "tokens_in": 100,
                    "tokens_out": 10,
                    "student_accuracy": 0.9,
                    "teacher_accuracy": 0.95,
                    "confidence_correct": {"dist": "beta", "a": 9, "b": 1.5},
                    "confidence_wrong": {"dist": "beta", "a": 3, "b": 3},
                }
            ],
            "student": {"servers": 1, "service_s": 0.001, "gpu_hour_usd": 1.0},
            "teacher": {"input_usd_per_mtok": 3, "output_usd_per_mtok": 15, "latency_s": 1.0},
            "router": {"policy": "teacher_only"},
        }
    )


WEEKLY_GROWTH = {
    "calls_per_day": 1e6,
    "diurnal_amplitude": 0.6,
    "peak_hour": 13.5,
    "weekly": [1.3, 1.0, 1.0, 1.0, 1.0, 0.7, 0.4],
    "growth_per_month": 0.5,
}
SHRINKING = {
    "calls_per_day": 1.7e6,
    "diurnal_amplitude": 0.3,
    "peak_hour": 20,
    "weekly": [1, 1, 1, 1, 1, 2, 2],
    "growth_per_month": -0.4,
}


@pytest.mark.parametrize(
    ("traffic", "horizon_days", "tick_s", "seed"),
    [(WEEKLY_GROWTH, 10.0, 3600, 1), (SHRINKING, 6.37, 1800, 2)],
)
def test_total_calls_match_the_integral_of_the_rate(traffic, horizon_days, tick_s, seed):
    s = traffic_scenario(traffic, horizon_days, tick_s)
    calls = sum(agg.counts[:, :, 0].sum() for agg in run_fast(s, seed, 1))
    expected = expected_calls(s.traffic, 0.0, s.horizon_s)
    assert expected > 9e6  # Poisson relative standard error ≈ 0.03%
    assert abs(calls - expected) < 4.5 * math.sqrt(expected)


@pytest.fixture(scope="module")
def hourly_counts():
    """Per-tick calls of a 14-day diurnal + weekly + growth run (two replications)."""
    s = traffic_scenario(WEEKLY_GROWTH, 14.0, 3600)
    series = timeseries(tick_frame(s, run_fast(s, 3, 2)))
    time_s = series["time_s"].to_numpy()
    expected = np.array([expected_calls(s.traffic, t, t + 3600.0) for t in time_s])
    return time_s, series["calls"].to_numpy().astype(float), expected


def test_hourly_counts_are_poisson_around_the_rate(hourly_counts):
    time_s, calls, expected = hourly_counts
    # every hour within Bonferroni-corrected Poisson bounds, and the whole within a chi-square one
    z = (calls - expected) / np.sqrt(expected)
    assert np.abs(z).max() < stats.norm.isf(TAIL / len(z))
    chi2 = float(np.sum(z**2))
    assert chi2 < stats.chi2.isf(2 * TAIL, len(z)), (chi2, len(z))


def test_hour_of_day_profile_follows_the_diurnal_shape(hourly_counts):
    time_s, calls, expected = hourly_counts
    hour = ((time_s % DAY_S) // 3600).astype(int)
    observed = np.bincount(hour, weights=calls, minlength=24)
    predicted = np.bincount(hour, weights=expected, minlength=24)
    assert (1.0 / np.sqrt(predicted)).max() < 0.002  # each hour of day known to 0.2%
    z = (observed - predicted) / np.sqrt(predicted)
    assert np.abs(z).max() < stats.norm.isf(TAIL / 24)
    # and the shape is the diurnal one: busiest around 13:30, quietest twelve hours later
    assert observed.argmax() in (13, 14)
    assert observed.argmin() in (1, 2)


def random_traffic(rng: np.random.Generator) -> Traffic:
    """Random traffic, often with a flat part (no diurnal, no growth, equal or zero days)."""
    weekly = [1.0] * 7
    if rng.random() < 0.7:
        weekly = [float(w) for w in rng.choice([0.0, 0.3, 1.0, 2.5], 7)]
        weekly[int(rng.integers(7))] = 1.0
    return Traffic(
        calls_per_day=float(rng.uniform(1e3, 1e7)),
        diurnal_amplitude=float(rng.choice([0.0, rng.uniform(0.0, 0.95)])),
        peak_hour=float(rng.uniform(0.0, 24.0)),
        weekly=weekly,
        growth_per_month=float(rng.choice([0.0, rng.uniform(-0.6, 3.0)])),
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_rate_equals_python_rate(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        traffic = random_traffic(rng)
        params = rate_params(traffic)
        # random times, and every hour and day boundary, over 120 days
        t = np.concatenate([rng.uniform(0.0, 120 * DAY_S, 2000), np.arange(0.0, 120 * DAY_S, 3600)])
        kernel = np.array([rate_at(x, params) for x in t])
        np.testing.assert_allclose(kernel, rate(traffic, t), rtol=1e-11, atol=0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rate_bound_covers_the_rate(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(40):
        traffic = random_traffic(rng)
        params = rate_params(traffic)
        for _ in range(10):
            t0 = float(rng.uniform(0.0, 90 * DAY_S))
            t1 = t0 + float(np.exp(rng.uniform(np.log(1.0), np.log(3 * DAY_S))))
            bound, varies = rate_bound(t0, t1, params)
            days = range(int(t0 // DAY_S), int(t1 // DAY_S) + 1)
            flat = (
                traffic.diurnal_amplitude == 0.0
                and traffic.growth_per_month == 0.0
                and len({traffic.weekly[d % 7] for d in days}) == 1
            )
            assert varies == (not flat)  # a flat interval skips thinning: it must really be flat
            t = np.linspace(t0, t1, 4001)[:-1]
            kernel = np.array([rate_at(x, params) for x in t])
            assert bound >= kernel.max(), (t0, t1, bound, kernel.max())
            floor = rate_floor(t0, t1, params)  # the thinning squeeze: below it, accept at once
            assert floor <= kernel.min(), (t0, t1, floor, kernel.min())
            assert floor <= rate(traffic, t).min()
            assert bound >= rate(traffic, t).max()
            # hour-long ticks are the common case: the bound must be tight there (thinning cost)
            if t1 - t0 <= 3600 and int(t0 // DAY_S) == int(t1 // DAY_S):
                assert bound <= 1.01 * float(rate(traffic, np.array([t0, t1])).max()) + 1e-12
