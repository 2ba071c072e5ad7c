"""The seed's inequality N·c_t > D + T + M + N·((1−q)·c_s + q·c_r): its terms and its arithmetic.

One home for the formula: `sim.analysis.breakeven` solves it for N and the day from flags or a
scenario,
and `sim.analysis.economics.planned` evaluates it on a scenario's planned values. Plain arithmetic
on an
`Inputs`, nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sim.clock import DAYS_PER_MONTH


@dataclass(frozen=True)
class Inputs:
    """The seed's terms: N calls over a horizon, per-call prices, one-time and upkeep costs."""

    calls: float  # N
    teacher_usd_per_call: float  # c_t
    student_usd_per_call: float  # c_s, amortised GPU and ops
    dataset_usd: float  # D
    training_usd: float  # T
    maintenance_usd: float  # M, over the whole horizon
    fallback_rate: float  # q
    fallback_usd_per_call: float  # c_r
    horizon_days: float | None = None  # H; unknown when None


def savings_per_call(i: Inputs) -> float:
    """c_t − (1−q)·c_s − q·c_r: what each call saves once the fallback path is paid."""
    q = i.fallback_rate
    return i.teacher_usd_per_call - (1 - q) * i.student_usd_per_call - q * i.fallback_usd_per_call


def gross_savings_per_call(i: Inputs) -> float:
    """c_t − c_s: what each call would save if nothing fell back."""
    return i.teacher_usd_per_call - i.student_usd_per_call


def fallback_loss_per_call(i: Inputs) -> float:
    """q·(c_r − c_s): the part of the gross per-call savings the fallback path eats."""
    return i.fallback_rate * (i.fallback_usd_per_call - i.student_usd_per_call)


def fixed_usd(i: Inputs) -> float:
    """D + T + M: what distilling costs over the horizon whatever the volume."""
    return i.dataset_usd + i.training_usd + i.maintenance_usd


def teacher_only_usd(i: Inputs) -> float:
    """N·c_t: staying on the teacher."""
    return i.calls * i.teacher_usd_per_call


def distill_usd(i: Inputs) -> float:
    """D + T + M + N·((1−q)·c_s + q·c_r): distilling and routing."""
    q = i.fallback_rate
    per_call = (1 - q) * i.student_usd_per_call + q * i.fallback_usd_per_call
    return fixed_usd(i) + i.calls * per_call


def break_even_calls(i: Inputs) -> float | None:
    """N* = (D+T+M) / savings per call, with M held fixed; None (never) when savings ≤ 0."""
    savings = savings_per_call(i)
    return fixed_usd(i) / savings if savings > 0 else None


def calls_per_day(i: Inputs) -> float | None:
    """N / H: the call rate, assuming calls arrive evenly; None when the horizon is unknown."""
    return i.calls / i.horizon_days if i.horizon_days else None


def days_for(i: Inputs, calls: float | None) -> float | None:
    """The day on which `calls` calls have arrived at the even rate N / H."""
    rate = calls_per_day(i)
    return calls / rate if calls is not None and rate else None


def maintenance_usd_per_month(i: Inputs) -> float | None:
    """M · 30 / H: the upkeep rate, assuming M accrues evenly over the horizon."""
    return i.maintenance_usd * DAYS_PER_MONTH / i.horizon_days if i.horizon_days else None


def break_even_days_accruing(i: Inputs) -> float | None:
    """Day t* at which the totals meet when M accrues with time instead of being paid up front.

    At day t: teacher N·c_t·t/H; distill D + T + M·t/H + N·t/H·((1−q)·c_s + q·c_r). Equal at
    t* = H·(D+T) / (N·s − M), s the savings per call. None when H is unknown, and when the daily
    savings never outpace the daily upkeep (N·s ≤ M).
    """
    if not i.horizon_days:
        return None
    margin = i.calls * savings_per_call(i) - i.maintenance_usd
    if margin <= 0:
        return None
    return i.horizon_days * (i.dataset_usd + i.training_usd) / margin


def solve(i: Inputs) -> dict[str, Any]:
    """Every result of the break-even for one set of inputs (None where there is none).

    Keys: the totals and who wins at N; the per-call savings, before and after fallbacks; N* with M
    fixed (the seed's formula); and, when the horizon is known, the call rate and break-even day
    with M fixed and with M accruing over time (with its N*).
    """
    teacher, distill = teacher_only_usd(i), distill_usd(i)
    gap = teacher - distill
    if math.isclose(teacher, distill, rel_tol=1e-12, abs_tol=1e-12):
        winner = "tie"
    else:
        winner = "distill" if gap > 0 else "teacher"
    # The seed: "if q is 20% and c_r is close to c_t, you've eaten most of your savings on the
    # fallback path alone" — most of the *net* savings, once D + T + M is paid out of the gross.
    lost = i.calls * fallback_loss_per_call(i)
    net_without_fallback = i.calls * gross_savings_per_call(i) - fixed_usd(i)
    n_star = break_even_calls(i)
    t_accruing = break_even_days_accruing(i)
    rate = calls_per_day(i)
    return {
        "winner": winner,
        "distill_wins": winner == "distill",
        "teacher_only_usd": teacher,
        "distill_usd": distill,
        "savings_usd": gap,
        "savings_ratio": gap / teacher if teacher > 0 else None,
        "fixed_usd": fixed_usd(i),
        "savings_usd_per_call": savings_per_call(i),
        "gross_savings_usd_per_call": gross_savings_per_call(i),
        "fallback_loss_usd_per_call": fallback_loss_per_call(i),
        "fallback_loss_usd": lost,
        "fallback_share_of_savings": (
            lost / net_without_fallback if net_without_fallback > 0 else None
        ),
        "pays_back": savings_per_call(i) > 0,
        "break_even_calls": n_star,
        "calls_per_day": rate,
        "break_even_days": days_for(i, n_star),
        "maintenance_usd_per_month": maintenance_usd_per_month(i),
        "break_even_days_maintenance_accruing": t_accruing,
        "break_even_calls_maintenance_accruing": (
            rate * t_accruing if rate is not None and t_accruing is not None else None
        ),
    }
