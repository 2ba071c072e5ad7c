"""Break-even: the seed's inequality N·c_t > D + T + M + N·((1−q)·c_s + q·c_r), solved for N.

Everything here is plain arithmetic on an `Inputs`; the one exception is `print_report`, which
renders a result for people. The CLI parses flags or a scenario and calls `resolve` then `solve`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim import economics
from sim.formatting import count, days, money, share
from sim.problems import BadInput
from sim.scenario import Scenario

# Inputs field → the flag that sets it (bad-input lines name the flag the user typed).
FLAGS = {
    "calls": "--calls",
    "teacher_usd_per_call": "--teacher-usd",
    "student_usd_per_call": "--student-usd",
    "dataset_usd": "--dataset-usd",
    "training_usd": "--training-usd",
    "maintenance_usd": "--maintenance-usd",
    "fallback_rate": "--fallback-rate",
    "fallback_usd_per_call": "--fallback-usd",
    "horizon_days": "--horizon-days",
}
# Every term of the inequality is required: the seed's point is to estimate each one honestly.
REQUIRED = tuple(name for name in FLAGS if name != "horizon_days")
_COSTS = {
    "teacher_usd_per_call": "a teacher cost per call in USD ≥ 0",
    "student_usd_per_call": "a student cost per call in USD ≥ 0",
    "dataset_usd": "a one-time dataset cost in USD ≥ 0",
    "training_usd": "a one-time training cost in USD ≥ 0",
    "maintenance_usd": "a maintenance cost over the horizon in USD ≥ 0",
    "fallback_usd_per_call": "a fallback cost per call in USD ≥ 0",
}
_WHAT = {
    "calls": "the number of calls over the horizon, > 0",
    "fallback_rate": "a share of calls in [0, 1]",
    "horizon_days": "the horizon in days, > 0",
    **_COSTS,
}
DAYS_PER_MONTH = 30.0  # the scenario's months are 30 days (sim.traffic.MONTH_S)
THIN_SAVINGS = 0.2  # the seed: real wins are 5x or 10x; under 20% is probably negative


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


def problems(values: Mapping[str, float | None]) -> list[str]:
    """One line per given value that is not finite or out of range, naming its flag."""
    out = []
    for name, value in values.items():
        if value is None:
            continue
        flag = FLAGS[name]
        bad = not math.isfinite(value)
        if name in _COSTS:
            bad = bad or value < 0
        elif name == "fallback_rate":
            bad = bad or not 0.0 <= value <= 1.0
        else:  # calls, horizon_days
            bad = bad or value <= 0
        if bad:
            out.append(f"{flag}: got {value:g}; expected {_WHAT[name]}")
    return out


def missing(values: Mapping[str, float | None]) -> list[str]:
    """One line per required flag not given (when there is no scenario to take it from)."""
    return [
        f"{FLAGS[name]}: missing; expected {_WHAT[name]} (or give a scenario FILE)"
        for name in REQUIRED
        if values.get(name) is None
    ]


def from_scenario(scenario: Scenario) -> dict[str, float]:
    """The scenario's planned terms (`sim.economics.planned`) keyed like `Inputs`.

    D and T come separately from `[economics]`; their sum is the plan's dataset_and_training_usd.
    """
    plan = economics.planned(scenario)
    if not plan["calls"] > 0:
        raise BadInput(
            [
                f"traffic: the scenario plans {plan['calls']:g} calls over its horizon; expected "
                "more than 0 for a break-even (no per-call costs exist without calls)"
            ]
        )
    return {
        "calls": float(plan["calls"]),
        "teacher_usd_per_call": float(plan["teacher_usd_per_call"]),
        "student_usd_per_call": float(plan["student_usd_per_call"]),
        "dataset_usd": float(scenario.economics.dataset_usd),
        "training_usd": float(scenario.economics.training_usd),
        "maintenance_usd": float(plan["maintenance_usd"]),
        "fallback_rate": float(plan["fallback_rate"]),
        "fallback_usd_per_call": float(plan["fallback_usd_per_call"]),
        "horizon_days": float(scenario.scenario.horizon_days),
    }


def resolve(flags: Mapping[str, float | None], base: Mapping[str, float] | None) -> Inputs:
    """Given flags over a scenario's values (or alone); raise BadInput listing every problem."""
    found = problems(flags)
    if base is None:
        found += missing(flags)
    if found:
        raise BadInput(found)
    merged: dict[str, float | None] = dict(base or {})
    merged.update({name: value for name, value in flags.items() if value is not None})

    def number(name: str) -> float:
        value = merged[name]
        assert value is not None  # `missing` or the scenario guarantees every required term
        return value

    return Inputs(
        calls=number("calls"),
        teacher_usd_per_call=number("teacher_usd_per_call"),
        student_usd_per_call=number("student_usd_per_call"),
        dataset_usd=number("dataset_usd"),
        training_usd=number("training_usd"),
        maintenance_usd=number("maintenance_usd"),
        fallback_rate=number("fallback_rate"),
        fallback_usd_per_call=number("fallback_usd_per_call"),
        horizon_days=merged.get("horizon_days"),
    )


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


