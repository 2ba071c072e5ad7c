"""Sweeps: a scenario over a grid or a Latin hypercube of its fields, every point × replication
run on every core or a Dask cluster, each finished run kept on disk at once so a sweep resumes.

Run r of every point uses the scenario seed's r-th stream, as `distill-sim run` does: rows do not
depend on the executor or the order runs finish in, and points share their requests (common
random numbers), so differences between points are not noise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import qmc

from sim import output_dir, results
from sim.analysis import economics, metrics
from sim.batch import compare
from sim.batch.executors import Workers
from sim.engine import control as engine
from sim.formatting import for_metric, metric_band, number
from sim.problems import BadInput, toml_value
from sim.scenario import grid
from sim.scenario.loading import load_scenario, resolved
from sim.scenario.models import Scenario

METRICS = (*metrics.SCALAR_METRICS, *(f"cost.{t}" for t in (*economics.COST_TERMS, "total_usd")))
WORKER_DEATHS = 3  # a run in flight when a local worker died this often is recorded as failed
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Plan:
    """Every point of a sweep as a validated scenario, and the fingerprint of them all."""

    name: str
    paths: list[str]
    points: list[dict[str, Any]]
    scenarios: list[Scenario]
    fingerprint: str

    @property
    def runs(self) -> list[tuple[int, int]]:
        """(point, replication) for every run, in order."""
        return [
            (i, r) for i, s in enumerate(self.scenarios) for r in range(s.scenario.replications)
        ]


@dataclass
class Outcome:
    """What one invocation did: runs that ran, were already on disk, or failed (with why)."""

    ran: set[tuple[int, int]] = field(default_factory=set)
    skipped: set[tuple[int, int]] = field(default_factory=set)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)


def latin_hypercube(specs: list[str], k: int, seed: int) -> list[dict[str, Any]]:
    """K points spread over the `path=lo:hi` ranges, one in each of K equal slices per axis."""
    if k < 1:
        raise BadInput([f"--random: got {k}; expected a number of points ≥ 1"])
    ranges, problems = [], []
    for spec in specs:
        try:
            ranges.append(grid.parse_range(spec, "--grid"))
        except BadInput as bad:
            problems += [f"{line} (with --random)" for line in bad.problems]
    if not specs:
        problems.append("--random: got no --grid path=lo:hi; expected at least one range")
    if problems:
        raise BadInput(problems)
    unit = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(seed)).random(k)
    points = []
    for row in unit:
        point: dict[str, Any] = {}
        for u, (path, lo, hi) in zip(row, ranges, strict=True):
            if isinstance(lo, int) and isinstance(hi, int):  # an integer field: K equal slices
                point[path] = min(hi, lo + int(u * (hi - lo + 1)))
            else:
                point[path] = float(lo + u * (hi - lo))
        points.append(point)
    return points


def plan(file: Path, overrides: list[str], axes: list[str], random: int | None = None) -> Plan:
    """Parse the axes and validate every point before anything runs."""
    if not axes:
        raise BadInput(["--grid: got none; expected at least one path=lo:hi:n or path=a,b,c"])
    base = load_scenario(file, overrides)
    if random is None:
        points = grid.points(axes)
    else:
        points = latin_hypercube(axes, random, base.scenario.seed)
    paths = list(points[0])
    scenarios = [s for _, _, s in compare.variants(file, overrides, [None], points)]
    text = json.dumps([resolved(s) for s in scenarios], sort_keys=True, default=str)
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Plan(base.scenario.name, paths, points, scenarios, fingerprint)


def check_path(out: Path, force: bool, default: bool = False) -> None:
    """The output contract before the plan is built: a folder holding a sweep is resumed (or, with
    --force, replaced; see `check_out`) when it holds nothing else; any other --out follows the
    rules every command follows."""
    found = output_dir.read_manifest(out) if out.is_dir() else None
    is_sweep = found is not None and "fingerprint" in found
    # for a sweep, force=True leaves only what no flag can fix: strangers, an unwritable parent
    output_dir.check_directory(out, force or is_sweep, default)


def check_out(out: Path, plan: Plan, force: bool = False, default: bool = False) -> None:
    """Refuse an --out that holds a different sweep, unless --force replaces it."""
    check_path(out, force, default)
    found = output_dir.read_manifest(out) if out.is_dir() else None
    if found is None or "fingerprint" not in found or found["fingerprint"] == plan.fingerprint:
        return
    if not force:
        raise BadInput(
            [
                f"--out: got {toml_value(str(out))}; expected the same FILE, --grid, --random, "
                "--set, --seed and --replications to resume the sweep it holds (fingerprint "
                f"{found['fingerprint']}, this one {plan.fingerprint}), a new folder, or --force "
                "to replace it"
            ]
        )


def start_out(out: Path, plan: Plan) -> None:
    """Write the manifest that lets a rerun recognise (and resume) this sweep; a previous result
    that `check_out` let --force replace is removed first (a sweep writes in place)."""
    found = output_dir.read_manifest(out) if out.is_dir() else None
    if found is not None and found.get("fingerprint") == plan.fingerprint:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    output_dir.remove_leftovers(out.parent)
    if found is not None:
        retired = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(retired)
        shutil.rmtree(retired)
    text = output_dir.manifest_text(
        "sweep",
        ["runs", "sweep.parquet", "errors.json", "sweep.png"],
        fingerprint=plan.fingerprint,
        scenario=plan.name,
        paths=plan.paths,
        points=[{p: toml_value(v) for p, v in point.items()} for point in plan.points],
    )
    results.write_file(out / MANIFEST, lambda path: path.write_text(text, encoding="utf-8"))


def _run_file(out: Path, point: int, replication: int) -> Path:
    return out / "runs" / f"{point:06d}-{replication:04d}.parquet"


def is_done(out: Path, run: tuple[int, int]) -> bool:
    """Whether a run's row is already on disk (from this or an earlier, interrupted sweep)."""
    return _run_file(out, *run).is_file()


