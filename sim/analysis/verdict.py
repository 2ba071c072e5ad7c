"""The plan against the simulation: the seed's formula, the gap decomposed, and warnings in the
seed's words."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from sim.analysis import deadline, decision, economics
from sim.scenario.models import Scenario
from sim.scenario.policies import BY_NAME


def planned_vs_realized(
    scenario: Scenario,
    summary: dict[str, Any],
    segment_calls: Any = None,
    student_errors: Any = None,
) -> dict[str, Any]:
    """The formula's answer, the simulation's, and the gap between them by cause.

    The causes add up to the gap exactly: volume (more or fewer calls at the planned fallback
    rate), drift (the fallbacks the realized mix and the student's realized right and wrong
    answers imply, beyond the plan's: a shifted mix, new segments, changed answers), fallback
    above plan (the rest of the teacher spend the realized fallback rate added: confidence
    noise, bypasses), retraining, review and audits (people the formula leaves out), and the rest
    (the teacher's price per call differing from its planned mean, and GPU and upkeep
    differences). idle_gpu_usd says how much of the GPU bill paid for idle capacity."""
    plan = economics.planned(scenario)
    policy = BY_NAME[scenario.router.policy]
    cost = summary["cost"]
    calls = summary["calls"] or 0.0
    realized = cost["total_usd"]
    gap = realized - plan["distill_usd"]
    q_plan = plan["fallback_rate"] if policy.escalates else 0.0
    c_t = plan["teacher_usd_per_call"]
    volume = (calls - plan["calls"]) * q_plan * c_t
    teacher_per_call = (
        summary["teacher_only_cost_usd"] / calls if calls else plan["teacher_usd_per_call"]
    )
    fallback = cost["teacher_usd"] - q_plan * calls * teacher_per_call
    if not policy.escalates:
        fallback = 0.0
    people = cost["human_usd"] + cost["audit_usd"]
    drift = 0.0
    if segment_calls is not None and policy.escalates:
        implied = sum(
            (n - wrong) * right_p + wrong * wrong_p
            for n, wrong, (right_p, wrong_p) in zip(
                segment_calls, student_errors, economics.fallback_probabilities(scenario),
                strict=True,
            )
        )  # fmt: skip
        drift = (implied - q_plan * calls) * teacher_per_call
    causes = {
        "volume_usd": volume,
        "drift_usd": drift,
        "fallback_above_plan_usd": fallback - drift,
        "retraining_usd": cost["retraining_usd"],
        "review_and_audit_usd": people,
    }
    causes["other_usd"] = gap - sum(causes.values())
    utilization = summary.get("student_utilization") or 0.0
    return {
        **plan,
        "realized_calls": calls,
        "realized_fallback_rate": summary["fallback_rate"],
        "realized_distill_usd": realized,
        "realized_teacher_only_usd": summary["teacher_only_cost_usd"],
        "realized_savings_usd": summary["savings_usd"],
        "gap_usd": gap,
        "gap": causes,
        "idle_gpu_usd": (1.0 - min(1.0, utilization)) * cost["student_gpu_usd"],
    }


def warnings(scenario: Scenario, summary: dict[str, Any], series: pl.DataFrame) -> list[str]:
    """What the seed would say about this result: the rules of `sim.analysis.decision`, in the
    seed's words, and the rising fallback rate (a leading indicator, not a verdict)."""
    out = []
    policy = BY_NAME[scenario.router.policy]
    m = decision.money_of(summary)
    ratio, kind = m.ratio, decision.money_class(m)
    if policy.uses_student and ratio is not None and kind == "does_not_pay":
        out.append(
            f"Distill-and-route costs {-ratio:.0%} more than staying on the teacher: N is too "
            "small, q too high, or M too large for this slice; it belongs on the teacher."
        )
    elif policy.uses_student and ratio is not None and kind == "marginal":
        out.append(
            f"Realized savings are {ratio:.0%} of the teacher-only cost: when the formula works "
            "out it usually works out overwhelmingly; a saving under 20% is probably negative "
            "once everything is counted."
        )
    rising = _rising_fallback(series)
    if rising is not None:
        first, last = rising
        out.append(
            f"The fallback rate rose from {first:.2%} to {last:.2%} over the horizon: watch it "
            "as the leading indicator of drift."
        )
    silent = summary.get("silent_failure_rate") or 0.0
    if decision.silent_above_teacher(summary) is not None:
        out.append(
            f"Silent failures ({silent:.2%} of calls) exceed the teacher's own error rate "
            f"({decision.teacher_error(summary):.2%}): the student is confidently wrong where "
            "the teacher would have been right, and "
            + (
                "some were sent to the teacher but returned anyway when the deadline abandoned "
                "the fallback."
                if deadline.returned_student(summary, scenario.router.model_dump())
                else "nothing flags it."
            )
        )
    limit = scenario.economics.max_silent_failure_rate
    if decision.silent_above_limit(summary, limit) is not None:
        out.append(
            f"Silent failures ({silent:.2%} of calls) exceed [economics] "
            f"max_silent_failure_rate ({limit:.2%}): more wrong answers reach users unflagged "
            "than this slice can afford."
        )
    if decision.secondary_collapse(summary) is not None:
        out.append(
            f"Capability collapse: {summary['secondary_silent_failure_rate']:.2%} of calls carry "
            "a bad secondary output nobody measures (e.g. an audit-log summary): it passes a "
            "smoke test and fails a careful read."
        )
    v = scenario.verifier
    if v is not None and decision.blind_verifier(policy.verified, v.blind_spot_correlation):
        out.append(
            f"The verifier shares the student's blind spots (blind_spot_correlation "
            f"{v.blind_spot_correlation:g}): it adds latency without adding much safety."
        )
    return out


def _rising_fallback(series: pl.DataFrame) -> tuple[float, float] | None:
    """The fallback rate of the first and last tenth of the horizon, when it clearly rose."""
    rows = series.filter(pl.col("calls") > 0).sort("time_s")
    if rows.height < 20:
        return None
    tenth = max(1, rows.height // 10)
    head, tail = rows.head(tenth), rows.tail(tenth)

    def pooled(part: pl.DataFrame) -> tuple[float, float]:
        # numpy sums in a fixed order: the warning's figures must not depend on polars' threads
        calls = float(np.sum(part["calls"].to_numpy()))
        fallbacks = float(np.sum((part["fallback_rate"].fill_null(0) * part["calls"]).to_numpy()))
        return (fallbacks / calls if calls else 0.0), calls

    (first, n1), (last, n2) = pooled(head), pooled(tail)
    se = math.sqrt(first * (1 - first) / max(n1, 1) + last * (1 - last) / max(n2, 1))
    if last > first * 1.1 and last - first > 4.5 * se:
        return first, last
    return None
