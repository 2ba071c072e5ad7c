"""One simulation run end to end: engine, metrics, files, and the table people read."""

from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from sim import results
from sim.analysis import decision, metrics
from sim.clock import DAY_S
from sim.engine.aggregates import Aggregates
from sim.engine.control import run_fast
from sim.engine.kernels.layout import SAMPLE_COLUMNS, SOURCES
from sim.formatting import for_metric, metric_band, money, share
from sim.scenario.loading import load_scenario, resolved
from sim.scenario.models import Scenario


@dataclass
class RunResult:
    """What a run produced, before and after it is written."""

    scenario: Scenario
    aggregates: list[Aggregates]
    summary: dict[str, Any]
    timeseries: pl.DataFrame
    calls_sample: pl.DataFrame | None


def load(file: Path, overrides: list[str]) -> Scenario:
    """Load and validate a scenario with `--set` overrides."""
    return load_scenario(file, overrides)


def simulate(
    scenario: Scenario, engine: str = "fast", sample_fraction: float = 0.0, progress: Any = None
) -> list[Aggregates]:
    """Run every replication on the chosen engine."""
    seed, reps = scenario.scenario.seed, scenario.scenario.replications
    if engine == "reference":
        from sim.engine.reference import run_reference

        return run_reference(scenario, seed, reps, sample_fraction)
    return run_fast(scenario, seed, reps, sample_fraction, progress)


def run(
    scenario: Scenario,
    engine: str = "fast",
    sample_fraction: float = 0.0,
    show_progress: bool = False,
) -> RunResult:
    """Simulate and summarise."""
    # the report's plotting library loads on the other core while the GIL-free kernels run
    threading.Thread(target=importlib.import_module, args=("sim.report",), daemon=True).start()
    if show_progress and sys.stderr.isatty():
        columns = (TextColumn("simulating"), BarColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True, console=Console(stderr=True, emoji=False)) as bar:
            task = bar.add_task("run", total=1.0)
            aggs = simulate(
                scenario, engine, sample_fraction, lambda x: bar.update(task, completed=x)
            )
    else:
        aggs = simulate(scenario, engine, sample_fraction)
    raw = metrics.tick_frame(scenario, aggs)
    summary = metrics.summarize(scenario, scenario.scenario.seed, aggs, raw)
    summary["engine"] = engine
    sample = calls_frame(scenario, aggs) if sample_fraction > 0 else None
    return RunResult(scenario, aggs, summary, metrics.timeseries(raw), sample)


def calls_frame(scenario: Scenario, aggs: list[Aggregates]) -> pl.DataFrame:
    """The sampled calls of every replication as one frame (calls.parquet)."""
    frames = []
    names = [s.name for s in scenario.segments]
    for r, agg in enumerate(aggs):
        rows = agg.sample_rows()
        cols: dict[str, Any] = {"replication": np.full(rows.shape[0], r, dtype=np.int64)}
        cols["tick"] = rows[:, 0].astype(np.int64)
        for j, name in enumerate(SAMPLE_COLUMNS, start=1):
            cols[name] = rows[:, j]
        frame = pl.DataFrame(cols).with_columns(
            pl.col("segment").cast(pl.Int64).map_elements(names.__getitem__, pl.String),
            pl.col("source").cast(pl.Int64).map_elements(SOURCES.__getitem__, pl.String),
            *(
                pl.col(c).cast(pl.Boolean)
                for c in (
                    "student_correct",
                    "fell_back",
                    "final_correct",
                    "silent_failure",
                    "failed",
                )
            ),
        )
        frames.append(frame)
    return pl.concat(frames)


