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

from sim.analysis import economics
from sim.analysis.inequality import Inputs, solve
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
THIN_SAVINGS = 0.2  # the seed: real wins are 5x or 10x; under 20% is probably negative


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
            "Planned values of the scenario (sim.analysis.economics.planned): traffic growth and "
            "daily "
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


def _print_verdict(console: Console, r: dict[str, Any]) -> None:
    """Who wins at N, and the seed's warnings about the fallback path and thin savings."""
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
    _print_verdict(console, r)
    for line in rep["assumptions"]:
        console.print(Text(f"· {line}", style="dim"))