def assumptions(i: Inputs, source: str, overridden: list[str]) -> list[str]:
    """The choices behind the numbers, in words, for the report and the JSON."""
    out = [
        "N* = (D+T+M) / (c_t − (1−q)·c_s − q·c_r): M is the maintenance over the stated "
        "horizon, held fixed (the seed's formula); c_s is a constant price per call."
    ]
    if i.horizon_days:
        out.append(
            f"Calls arrive evenly at N/H over the {i.horizon_days:g}-day horizon; break-even day "
            "= N* / (N/H). With M accruing evenly instead (M·t/H, i.e. per month × t/30), the "
            "totals meet at t* = H·(D+T) / (N·savings − M); days past the horizon extrapolate "
            "at the same rates."
        )
    else:
        out.append("No horizon given (--horizon-days): break-even in days is not computed.")
    if source != "flags":
        out.append(
            "Planned values of the scenario (sim.economics.planned): traffic growth and daily "
            "and weekly cycles are averaged out, c_s is the GPU cost amortised over the "
            "planned N, M is maintenance_usd_per_month × H/30 without retraining."
        )
        if overridden:
            flags = ", ".join(FLAGS[name] for name in overridden)
            out.append(
                f"Given as flags, {flags} replace the scenario's planned values as they are; "
                "the other terms are not re-derived (use --set to re-plan the scenario)."
            )
    return out


def report(i: Inputs, source: str, overridden: list[str]) -> dict[str, Any]:
    """One JSON-ready object: where the inputs came from, every input, every result, the choices."""
    return {
        "source": source,
        "from_flags": list(overridden),
        "inputs": asdict(i),
        "results": solve(i),
        "assumptions": assumptions(i, source, overridden),
    }


def _calls(value: float | None, never: str) -> str:
    """A break-even volume in whole calls, or why there is none."""
    return never if value is None else count(round(value))


def _days(value: float | None, never: str, horizon: float | None) -> str:
    if value is None:
        return never
    beyond = f" (past the {horizon:g}-day horizon)" if horizon and value > horizon else ""
    return f"{days(value)}{beyond}"