def task(scenario: Scenario, replication: int, prefetch: bool) -> dict[str, float | None]:
    """One run's metrics (what a worker computes; module level so it pickles)."""
    aggregates = engine.run_one(scenario, replication, prefetch)
    summary = metrics.summarize(scenario, scenario.scenario.seed, [aggregates])
    return {name: _number(summary, name) for name in METRICS}


def _number(summary: dict[str, Any], name: str) -> float | None:
    value = summary["cost"][name[5:]] if name.startswith("cost.") else summary[name]
    return None if value is None else float(value)


def _axis_type(values: list[Any]) -> Any:
    """Integers, numbers, or anything else (a policy, a list) kept as its TOML text."""
    if all(isinstance(v, int) and grid.is_number(v) for v in values):
        return pl.Int64
    return pl.Float64 if all(grid.is_number(v) for v in values) else pl.String


def frame(plan: Plan, rows: list[tuple[int, int, dict[str, float | None]]]) -> pl.DataFrame:
    """Rows of (point, replication, metrics) as a frame with the axes' values."""
    types = {p: _axis_type([pt[p] for pt in plan.points]) for p in plan.paths}
    schema: dict[str, Any] = {"point": pl.Int64, "replication": pl.Int64, **types}
    schema |= {m: pl.Float64 for m in METRICS}

    def value(path: str, v: Any) -> Any:
        return toml_value(v) if types[path] == pl.String else v

    records = [
        {
            "point": i,
            "replication": r,
            **{p: value(p, plan.points[i][p]) for p in plan.paths},
            **values,
        }
        for i, r, values in rows
    ]
    return pl.DataFrame(records, schema=schema)


