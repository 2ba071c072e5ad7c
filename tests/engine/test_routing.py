"""verify, human review, ensemble, deadlines, bypass, rate limit, outages vs exact answers."""

import math

import numpy as np
import polars as pl
import pytest
from scipy import integrate, stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from sim.runner import calls_frame
from tests.builders import BASE, scenario

SEEDS = [21, 22, 23]
P = 0.9  # the builders' student accuracy
F_WRONG = stats.beta(3, 3)  # the builders' confidence_wrong


def bound(p: float, n: float) -> float:
    return 4.5 * math.sqrt(max(p * (1 - p), 1e-12) / n)


def verify(**verifier):
    return scenario(
        scenario={"horizon_days": 3.0},
        router={"policy": "verify", "threshold": None},
        verifier={"recall": 0.8, "false_positive_rate": 0.05, **verifier},
    )


def run(s, seed):
    return summarize(s, seed, run_fast(s, seed, 1))


@pytest.mark.parametrize("seed", SEEDS)
def test_verify_without_blind_spots_or_threshold(seed):
    summary = run(verify(), seed)
    n = summary["calls"]
    fallback = P * 0.05 + (1 - P) * 0.8
    silent = (1 - P) * (1 - 0.8)
    assert abs(summary["fallback_rate"] - fallback) < bound(fallback, n)
    assert abs(summary["silent_failure_rate"] - silent) < bound(silent, n)


@pytest.mark.parametrize("rho", [0.3, 0.7, 1.0])
@pytest.mark.parametrize("seed", SEEDS)
def test_copula_keeps_the_marginal_recall(rho, seed):
    summary = run(verify(false_positive_rate=0.0, blind_spot_correlation=rho), seed)
    flagged = (1 - P) * 0.8  # only wrong answers can be flagged, each with probability recall
    assert abs(summary["flag_rate"] - flagged) < bound(flagged, summary["calls"])


@pytest.mark.parametrize("seed", SEEDS)
def test_blind_spots_concentrate_misses_on_confident_wrong_answers(seed):
    """ρ = 1 misses exactly the wrong answers above F₀⁻¹(recall): silent rate is analytic."""
    s = verify(false_positive_rate=0.0, blind_spot_correlation=1.0, recall=0.6)
    sample = calls_frame(s, run_fast(s, seed, 1, sample_fraction=0.05))
    wrong = sample.filter(~pl.col("student_correct"))
    cut = F_WRONG.ppf(0.6)
    missed = wrong.filter(pl.col("silent_failure"))
    caught = wrong.filter(~pl.col("silent_failure"))
    assert missed["confidence"].min() >= cut - 1e-3
    assert caught["confidence"].max() <= cut + 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_a_verifier_with_the_students_blind_spots_adds_latency_not_safety(seed, scenario):
    recall = 0.7
    threshold = float(F_WRONG.ppf(recall)) + 0.02  # t ≥ F₀⁻¹(recall)
    verifier = {"recall": recall, "false_positive_rate": 0.0, "blind_spot_correlation": 1.0,
                "latency_s": 0.2}  # fmt: skip
    # one scenario, two policies (as `distill-sim compare` runs them): the same request stream
    cascade = scenario(
        scenario={"horizon_days": 3.0}, router={"threshold": threshold}, verifier=verifier
    )
    same = scenario(
        scenario={"horizon_days": 3.0},
        router={"policy": "verify", "threshold": threshold},
        verifier=verifier,
    )
    c, v = run(cascade, seed), run(same, seed)
    assert c["calls"] == v["calls"]
    assert v["silent_failure_rate"] == c["silent_failure_rate"]
    assert v["latency_p50_s"] > c["latency_p50_s"] + 0.19


