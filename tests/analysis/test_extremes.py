"""Kernels that cannot be driven out of bounds, and honest figures at the extremes: latencies
beyond the histogram, an overloaded pool's utilisation and backlog, legal inputs at the corners
of every validated range, and careless-input hints."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from sim.engine.kernels.histogram import (
    LATENCY_BINS,
    LATENCY_TOP_S,
    OVERFLOW,
    bin_value,
    histogram_quantile,
    latency_bin,
)
from sim.engine.kernels.teacher import LIMITER_HORIZON_S, RING_MINUTES, STATE_CLAMPED, teacher_start
from sim.engine.reference import run_reference
from sim.scenario.loading import validate
from sim.scenario.models import Scenario
from tests.builders import raw

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("latency", "expected"),
    [
        (math.inf, OVERFLOW),
        (math.nan, OVERFLOW),
        (1e300, OVERFLOW),
        (LATENCY_TOP_S, OVERFLOW),
        (-math.inf, 0),
        (-1.0, 0),
        (0.0, 0),
        (5e-324, 0),
    ],
)
def test_latency_bin_never_leaves_the_histogram(latency, expected):
    # inf once cast to int as -9.2e18 and the kernel wrote outside its array
    assert latency_bin(latency) == expected


def test_bins_below_the_top_are_not_overflow():
    below = np.nextafter(LATENCY_TOP_S, 0.0)
    assert 1 <= latency_bin(below) <= OVERFLOW
    assert latency_bin(LATENCY_TOP_S / 1.015) == OVERFLOW - 2


def test_a_quantile_in_the_overflow_bin_is_the_largest_latency():
    hist = np.zeros(LATENCY_BINS, dtype=np.int64)
    hist[latency_bin(1.0)] = 90
    hist[OVERFLOW] = 10
    assert histogram_quantile(hist, 0.9, 5e7) == pytest.approx(bin_value(latency_bin(1.0)))
    assert histogram_quantile(hist, 0.91, 5e7) == 5e7
    assert histogram_quantile(hist, 0.99, 5e7) == 5e7
    # never the top edge: without the maximum the answer is +inf, not a silent cap
    assert histogram_quantile(hist, 0.99) == math.inf


def test_the_limiter_starts_a_call_beyond_its_ring_unmetered_and_counts_it():
    ring = np.full((RING_MINUTES, 2), -1, dtype=np.int64)
    state = np.zeros(6, dtype=np.int64)
    no_outages = np.zeros((0, 2))
    for ready in (1e40, math.inf):
        start = teacher_start(ready, 10, ring, state, no_outages, math.inf)
        assert start == ready
    assert state[STATE_CLAMPED] == 2
    assert (ring == -1).all()  # nothing written at a garbage minute
    assert teacher_start(LIMITER_HORIZON_S / 2, 10, ring, state, no_outages, 1.0) == -2.0


def _single_server(calls_per_day: float, service_s: float, days: float) -> Scenario:
    """student_only on one slot with a constant service time: an overloaded deterministic pool."""
    return validate(
        raw(
            scenario={"name": "overload", "horizon_days": days, "seed": 3, "tick_s": 3600},
            traffic={"calls_per_day": calls_per_day},
            student={"servers": 1, "concurrency": 1, "service_s": service_s},
            router={"policy": "student_only"},
        )
    )


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_an_overloaded_pool_is_busy_at_most_all_the_time_and_the_rest_is_backlog(engine):
    # λ·D = 5: one slot, continuously busy from the first arrival a1 to the horizon H, so the
    # utilisation is (H - a1)/H and the backlog is exactly a1 + calls·D - H (before the fix the
    # utilisation was calls·D/H, about 5)
    s = _single_server(8640.0, 50.0, 1.0)
    run = run_fast if engine == "fast" else run_reference
    summary = summarize(s, 3, run(s, 3, 1))
    horizon, mean_gap = 86400.0, 10.0
    assert 1.0 - 30 * mean_gap / horizon < summary["student_utilization"] <= 1.0
    backlog = summary["calls"] * 50.0 - horizon
    assert backlog - 1.0 <= summary["student_backlog_s"] <= backlog + 30 * mean_gap


def test_latencies_beyond_the_histogram_are_never_capped_below_the_mean():
    # a day of service per call at a call every ~100 s: the k-th call waits about k days. The last
    # call's latency is a1 + n·D - a_n: n·D - H within a few mean gaps, far beyond the histogram's
    # top (1.01e6 s), where p99 used to stop, below the mean
    day = 86400.0
    s = _single_server(864.0, day, 30.0)
    summary = summarize(s, 3, run_fast(s, 3, 1))
    n, horizon = summary["calls"], 30 * day
    assert summary["latency_max_s"] == pytest.approx(n * day - horizon, rel=1e-5)
    assert summary["latency_p99_s"] == summary["latency_max_s"]
    assert summary["latency_p50_s"] == summary["latency_max_s"]  # 99.9% of calls are beyond
    assert summary["latency_p99_s"] >= summary["latency_mean_s"] > LATENCY_TOP_S
    # calls 1..12 answer within 12 days (< 1.01e6 s); the rest overflow
    assert summary["latency_overflow_share"] == pytest.approx((n - 12) / n, abs=1.5 / n)
    assert any("latency histogram's top" in w for w in summary["warnings"])
    assert summary["student_utilization"] <= 1.0


# every table, every distribution kind at the corners of its validated range
CORNERS = raw(
    scenario={"name": "corners", "horizon_days": 0.5, "seed": 7, "tick_s": 3600},
    traffic={"calls_per_day": 2000, "diurnal_amplitude": 0.99, "growth_per_month": 100.0},
    segments=[
        {
            "name": "wide",
            "weight": 1e9,
            "tokens_in": {"dist": "lognormal", "median": 1e7, "sigma": 10},
            "tokens_out": {"dist": "exponential", "mean": 1e7},
            "student_accuracy": 1.0,
            "teacher_accuracy": 0.0,
            "confidence_correct": {"dist": "beta", "a": 1e6, "b": 1e-3},
            "confidence_wrong": {"dist": "logit_normal", "mu": -100, "sigma": 10},
        },
        {
            "name": "flat",
            "weight": 1e-9,
            "tokens_in": 0,
            "tokens_out": {"dist": "lognormal", "median": 1e-300, "sigma": 0},
            "student_accuracy": 0.0,
            "teacher_accuracy": 1.0,
            "confidence_correct": {"dist": "logit_normal", "mu": 100, "sigma": 0},
            "confidence_wrong": {"dist": "beta", "a": 1e-3, "b": 1e6},
        },
    ],
    student={
        "servers": 1,
        "concurrency": 2,
        "service_s": {"dist": "lognormal", "median": 86400, "sigma": 10},
        "seconds_per_output_token": 60,
        "gpu_hour_usd": 1e6,
    },
    teacher={
        "input_usd_per_mtok": 1e6,
        "output_usd_per_mtok": 1e6,
        "latency_s": {"dist": "lognormal", "median": 86400, "sigma": 10},
        "seconds_per_output_token": 60,
        "rate_limit_per_min": 1,
        "outages": [{"start_day": 0.1, "hours": 2}],
    },
    router={"policy": "verify", "threshold": 0.5, "deadline_s": 2592000},
    verifier={
        "recall": 1.0,
        "false_positive_rate": 1.0,
        "blind_spot_correlation": 1.0,
        "usd_per_call": 1e6,
        "latency_s": {"dist": "exponential", "mean": 86400},
        "on_flag": "human",
    },
    human={"usd_per_review": 1e6, "reviewers": 1, "review_s": 86400},
    economics={
        "dataset_usd": 1e12,
        "training_usd": 1e12,
        "maintenance_usd_per_month": 1e12,
        "engineer_day_usd": 1e6,
    },
    drift=[
        {"kind": "random_walk", "volatility_per_month": 2.0},
        {"kind": "mix", "start_day": 0.1, "weights": {"flat": 1e9}},
    ],
    monitoring={"audit_rate": 1.0, "audit_usd": 1e6, "window_hours": 1},
    retraining={"trigger": "schedule", "every_days": 0.1, "compute_usd": 1e12},
)


# the same with flagged calls going to the rate-limited teacher, ready ~1e40 s from now
CORNERS_TEACHER = {**CORNERS, "verifier": {**CORNERS["verifier"], "on_flag": "teacher"}}


def _is_finite_or_none(value: object) -> bool:
    if isinstance(value, dict):
        return all(_is_finite_or_none(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_finite_or_none(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


@pytest.mark.parametrize("raw_scenario", [CORNERS, CORNERS_TEACHER], ids=["human", "teacher"])
def test_corners_of_every_range_run_finite_and_without_raw_warnings(raw_scenario):
    s = validate(raw_scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any numpy or scipy RuntimeWarning fails the test
        summary = summarize(s, 7, run_fast(s, 7, 2))
    assert _is_finite_or_none(summary)
    assert 0.0 <= summary["student_utilization"] <= 1.0
    assert summary["cost"]["total_usd"] >= 0
    if raw_scenario is CORNERS_TEACHER:
        # service times of 1e40 s reach the rate limiter, beyond any minute its ring can hold
        assert summary["kernel_clamped"] > 0
        assert any("clamped" in w for w in summary["warnings"])


def test_a_per_token_price_is_warned_with_the_per_million_figure(raw):
    s = validate(raw(scenario={"horizon_days": 0.05}, teacher={"input_usd_per_mtok": 0.000003}))
    summary = summarize(s, 0, run_fast(s, 0, 1))
    hint = (
        "teacher.input_usd_per_mtok = 3e-06 looks like a per-token price; prices are USD per "
        "million tokens (3e-06 per token would be 3)"
    )
    assert summary["warnings"][0] == hint
    plain = validate(raw(scenario={"horizon_days": 0.05}))
    assert not any("per-token" in w for w in summarize(plain, 0, run_fast(plain, 0, 1))["warnings"])


BOUNDSCHECKED = """
import json, sys
from sim.engine.control import run_fast
from sim.analysis.metrics import summarize
from sim.scenario.loading import load_scenario, validate
from tests.analysis.test_extremes import CORNERS, CORNERS_TEACHER
scenarios = [validate(CORNERS), validate(CORNERS_TEACHER)] + [
    load_scenario(p, ["scenario.horizon_days=0.5"]) for p in sys.argv[1:]
]
for s in scenarios:
    summarize(s, 0, run_fast(s, 0, 1))
