"""What the deadline does to the fallbacks: the abandoned share against its closed form on both
engines, and the warning that fires when the deadline turns the fallback off.

Teacher-only makes the closed form exact: the teacher starts at arrival (no student, no rate
limit, no per-token time), so a call is abandoned exactly when its latency L ~ lognormal(median
m, σ) exceeds the deadline d: P = 1 − Φ((ln d − ln m)/σ), and every abandoned call fails.
"""

import math

import pytest
from scipy import stats

from sim import runner
from sim.analysis import deadline

SEEDS = (1, 2, 3)
MEDIAN, SIGMA = 0.8, 0.5  # the builders' teacher latency, lognormal
Z = 4.5  # bounds at 4.5 binomial standard errors: never flaky, tight enough for a 1% bias


def teacher_only(scenario, deadline_s: float, seed: int, calls_per_day: float = 1_000_000):
    return scenario(
        scenario={"seed": seed},
        traffic={"calls_per_day": calls_per_day},
        router={"policy": "teacher_only", "deadline_s": deadline_s},
    )


def missed(deadline_s: float) -> float:
    """The closed form: the share of lognormal latencies beyond the deadline."""
    return float(stats.norm.sf((math.log(deadline_s) - math.log(MEDIAN)) / SIGMA))


def binomial_bound(p: float, n: float) -> float:
    return Z * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("deadline_s", [0.6, 1.2])
def test_abandoned_share_is_the_lognormal_tail_on_the_fast_engine(scenario, deadline_s):
    expected = missed(deadline_s)
    shares, calls = [], 0
    for seed in SEEDS:
        s = teacher_only(scenario, deadline_s, seed)
        summary = runner.run(s).summary
        n = summary["calls"]
        assert abs(summary["abandoned_rate"] - expected) < binomial_bound(expected, n)
        # every abandoned call fails (no student answer to fall back on), and every other call
        # answered in time; the teacher answers every call, so the ratio is the abandoned share
        assert summary["failed_rate"] == pytest.approx(summary["abandoned_rate"], rel=1e-12)
        assert summary["slo_attainment"] == pytest.approx(1 - summary["abandoned_rate"], rel=1e-12)
        assert summary["fallback_abandoned_ratio"] == summary["abandoned_rate"]
        shares.append(summary["abandoned_rate"] * n)
        calls += n
    # pooled over the seeds: a bound under a third of a percent of the share at 1.2 s
    assert abs(sum(shares) / calls - expected) < binomial_bound(expected, calls)


def test_abandoned_share_is_the_lognormal_tail_on_the_reference_engine(scenario):
    deadline_s = 0.6
    expected = missed(deadline_s)
    for seed in SEEDS[:2]:
        s = teacher_only(scenario, deadline_s, seed, calls_per_day=20_000)
        summary = runner.run(s, engine="reference").summary
        assert abs(summary["abandoned_rate"] - expected) < binomial_bound(
            expected, summary["calls"]
        )
        assert summary["failed_rate"] == pytest.approx(summary["abandoned_rate"], rel=1e-12)
        assert summary["fallback_abandoned_ratio"] == summary["abandoned_rate"]


# --- the warning ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "fires"), [(0.0, False), (0.5, False), (0.5001, True), (1.0, True), (None, False)]
)
def test_warning_fires_above_half_of_the_fallbacks(scenario, ratio, fires):
    s = scenario(router={"deadline_s": 2.0})
    lines = deadline.warnings(s, {"fallback_abandoned_ratio": ratio, "abandoned_rate": 0.05})
    assert len(lines) == int(fires)
    if fires:
        assert "turns the fallback off" in lines[0] and "router.deadline_s = 2.00 s" in lines[0]
        assert "got the student's answer" in lines[0] and "SLO attainment" in lines[0]


def test_warning_needs_a_deadline(scenario):
    s = scenario()
    assert deadline.warnings(s, {"fallback_abandoned_ratio": 1.0, "abandoned_rate": 0.1}) == []


def test_warning_says_the_calls_failed_when_the_deadline_fails_them(scenario):
    s = scenario(router={"deadline_s": 2.0, "on_deadline": "fail"})
    (line,) = deadline.warnings(s, {"fallback_abandoned_ratio": 0.9, "abandoned_rate": 0.09})
    assert "failed with no answer" in line and "SLO attainment" not in line


@pytest.mark.parametrize("seed", SEEDS)
def test_a_tight_deadline_warns_and_a_loose_one_does_not(scenario, seed):
    """A cascade: the student (median 0.1 s) then the teacher (median 0.8 s). At 0.5 s most
    fallbacks miss the deadline; at 4 s almost none do."""
    shares = {}
    for deadline_s in (0.5, 4.0):
        s = scenario(scenario={"seed": seed}, router={"deadline_s": deadline_s})
        summary = runner.run(s).summary
        fallbacks = summary["fallback_rate"] * summary["calls"]
        ratio = summary["fallback_abandoned_ratio"]
        assert ratio == pytest.approx(summary["abandoned_rate"] / summary["fallback_rate"])
        warned = [w for w in summary["warnings"] if "turns the fallback off" in w]
        assert len(warned) == int(ratio > 0.5)
        shares[deadline_s] = ratio
        assert fallbacks > 10_000
    assert shares[0.5] > 0.6 and shares[4.0] < 0.05