def execute(
    plan: Plan, out: Path, workers: Workers, advance: Any = None, prefetch: bool | None = None
) -> Outcome:
    """Run every run not already on disk, writing each as it finishes; a run that fails is
    recorded and the others go on. Ctrl-C (KeyboardInterrupt) propagates with all finished runs
    kept. `prefetch` (draws on a helper thread) defaults to on for one worker only: more workers
    already use every core."""
    outcome = Outcome()
    outcome.skipped = {run for run in plan.runs if is_done(out, run)}
    todo = [run for run in plan.runs if run not in outcome.skipped]
    if prefetch is None:
        prefetch = workers.count == 1
    deaths: Counter[tuple[int, int]] = Counter()
    pending: dict[Future[Any], tuple[int, int]] = {}

    def submit(run: tuple[int, int]) -> None:
        scenario = plan.scenarios[run[0]]
        pending[workers.pool.submit(task, scenario, run[1], prefetch)] = run

    def finished(run: tuple[int, int], error: str | None = None) -> None:
        if error is not None:
            outcome.errors[run] = error
        else:
            outcome.ran.add(run)
        if advance is not None:
            advance()

    for run in todo:
        submit(run)
    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        orphans = []
        for future in done:
            run = pending.pop(future)
            try:
                values = future.result()
            except BrokenProcessPool:
                orphans.append(run)
                continue
            except Exception as error:  # the run's own failure: recorded, the sweep goes on
                finished(run, f"{type(error).__name__}: {error}")
                continue
            path = _run_file(out, *run)
            results.write_file(path, frame(plan, [(*run, values)]).write_parquet)
            finished(run)
        if orphans:
            # a local worker died: the pool is unusable, so every run in it starts again
            orphans += pending.values()
            pending.clear()
            workers.restart()
            for run in orphans:
                deaths[run] += 1
                if deaths[run] >= WORKER_DEATHS:
                    finished(run, f"its worker process died {WORKER_DEATHS} times")
                else:
                    submit(run)
    return outcome


def table(plan: Plan, out: Path) -> pl.DataFrame:
    """Every finished run's row, then one row per complete point (replication null) with the mean
    of each metric and its 95% CI (`<metric>.ci_low`, `<metric>.ci_high`)."""
    files = [_run_file(out, *run) for run in plan.runs if _run_file(out, *run).is_file()]
    rows = frame(plan, [])
    if files:
        rows = pl.concat([rows, *(pl.read_parquet(f) for f in files)], how="vertical")
    rows = rows.sort("point", "replication")
    means = []
    for (point,), group in rows.group_by("point", maintain_order=True):
        if group.height < plan.scenarios[int(point)].scenario.replications:
            continue  # a point with a failed run has no mean: it would hide the failure
        mean: dict[str, Any] = {"point": point, "replication": None}
        mean |= {p: group[p][0] for p in plan.paths}
        for name in METRICS:
            value, interval = metrics.mean_and_ci(group[name].to_list())
            mean[name] = value
            mean[f"{name}.ci_low"], mean[f"{name}.ci_high"] = interval or (None, None)
        means.append(mean)
    intervals = {f"{m}.{end}": pl.Float64 for m in METRICS for end in ("ci_low", "ci_high")}
    schema = dict(rows.schema) | intervals
    combined = pl.concat(
        [rows.with_columns(pl.lit(None, pl.Float64).alias(c) for c in intervals),
         pl.DataFrame(means, schema=schema)],
        how="vertical",
    )  # fmt: skip
    return combined.sort("point", "replication", nulls_last=True)


