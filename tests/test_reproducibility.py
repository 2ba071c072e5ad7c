"""Same scenario and seed, same bytes; replications independent of R; tick_s changes only noise."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from sim.engine.reference import run_reference
from sim.engine.traffic import expected_calls
from sim.results import summary_json
from sim.scenario.loading import validate

ROOT = Path(__file__).resolve().parents[1]
TAIL = stats.norm.sf(4.5)


def scenario_raw(tick_s: float = 3600, horizon_days: float = 2.0, calls_per_day: float = 4e5):
    """Two segments, diurnal + weekly + growth, cascade, and a student pool that queues."""
    return {
        "scenario": {"name": "repro", "horizon_days": horizon_days, "tick_s": tick_s},
        "traffic": {
            "calls_per_day": calls_per_day,
            "diurnal_amplitude": 0.6,
            "peak_hour": 15,
            "weekly": [1.3, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6],
            "growth_per_month": 0.5,
        },
        "segments": [
            {
                "name": "core",
                "weight": 0.85,
                "tokens_in": {"dist": "lognormal", "median": 600, "sigma": 0.4},
                "tokens_out": 40,
                "student_accuracy": 0.92,
                "teacher_accuracy": 0.97,
                "confidence_correct": {"dist": "beta", "a": 9, "b": 1.5},
                "confidence_wrong": {"dist": "beta", "a": 3, "b": 3},
            },
            {
                "name": "tail",
                "weight": 0.15,
                "tokens_in": 300,
                "tokens_out": 20,
                "student_accuracy": 0.6,
                "teacher_accuracy": 0.9,
                "confidence_correct": {"dist": "logit_normal", "mu": 2.0, "sigma": 1.0},
                "confidence_wrong": {"dist": "logit_normal", "mu": 1.0, "sigma": 1.0},
            },
        ],
        # 16 slots, busy about 38% on average and 85% at the Monday peak
        "student": {
            "servers": 4,
            "concurrency": 4,
            "service_s": {"dist": "lognormal", "median": 1.15, "sigma": 0.5},
            "gpu_hour_usd": 1.0,
        },
        "teacher": {
            "input_usd_per_mtok": 3.0,
            "output_usd_per_mtok": 15.0,
            "latency_s": {"dist": "lognormal", "median": 0.8, "sigma": 0.5},
        },
        "router": {"policy": "cascade", "threshold": 0.8, "segment_thresholds": {"tail": 0.9}},
        "economics": {"dataset_usd": 100, "training_usd": 50, "maintenance_usd_per_month": 300},
    }


def fast_summary_json(raw: dict[str, Any], seed: int, replications: int) -> str:
    s = validate(raw)
    return summary_json(summarize(s, seed, run_fast(s, seed, replications)))


SUBPROCESS = """
import json, sys
from sim.engine.control import run_fast
from sim.analysis.metrics import summarize
from sim.results import summary_json
from sim.scenario.loading import validate
raw, seed, reps = json.loads(sys.stdin.read())
s = validate(raw)
sys.stdout.write(summary_json(summarize(s, seed, run_fast(s, seed, reps))))
"""


def test_same_seed_gives_identical_summary_bytes():
    raw = scenario_raw(horizon_days=1.0, calls_per_day=2e5)
    first = fast_summary_json(raw, 7, 2)
    assert first == fast_summary_json(raw, 7, 2)
    # a separate interpreter, with another hash seed: nothing may hang on process state
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", SUBPROCESS],
        input=json.dumps([raw, 7, 2]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    assert out.stdout == first
    assert json.loads(first)["ci95"], "replications = 2 must publish confidence intervals"


def test_another_seed_changes_the_summary():
    raw = scenario_raw(horizon_days=1.0, calls_per_day=2e5)
    assert fast_summary_json(raw, 7, 1) != fast_summary_json(raw, 8, 1)


def _assert_same_aggregates(a, b):
    for name in ("counts", "values", "histogram", "first_histogram", "latency_p99_s"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("seed", [3, 4])
def test_replication_streams_do_not_depend_on_replication_count(seed):
    s = validate(scenario_raw(horizon_days=1.0, calls_per_day=1e5))
    alone = run_fast(s, seed, 1)
    among = run_fast(s, seed, 3)
    _assert_same_aggregates(alone[0], among[0])
    assert summary_json(summarize(s, seed, alone)) == summary_json(summarize(s, seed, among[:1]))
    calls = [agg.counts[:, :, 0].sum() for agg in among]
    assert len(set(calls)) == 3, "replications must be different draws"


def test_reference_replication_streams_do_not_depend_on_replication_count():
    s = validate(scenario_raw(horizon_days=0.25, calls_per_day=8000))
    alone = run_reference(s, 5, 1)
    among = run_reference(s, 5, 2)
    _assert_same_aggregates(alone[0], among[0])
    assert alone[0].pool_mean_occupancy == among[0].pool_mean_occupancy


def _se(summary: dict[str, Any], name: str) -> float:
    low, high = summary["ci95"][name]
    return (high - low) / 2.0 / float(stats.t.ppf(0.975, summary["replications"] - 1))


TICK_REPLICATIONS = 16


@pytest.fixture(scope="module")
def hourly_ticks() -> tuple[Any, dict[str, Any]]:
    s = validate(scenario_raw(tick_s=3600))
    return s, summarize(s, 21, run_fast(s, 21, TICK_REPLICATIONS))


@pytest.mark.parametrize("tick_s", [60, 5000])
def test_tick_length_changes_nothing_but_noise(hourly_ticks, tick_s):
    """tick_s = 60 (many carried queue states) and 5000 (ticks straddle hours and days) vs 3600."""
    reps = TICK_REPLICATIONS
    s, base = hourly_ticks
    other_s = validate(scenario_raw(tick_s=tick_s))
    other = summarize(other_s, 22, run_fast(other_s, 22, reps))

    expected = expected_calls(s.traffic, 0.0, s.horizon_s)
    for summary in (base, other):
        # summary calls are a mean over replications: Poisson with mean R·expected, over R
        assert abs(summary["calls"] - expected) < 4.5 * math.sqrt(expected / reps)

    n_base, n_other = base["calls"] * reps, other["calls"] * reps
    for name in ("fallback_rate", "error_rate"):
        p = base[name]
        se = math.sqrt(p * (1 - p) * (1 / n_base + 1 / n_other))
        assert se / p < 0.005
        assert abs(base[name] - other[name]) < 4.5 * se, (name, base[name], other[name])

    # queue waits are autocorrelated: standard errors from the replications, t with R - 1 df
    name = "queue_wait_mean_s"
    se = math.hypot(_se(base, name), _se(other, name))
    assert se / base[name] < 0.02
    k = float(stats.t.isf(TAIL, reps - 1))
    assert abs(base[name] - other[name]) < k * se, (base[name], other[name], se)
