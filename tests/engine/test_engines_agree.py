"""The fast engine against the reference engine (plain SimPy, one process per request).

The two engines share no sampling code, so they are compared in distribution: each runs several
replications on its own seed, and every metric of the summary is compared with a two-sample Welch
bound on the means, the standard errors taken from the spread across replications (the summary's
ci95). The bound is the t quantile (Welch degrees of freedom) with the same tail as 4.5 normal
standard errors. Metrics that are not random (eval error, GPU and fixed costs) must be equal.
"""

import copy
import math
from typing import Any

import pytest
from scipy import stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from sim.engine.reference import run_reference
from sim.scenario.loading import validate

TAIL = stats.norm.sf(4.5)

MULTI: dict[str, Any] = {
    "scenario": {"name": "agree", "horizon_days": 7.0, "tick_s": 3600},
    "traffic": {
        "calls_per_day": 1150,
        "diurnal_amplitude": 0.5,
        "peak_hour": 14,
        "weekly": [1.2, 1.2, 1.1, 1.1, 1.0, 0.6, 0.5],
        "growth_per_month": 0.3,
    },
    "segments": [
        {
            "name": "core",
            "weight": 0.7,
            "tokens_in": 600,
            "tokens_out": 40,
            "student_accuracy": 0.93,
            "teacher_accuracy": 0.97,
            "confidence_correct": {"dist": "beta", "a": 9, "b": 1.5},
            "confidence_wrong": {"dist": "beta", "a": 3, "b": 3},
        },
        {
            "name": "long_form",
            "weight": 0.2,
            "tokens_in": {"dist": "lognormal", "median": 1500, "sigma": 0.6},
            "tokens_out": {"dist": "lognormal", "median": 300, "sigma": 0.8},
            "student_accuracy": 0.8,
            "teacher_accuracy": 0.95,
            "confidence_correct": {"dist": "logit_normal", "mu": 2.0, "sigma": 1.0},
            "confidence_wrong": {"dist": "logit_normal", "mu": 0.5, "sigma": 1.2},
        },
        {
            "name": "long_tail",
            "weight": 0.1,
            "tokens_in": 400,
            "tokens_out": 20,
            "student_accuracy": 0.55,
            "teacher_accuracy": 0.9,
            "confidence_correct": {"dist": "beta", "a": 5, "b": 2},
            "confidence_wrong": {"dist": "logit_normal", "mu": 1.0, "sigma": 1.0},
        },
    ],
    # two slots at about 40% busy on average and 80% at the busiest hours: the queue waits often
    "student": {
        "servers": 1,
        "concurrency": 2,
        "service_s": {"dist": "lognormal", "median": 52.0, "sigma": 0.5},
        "seconds_per_output_token": 0.002,
        "gpu_hour_usd": 0.02,
    },
    "teacher": {
        "input_usd_per_mtok": 3.0,
        "output_usd_per_mtok": 15.0,
        "latency_s": {"dist": "lognormal", "median": 0.8, "sigma": 0.5},
        "seconds_per_output_token": 0.01,
    },
    "router": {
        "policy": "cascade",
        "threshold": 0.75,
        "segment_thresholds": {"long_form": 0.85, "long_tail": 0.95},
    },
    # cheap enough to break even on day 2, so break_even_day is a number in every replication
    "economics": {"dataset_usd": 4, "training_usd": 2, "maintenance_usd_per_month": 8},
}


def scalar_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """Every number of the summary (cost terms as cost.<term>) except the run's identity."""
    skip = {"seed", "replications", "horizon_days"}
    out = {
        k: v
        for k, v in summary.items()
        if k not in skip and (v is None or (isinstance(v, int | float) and not isinstance(v, bool)))
    }
    out.update({f"cost.{k}": v for k, v in summary["cost"].items()})
    return out


def mean_se(summary: dict[str, Any], name: str) -> tuple[float, float]:
    """Mean over replications and its standard error, recovered from the ci95 half-width."""
    low, high = summary["ci95"][name]
    r = summary["replications"]
    mean = scalar_metrics(summary)[name]
    return mean, (high - low) / 2.0 / float(stats.t.ppf(0.975, r - 1))


