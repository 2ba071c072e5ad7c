"""Cost identities, break-even and the seed's formula, against hand-computed answers."""

import numpy as np
import pytest

from sim.analysis import economics
from sim.analysis.metrics import summarize
from sim.engine.control import run_fast

PRICE = (600 * 3.0 + 40 * 15.0) / 1e6  # tokens × $/Mtok of the builders' segment


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cost_identities(seed, scenario):
    s = scenario(scenario={"horizon_days": 2.5, "tick_s": 7200})
    summary = summarize(s, seed, run_fast(s, seed, 1))
    cost = summary["cost"]
    hours = 2.5 * 24
    assert cost["student_gpu_usd"] == pytest.approx(4 * 2.5 * hours, rel=1e-12)
    fallbacks = round(summary["fallback_rate"] * summary["calls"])
    assert cost["teacher_usd"] == pytest.approx(fallbacks * PRICE, rel=1e-9)
    assert summary["teacher_only_cost_usd"] == pytest.approx(summary["calls"] * PRICE, rel=1e-9)
    assert cost["fixed_usd"] == pytest.approx(15000 + 8000 + 4000 * 2.5 / 30, rel=1e-12)
    terms = ("student_gpu_usd", "teacher_usd", "verifier_usd", "human_usd", "fixed_usd")
    assert cost["total_usd"] == pytest.approx(sum(cost[t] for t in terms) + cost["retraining_usd"])
    assert summary["savings_usd"] == pytest.approx(
        summary["teacher_only_cost_usd"] - cost["total_usd"]
    )
    assert summary["cost_per_call_usd"] == pytest.approx(cost["total_usd"] / summary["calls"])


def test_teacher_only_pays_no_distillation_costs(scenario):
    s = scenario(router={"policy": "teacher_only"})
    summary = summarize(s, 0, run_fast(s, 0, 1))
    assert summary["cost"]["student_gpu_usd"] == 0
    assert summary["cost"]["fixed_usd"] == 0
    assert summary["cost"]["total_usd"] == pytest.approx(summary["teacher_only_cost_usd"])
    assert summary["savings_usd"] == pytest.approx(0.0, abs=1e-6)


def test_break_even_day_examples():
    end_s = np.arange(0, 11) * 86400.0  # tick boundaries: day 0, then each day's end
    teacher = np.cumsum(np.full(10, 100.0))
    # 250 up front, then 50/day instead of 100/day: even on day 5, ahead after it
    distill = 250 + np.cumsum(np.full(10, 50.0))
    assert economics.break_even_day(distill, teacher, end_s) == 5.0
    # halfway through a day: behind by 25 at the end of day 4, ahead by 25 at the end of day 5
    assert economics.break_even_day(distill - 25, teacher, end_s) == pytest.approx(4.5)
    # never catches up
    assert economics.break_even_day(distill + 1e6, teacher, end_s) is None
    # ahead from the start
    assert economics.break_even_day(teacher * 0.5, teacher, end_s) == 0.0
    # ahead, then behind again at the end: no break-even
    late = distill.copy()
    late[-1] = teacher[-1] + 1
    assert economics.break_even_day(late, teacher, end_s) is None


def test_break_even_on_a_stationary_scenario_is_fixed_over_daily_savings(scenario):
    s = scenario(
        scenario={"horizon_days": 20.0},
        traffic={"calls_per_day": 200_000},
        student={"servers": 2, "gpu_hour_usd": 1.0},
        economics={"dataset_usd": 3000, "training_usd": 1000, "maintenance_usd_per_month": 0},
    )
    summary = summarize(s, 4, run_fast(s, 4, 1))
    days = s.scenario.horizon_days
    daily_savings = (summary["teacher_only_cost_usd"] - summary["cost"]["teacher_usd"]) / days - (
        2 * 1.0 * 24
    )
    expected = 4000 / daily_savings
    # one tick of resolution, plus the day-to-day noise of a Poisson stream (well under 1%)
    assert abs(summary["break_even_day"] - expected) <= 1 / 24 + 0.01 * expected


def test_planned_formula_by_hand(scenario):
    s = scenario(scenario={"horizon_days": 30.0}, traffic={"calls_per_day": 100_000})
    plan = economics.planned(s)
    n = 3_000_000
    q = economics.analytic_fallback_rate(s)
    c_s = 4 * 2.5 * 24 * 30 / n
    distill = 23000 + 4000 + n * ((1 - q) * c_s + q * (PRICE + c_s))
    assert plan["calls"] == pytest.approx(n, rel=1e-9)
    assert plan["teacher_usd_per_call"] == pytest.approx(PRICE)
    assert plan["distill_usd"] == pytest.approx(distill)
    assert plan["teacher_only_usd"] == pytest.approx(n * PRICE)
    assert plan["distill_wins"] == (n * PRICE > distill)


def test_eval_error_rate_uses_only_training_segments(scenario):
    seg = scenario().segments[0].model_dump()
    segments = [
        dict(seg, name="a", weight=3, student_accuracy=0.9),
        dict(seg, name="b", weight=1, student_accuracy=0.7),
        dict(seg, name="c", weight=4, student_accuracy=0.1, in_training=False),
    ]
    s = scenario(segments=segments)
    assert economics.eval_error_rate(s) == pytest.approx((3 * 0.1 + 1 * 0.3) / 4)