def report(plan: Plan, out: Path, outcome: Outcome, sweep: pl.DataFrame) -> dict[str, Any]:
    """The sweep's summary: counts of points and runs, the errors, and each point's means."""
    by_point: dict[int, set[str]] = {}
    for i, r in plan.runs:
        state = (
            "failed" if (i, r) in outcome.errors else "ran" if (i, r) in outcome.ran else "skipped"
        )
        by_point.setdefault(i, set()).add(state)
    points = Counter(
        "failed" if "failed" in s else "ran" if "ran" in s else "skipped" for s in by_point.values()
    )
    errors = [
        {"point": i, "replication": r, "values": plan.points[i], "error": e}
        for (i, r), e in sorted(outcome.errors.items())
    ]
    return {
        "scenario": plan.name,
        "out": str(out),
        "points": {
            "total": len(plan.points),
            **{k: points[k] for k in ("ran", "skipped", "failed")},
        },
        "runs": {
            "total": len(plan.runs),
            "ran": len(outcome.ran),
            "skipped": len(outcome.skipped),
            "failed": len(outcome.errors),
        },
        "errors": errors,
        "means": sweep.filter(pl.col("replication").is_null()).drop("replication").to_dicts(),
    }


def save(out: Path, plan: Plan, sweep: pl.DataFrame, summary: dict[str, Any]) -> None:
    """sweep.parquet, errors.json and the figure, each written whole or not at all."""
    results.write_file(out / "sweep.parquet", sweep.write_parquet)
    text = json.dumps(summary["errors"], indent=2, default=str) + "\n"
    results.write_file(out / "errors.json", lambda path: path.write_text(text, encoding="utf-8"))
    from sim.batch.sweep_figures import write_figure  # matplotlib loads only when figures are drawn

    write_figure(out / "sweep.png", sweep, plan.paths)


def print_summary(plan: Plan, summary: dict[str, Any], limit: int = 40) -> None:
    """Each point's means with their 95% CIs (the first `limit` points), then the counts."""
    from rich.console import Console
    from rich.table import Table

    console = Console(emoji=False, width=max(Console().width, 150))
    view = Table(title=f"{plan.name}: sweep means over replications (95% CI)")
    shown = ("cost_per_call_usd", "savings_ratio", "fallback_rate", "silent_failure_rate",
             "latency_p99_s", "alerts", "retrains")  # fmt: skip
    for name in ("point", *plan.paths, *shown):
        view.add_column(name, justify="right")
    for mean in summary["means"][:limit]:
        cells = [str(mean["point"]), *(_cell(mean[p]) for p in plan.paths)]
        for name in shown:
            band = metric_band(name, mean[f"{name}.ci_low"], mean[f"{name}.ci_high"])
            cells.append(for_metric(name)(mean[name], 0) + (f" [{band}]" if band else ""))
        view.add_row(*cells)
    console.print(view)
    if len(summary["means"]) > limit:
        console.print(f"… {len(summary['means']) - limit} more points in sweep.parquet")
    for error in summary["errors"]:
        console.print(
            f"failed: point {error['point']} replication {error['replication']}: {error['error']}",
            markup=False,
        )
    console.print(counts_line(summary), markup=False)
    console.print(f"results: {summary['out']}", markup=False)


def counts_line(summary: dict[str, Any]) -> str:
    """`points: 3 ran, 1 skipped (done before), 0 failed; runs: ...`."""
    p, r = summary["points"], summary["runs"]
    return (
        f"points: {p['ran']} ran, {p['skipped']} skipped (done before), {p['failed']} failed "
        f"of {p['total']}; runs (point × replication): {r['ran']} ran, {r['skipped']} skipped, "
        f"{r['failed']} failed of {r['total']}"
    )


def _cell(value: Any) -> str:
    """A grid value: a number as `number` prints it, a category as it is."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return number(value) if numeric or value is None else str(value)


def replicate(workers: Workers, scenarios: list[Scenario]) -> list[list[dict[str, Any]]]:
    """Every replication of each scenario at once, in parallel: their metrics, per scenario, in
    replication order (a failure raises: a stress test cannot go on without the point)."""
    prefetch = workers.count == 1
    futures = [
        [workers.pool.submit(task, s, r, prefetch) for r in range(s.scenario.replications)]
        for s in scenarios
    ]
    return [[future.result() for future in group] for group in futures]
