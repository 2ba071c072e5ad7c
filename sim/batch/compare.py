"""Policies side by side on one request stream, with the Pareto frontier marked."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from sim import results, runner
from sim.analysis import workload
from sim.batch import policy_settings
from sim.formatting import for_metric
from sim.problems import BadInput
from sim.scenario import grid
from sim.scenario import loading as scenario_file

FRONTIER = ("cost_per_call_usd", "silent_failure_rate", "latency_p99_s")
COLUMNS = (
    "cost_per_call_usd",
    "fallback_rate",
    "abandoned_rate",
    "error_rate",
    "silent_failure_rate",
    "excess_error_rate",
    "latency_p50_s",
    "latency_p99_s",
    "slo_attainment",
    "override_rate",
    "failed_rate",
    "savings_ratio",
    "alerts",
    "retrains",
)


def check_axes(file: Path, overrides: list[str], points: list[dict[str, Any]]) -> None:
    """Every --grid path must name a field of the scenario (once, not once per variant)."""
    if not points or not points[0]:
        return
    raw = scenario_file.read_toml(file)
    for item in overrides:
        scenario_file.apply_override(raw, item)
    problems = []
    for path, value in points[0].items():
        try:
            scenario_file.apply_override(copy.deepcopy(raw), grid.as_overrides({path: value})[0])
        except BadInput as bad:
            problems += [line.replace("--set ", "--grid ") for line in bad.problems]
    if problems:
        raise BadInput(problems)


def variants(
    file: Path,
    overrides: list[str],
    policies: list[str | None],
    points: list[dict[str, Any]],
    settings: dict[str, dict[str, Any]] | None = None,
) -> list[Any]:
    """Every (policy, point) as a validated scenario, all validated before any run; policy None
    keeps the file's (or the point's). A policy's own settings apply last, and join its point."""
    check_axes(file, overrides, points)
    out = []
    failed: dict[str, list[tuple[str | None, str]]] = {}  # problem line -> the variants it has
    for policy in policies:
        chosen = [] if policy is None else [f'router.policy="{policy}"']
        own = (settings or {}).get(policy or "", {})
        for point in points:
            sets = [*overrides, *chosen, *grid.as_overrides(point), *grid.as_overrides(own)]
            try:
                out.append((policy, {**point, **own}, runner.load(file, sets)))
            except BadInput as bad:
                for line in bad.problems:
                    # a line about a grid field names its value itself: the point adds nothing
                    named = any(line.startswith(f"{path}: ") for path in point)
                    failed.setdefault(line, []).append((policy, "" if named else label(point)))
    if failed:
        labels = list(dict.fromkeys(label(point) for point in points))
        raise BadInput(_where(failed, list(dict.fromkeys(policies)), labels))
    return out


def _where(
    failed: dict[str, list[tuple[str | None, str]]], policies: list[str | None], labels: list[str]
) -> list[str]:
    """Each problem once, prefixed by the variants that have it: nothing when all do, the point
    when every policy has it there, the policy when it has it at every point, else both."""
    lines = []
    for line, where in failed.items():
        has = set(where)
        points = labels if any(lab for _, lab in has) else [""]
        if has == {(p, lab) for p in policies for lab in points}:
            lines.append(line)
            continue
        by_point = [lab for lab in points if lab and all((p, lab) in has for p in policies)]
        lines += [f"[{lab}] {line}" for lab in by_point]
        rest = [(p, lab) for p, lab in where if lab not in by_point]
        for policy in dict.fromkeys(p for p, _ in rest):
            mine = list(dict.fromkeys(lab for p, lab in rest if p == policy))
            if mine == points:
                lines.append(f"[policy {policy}] {line}")
            else:
                lines += [f"[policy {policy}, {lab}] {line}" for lab in mine]
    return list(dict.fromkeys(lines))


def label(point: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.10g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items()
    )


def dominated(rows: list[dict[str, Any]]) -> list[bool]:
    """A row is dominated when another is no worse on cost, silent failures and p99, and better
    on at least one."""

    def key(row: dict[str, Any]) -> tuple[float, ...]:
        return tuple(float("inf") if row[m] is None else row[m] for m in FRONTIER)

    keys = [key(r) for r in rows]
    return [
        any(
            all(o <= m for o, m in zip(other, mine, strict=True)) and other != mine
            for other in keys
        )
        for mine in keys
    ]


def compare(
    file: Path,
    overrides: list[str],
    policies: list[str],
    axes: list[str],
    allow_large: bool = False,
    say: Callable[[str], None] | None = None,
) -> tuple[list[dict[str, Any]], pl.DataFrame]:
    """Run every variant on the same seed (common random numbers): summaries and the table;
    refuse before any runs when the work estimate of a variant exceeds a limit."""
    chosen = policy_settings.parse(policies)
    points = grid.points(axes)
    if points[0] and "router.policy" in points[0]:
        raise BadInput(
            [
                "--grid router.policy: got a grid over the policy; "
                "expected --policy P for each policy"
            ]
        )
    policy_settings.check(file, overrides, chosen, list(points[0]))
    todo = variants(file, overrides, list(chosen), points, chosen)
    workload.check([scenario for _, _, scenario in todo], allow_large, say)
    summaries = []
    for policy, point, scenario in todo:
        summary = runner.run(scenario).summary
        summary["variant"] = {"policy": policy, **point}
        summaries.append(summary)
    for summary, flag in zip(summaries, dominated(summaries), strict=True):
        summary["dominated"] = flag
    table = pl.DataFrame(
        [
            {
                "policy": s["policy"],
                "point": label({k: v for k, v in s["variant"].items() if k != "policy"}),
                **{c: s[c] for c in COLUMNS},
                "verdict": s["verdict"],
                "dominated": s["dominated"],
            }
            for s in summaries
        ],
        schema_overrides={c: pl.Float64 for c in COLUMNS},
    )
    return summaries, table


def save(
    directory: Path, summaries: list[dict[str, Any]], table: pl.DataFrame, force: bool = False
) -> Path:
    """compare.parquet and summaries.json, written atomically."""
    text = "[\n" + ",\n".join(results.summary_json(s).rstrip() for s in summaries) + "\n]\n"
    return results.write_directory(
        directory, {"summaries.json": text}, {"compare": table}, command="compare", force=force
    )


TABLE_COLUMNS = (  # after the star, policy and point; each printed by its metric's formatter
    "cost_per_call_usd", "fallback_rate", "abandoned_rate", "failed_rate", "error_rate",
    "silent_failure_rate", "excess_error_rate", "latency_p50_s", "latency_p99_s", "slo_attainment",
    "override_rate", "alerts", "retrains",
)  # fmt: skip


def print_table(name: str, table: pl.DataFrame, directory: Path) -> None:
    """The comparison as a rich table; the Pareto frontier's rows starred."""
    console = Console(emoji=False, width=max(Console().width, 240))
    view = Table(title=f"{name}: policies on one request stream (★ = Pareto frontier)")
    headers = ["", "policy", "point", "cost/call", "fallback", "abandoned", "failed", "error",
               "silent", "excess", "p50", "p99", "SLO", "override", "alerts", "retrains",
               "verdict"]  # fmt: skip
    for h in headers:
        view.add_column(h, justify="left" if h in ("policy", "point") else "right")
    for row in table.iter_rows(named=True):
        view.add_row(
            "" if row["dominated"] else "★",
            row["policy"],
            row["point"],
            *(for_metric(key)(row[key], 0) for key in TABLE_COLUMNS),
            row["verdict"],
        )
    console.print(view)
    console.print(f"results: {directory}")
