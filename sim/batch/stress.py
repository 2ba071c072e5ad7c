"""Stress tests: where along one field a target on a metric stops holding, found by bisection on
replication means, with its uncertainty and the curve walked.

Every point runs the same replication streams (common random numbers), so the walked curve is
smooth in the field and bisection converges on its crossing; the crossing's uncertainty is the
bracket left plus the metric's 95% CI carried through the curve's local slope.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sim.analysis import workload
from sim.batch import sweep
from sim.batch.executors import Workers
from sim.formatting import count, for_metric, metric_band
from sim.problems import BadInput, did_you_mean, show, toml_value
from sim.scenario import grid
from sim.scenario.loading import load_scenario

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
_TARGET = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*([^<>=\s]+)\s*$")
_FORM = "METRIC OP NUMBER such as savings_ratio>0 or break_even_day<=120 (OP one of < <= > >=)"
LIFECYCLE = ("alerts", "retrains")  # what monitoring did: a crossing may be one of these starting


@dataclass(frozen=True)
class Target:
    """A condition on one summary metric's replication mean."""

    metric: str
    op: str
    value: float

    def holds(self, mean: float | None) -> bool:
        """Whether a mean meets the target; a null mean (break-even never reached) meets none."""
        return mean is not None and OPERATORS[self.op](mean, self.value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_target(text: str) -> Target:
    """`metric OP number`, the metric one of the summary's numeric keys."""
    match = _TARGET.match(text)
    if not match:
        raise BadInput([f"--target: got {show(text)}; expected {_FORM}"])
    metric, op, number = match.groups()
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    problems = []
    if metric not in sweep.METRICS:
        problems.append(
            f"--target: got metric {show(metric)}{did_you_mean(metric, sweep.METRICS)}; "
            "expected a numeric key of summary.json such as fallback_rate, savings_ratio, "
            "silent_failure_rate, break_even_day or cost.total_usd"
        )
    if not math.isfinite(value):
        problems.append(f"--target {metric}{op}: got {show(number)}; expected a finite number")
    if problems:
        raise BadInput(problems)
    return Target(metric, op, value)


@dataclass(frozen=True)
class Point:
    """The metric's mean and 95% CI over replications at one value of the field."""

    step: int
    value: float
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    holds: bool
    metrics: dict[str, float | None] = field(default_factory=dict)  # every metric's mean

    @property
    def half_width(self) -> float | None:
        """Half the CI (None with one replication)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2


class Walk:
    """Evaluates points of the varied field on the workers and keeps the curve."""

    def __init__(
        self, file: Path, overrides: list[str], path: str, target: Target, workers: Workers
    ) -> None:
        self.file, self.overrides, self.path, self.target = file, overrides, path, target
        self.workers = workers
        self.curve: list[Point] = []

    def scenario(self, value: float) -> Any:
        """The scenario at one value of the field (bad input names the field and value)."""
        return load_scenario(self.file, [*self.overrides, f"{self.path}={toml_value(value)}"])

    def at(self, values: list[float], step: int) -> list[Point]:
        """Evaluate the values together (all their replications in parallel)."""
        from sim.analysis.metrics import mean_and_ci

        groups = sweep.replicate(self.workers, [self.scenario(v) for v in values])
        points = []
        for value, rows in zip(values, groups, strict=True):
            mean, interval = mean_and_ci([row[self.target.metric] for row in rows])
            low, high = interval or (None, None)
            means = {name: mean_and_ci([row[name] for row in rows])[0] for name in sweep.METRICS}
            points.append(Point(step, value, mean, low, high, self.target.holds(mean), means))
        self.curve += points
        return points


def integer_field(file: Path, overrides: list[str], path: str, lo: Any, hi: Any) -> bool:
    """Whether the field takes integers only: given as integers and refusing a value between."""
    if not (isinstance(lo, int) and isinstance(hi, int)):
        return False
    try:
        load_scenario(file, [*overrides, f"{path}={lo + 0.5}"])
    except BadInput:
        return True
    return False


def bisect(
    file: Path,
    overrides: list[str],
    vary: str,
    target: Target,
    workers: Workers,
    max_steps: int = 12,
    log: Callable[[Point], None] | None = None,
    allow_large: bool = False,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Bisect the `path=lo:hi` range for the value where the target stops holding."""
    path, lo, hi = grid.parse_range(vary, "--vary")
    ends = []
    for value in (lo, hi):  # a bad path or value: one line before anything runs
        try:
            ends.append(load_scenario(file, [*overrides, f"{path}={toml_value(value)}"]))
        except BadInput as bad:
            raise BadInput([line.replace("--set ", "--vary ") for line in bad.problems]) from None
    # the work grows or shrinks along the range: its two ends bound every point walked
    workload.check(ends, allow_large, say)
    integer = integer_field(file, overrides, path, lo, hi)
    walk = Walk(file, overrides, path, target, workers)
    a, b = walk.at([lo, hi], 0)
    if a.holds == b.holds:
        raise BadInput(
            [
                f"--target {target}: {'holds' if a.holds else 'fails'} at both ends of --vary "
                f"{path}={lo}:{hi} ({target.metric} {_show(a.mean)} at {lo}, {_show(b.mean)} at "
                f"{hi}); expected a range where it changes"
            ]
        )
    for point in (a, b):
        if log is not None:
            log(point)
    brackets = [(a, b)]
    for step in range(1, max_steps + 1):
        if integer and b.value - a.value <= 1:
            break
        middle = (a.value + b.value) // 2 if integer else (a.value + b.value) / 2
        (m,) = walk.at([middle], step)
        if log is not None:
            log(m)
        a, b = (m, b) if m.holds == a.holds else (a, m)
        brackets.append((a, b))
        found = estimate(brackets, target)
        if not integer and found["noise"] and b.value - a.value <= found["noise"]:
            break  # a narrower bracket would not narrow the answer: the noise dominates
    found = estimate(brackets, target)
    holds_below = brackets[0][0].holds
    return {
        "path": path,
        "target": str(target),
        "range": [lo, hi],
        "holds_below": holds_below,
        **found,
        "statement": _statement(path, target, found, holds_below),
        "coincides": coincidence(path, *brackets[-1]),
        "curve": [asdict(p) for p in sorted(walk.curve, key=lambda p: p.value)],
    }


def estimate(brackets: list[tuple[Point, Point]], target: Target) -> dict[str, Any]:
    """The crossing in the last bracket (linear between its ends), and its uncertainty: the
    farther end of the bracket plus the CI half-width at the crossing over the local slope."""
    a, b = brackets[-1]
    critical = (a.value + b.value) / 2
    if a.mean is not None and b.mean is not None and a.mean != b.mean:
        share = (target.value - a.mean) / (b.mean - a.mean)
        critical = a.value + min(1.0, max(0.0, share)) * (b.value - a.value)
    bracket = max(abs(critical - a.value), abs(b.value - critical))
    halves = [h for h in (a.half_width, b.half_width) if h is not None]
    slope = _slope(brackets, max(halves, default=0.0))
    noise = max(halves) / abs(slope) if len(halves) == 2 and slope else None
    return {
        "critical": critical,
        "uncertainty": bracket + (noise or 0.0),
        "bracket": sorted([a.value, b.value]),
        "noise": noise,
        "slope": slope,
    }


def _slope(brackets: list[tuple[Point, Point]], half_width: float) -> float | None:
    """The metric's slope over the narrowest bracket whose ends differ by more than the noise
    (the CI's full width), so that the slope is measured and not guessed from noise; the widest
    bracket when none does."""
    for a, b in reversed(brackets):
        if a.mean is None or b.mean is None:
            continue
        if abs(b.mean - a.mean) > 2 * half_width or (a, b) == brackets[0]:
            return (b.mean - a.mean) / (b.value - a.value) if b.mean != a.mean else None
    return None


def _show(value: float | None) -> str:
    return "null" if value is None else f"{value:.4g}"


def _statement(path: str, target: Target, found: dict[str, Any], holds_below: bool) -> str:
    side = ("below", "above") if holds_below else ("above", "below")
    noise = "" if found["noise"] is not None else " (bracket only: no CI with one replication)"
    return (
        f"{target} holds while {path} is {side[0]} {found['critical']:.4g} "
        f"± {found['uncertainty']:.2g}{noise}, and is lost {side[1]} it"
    )


def coincidence(path: str, a: Point, b: Point) -> str | None:
    """One line when alerts or retrainings change between the ends of the last bracket: the
    target's crossing then coincides with monitoring acting (retraining starting, most often), and
    the threshold that starts it, not the field alone, may be what moves the metric."""
    changed = [
        f"{name} {count(a.metrics.get(name))} at {a.value:.6g} → "
        f"{count(b.metrics.get(name))} at {b.value:.6g}"
        for name in LIFECYCLE
        if a.metrics.get(name) != b.metrics.get(name)
    ]
    if not changed:
        return None
    started = [
        name for name in LIFECYCLE if 0 in (a.metrics.get(name), b.metrics.get(name))
        and a.metrics.get(name) != b.metrics.get(name)
    ]  # fmt: skip
    what = "retraining starting" if "retrains" in started else "monitoring acting"
    if not started:
        what = "the number of alerts or retrainings changing"
    return (
        f"The crossing coincides with {what} inside the last bracket of {path} "
        f"({'; '.join(changed)}): check the monitoring threshold, not only {path}"
    )


def curve_frame(result: dict[str, Any]) -> pl.DataFrame:
    """The walked curve as a frame, by value: the target's mean and CI, then every summary
    metric's replication mean, one column each (named as in summary.json, cost terms `cost.*`)."""
    schema = {
        "step": pl.Int64,
        "value": pl.Float64,
        "mean": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "holds": pl.Boolean,
        **{name: pl.Float64 for name in sweep.METRICS},
    }
    rows = [
        {**{k: v for k, v in p.items() if k != "metrics"}, **p.get("metrics", {})}
        for p in result["curve"]
    ]
    return pl.DataFrame(rows, schema=schema)


def print_result(result: dict[str, Any], directory: Path) -> None:
    """The curve as a table, then the answer."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(emoji=False)
    view = Table(
        title=escape(f"{result['target']} along {result['path']} (replication means, 95% CI)")
    )
    for name in ("step", result["path"], "mean", "95% CI", "holds", *LIFECYCLE):
        view.add_column(name, justify="right")
    metric = re.split(r"[<>=]", result["target"])[0]  # "silent_failure_rate<=0.002"
    for p in result["curve"]:
        band = metric_band(metric, p["ci_low"], p["ci_high"])
        mark = "yes" if p["holds"] else "no"
        lifecycle = (count(p.get("metrics", {}).get(name)) for name in LIFECYCLE)
        view.add_row(
            str(p["step"]),
            f"{p['value']:.6g}",
            for_metric(metric)(p["mean"], 0),
            band,
            mark,
            *lifecycle,
        )
    console.print(view)
    console.print(result["statement"], markup=False, soft_wrap=True)
    if result.get("coincides"):
        console.print(result["coincides"], markup=False, soft_wrap=True)
    console.print(f"results: {directory}", markup=False)
