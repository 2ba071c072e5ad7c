"""A call's draw: the Gaussian copula between the student's and the teacher's errors
(segments[].error_correlation) against the bivariate normal's exact probabilities."""

import math

import pytest
from scipy import stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from tests.builders import BASE, scenario

SEEDS = [61, 62, 63]
# (student accuracy, teacher accuracy, ρ): an easy, a hard and a tail-heavy pairing
PAIRS = {"a": (0.9, 0.8, 0.0), "b": (0.7, 0.95, 0.5), "c": (0.99, 0.6, 0.9)}


def segments(rho_scale: float = 1.0) -> list[dict]:
    base = BASE["segments"][0]
    return [
        {**base, "name": name, "weight": 1.0, "student_accuracy": a_s, "teacher_accuracy": a_t,
         "error_correlation": rho * rho_scale}
        for name, (a_s, a_t, rho) in PAIRS.items()
    ]  # fmt: skip


def both_wrong(a_s: float, a_t: float, rho: float) -> float:
    """P(student wrong ∧ teacher wrong) = Φ₂(Φ⁻¹(1−a_s), Φ⁻¹(1−a_t); ρ)."""
    z = [stats.norm.ppf(1 - a_s), stats.norm.ppf(1 - a_t)]
    return float(stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(z))


def bound(p: float, n: float) -> float:
    return 4.5 * math.sqrt(max(p * (1 - p), 1e-12) / n)


def run(policy: str, seed: int, rho_scale: float = 1.0, **tables) -> dict:
    s = scenario(
        scenario={"horizon_days": 2.0},
        traffic={"calls_per_day": 5_000_000},
        segments=segments(rho_scale),
        router={"policy": policy, "threshold": None},
        **tables,
    )
    return summarize(s, seed, run_fast(s, seed, 1))


def test_a_perfect_verifier_leaves_exactly_the_calls_both_get_wrong():
    """verify, recall 1, fpr 0, no threshold: every wrong student answer goes to the teacher, so
    the final error is P(both wrong), the bivariate normal's lower orthant: each seed within its
    binomial bound, and the seeds pooled within a bound tight enough to see a 1% bias."""
    errors = dict.fromkeys(PAIRS, 0.0)
    calls = dict.fromkeys(PAIRS, 0.0)
    for seed in SEEDS:
        summary = run("verify", seed, verifier={"recall": 1.0, "false_positive_rate": 0.0})
        for name, (a_s, a_t, rho) in PAIRS.items():
            seg = summary["segments"][name]
            exact = both_wrong(a_s, a_t, rho)
            assert abs(seg["error_rate"] - exact) < bound(exact, seg["calls"]), (name, seed, seg)
            errors[name] += seg["error_rate"] * seg["calls"]
            calls[name] += seg["calls"]
    for name, (a_s, a_t, rho) in PAIRS.items():
        exact = both_wrong(a_s, a_t, rho)
        assert abs(errors[name] / calls[name] - exact) < bound(exact, calls[name]), name
        if rho > 0:  # far from independence: the copula is at work
            assert both_wrong(a_s, a_t, 0.0) + 3 * bound(exact, calls[name]) < exact
    assert bound(both_wrong(*PAIRS["b"]), calls["b"]) < 0.01 * both_wrong(*PAIRS["b"])


@pytest.mark.parametrize("seed", SEEDS)
def test_correlation_changes_no_student_draw(seed):
    """student_only: identical counts whatever ρ (the student's draw and confidence are kept)."""
    independent = run("student_only", seed, rho_scale=0.0)
    correlated = run("student_only", seed)
    for key in ("calls", "error_rate", "silent_failure_rate", "latency_mean_s"):
        assert independent[key] == correlated[key], key
    assert independent["segments"] == correlated["segments"]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_teachers_accuracy_stays_exact(seed):
    summary = run("teacher_only", seed)
    for name, (_, a_t, _) in PAIRS.items():
        seg = summary["segments"][name]
        assert abs(seg["error_rate"] - (1 - a_t)) < bound(1 - a_t, seg["calls"]), name
