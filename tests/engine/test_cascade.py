"""Cascade routing against the exact Beta-CDF answers."""

import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from tests.builders import BASE

SEEDS = [11, 12, 13]


def bound(p: float, n: float) -> float:
    """4.5 binomial standard errors: a false alarm about once in 150,000 runs."""
    return 4.5 * math.sqrt(max(p * (1 - p), 1e-12) / n)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("threshold", [0.6, 0.85])
def test_single_segment_rates_match_beta_cdfs(seed, threshold, scenario):
    s = scenario(
        scenario={"horizon_days": 4.0}, router={"policy": "cascade", "threshold": threshold}
    )
    summary = summarize(s, seed, run_fast(s, seed, 1))
    n = summary["calls"]
    p, teacher = 0.9, 0.97
    f_right = stats.beta(9, 1.5).cdf(threshold)
    f_wrong = stats.beta(3, 3).cdf(threshold)
    fallback = p * f_right + (1 - p) * f_wrong
    silent = (1 - p) * (1 - f_wrong)
    error = silent + fallback * (1 - teacher)
    assert n > 3_000_000
    assert abs(summary["fallback_rate"] - fallback) < bound(fallback, n)
    assert abs(summary["silent_failure_rate"] - silent) < bound(silent, n)
    # error = silent + teacher errors among fallbacks: a sum of two independent binomial parts
    assert abs(summary["error_rate"] - error) < bound(error, n)


@pytest.mark.parametrize("seed", SEEDS)
def test_per_segment_thresholds(seed, scenario):
    segments = [
        dict(BASE["segments"][0], name="core", weight=0.8),
        dict(
            BASE["segments"][0],
            name="long_tail",
            weight=0.2,
            student_accuracy=0.6,
            confidence_wrong={"dist": "logit_normal", "mu": 1.0, "sigma": 1.0},
        ),
    ]
    s = scenario(
        segments=segments,
        router={"policy": "cascade", "threshold": 0.7, "segment_thresholds": {"long_tail": 0.95}},
    )
    summary = summarize(s, seed, run_fast(s, seed, 1))
    logit_normal_cdf = stats.norm(1.0, 1.0).cdf(np.log(0.95 / 0.05))
    expected = {
        "core": 0.9 * stats.beta(9, 1.5).cdf(0.7) + 0.1 * stats.beta(3, 3).cdf(0.7),
        "long_tail": 0.6 * stats.beta(9, 1.5).cdf(0.95) + 0.4 * logit_normal_cdf,
    }
    for name, rate in expected.items():
        seg = summary["segments"][name]
        assert abs(seg["fallback_rate"] - rate) < bound(rate, seg["calls"])
    share = summary["segments"]["long_tail"]["calls"] / summary["calls"]
    assert abs(share - 0.2) < bound(0.2, summary["calls"])


@pytest.mark.parametrize("seed", SEEDS)
def test_student_only_and_teacher_only_error_rates(seed, scenario):
    student = scenario(router={"policy": "student_only"})
    teacher = scenario(router={"policy": "teacher_only"})
    s_sum = summarize(student, seed, run_fast(student, seed, 1))
    t_sum = summarize(teacher, seed, run_fast(teacher, seed, 1))
    assert abs(s_sum["error_rate"] - 0.1) < bound(0.1, s_sum["calls"])
    assert s_sum["silent_failure_rate"] == s_sum["error_rate"]
    assert s_sum["fallback_rate"] == 0.0
    assert abs(t_sum["error_rate"] - 0.03) < bound(0.03, t_sum["calls"])
    assert t_sum["silent_failure_rate"] == 0.0
    # common random numbers: the same requests, so the same calls and teacher errors
    assert s_sum["calls"] == t_sum["calls"]
    assert t_sum["excess_error_rate"] == 0.0