@pytest.mark.parametrize("seed", SEEDS)
def test_ensemble_pays_for_both_models(seed, scenario):
    s = scenario(scenario={"horizon_days": 2.0}, router={"policy": "ensemble", "threshold": None})
    summary = run(s, seed)
    cost = summary["cost"]
    assert cost["teacher_usd"] == pytest.approx(summary["teacher_only_cost_usd"], rel=1e-12)
    assert cost["student_gpu_usd"] == pytest.approx(4 * 2.5 * 48, rel=1e-12)
    assert summary["silent_failure_rate"] == 0.0
    assert abs(summary["error_rate"] - 0.03) < bound(0.03, summary["calls"])
    overrides = 1 - P * 0.97  # the teacher's answer differs unless both are right
    assert abs(summary["override_rate"] - overrides) < bound(overrides, summary["calls"])
    assert summary["first_answer_p99_s"] < summary["latency_p99_s"]


def teacher_starts(s, seed):
    calls = calls_frame(s, run_fast(s, seed, 1, sample_fraction=1.0))
    return calls, np.sort(calls["teacher_start_s"].drop_nans().drop_nulls().to_numpy())


@pytest.mark.parametrize("seed", SEEDS)
def test_the_teacher_never_exceeds_its_rate_limit_in_any_clock_minute(seed, scenario):
    s = scenario(
        scenario={"horizon_days": 0.1},
        traffic={"calls_per_day": 200_000},
        teacher={"rate_limit_per_min": 30},
    )
    calls, starts = teacher_starts(s, seed)
    per_minute = np.bincount((starts // 60.0).astype(np.int64))
    assert per_minute.max() == 30  # never more than 30 starts in a clock minute, and it binds
    assert run(s, seed)["teacher_wait_mean_s"] > 0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", ["return_student", "fail"])
def test_no_teacher_call_starts_inside_an_outage(seed, mode, scenario):
    s = scenario(
        scenario={"horizon_days": 0.5},
        traffic={"calls_per_day": 200_000},
        teacher={"outages": [{"start_day": 0.1, "hours": 2.0}], "on_teacher_unavailable": mode},
    )
    calls, starts = teacher_starts(s, seed)
    begin, end = 0.1 * 86400, 0.1 * 86400 + 7200
    assert not np.any((starts >= begin) & (starts < end))
    during = calls.filter((pl.col("arrival_s") >= begin + 60) & (pl.col("arrival_s") < end - 60))
    fell_back = during.filter(pl.col("fell_back"))
    assert fell_back.height > 100
    if mode == "fail":
        assert fell_back["failed"].all()
    else:
        assert not fell_back["failed"].any()
        assert (fell_back["silent_failure"] == ~fell_back["student_correct"]).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_human_review_queue_waits_match_erlang_c(seed, scenario):
    """Flagged calls form a Poisson stream; with exponential reviews the pool is M/M/c."""
    reviewers, review_mean = 3, 300.0
    s = scenario(
        scenario={"horizon_days": 60.0},
        traffic={"calls_per_day": 2000},
        router={"policy": "verify", "threshold": None},
        verifier={"recall": 0.8, "false_positive_rate": 0.0, "on_flag": "human"},
        human={"usd_per_review": 2.0, "reviewers": reviewers,
               "review_s": {"dist": "exponential", "mean": review_mean}},
    )  # fmt: skip
    summary = run(s, seed)
    lam = 2000 / 86400 * (1 - P) * 0.8
    a = lam * review_mean
    rho = a / reviewers
    tail = a**reviewers / math.factorial(reviewers) / (1 - rho)
    erlang_c = tail / (sum(a**k / math.factorial(k) for k in range(reviewers)) + tail)
    wait = erlang_c / (reviewers / review_mean - lam)
    assert summary["cost"]["human_usd"] == pytest.approx(
        2.0 * summary["human_review_rate"] * summary["calls"]
    )
    # 60 days of a lightly loaded pool: waits are short-correlated, 15% covers 4.5 standard errors
    assert summary["human_wait_mean_s"] == pytest.approx(wait, rel=0.15)


@pytest.mark.parametrize("seed", SEEDS)
def test_deadline_return_student_counts_abandoned_fallbacks(seed, scenario):
    s = scenario(
        scenario={"horizon_days": 2.0},
        router={"deadline_s": 1.0},
        teacher={"latency_s": {"dist": "exponential", "mean": 0.5}},
    )
    summary = run(s, seed)
    # 32 slots far from busy: the student takes its service time S ~ lognormal(0.1, 0.3), and a
    # fallback misses the deadline when S + T > 1 with T ~ exponential(0.5), independent of S
    service = stats.lognorm(s=0.3, scale=0.1)
    miss = integrate.quad(lambda x: service.pdf(x) * math.exp(-(1 - x) / 0.5), 0, 1)[0]
    miss += service.sf(1.0)
    fallbacks = summary["fallback_rate"] * summary["calls"]
    share = summary["abandoned_rate"] / summary["fallback_rate"]
    assert abs(share - miss) < bound(miss, fallbacks)
    assert summary["slo_attainment"] == 1.0
    assert summary["failed_rate"] == 0.0
    assert summary["latency_p99_s"] <= 1.0 * 1.01


def test_queue_bypass_sends_the_overflow_to_the_teacher(scenario):
    s = scenario(
        scenario={"horizon_days": 0.2},
        student={"servers": 1, "concurrency": 1, "service_s": {"dist": "exponential", "mean": 0.1}},
        traffic={"calls_per_day": 86400 * 12},
        router={"bypass_queue_s": 0.5},
    )
    summary = run(s, 3)
    assert summary["bypass_rate"] > 0.05
    assert summary["queue_wait_mean_s"] <= 0.5


def test_common_random_numbers_shrink_the_spread_of_a_difference(scenario):
    """Neighbouring grid points of a threshold sweep: paired on one stream, their cost difference
    is only the calls whose confidence falls between them; on independent streams it carries
    the whole Poisson noise of both runs' fallbacks."""
    base = {"scenario": {"horizon_days": 0.2}, "traffic": {"calls_per_day": 200_000}}
    a = scenario(**base, router={"threshold": 0.8})
    b = scenario(**base, router={"threshold": 0.801})

    def cost(s, seed):
        return run(s, seed)["cost"]["total_usd"]

    seeds = range(20)
    paired = [cost(a, k) - cost(b, k) for k in seeds]
    independent = [cost(a, k) - cost(b, 1000 + k) for k in seeds]
    assert np.std(paired, ddof=1) * 10 <= np.std(independent, ddof=1)


def test_builders_base_is_untouched_by_tests():
    assert BASE["router"] == {"policy": "cascade", "threshold": 0.8}


@pytest.mark.parametrize("rho", [0.0, 0.4, 0.9])
@pytest.mark.parametrize("seed", SEEDS[:2])
def test_verify_with_threshold_and_copula_matches_the_bivariate_normal(rho, seed, scenario):
    """Fallback = p·(1−(1−fpr)(1−F₁(t))) + (1−p)·(Φ(c) + r − Φ₂(c, Φ⁻¹(r); ρ)), c = Φ⁻¹(F₀(t))."""
    s = scenario(
        scenario={"horizon_days": 3.0},
        router={"policy": "verify", "threshold": 0.5},
        verifier={"recall": 0.7, "false_positive_rate": 0.05, "blind_spot_correlation": rho},
    )
    c, z = stats.norm.ppf(F_WRONG.cdf(0.5)), stats.norm.ppf(0.7)
    both = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([c, z])
    wrong = stats.norm.cdf(c) + 0.7 - both
    right = 1 - 0.95 * (1 - stats.beta(9, 1.5).cdf(0.5))
    expected = P * right + (1 - P) * wrong
    summary = run(s, seed)
    assert abs(summary["fallback_rate"] - expected) < bound(expected, summary["calls"])
    silent = (1 - P) * (1 - wrong)
    assert abs(summary["silent_failure_rate"] - silent) < bound(silent, summary["calls"])
    assert summary["planned"]["fallback_rate"] == pytest.approx(expected, rel=1e-6)
