"""Break-even: the seed's inequality N·c_t > D + T + M + N·((1−q)·c_s + q·c_r), solved for N.

The arithmetic is `sim.analysis.inequality`'s; this module gathers its terms from flags or a
scenario
(`resolve`), explains the choices behind them, and renders a result for people (`print_report`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.analysis import decision, economics
from sim.analysis.inequality import Inputs, solve
from sim.clock import DAYS_PER_MONTH
from sim.formatting import count, days, money, share
from sim.problems import BadInput
from sim.scenario.models import Scenario

# Inputs field → the flag that sets it (bad-input lines name the flag the user typed).
FLAGS = {
    "calls": "--calls",
    "teacher_usd_per_call": "--teacher-usd",
    "student_usd_per_call": "--student-usd",
    "dataset_usd": "--dataset-usd",
    "training_usd": "--training-usd",
    "maintenance_usd_per_month": "--maintenance-usd-per-month",
    "fallback_rate": "--fallback-rate",
    "fallback_usd_per_call": "--fallback-usd",
    "horizon_days": "--horizon-days",
}
# Every term of the inequality is required: the seed's point is to estimate each one honestly. The
# horizon too: the upkeep is given per month, and M is that rate over the horizon.
REQUIRED = tuple(FLAGS)
# The old flag, refused: a monthly figure read as the whole horizon's upkeep flipped answers.
WHOLE_HORIZON_FLAG = "--maintenance-usd"
WHOLE_HORIZON_REFUSAL = (
    "--maintenance-usd: no longer accepted, it was ambiguous; give --maintenance-usd-per-month "
    "(upkeep per 30-day month, USD/month) and --horizon-days H: M over the horizon is that × H/30"
)
QUOTED_DAY = "the plan's formula, upkeep accruing monthly"
_COSTS = {
    "teacher_usd_per_call": "a teacher cost per call in USD ≥ 0",
    "student_usd_per_call": "a student cost per call in USD ≥ 0",
    "dataset_usd": "a one-time dataset cost in USD ≥ 0",
    "training_usd": "a one-time training cost in USD ≥ 0",
    "maintenance_usd_per_month": "a maintenance cost in USD per 30-day month ≥ 0",
    "fallback_usd_per_call": "a fallback cost per call in USD ≥ 0",
}
_WHAT = {
    "calls": "the number of calls over the horizon, > 0",
    "fallback_rate": "a share of calls in [0, 1]",
    "horizon_days": "the horizon in days, > 0",
    **_COSTS,
}


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
    """The scenario's planned terms (`sim.analysis.economics.planned`) keyed like `Inputs`.

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
        "maintenance_usd_per_month": float(scenario.economics.maintenance_usd_per_month),
        "fallback_rate": float(plan["fallback_rate"]),
        "fallback_usd_per_call": float(plan["fallback_usd_per_call"]),
        "horizon_days": float(scenario.scenario.horizon_days),
    }


def resolve(flags: Mapping[str, float | None], base: Mapping[str, float] | None) -> Inputs:
    """Given flags over a scenario's values (or alone); raise BadInput listing every problem.

    The upkeep comes per month; M, the inequality's upkeep over the horizon, is that × H/30."""
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

    horizon = number("horizon_days")
    return Inputs(
        calls=number("calls"),
        teacher_usd_per_call=number("teacher_usd_per_call"),
        student_usd_per_call=number("student_usd_per_call"),
        dataset_usd=number("dataset_usd"),
        training_usd=number("training_usd"),
        maintenance_usd=maintenance_over(number("maintenance_usd_per_month"), horizon),
        fallback_rate=number("fallback_rate"),
        fallback_usd_per_call=number("fallback_usd_per_call"),
        horizon_days=horizon,
    )


def maintenance_over(usd_per_month: float, horizon_days: float) -> float:
    """M: the upkeep over the horizon, a monthly rate × the horizon's 30-day months."""
    return usd_per_month * horizon_days / DAYS_PER_MONTH


def assumptions(i: Inputs, source: str, overridden: list[str]) -> list[str]:
    """The choices behind the numbers, in words, for the report and the JSON."""
    out = [
        "N* = (D+T+M) / (c_t − (1−q)·c_s − q·c_r): M is the upkeep over the whole horizon, "
        "M = (USD/month) × H/30, held fixed (the seed's formula); c_s is a constant price per "
        "call.",
        f"Calls arrive evenly at N/H over the {i.horizon_days:g}-day horizon. The quoted "
        "break-even day lets M accrue month by month, as a simulation pays it: the totals meet "
        "at t* = H·(D+T) / (N·savings − M); days past the horizon extrapolate at the same rates. "
        "With M paid up front instead the day is N* / (N/H).",
        "The verdict is on the money alone: its safety rules (silent failures, secondary "
        "outputs, the verifier) need a simulated run (distill-sim run or assess).",
    ]
    if source != "flags":
        out.append(
            "Planned values of the scenario (sim.analysis.economics.planned): traffic growth and "
            "daily and weekly cycles are averaged out, c_s is the GPU cost amortised over the "
            "planned N, the upkeep is [economics] maintenance_usd_per_month, without retraining."
        )
        if overridden:
            flags = ", ".join(FLAGS[name] for name in overridden)
            out.append(
                f"Given as flags, {flags} replace the scenario's planned values as they are; "
                "the other terms are not re-derived (use --set to re-plan the scenario)."
            )
    return out