def events_frame(aggs: list[Aggregates]) -> pl.DataFrame:
    """One row per control-plane event (outages; later drift, alerts, retraining)."""
    rows = [
        (r, t, t / DAY_S, kind, detail) for r, a in enumerate(aggs) for t, kind, detail in a.events
    ]
    schema = {
        "replication": pl.Int64,
        "time_s": pl.Float64,
        "day": pl.Float64,
        "kind": pl.String,
        "detail": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def save(result: RunResult, out: Path | None, force: bool = False) -> Path:
    """Write the run's files atomically; return the run directory."""
    s = result.scenario
    directory = out or default_directory(s)
    frames = {"timeseries": result.timeseries, "events": events_frame(result.aggregates)}
    if result.calls_sample is not None:
        frames["calls"] = result.calls_sample
    from sim.report import write_report  # matplotlib loads only when a run is written

    return results.write_run(
        directory, result.summary, resolved(s), frames, write_report, force=force
    )


def default_directory(s: Scenario) -> Path:
    """results/<name>/<stamp>-seed<N>-<policy>, a new folder."""
    label = f"seed{s.scenario.seed}-{s.router.policy}"
    return results.new_run_directory(results.RESULTS_ROOT, s.scenario.name, label)


SUMMARY_ROWS = (  # (label, summary key): each printed by its metric's formatter
    ("calls", "calls"),
    ("fallback rate", "fallback_rate"),
    ("abandoned at the deadline", "abandoned_rate"),
    ("  of the fallbacks", "fallback_abandoned_ratio"),
    ("failed calls", "failed_rate"),
    ("error rate", "error_rate"),
    ("silent failure rate", "silent_failure_rate"),
    ("excess error vs teacher alone", "excess_error_rate"),
    ("eval error (training mix)", "eval_error_rate"),
    ("observed error (audits)", "observed_error_rate"),
    ("secondary silent failures", "secondary_silent_failure_rate"),
    ("latency p50", "latency_p50_s"),
    ("latency p99", "latency_p99_s"),
    ("student queue wait (mean)", "queue_wait_mean_s"),
    ("student GPU utilization", "student_utilization"),
    ("total cost", "cost.total_usd"),
    ("teacher-only cost", "teacher_only_cost_usd"),
    ("savings", "savings_usd"),
    ("savings ratio", "savings_ratio"),
    ("cost per call", "cost_per_call_usd"),
    ("break-even day (simulated)", "break_even_day"),
    ("alerts", "alerts"),
    ("retrainings", "retrains"),
)
RISK_ROWS = {  # after a plain figure, its risk-adjusted twin, when failures are priced
    "cost.total_usd": (
        ("  priced failures", "cost.failure_usd"),
        ("  risk-adjusted total", "risk_adjusted_total_usd"),
    ),
    "teacher_only_cost_usd": (("  risk-adjusted", "teacher_only_risk_adjusted_usd"),),
    "savings_usd": (("  risk-adjusted", "risk_adjusted_savings_usd"),),
    "break_even_day": (("  risk-adjusted", "risk_adjusted_break_even_day"),),
}


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The run table's (label, key) rows, with the risk-adjusted ones when failures are priced."""
    priced = decision.failures_priced(summary)
    return [
        row
        for plain in SUMMARY_ROWS
        for row in (plain, *(RISK_ROWS.get(plain[1], ()) if priced else ()))
    ]


def print_summary(summary: dict[str, Any], directory: Path) -> None:
    """A readable table of the answer: quality, latency, money."""
    console = Console(emoji=False)
    ci = summary.get("ci95", {})
    title = (
        f"{summary['scenario']} · {summary['policy']} · {summary['horizon_days']:g} days · "
        f"seed {summary['seed']} · {summary['replications']} replication(s)"
    )
    table = Table(title=escape(title), show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    for label, key in summary_rows(summary):
        value = summary["cost"][key[5:]] if key.startswith("cost.") else summary.get(key)
        interval = ci.get(key)
        table.add_row(
            label, for_metric(key)(value, 0), metric_band(key, *interval) if interval else ""
        )
    console.print(table)
    cost = summary["cost"]
    parts = ", ".join(
        f"{k.removesuffix('_usd')} {money(v)}" for k, v in cost.items() if v and k != "failure_usd"
    )
    console.print(f"cost terms: {parts}")
    plan = summary["planned"]
    verdict = "distillation wins" if plan["distill_wins"] else "the teacher wins"
    console.print(
        f"planned (the plan's formula): teacher-only {money(plan['teacher_only_usd'])} vs "
        f"distill {money(plan['distill_usd'])} at q={share(plan['fallback_rate'])}: {verdict}"
    )
    gap = plan["gap"]
    causes = ", ".join(
        f"{k.removesuffix('_usd').replace('_', ' ')} {money(v)}" for k, v in gap.items() if v
    )
    console.print(
        f"realized: distill {money(plan['realized_distill_usd'])}, "
        f"{money(plan['gap_usd'])} off the plan ({causes}); "
        f"idle GPU capacity cost {money(plan['idle_gpu_usd'])}"
    )
    for line in summary.get("warnings", []):
        console.print(f"[bold yellow]warning:[/] {escape(line)}")
    if "excess_error_note" in summary:
        console.print(f"[bold]note:[/] {escape(summary['excess_error_note'])}")
    print_verdict(console, summary)
    console.print(f"results: {directory}", markup=False)


VERDICT_STYLES = {"pays": "bold green", "marginal": "bold yellow", "does_not_pay": "bold red",
                  "unsafe": "bold red"}  # fmt: skip


def print_verdict(console: Console, decided: dict[str, Any]) -> None:
    """The one verdict (`sim.analysis.decision`): its word and the sentence that decided it."""
    word = decided.get("verdict")
    if word is None:
        return
    style = VERDICT_STYLES.get(str(word), "bold")
    console.print(
        Text.assemble(("verdict: ", "bold"), (str(word), style), f" — {decided['verdict_reason']}")
    )


def print_scorecard(card: dict[str, Any]) -> None:
    """The signals as a table, then the verdict."""
    console = Console(emoji=False, width=max(Console().width, 120))
    table = Table(title=f"{card['scenario']}: is this slice a distillation candidate?")
    for name in ("signal", "", "evidence", "from"):
        table.add_column(name)
    for signal in card["signals"]:
        present = signal["present"]
        mark = "?" if present is None else ("yes" if present else "no")
        if present and signal["kind"] == "bad":
            mark = "YES (strong)" if signal["strong"] else "yes"
        label = ("good: " if signal["kind"] == "good" else "bad: ") + signal["name"]
        table.add_row(label, mark, Text(signal["evidence"]), signal["source"])
    console.print(table)
    console.print(escape(card["signals_tally"]))
    print_verdict(console, card)