def _input_rows(i: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The formula's terms as (symbol, meaning, value) rows."""
    horizon = i["horizon_days"]
    return [
        ("N", "calls over the horizon", count(i["calls"])),
        ("H", "horizon (days)", "—" if horizon is None else f"{horizon:g}"),
        ("c_t", "teacher cost per call", money(i["teacher_usd_per_call"])),
        ("c_s", "student cost per call", money(i["student_usd_per_call"])),
        ("q", "fallback rate", share(i["fallback_rate"])),
        ("c_r", "fallback cost per call", money(i["fallback_usd_per_call"])),
        ("D", "dataset (one-time)", money(i["dataset_usd"])),
        ("T", "training (one-time)", money(i["training_usd"])),
        ("M", "maintenance over the horizon", money(i["maintenance_usd"])),
    ]


def _result_rows(r: dict[str, Any], horizon: float | None) -> list[tuple[str, str, str]]:
    """The answer as (symbol, meaning, value) rows; the days need a horizon."""
    never = "never (savings per call ≤ 0)"
    accruing_never = never if not r["pays_back"] else "never (savings per day ≤ upkeep per day)"
    unknown = "— (needs --horizon-days)"
    ratio = r["savings_ratio"]
    results = [
        ("N·c_t", "staying on the teacher", money(r["teacher_only_usd"])),
        ("", "distilling and routing", money(r["distill_usd"])),
        (
            "",
            "savings at N",
            money(r["savings_usd"]) + ("" if ratio is None else f" ({share(ratio)})"),
        ),
        (
            "c_t − c_s",
            "savings per call before fallbacks",
            money(r["gross_savings_usd_per_call"]),
        ),
        (
            "q·(c_r − c_s)",
            "eaten by the fallback path",
            money(r["fallback_loss_usd_per_call"]),
        ),
        ("s", "savings per call c_t − (1−q)·c_s − q·c_r", money(r["savings_usd_per_call"])),
        ("N*", "break-even calls, M fixed", _calls(r["break_even_calls"], never)),
    ]
    if horizon is None:
        results.append(("", "break-even day", unknown))
    else:
        results += [
            ("N/H", "calls per day", count(round(r["calls_per_day"]))),
            ("", "break-even day, M fixed", _days(r["break_even_days"], never, horizon)),
            ("M·30/H", "maintenance per month", money(r["maintenance_usd_per_month"])),
            (
                "t*",
                "break-even day, M accruing",
                _days(r["break_even_days_maintenance_accruing"], accruing_never, horizon),
            ),
            (
                "N*(t*)",
                "break-even calls, M accruing",
                _calls(r["break_even_calls_maintenance_accruing"], accruing_never),
            ),
        ]
    return results


def print_report(rep: dict[str, Any]) -> None:
    """The inputs and the answer as a table, then the verdict and the assumptions."""
    console = Console(emoji=False, width=max(Console().width, 110))
    i, r = rep["inputs"], rep["results"]
    table = Table(title=f"break-even · {rep['source']}", header_style="bold")
    table.add_column("term")
    table.add_column("")
    table.add_column("value", justify="right")
    for row in _input_rows(i):
        table.add_row(*row)
    table.add_section()
    for row in _result_rows(r, i["horizon_days"]):
        table.add_row(*row)
    console.print(table)
    ratio = r["savings_ratio"]
    winner = r["winner"]
    if winner == "distill":
        verdict = f"[bold green]distillation wins[/] at N, by {money(r['savings_usd'])}"
    elif winner == "teacher":
        verdict = f"[bold red]the teacher wins[/] at N, by {money(-r['savings_usd'])}"
    else:
        verdict = "[bold]a tie[/] at N: N is the break-even volume"
    console.print(verdict)
    eaten = r["fallback_share_of_savings"]
    if eaten is not None and eaten >= 0.5:
        console.print(
            f"The fallback path eats {share(eaten)} of what distilling would save with no "
            "fallbacks: the quality gap q matters more than people expect."
        )
    if winner == "distill" and ratio is not None and ratio < THIN_SAVINGS:
        console.print(
            f"[bold yellow]warning:[/] savings are {share(ratio)} of the teacher-only cost: "
            "when the formula works out it usually works out overwhelmingly; a saving under 20% "
            "is probably negative once everything is counted."
        )
    for line in rep["assumptions"]:
        console.print(Text(f"· {line}", style="dim"))