def welch_bound(se_a: float, n_a: int, se_b: float, n_b: int) -> float:
    """Allowed |difference| of two means: the 4.5-sigma-tail t quantile at Welch's df, times SE."""
    var = se_a**2 + se_b**2
    df = var**2 / (se_a**4 / (n_a - 1) + se_b**4 / (n_b - 1))
    return float(stats.t.isf(TAIL, df)) * math.sqrt(var)


def assert_engines_agree(
    raw: dict[str, Any], ref_reps: int, fast_reps: int, seeds: tuple[int, int]
) -> dict[str, float]:
    """Run both engines and compare every metric; return each compared metric's relative SE."""
    s = validate(raw)
    ref = summarize(s, seeds[0], run_reference(s, seeds[0], ref_reps))
    fast = summarize(s, seeds[1], run_fast(s, seeds[1], fast_reps))
    ref_metrics, fast_metrics = scalar_metrics(ref), scalar_metrics(fast)
    assert ref_metrics.keys() == fast_metrics.keys()
    relative_se = {}
    for name, ref_value in ref_metrics.items():
        fast_value = fast_metrics[name]
        if ref_value is None or fast_value is None:
            assert ref_value is None and fast_value is None, name
            continue
        if name not in ref["ci95"] or name not in fast["ci95"]:
            pytest.fail(f"{name}: a number without a ci95")
        ref_mean, ref_se = mean_se(ref, name)
        fast_mean, fast_se = mean_se(fast, name)
        # not random (GPU and fixed costs, eval error): equal up to the rounding of sums
        rounding = 1e-12 * max(abs(ref_mean), abs(fast_mean), 1.0)
        if ref_se <= rounding and fast_se <= rounding:
            assert ref_mean == pytest.approx(fast_mean, rel=1e-9, abs=1e-9), name
            continue
        bound = welch_bound(ref_se, ref_reps, fast_se, fast_reps)
        assert abs(ref_mean - fast_mean) < bound, (name, ref_mean, fast_mean, bound)
        relative_se[name] = math.hypot(ref_se, fast_se) / max(abs(fast_mean), 1e-300)
    for name, ref_segment in ref["segments"].items():
        fast_segment = fast["segments"][name]
        # per-segment calls: mean per replication, Poisson; rates: pooled, binomial per call
        calls = fast_segment["calls"]
        se = math.sqrt(calls / ref_reps + calls / fast_reps)
        assert abs(ref_segment["calls"] - calls) < 4.5 * se, name
        for rate in ("fallback_rate", "error_rate", "silent_failure_rate"):
            p = fast_segment[rate]
            se = math.sqrt(
                max(p * (1 - p), 1e-12)
                * (1 / (ref_segment["calls"] * ref_reps) + 1 / (calls * fast_reps))
            )
            assert abs(ref_segment[rate] - p) < 4.5 * se, (name, rate, ref_segment[rate], p)
    return relative_se


def test_cascade_multi_segment_with_diurnal_weekly_growth():
    relative_se = assert_engines_agree(MULTI, ref_reps=20, fast_reps=200, seeds=(41, 42))
    must_compare = {
        "calls",
        "fallback_rate",
        "error_rate",
        "silent_failure_rate",
        "excess_error_rate",
        "latency_mean_s",
        "latency_p50_s",
        "latency_p95_s",
        "latency_p99_s",
        "first_answer_p99_s",
        "queue_wait_mean_s",
        "student_utilization",
        "cost.teacher_usd",
        "cost.total_usd",
        "cost_per_call_usd",
        "teacher_only_cost_usd",
        "savings_usd",
        "savings_ratio",
        "break_even_day",
        "teacher_call_rate",
    }
    assert must_compare <= relative_se.keys(), must_compare - relative_se.keys()
    # the queue really waits, and the comparison is tight where it matters
    assert relative_se["queue_wait_mean_s"] < 0.03
    assert relative_se["fallback_rate"] < 0.005
    assert relative_se["latency_mean_s"] < 0.01


@pytest.mark.parametrize("policy", ["student_only", "teacher_only"])
def test_single_model_policies(policy):
    raw = copy.deepcopy(MULTI)
    raw["scenario"]["horizon_days"] = 2.0
    raw["router"] = {"policy": policy}
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(43, 44))
    assert {"calls", "error_rate", "latency_mean_s", "teacher_only_cost_usd"} <= relative_se.keys()
    if policy == "student_only":
        assert {"queue_wait_mean_s", "silent_failure_rate"} <= relative_se.keys()
