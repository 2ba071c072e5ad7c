"""Money: per-tick cost terms, break-even, and the seed's back-of-envelope formula."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from sim.analysis import inequality
from sim.clock import DAY_S, HOUR_S, MONTH_S
from sim.engine.aggregates import Aggregates
from sim.engine.kernels import layout
from sim.engine.prices import segment_shares, teacher_usd_per_call
from sim.engine.traffic import expected_calls
from sim.scenario.distributions import frozen
from sim.scenario.models import Scenario
from sim.scenario.policies import BY_NAME

COST_TERMS = (
    "student_gpu_usd",
    "teacher_usd",
    "verifier_usd",
    "human_usd",
    "fixed_usd",
    "retraining_usd",
    "audit_usd",
)


def deploys_student(scenario: Scenario) -> bool:
    """teacher_only is the stay-on-the-API baseline: no GPUs, no dataset, no training, no upkeep."""
    return BY_NAME[scenario.router.policy].uses_student


def tick_costs(scenario: Scenario, agg: Aggregates) -> dict[str, np.ndarray]:
    """Every cost term per tick (USD), plus their total and the teacher-only counterfactual."""
    ticks = agg.ticks
    econ = scenario.economics
    zeros = np.zeros(ticks)
    costs = {name: zeros.copy() for name in COST_TERMS}
    if deploys_student(scenario):
        hours = agg.tick_length_s / HOUR_S
        costs["student_gpu_usd"] = scenario.student.servers * scenario.student.gpu_hour_usd * hours
        fixed = econ.maintenance_usd_per_month * agg.tick_length_s / MONTH_S
        fixed[0] += econ.dataset_usd + econ.training_usd
        costs["fixed_usd"] = fixed
    costs["teacher_usd"] = agg.values[:, layout.TEACHER_USD].copy()
    costs["verifier_usd"] = agg.values[:, layout.VERIFIER_USD].copy()
    costs["human_usd"] = agg.values[:, layout.HUMAN_USD].copy()
    costs["retraining_usd"] = agg.retraining_usd.copy()
    audit_usd = scenario.monitoring.audit_usd if scenario.monitoring is not None else 0.0
    costs["audit_usd"] = agg.counts[:, :, layout.AUDITED].sum(axis=1) * audit_usd
    costs["total_usd"] = np.sum([costs[name] for name in COST_TERMS], axis=0)
    costs["teacher_only_usd"] = agg.values[:, layout.TEACHER_ONLY_USD].copy()
    return costs


def break_even_day(
    cumulative_cost: np.ndarray, cumulative_teacher_only: np.ndarray, tick_end_s: np.ndarray
) -> float | None:
    """First day after which distill stays at or below teacher-only to the horizon (None if never).

    tick_end_s holds the tick boundaries (start of tick 0, then each tick's end). The crossing
    lies inside the first tick of the final run of ticks that end with distill at or below
    teacher-only; within it, costs are interpolated linearly, as they accrue through the tick.
    """
    gap = cumulative_cost - cumulative_teacher_only
    ahead = gap <= 1e-9
    if ahead.size == 0 or not ahead[-1]:
        return None
    behind = np.flatnonzero(~ahead)
    if behind.size == 0:
        return 0.0
    j = int(behind[-1]) + 1  # the tick during which distill caught up
    before, after = float(gap[j - 1]), float(gap[j])
    share = before / (before - after) if before > after else 1.0
    start, end = float(tick_end_s[j]), float(tick_end_s[j + 1])
    return (start + share * (end - start)) / DAY_S


def analytic_fallback_rate(scenario: Scenario) -> float:
    """The share of calls re-routed on the day-0 mix, from the confidence CDFs (no queue bypass).

    cascade: Σ w · (p·F₁(t) + (1−p)·F₀(t)). verify: a right answer goes on when below the threshold
    or falsely flagged, 1 − (1−fpr)(1−F₁(t)); a wrong one when below the threshold or flagged,
    Φ(c) + recall − Φ₂(c, Φ⁻¹(recall); ρ) with c = Φ⁻¹(F₀(t)), the verifier's Gaussian copula.
    """
    policy = BY_NAME[scenario.router.policy]
    if policy.teacher_answers_all:
        return 1.0
    if not policy.escalates:
        return 0.0
    total = 0.0
    shares = segment_shares(scenario)
    for share, s, (right, wrong) in zip(
        shares, scenario.segments, fallback_probabilities(scenario), strict=True
    ):
        p = s.student_accuracy
        total += share * (p * right + (1 - p) * wrong)
    return float(total)


def fallback_probabilities(scenario: Scenario) -> list[tuple[float, float]]:
    """Per segment, the chance a right and a wrong student answer is re-routed (cascade, verify)."""
    out = []
    policy = BY_NAME[scenario.router.policy]
    for s in scenario.segments:
        if not policy.escalates:
            out.append((0.0, 0.0))
            continue
        threshold = scenario.threshold_for(s.name)
        right = _cdf_below(s.confidence_correct, threshold)
        wrong = _cdf_below(s.confidence_wrong, threshold)
        if policy.verified and scenario.verifier is not None:
            v = scenario.verifier
            right = 1 - (1 - v.false_positive_rate) * (1 - right)
            wrong = _flagged_or_below(wrong, v.recall, v.blind_spot_correlation)
        out.append((right, wrong))
    return out


def _flagged_or_below(below: float, recall: float, rho: float) -> float:
    """P(confidence rank < F₀(t) or copula latent < Φ⁻¹(recall)) for a wrong answer."""
    if below <= 0.0 or recall <= 0.0 or rho == 0.0:
        return below + recall - below * recall
    if below >= 1.0 or recall >= 1.0:
        return 1.0
    if rho >= 1.0:  # comonotone: the verifier flags exactly the least confident `recall` share
        return max(below, recall)
    c, z = stats.norm.ppf(below), stats.norm.ppf(recall)
    both = stats.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]]).cdf([c, z])
    return float(below + recall - both)


def _cdf_below(dist: Any, x: float) -> float:
    """P(confidence < x): the cascade falls back on a strict inequality."""
    f = frozen(dist)
    if hasattr(f, "value"):
        return float(f.value < x)
    if hasattr(f, "cdf_below"):  # an empirical sample may have ties at x
        return float(f.cdf_below(x))
    return float(f.cdf(x))


def eval_error_rate(scenario: Scenario) -> float:
    """The student's error on its training-time mix: what an offline eval set would show."""
    shares = segment_shares(scenario)
    seen = np.array([s.in_training for s in scenario.segments])
    if not seen.any() or shares[seen].sum() == 0:
        return float("nan")
    errors = np.array([1 - s.student_accuracy for s in scenario.segments])
    return float((shares[seen] * errors[seen]).sum() / shares[seen].sum())


def planned(scenario: Scenario) -> dict[str, Any]:
    """The seed's inequality N·c_t > D + T + M + N·((1−q)·c_s + q·c_r) on the planned values."""
    n = expected_calls(scenario.traffic, 0.0, scenario.horizon_s)
    shares = segment_shares(scenario)
    c_t = float((shares * teacher_usd_per_call(scenario)).sum())
    econ = scenario.economics
    hours = scenario.horizon_s / HOUR_S
    gpu = scenario.student.servers * scenario.student.gpu_hour_usd * hours
    verifier = scenario.verifier
    checks = verifier.usd_per_call if scenario.router.policy == "verify" and verifier else 0.0
    # no planned calls (a horizon inside a zero-traffic day): no per-call GPU share exists, but
    # the GPUs are still paid
    c_s = (gpu / n if n > 0 else math.nan) + checks
    q = analytic_fallback_rate(scenario)
    human = scenario.human is not None and verifier is not None and verifier.on_flag == "human"
    if scenario.router.policy == "verify" and human and scenario.human is not None:
        c_r = scenario.human.usd_per_review + c_s
    else:
        c_r = c_t + c_s
    maintenance = econ.maintenance_usd_per_month * scenario.horizon_s / MONTH_S
    terms = inequality.Inputs(
        calls=n,
        teacher_usd_per_call=c_t,
        student_usd_per_call=c_s,
        dataset_usd=econ.dataset_usd,
        training_usd=econ.training_usd,
        maintenance_usd=maintenance,
        fallback_rate=q,
        fallback_usd_per_call=c_r,
    )
    # the fallback path pays the teacher (or a reviewer) on top of the student's share in c_s;
    # with no planned calls there is no per-call price, but the GPUs are still paid
    distill = inequality.distill_usd(terms) if n > 0 else inequality.fixed_usd(terms) + gpu
    teacher_only = inequality.teacher_only_usd(terms)
    return {
        "calls": n,
        "teacher_usd_per_call": c_t,
        "student_usd_per_call": c_s,
        "fallback_rate": q,
        "fallback_usd_per_call": c_r,
        "dataset_and_training_usd": econ.dataset_usd + econ.training_usd,
        "maintenance_usd": maintenance,
        "teacher_only_usd": teacher_only,
        "distill_usd": distill,
        "savings_usd": teacher_only - distill,
        "distill_wins": bool(teacher_only > distill),
    }