def verdict_of(i: Inputs, results: dict[str, Any]) -> decision.Decision:
    """The one verdict's words (`sim.analysis.decision`) on the formula's money, quoting the
    break-even day with upkeep accruing."""
    money = decision.Money(results["savings_usd"], results["teacher_only_usd"])
    day = results["break_even_days_maintenance_accruing"]
    return decision.decide(money, (), decision.BreakEven(day, QUOTED_DAY))


def report(i: Inputs, source: str, overridden: list[str], per_month: float) -> dict[str, Any]:
    """One JSON-ready object: where the inputs came from, every input, every result, the
    verdict, the choices."""
    results = solve(i)
    decided = verdict_of(i, results)
    return {
        "source": source,
        "from_flags": list(overridden),
        "inputs": {**asdict(i), "maintenance_usd_per_month": per_month},
        "results": results,
        "verdict": decided.verdict,
        "verdict_reason": decided.reason,
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


Row = tuple[str, str, str, str]  # symbol, meaning, value, unit


def _input_rows(i: dict[str, Any]) -> list[Row]:
    """The formula's terms as (symbol, meaning, value, unit) rows."""
    return [
        ("N", "calls over the horizon", count(i["calls"]), "calls"),
        ("H", "horizon", f"{i['horizon_days']:g}", "days"),
        ("c_t", "teacher cost per call", money(i["teacher_usd_per_call"]), "USD/call"),
        ("c_s", "student cost per call", money(i["student_usd_per_call"]), "USD/call"),
        ("q", "fallback rate", share(i["fallback_rate"]), "of calls"),
        ("c_r", "fallback cost per call", money(i["fallback_usd_per_call"]), "USD/call"),
        ("D", "dataset (one-time)", money(i["dataset_usd"]), "USD"),
        ("T", "training (one-time)", money(i["training_usd"]), "USD"),
        ("", "maintenance per month", money(i["maintenance_usd_per_month"]), "USD/month"),
        ("M", "maintenance over the horizon (× H/30)", money(i["maintenance_usd"]), "USD"),
    ]


def _result_rows(r: dict[str, Any], horizon: float) -> list[Row]:
    """The answer as (symbol, meaning, value, unit) rows."""
    never = "never (savings per call ≤ 0)"
    accruing_never = never if not r["pays_back"] else "never (savings per day ≤ upkeep per day)"
    ratio = r["savings_ratio"]
    savings = money(r["savings_usd"]) + ("" if ratio is None else f" ({share(ratio)})")
    return [
        ("N·c_t", "staying on the teacher", money(r["teacher_only_usd"]), "USD"),
        ("", "distilling and routing", money(r["distill_usd"]), "USD"),
        ("", "savings at N", savings, "USD"),
        ("c_t − c_s", "savings per call before fallbacks",
         money(r["gross_savings_usd_per_call"]), "USD/call"),
        ("q·(c_r − c_s)", "eaten by the fallback path", money(r["fallback_loss_usd_per_call"]),
         "USD/call"),
        ("s", "savings per call c_t − (1−q)·c_s − q·c_r", money(r["savings_usd_per_call"]),
         "USD/call"),
        ("N/H", "calls per day", count(round(r["calls_per_day"])), "calls/day"),
        ("t*", "break-even day, upkeep accruing (quoted)",
         _days(r["break_even_days_maintenance_accruing"], accruing_never, horizon), "days"),
        ("N*(t*)", "break-even calls, upkeep accruing",
         _calls(r["break_even_calls_maintenance_accruing"], accruing_never), "calls"),
        ("N*", "break-even calls if M were paid up front", _calls(r["break_even_calls"], never),
         "calls"),
        ("N*/(N/H)", "break-even day if M were paid up front",
         _days(r["break_even_days"], never, horizon), "days"),
    ]  # fmt: skip


def _print_verdict(console: Console, rep: dict[str, Any]) -> None:
    """The verdict in the words every command uses, and the seed's remark on the fallback path."""
    word = rep["verdict"]
    style = {"pays": "bold green", "marginal": "bold yellow"}.get(word, "bold red")
    console.print(
        Text.assemble(
            ("verdict (the plan's formula, money only): ", "bold"),
            (word, style),
            f" — {rep['verdict_reason']}",
        )
    )
    eaten = rep["results"]["fallback_share_of_savings"]
    if eaten is not None and eaten >= 0.5:
        console.print(
            f"The fallback path eats {share(eaten)} of what distilling would save with no "
            "fallbacks: the quality gap q matters more than people expect."
        )


def print_report(rep: dict[str, Any]) -> None:
    """The inputs and the answer as a table, then the verdict and the assumptions."""
    console = Console(emoji=False, width=max(Console().width, 110))
    i, r = rep["inputs"], rep["results"]
    table = Table(title=f"break-even · {rep['source']} · the plan's formula", header_style="bold")
    table.add_column("term")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for row in _input_rows(i):
        table.add_row(*row)
    table.add_section()
    for row in _result_rows(r, i["horizon_days"]):
        table.add_row(*row)
    console.print(table)
    _print_verdict(console, rep)
    for line in rep["assumptions"]:
        console.print(Text(f"· {line}", style="dim"))
