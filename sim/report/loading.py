"""Loading a run directory (the summary, the resolved scenario, the timeseries, events and, when
one was copied in, compare.parquet) or a compare directory (summaries.json and compare.parquet),
checked once for what the report needs."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from sim.clock import DAY_S
from sim.problems import BadInput

SUMMARY_KEYS = ("scenario", "policy", "horizon_days", "cost", "teacher_only_cost_usd")
TIMESERIES_COLUMNS = (
    "replication", "tick", "time_s", "calls", "fallback_rate", "silent_failure_rate",
    "latency_p99_s", "cumulative_cost_usd", "cumulative_teacher_only_usd",
)  # fmt: skip
EVENTS_SCHEMA = {
    "replication": pl.Int64,
    "time_s": pl.Float64,
    "day": pl.Float64,
    "kind": pl.String,
    "detail": pl.String,
}
EXPECTED = "expected a directory written by distill-sim run or compare"
COMPARISON_KEYS = ("scenario", "policy", "variant", "dominated", "cost_per_call_usd")


@dataclass(frozen=True)
class Run:
    """What a run directory holds, loaded once for every figure and the page."""

    directory: Path
    summary: dict[str, Any]
    scenario: dict[str, Any]
    timeseries: pl.DataFrame
    events: pl.DataFrame
    compare: pl.DataFrame | None

    @property
    def horizon_days(self) -> float:
        """The simulated horizon in days."""
        return float(self.summary["horizon_days"])

    @property
    def tick_s(self) -> float:
        """The tick length: the scenario's, else the gap between the first two ticks."""
        configured = self.scenario.get("scenario", {}).get("tick_s")
        if configured:
            return float(configured)
        times = self.timeseries.filter(pl.col("replication") == 0)["time_s"]
        return float(times[1] - times[0]) if times.len() > 1 else self.horizon_days * DAY_S

    @property
    def tick_name(self) -> str:
        """The tick in words: "hour", or "6-hour tick"."""
        hours = self.tick_s / 3600
        return "hour" if math.isclose(hours, 1) else f"{hours:g}-hour tick"

    @property
    def replications(self) -> int:
        """How many replications the figures average over."""
        return int(self.summary.get("replications") or 1)


def load_run(run_dir: Path) -> Run:
    """Read a run directory; a missing directory, or a file the report needs that is missing or
    unreadable, is bad input."""
    directory = Path(run_dir)
    if not directory.is_dir():
        raise BadInput([f"{directory}: no such directory; {EXPECTED}"])
    missing = [n for n in ("summary.json", "timeseries.parquet") if not (directory / n).is_file()]
    if missing:
        raise BadInput([f"{directory}: no {' or '.join(missing)}; {EXPECTED}"])
    try:
        run = _read(directory)
    except (OSError, ValueError, pl.exceptions.PolarsError) as unreadable:
        # JSON and TOML decoding errors are ValueErrors
        first_line = str(unreadable).splitlines()[0] if str(unreadable) else ""
        raise BadInput(
            [f"{directory}: unreadable ({type(unreadable).__name__}: {first_line}); {EXPECTED}"]
        ) from None
    gaps = [f"summary.json key {k!r}" for k in SUMMARY_KEYS if k not in run.summary]
    gaps += [
        f"timeseries column {c!r}" for c in TIMESERIES_COLUMNS if c not in run.timeseries.columns
    ]
    if gaps:
        raise BadInput([f"{directory}: no {', '.join(gaps)}; {EXPECTED}"])
    return run


def _read(directory: Path) -> Run:
    """Every file of the directory the report reads; the optional ones may be absent."""
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    scenario_file = directory / "scenario.toml"
    scenario = tomllib.loads(scenario_file.read_text("utf-8")) if scenario_file.is_file() else {}
    timeseries = pl.read_parquet(directory / "timeseries.parquet")
    events_file = directory / "events.parquet"
    events = (
        pl.read_parquet(events_file)
        if events_file.is_file()
        else pl.DataFrame(schema=EVENTS_SCHEMA)
    )
    compare_file = directory / "compare.parquet"
    compare = pl.read_parquet(compare_file) if compare_file.is_file() else None
    return Run(directory, summary, scenario, timeseries, events, compare)


@dataclass(frozen=True)
class Comparison:
    """What a compare directory holds: one summary per variant (policy and grid point), in the
    order compare ran them, and compare.parquet's rows in the same order."""

    directory: Path
    summaries: list[dict[str, Any]]
    table: pl.DataFrame

    @property
    def scenario_name(self) -> str:
        return str(self.summaries[0].get("scenario", "compare")) if self.summaries else "compare"


def is_comparison(directory: Path) -> bool:
    """A compare directory: summaries.json and compare.parquet, and no run's summary.json."""
    return (
        (directory / "summaries.json").is_file()
        and (directory / "compare.parquet").is_file()
        and not (directory / "summary.json").is_file()
    )


def load_comparison(directory: Path) -> Comparison:
    """Read a compare directory; an unreadable file, or summaries that do not match the table,
    is bad input."""
    directory = Path(directory)
    try:
        summaries = json.loads((directory / "summaries.json").read_text(encoding="utf-8"))
        table = pl.read_parquet(directory / "compare.parquet")
    except (OSError, ValueError, pl.exceptions.PolarsError) as unreadable:
        first_line = str(unreadable).splitlines()[0] if str(unreadable) else ""
        raise BadInput(
            [f"{directory}: unreadable ({type(unreadable).__name__}: {first_line}); {EXPECTED}"]
        ) from None
    if not isinstance(summaries, list) or not all(isinstance(s, dict) for s in summaries):
        raise BadInput([f"{directory}: summaries.json is not a list of summaries; {EXPECTED}"])
    gaps = [
        f"summaries.json key {k!r}"
        for k in COMPARISON_KEYS
        if not all(k in summary for summary in summaries)
    ]
    if len(summaries) != table.height:
        gaps.append(f"matching rows ({len(summaries)} summaries, {table.height} table rows)")
    if not summaries:
        gaps.append("variant")
    if gaps:
        raise BadInput([f"{directory}: no {', '.join(gaps)}; {EXPECTED}"])
    return Comparison(directory, summaries, table)


def load_any(directory: Path) -> Run | Comparison:
    """A run directory or a compare directory, whichever it is."""
    directory = Path(directory)
    if directory.is_dir() and is_comparison(directory):
        return load_comparison(directory)
    return load_run(directory)