print("ok")
"""


def _boundschecked(tmp_path: Path, scenario_files: list[str]) -> None:
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    done = subprocess.run(
        [sys.executable, "-c", BOUNDSCHECKED, *scenario_files],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


HELPERS_BOUNDSCHECKED = """
import math
import numpy as np
from sim.engine.kernels.histogram import LATENCY_BINS, histogram_quantile, latency_bin
from sim.engine.kernels.teacher import RING_MINUTES, teacher_start
hist = np.zeros(LATENCY_BINS, dtype=np.int64)
for v in (math.inf, -math.inf, math.nan, 1e300, -1.0, 0.0, 1e-4, 1.0, 1e6, 1.0141e6):
    hist[latency_bin(v)] += 1
for q in (0.0, 0.5, 0.99, 1.0):
    histogram_quantile(hist, q, 1e300)
ring = np.full((RING_MINUTES, 2), -1, dtype=np.int64)
state = np.zeros(6, dtype=np.int64)
for ready in (0.0, 59.9, 1e12, 1e15, 1e40, math.inf, math.nan):
    teacher_start(ready, 1, ring, state, np.zeros((0, 2)), math.inf)
print("ok")
"""


def test_index_helpers_stay_in_bounds_under_numba_boundscheck(tmp_path):
    """The helpers that compute indices, compiled fresh with bounds checks (an index out of range
    raises IndexError instead of corrupting memory), fed infinities, NaN and huge times."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    done = subprocess.run(
        [sys.executable, "-c", HELPERS_BOUNDSCHECKED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


@pytest.mark.slow
def test_kernels_stay_in_bounds_under_numba_boundscheck(tmp_path):
    """Both corners scenarios with every kernel compiled fresh with bounds checks (about 35 s of
    compiling: behind the slow marker)."""
    _boundschecked(tmp_path, [])


@pytest.mark.slow
def test_bundled_scenarios_stay_in_bounds_under_numba_boundscheck(tmp_path):
    _boundschecked(tmp_path, sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml")))


def _note_lines(summary: dict) -> list[str]:
    notes = [summary["excess_error_note"]] if "excess_error_note" in summary else []
    assert not [w for w in summary["warnings"] if w.startswith("Excess error")]  # not a warning
    return notes


@pytest.mark.parametrize("rho", [0.0, 0.3])
def test_a_negative_excess_error_is_explained_in_one_line(scenario, rho):
    """A cascade keeps the student's confident (mostly right) answers: with the teacher's errors
    independent of them, the system beats the teacher alone, and the summary says why."""
    segment = {**raw()["segments"][0], "teacher_accuracy": 0.85, "error_correlation": rho}
    s = scenario(segments=[segment], traffic={"calls_per_day": 200_000})
    summary = summarize(s, 3, run_fast(s, 3, 1))
    assert summary["excess_error_rate"] < 0
    (line,) = _note_lines(summary)
    assert "\n" not in line
    assert f"({summary['excess_error_rate']:.2%})" in line
    assert f"segments[].error_correlation = {rho:g})" in line
    assert ("independent of" in line) == (rho == 0.0)


def test_no_note_when_the_system_errs_more_than_the_teacher(scenario):
    s = scenario(router={"policy": "student_only"}, traffic={"calls_per_day": 200_000})
    summary = summarize(s, 3, run_fast(s, 3, 1))
    assert summary["excess_error_rate"] > 0
    assert _note_lines(summary) == []
