"""The run report: one self-contained HTML page and its PNG figures, written beside a run's files.

Each figure has a pure function returning the data it plots (a polars frame), so tests compare the
plotted series with the timeseries and events they come from, and a function drawing it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.problems import BadInput

DAY_S = 86400.0
REPORT_NAME = "report.html"
FIGURE_NAMES = ("report-cost.png", "report-rates.png", "report-latency.png", "report-frontier.png")
DPI = 110

DISTILL_COLOR = "#1f6f8b"
TEACHER_COLOR = "#b5532a"
COST_LABELS = {
    "student_gpu_usd": "student GPUs (busy or idle)",
    "teacher_usd": "teacher API calls",
    "verifier_usd": "verifier",
    "human_usd": "human review",
    "fixed_usd": "dataset, training, upkeep",
    "retraining_usd": "retraining",
    "audit_usd": "audits (labelled calls)",
}
EVENT_STYLE: dict[str, dict[str, Any]] = {
    "drift": {"color": "#d9a400", "label": "input drift (ramp shaded)"},
    "alert": {"color": "#c0392b", "label": "monitoring alert"},
    "retraining": {"color": "#3a6fd8", "label": "retraining (old student serves)"},
    "outage": {"color": "#7f7f7f", "label": "teacher outage"},
}


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
        return float(self.summary["horizon_days"])

    @property
    def tick_s(self) -> float:
        configured = self.scenario.get("scenario", {}).get("tick_s")
        if configured:
            return float(configured)
        times = self.timeseries.filter(pl.col("replication") == 0)["time_s"]
        return float(times[1] - times[0]) if times.len() > 1 else self.horizon_days * DAY_S


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


def load_run(run_dir: Path) -> Run:
    """Read a run directory; a missing directory, or a file the report needs that is missing or
    unreadable, is bad input."""
    directory = Path(run_dir)
    expected = "expected a directory written by distill-sim run"
    if not directory.is_dir():
        raise BadInput([f"{directory}: no such directory; {expected}"])
    missing = [n for n in ("summary.json", "timeseries.parquet") if not (directory / n).is_file()]
    if missing:
        raise BadInput([f"{directory}: no {' or '.join(missing)}; {expected}"])
    try:
        summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
        scenario_file = directory / "scenario.toml"
        scenario = (
            tomllib.loads(scenario_file.read_text("utf-8")) if scenario_file.is_file() else {}
        )
        timeseries = pl.read_parquet(directory / "timeseries.parquet")
        events_file = directory / "events.parquet"
        events = (
            pl.read_parquet(events_file)
            if events_file.is_file()
            else pl.DataFrame(schema=EVENTS_SCHEMA)
        )
        compare_file = directory / "compare.parquet"
        compare = pl.read_parquet(compare_file) if compare_file.is_file() else None
    except (OSError, ValueError, pl.exceptions.PolarsError) as unreadable:
        # JSON and TOML decoding errors are ValueErrors
        first_line = str(unreadable).splitlines()[0] if str(unreadable) else ""
        raise BadInput(
            [f"{directory}: unreadable ({type(unreadable).__name__}: {first_line}); {expected}"]
        ) from None
    gaps = [f"summary.json key {k!r}" for k in SUMMARY_KEYS if k not in summary]
    gaps += [f"timeseries column {c!r}" for c in TIMESERIES_COLUMNS if c not in timeseries.columns]
    if gaps:
        raise BadInput([f"{directory}: no {', '.join(gaps)}; {expected}"])
    return Run(directory, summary, scenario, timeseries, events, compare)


# --- the data each figure plots -------------------------------------------------------------


def cost_series(timeseries: pl.DataFrame, tick_s: float, horizon_days: float) -> pl.DataFrame:
    """Cumulative distill-and-route and teacher-only cost at each tick's end (mean over
    replications): columns day, distill_usd, teacher_only_usd."""
    return (
        timeseries.group_by("tick")
        .agg(
            pl.col("time_s").first(),
            pl.col("cumulative_cost_usd").mean().alias("distill_usd"),
            pl.col("cumulative_teacher_only_usd").mean().alias("teacher_only_usd"),
        )
        .sort("tick")
        .select(
            ((pl.col("time_s") + tick_s) / DAY_S).clip(upper_bound=horizon_days).alias("day"),
            "distill_usd",
            "teacher_only_usd",
        )
    )


def daily_rates(timeseries: pl.DataFrame) -> pl.DataFrame:
    """Fallback and silent-failure rates per day (a tick belongs to the day it starts in): each
    replication's calls-weighted daily share, then the mean over replications. Columns day (the
    day's index, 0 = the first day), fallback_rate, silent_failure_rate."""
    rates = ("fallback_rate", "silent_failure_rate")
    per_replication = (
        timeseries.with_columns((pl.col("time_s") // DAY_S).cast(pl.Int64).alias("day"))
        .group_by("replication", "day")
        .agg(
            *(((pl.col(r) * pl.col("calls")).sum() / pl.col("calls").sum()).alias(r) for r in rates)
        )
    )
    return per_replication.group_by("day").agg(pl.col(r).mean() for r in rates).sort("day")


def latency_series(timeseries: pl.DataFrame) -> pl.DataFrame:
    """The p99 latency of each tick (mean over replications; null for a tick without calls):
    columns day (tick start), latency_p99_s."""
    return (
        timeseries.group_by("tick")
        .agg(pl.col("time_s").first(), pl.col("latency_p99_s").mean())
        .sort("tick")
        .select((pl.col("time_s") / DAY_S).alias("day"), "latency_p99_s")
    )


def event_marks(events: pl.DataFrame, horizon_days: float) -> pl.DataFrame:
    """The lowest-numbered replication's events as marks: columns kind (drift, alert, retraining,
    outage), start_day, end_day (equal to start_day for an instant; the horizon for something
    still under way), detail. A drift's end pairs with its start by its drift[i] label, a
    retraining's by the student version, an outage's with the next end."""
    schema = {
        "kind": pl.String,
        "start_day": pl.Float64,
        "end_day": pl.Float64,
        "detail": pl.String,
    }
    if events.height == 0:
        return pl.DataFrame(schema=schema)
    first = events["replication"].min()
    rows = events.filter(pl.col("replication") == first).sort("time_s", maintain_order=True)
    marks: list[tuple[str, float, float, str]] = []
    open_marks: dict[tuple[str, str], int] = {}
    for row in rows.iter_rows(named=True):
        kind, detail, day = row["kind"], row["detail"], row["time_s"] / DAY_S
        family, _, phase = kind.partition("_")
        key = (family, _pairing_key(family, detail))
        if phase == "end":
            if key in open_marks:
                index = open_marks.pop(key)
                k, start, _end, what = marks[index]
                marks[index] = (k, start, day, what)
            continue
        marks.append((family, day, day, detail))
        if phase == "start":
            open_marks[key] = len(marks) - 1
    # A retraining or an outage still under way lasts to the horizon; a drift without a ramp
    # has no end and stays an instant.
    for index in open_marks.values():
        k, start, _end, what = marks[index]
        if k != "drift":
            marks[index] = (k, start, horizon_days, what)
    return pl.DataFrame(marks, schema=schema, orient="row")


def _pairing_key(family: str, detail: str) -> str:
    if family == "drift":
        return detail.partition(":")[0]  # "drift[0]: mix" starts what "drift[0]" ends
    if family == "retraining":
        return detail.split()[1] if len(detail.split()) > 1 else detail  # "student v2 ..."
    return ""


def frontier_points(compare: pl.DataFrame) -> pl.DataFrame:
    """compare.parquet's cost per call and silent-failure rate per variant, with a label (the
    policy and the grid point, each field without its table: threshold=0.9) and whether it is on
    the Pareto frontier (not dominated on cost, silent failures and p99)."""
    short_point = pl.col("point").str.replace_all(r"(^|, )[A-Za-z_]+\.", "${1}")
    return compare.select(
        pl.concat_str(
            pl.col("policy"),
            pl.when(pl.col("point") != "").then(pl.lit(" ") + short_point).otherwise(pl.lit("")),
        ).alias("label"),
        "policy",
        "cost_per_call_usd",
        "silent_failure_rate",
        "latency_p99_s",
        (~pl.col("dominated")).alias("frontier"),
    )


# --- the figures ----------------------------------------------------------------------------


def _figure(width: float, height: float, top_in: float = 0.12) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)  # Agg: no display, no global pyplot state to close
    # Fixed margins in inches: a layout engine would draw each figure twice (40% of the time).
    figure.subplots_adjust(
        left=0.85 / width,
        right=1 - 0.15 / width,
        top=1 - top_in / height,
        bottom=0.55 / height,
        hspace=0.08,
    )
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return buffer.getvalue()


def _style(ax: Axes) -> None:
    ax.grid(True, color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _usd(value: float, _pos: Any = None) -> str:
    if abs(value) >= 10_000:
        return f"${value / 1000:,.0f}k"
    return f"${value:,.0f}"


def _draw_events(
    ax: Axes, marks: pl.DataFrame, kinds: tuple[str, ...], labelled: set[str], spans: bool = True
) -> None:
    """Vertical lines for instants, shaded spans for what lasts (unless `spans` is off: starts
    only); each kind labelled once."""
    for row in marks.iter_rows(named=True):
        kind = row["kind"]
        if kind not in kinds:
            continue
        style = EVENT_STYLE[kind]
        label = style["label"] if kind not in labelled else None
        labelled.add(kind)
        start, end = row["start_day"], row["end_day"]
        alert = kind == "alert"  # drawn above a retraining it starts at the same instant
        ax.axvline(
            start,
            color=style["color"],
            linestyle="--" if alert else "-",
            linewidth=1.6 if alert else 1.2,
            zorder=3 if alert else 2,
            label=label,
        )
        if spans and end > start and kind == "outage":  # hatched: never mistaken for overlaps
            ax.axvspan(
                start,
                end,
                facecolor="none",
                edgecolor=style["color"],
                hatch="////",
                linewidth=0,
                alpha=0.6,
            )
        elif spans and end > start:
            ax.axvspan(start, end, color=style["color"], alpha=0.13, linewidth=0)
            if kind == "retraining":
                ax.axvline(end, color=style["color"], linewidth=1.3)


def cost_figure(run: Run) -> bytes:
    """Cumulative cost of distill-and-route against teacher-only, the break-even day marked."""
    data = cost_series(run.timeseries, run.tick_s, run.horizon_days)
    day, distill, teacher = (data[c].to_numpy() for c in data.columns)
    figure = _figure(9.0, 4.0)
    ax = figure.add_subplot()
    _style(ax)
    policy = run.summary.get("policy", "distill")
    ax.plot(day, distill, color=DISTILL_COLOR, linewidth=2, label=f"distill and route ({policy})")
    ax.plot(day, teacher, color=TEACHER_COLOR, linewidth=2, label="teacher only")
    ax.fill_between(
        day,
        distill,
        teacher,
        where=distill <= teacher,
        color=DISTILL_COLOR,
        alpha=0.08,
        linewidth=0,
        interpolate=True,
    )
    ax.fill_between(
        day,
        distill,
        teacher,
        where=distill > teacher,
        color=TEACHER_COLOR,
        alpha=0.08,
        linewidth=0,
        interpolate=True,
    )
    marks = event_marks(run.events, run.horizon_days)
    _draw_events(ax, marks, ("retraining",), {"retraining"}, spans=False)
    if marks.filter(pl.col("kind") == "retraining").height:
        ax.plot([], [], color=EVENT_STYLE["retraining"]["color"], label="retraining paid")
    even = run.summary.get("break_even_day")
    if even is not None:
        ax.axvline(even, color="#2e7d32", linestyle="--", linewidth=1.3)
        ax.annotate(
            f"break-even: day {even:.1f}",
            xy=(even, 0.97),
            xycoords=("data", "axes fraction"),
            xytext=(6, 0),
            textcoords="offset points",
            va="top",
            color="#2e7d32",
        )
    else:
        ax.annotate(
            "no break-even within the horizon",
            xy=(0.02, 0.97),
            xycoords="axes fraction",
            va="top",
            color=TEACHER_COLOR,
        )
    ax.set_xlim(0, run.horizon_days)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    ax.set_xlabel("day")
    ax.set_ylabel("cumulative cost")
    ax.legend(loc="lower right", frameon=False, fontsize="small")
    return _png(figure)


def rates_figure(run: Run) -> bytes:
    """Daily fallback and silent-failure rates with drift, alerts, retraining and outages."""
    data = daily_rates(run.timeseries)
    marks = event_marks(run.events, run.horizon_days)
    middle = data["day"].to_numpy() + 0.5
    figure = _figure(9.0, 5.8, top_in=0.55)  # room for one legend above both panels
    top, bottom = figure.subplots(2, 1, sharex=True)
    labelled: set[str] = set()
    kinds = tuple(EVENT_STYLE)
    for ax, column, color, name in (
        (top, "fallback_rate", DISTILL_COLOR, "fallback rate"),
        (bottom, "silent_failure_rate", "#8e24aa", "silent failure rate"),
    ):
        _style(ax)
        values = data[column].to_numpy()
        ax.plot(middle, values, color=color, linewidth=1.8, marker="o", markersize=2.5)
        _draw_events(ax, marks, kinds, labelled)
        ax.set_ylabel(name)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=_decimals(values)))
        ax.set_ylim(bottom=0, top=_headroom(values))
    alert_at = run.scenario.get("monitoring", {}).get("fallback_rate_alert")
    if alert_at and alert_at < 1:
        top.axhline(
            alert_at,
            color=EVENT_STYLE["alert"]["color"],
            linestyle=":",
            linewidth=1.2,
            label=f"alert threshold ({100 * alert_at:g}%, windowed)",
        )
        top.set_ylim(top=max(top.get_ylim()[1], alert_at * 1.15))
    teacher_error = _teacher_error(run.summary)
    if teacher_error is not None:
        bottom.axhline(
            teacher_error,
            color=TEACHER_COLOR,
            linestyle=":",
            linewidth=1.4,
            label=f"teacher's own error rate ({100 * teacher_error:.2f}%)",
        )
        bottom.set_ylim(top=max(bottom.get_ylim()[1], teacher_error * 1.15))
    bottom.set_xlim(0, run.horizon_days)
    bottom.set_xlabel("day")
    handles, labels = top.get_legend_handles_labels()
    more_handles, more_labels = bottom.get_legend_handles_labels()
    if handles or more_handles:
        figure.legend(
            handles + more_handles,
            labels + more_labels,
            loc="upper center",
            ncols=3,
            frameon=False,
            fontsize="small",
        )
    return _png(figure)


def latency_figure(run: Run) -> bytes:
    """The p99 latency of each tick over the horizon, with the run's p50 and p99."""
    data = latency_series(run.timeseries)
    figure = _figure(9.0, 3.6)
    ax = figure.add_subplot()
    _style(ax)
    hours = run.tick_s / 3600
    tick_name = "hour" if math.isclose(hours, 1) else f"{hours:g}-hour tick"
    ax.plot(
        data["day"].to_numpy(),
        data["latency_p99_s"].to_numpy(),
        color=DISTILL_COLOR,
        linewidth=0.9,
        label=f"p99 of each {tick_name}",
    )
    for key, style, name in (("latency_p99_s", "--", "p99"), ("latency_p50_s", ":", "p50")):
        value = run.summary.get(key)
        if value is not None:
            ax.axhline(
                value,
                color="#222222",
                linestyle=style,
                linewidth=1.5,
                zorder=3,
                label=f"whole run {name}: {value:.3g} s",
            )
    deadline = run.scenario.get("router", {}).get("deadline_s") or 0
    if deadline > 0:
        ax.axhline(deadline, color=TEACHER_COLOR, linewidth=1.2, label=f"deadline {deadline:g} s")
    _draw_events(ax, event_marks(run.events, run.horizon_days), ("outage",), set())
    ax.set_xlim(0, run.horizon_days)
    ax.set_ylim(0, _headroom(data["latency_p99_s"].to_numpy(), 1.4))
    ax.set_xlabel("day")
    ax.set_ylabel("latency (s)")
    ax.legend(loc="upper left", frameon=False, fontsize="small", ncols=4)
    return _png(figure)


def frontier_figure(run: Run) -> bytes:
    """Cost per call against silent-failure rate for every compared variant."""
    assert run.compare is not None
    data = frontier_points(run.compare)
    figure = _figure(9.0, 4.2)
    ax = figure.add_subplot()
    _style(ax)
    on = data.filter(pl.col("frontier"))
    off = data.filter(~pl.col("frontier"))
    if off.height:
        ax.scatter(
            off["cost_per_call_usd"],
            off["silent_failure_rate"],
            s=30,
            facecolors="none",
            edgecolors="#999999",
            label="dominated",
        )
    ax.scatter(
        on["cost_per_call_usd"],
        on["silent_failure_rate"],
        s=60,
        marker="*",
        color=DISTILL_COLOR,
        label="Pareto frontier (cost, silent failures, p99)",
    )
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]), top=_headroom(data["silent_failure_rate"], 1.2))
    middle = sum(ax.get_xlim()) / 2
    # variants at the same point (a policy the grid's field does not touch) share one label
    shared = on.group_by("cost_per_call_usd", "silent_failure_rate", maintain_order=True).agg(
        pl.col("label"), pl.col("policy").unique(maintain_order=True)
    )
    for row in shared.iter_rows(named=True):
        labels, policies = row["label"], row["policy"]
        text = labels[0] if len(labels) == 1 else f"{' / '.join(policies)} ({len(labels)} points)"
        left = row["cost_per_call_usd"] > middle  # keep the label inside the axes
        ax.annotate(
            text,
            (row["cost_per_call_usd"], row["silent_failure_rate"]),
            xytext=(-6 if left else 6, 4),
            textcoords="offset points",
            ha="right" if left else "left",
            fontsize="small",
        )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"${1000 * v:.2f}"))
    ax.yaxis.set_major_formatter(
        PercentFormatter(1.0, decimals=_decimals(data["silent_failure_rate"].to_numpy()))
    )
    ax.set_xlabel("cost per 1,000 calls")
    ax.set_ylabel("silent failure rate")
    ax.legend(loc="best", frameon=False, fontsize="small")
    return _png(figure)


def _decimals(values: Any) -> int:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    return 0 if top >= 0.1 else 1 if top >= 0.01 else 2


def _headroom(values: Any, factor: float = 1.25) -> float:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    return top * factor if top > 0 else 0.01


def _teacher_error(summary: dict[str, Any]) -> float | None:
    error, excess = summary.get("error_rate"), summary.get("excess_error_rate")
    if error is None or excess is None:
        return None
    return float(error) - float(excess)


# --- the page -------------------------------------------------------------------------------


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    sign = "−" if value < 0 else ""
    return f"{sign}${abs(value):,.0f}" if abs(value) >= 100 else f"{sign}${abs(value):,.2f}"


def _pct(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.{digits}f}%".replace("-", "−")


def _number(value: float | None) -> str:
    return (
        "—" if value is None else f"{value:,.0f}" if float(value).is_integer() else f"{value:.1f}"
    )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g} s"


def _count(n: float, one: str, many: str) -> str:
    n_int = round(n)
    if not math.isclose(n, n_int):
        return f"{n:.1f} {many} (mean over replications)"
    if one == "time" and n_int in (1, 2):
        return ("once", "twice")[n_int - 1]
    return f"{'no' if n_int == 0 else n_int} {one if n_int == 1 else many}"


def verdict(run: Run) -> tuple[bool | None, str]:
    """Whether distillation pays (None for the teacher-only baseline) and a plain-language
    paragraph saying so, with the numbers behind it."""
    s = run.summary
    cost, teacher_only = s["cost"]["total_usd"], s["teacher_only_cost_usd"]
    savings, ratio = s.get("savings_usd") or 0.0, s.get("savings_ratio")
    days = f"{run.horizon_days:g}-day"
    policy = s.get("policy", "")
    parts: list[str] = []
    pays: bool | None
    if policy == "teacher_only":
        pays = None
        parts.append(
            f"This run is the teacher-only baseline: every call goes to the teacher API, costing "
            f"{_money(cost)} over the {days} horizon. There is no student to pay off."
        )
    else:
        pays = savings > 0
        what = f"Distilling into a student and routing with the <b>{html.escape(policy)}</b> policy"
        if pays:
            parts.append(
                f"{what} <b>pays</b>: it costs {_money(cost)} over the {days} horizon against "
                f"{_money(teacher_only)} for sending every call to the teacher, saving "
                f"<b>{_money(savings)}</b> ({_pct(ratio, 1)} of the teacher-only bill)."
            )
        else:
            parts.append(
                f"{what} <b>does not pay</b> within the {days} horizon: it costs {_money(cost)} "
                f"against {_money(teacher_only)} for sending every call to the teacher, "
                f"{_money(-savings)} more."
            )
        even = s.get("break_even_day")
        if even is not None:
            parts.append(
                f"It breaks even on <b>day {even:.1f}</b>: from then on its cumulative cost "
                f"stays at or below the teacher-only cost."
            )
        elif pays:  # a mean over replications, one of which never broke even
            parts.append("In at least one replication it does not break even within the horizon.")
        else:
            parts.append("It <b>never breaks even within the horizon</b>.")
        parts.append(_routing_sentence(run))
    silent, teacher_error = s.get("silent_failure_rate"), _teacher_error(s)
    if policy != "teacher_only" and silent is not None:
        per_10k = f"{10_000 * silent:,.0f}"
        sentence = (
            f"Silent failures — a wrong student answer returned with nothing flagging it — hit "
            f"<b>{_pct(silent)}</b> of calls (about {per_10k} in 10,000)"
        )
        if teacher_error is not None:
            relation = "below" if silent < teacher_error else "above"
            sentence += (
                f", {relation} the {_pct(teacher_error)} the teacher alone would have got wrong "
                f"on the same calls"
            )
        parts.append(sentence + f"; in all {_pct(s.get('error_rate'))} of answers were wrong.")
    secondary = s.get("secondary_silent_failure_rate") or 0.0
    if secondary > 0:
        parts.append(
            f"Outputs nobody routes on (secondary outputs) failed silently on {_pct(secondary)} "
            f"of calls."
        )
    alerts, retrains = s.get("alerts") or 0, s.get("retrains") or 0
    if alerts or retrains:
        retraining_usd = s["cost"].get("retraining_usd") or 0.0
        paid = f" (costing {_money(retraining_usd)})" if retraining_usd else ""
        retrained = (
            f"the student was retrained {_count(retrains, 'time', 'times')}{paid}"
            if retrains
            else "the student was not retrained"
        )
        parts.append(f"Monitoring raised {_count(alerts, 'alert', 'alerts')} and {retrained}.")
    elif policy != "teacher_only":
        parts.append("Monitoring raised no alert and the student was never retrained.")
    return pays, " ".join(parts)


def _routing_sentence(run: Run) -> str:
    """What the router did, in the policy's own terms."""
    s = run.summary
    if s.get("policy") == "ensemble":
        return (
            f"The teacher ran on every call beside the student and overrode the student's first "
            f"answer on {_pct(s.get('override_rate'), 1)} of calls."
        )
    if s.get("policy") == "student_only":
        return "No call fell back: the student answered everything."
    human = run.scenario.get("verifier", {}).get("on_flag") == "human"
    where = (
        "went to human review"
        if human and s.get("policy") == "verify"
        else "fell back to the teacher"
    )
    return f"{_pct(s.get('fallback_rate'), 1)} of calls {where}."


def setup_line(run: Run) -> str:
    """One sentence on what was simulated, for a reader who never opened the scenario file."""
    sc, s = run.scenario, run.summary
    traffic = sc.get("traffic", {})
    router = sc.get("router", {})
    student = sc.get("student", {})
    teacher = sc.get("teacher", {})
    bits = [f"{s.get('calls', 0):,.0f} calls over {run.horizon_days:g} days"]
    if traffic.get("calls_per_day"):
        bits[0] += f" (about {traffic['calls_per_day']:,.0f} a day)"
    policy = router.get("policy", s.get("policy"))
    routing = f"routed by <b>{html.escape(str(policy))}</b>"
    if policy in ("cascade", "verify") and router.get("threshold") is not None:
        routing += f" at confidence threshold {router['threshold']:g}"
    bits.append(routing)
    segments = sc.get("segments", [])
    if segments:
        total = sum(seg.get("weight", 0) for seg in segments) or 1.0
        mix = ", ".join(
            f"{html.escape(seg['name'])} {100 * seg.get('weight', 0) / total:.0f}%"
            for seg in segments
        )
        bits.append(f"input mix at day 0: {mix}")
    if student and policy != "teacher_only":
        bits.append(
            f"student on {student.get('servers', 1)} GPU server(s) × "
            f"{student.get('concurrency', 1)} slots at ${student.get('gpu_hour_usd', 0):g}/hour"
        )
    if teacher:
        bits.append(
            f"teacher at ${teacher.get('input_usd_per_mtok', 0):g} / "
            f"${teacher.get('output_usd_per_mtok', 0):g} per million tokens in / out"
        )
    return "; ".join(bits) + "."


def key_numbers(summary: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """The key numbers by theme: (label, value, 95% interval or '') rows."""
    ci = summary.get("ci95") or {}
    cost = summary["cost"]

    def row(label: str, key: str, fmt: Callable[[Any], str], value: Any = None) -> tuple:
        value = summary.get(key) if value is None else value
        band = ci.get(key)
        return (label, fmt(value), f"{fmt(band[0])} – {fmt(band[1])}" if band else "")

    def per_call(v: float | None) -> str:
        return "—" if v is None else f"${1000 * v:.3f}"

    money = [
        (label, _money(cost[term]), _band(ci.get(f"cost.{term}"), _money))
        for term, label in COST_LABELS.items()
        if cost.get(term)
    ]
    money += [
        (
            "total (distill and route)",
            _money(cost["total_usd"]),
            _band(ci.get("cost.total_usd"), _money),
        ),
        row("teacher only", "teacher_only_cost_usd", _money),
        row("savings", "savings_usd", _money),
        row("savings ratio", "savings_ratio", lambda v: _pct(v, 1)),
        row("cost per 1,000 calls", "cost_per_call_usd", per_call),
        row("break-even day", "break_even_day", lambda v: "never" if v is None else f"{v:.1f}"),
    ]
    teacher_error = _teacher_error(summary)
    quality = [
        row("fallback rate", "fallback_rate", _pct),
        row("silent failure rate", "silent_failure_rate", _pct),
        ("teacher's own error rate", _pct(teacher_error), ""),
        row("error rate", "error_rate", _pct),
        row("excess error vs teacher", "excess_error_rate", _pct),
        row("offline eval error", "eval_error_rate", _pct),
        row("error seen by audits", "observed_error_rate", _pct),
        row("secondary silent failures", "secondary_silent_failure_rate", _pct),
        row("failed calls", "failed_rate", _pct),
        row("alerts", "alerts", _number),
        row("retrainings", "retrains", _number),
    ]
    latency = [
        row("p50", "latency_p50_s", _seconds),
        row("p95", "latency_p95_s", _seconds),
        row("p99", "latency_p99_s", _seconds),
        row("first answer p99", "first_answer_p99_s", _seconds),
        row("mean", "latency_mean_s", _seconds),
        row("SLO attainment", "slo_attainment", _pct),
        row("student queue wait (mean)", "queue_wait_mean_s", _seconds),
        row("student GPU utilization", "student_utilization", lambda v: _pct(v, 1)),
    ]
    return {"Money": money, "Quality": quality, "Latency": latency}


def _band(band: list[float] | None, fmt: Callable[[Any], str]) -> str:
    return f"{fmt(band[0])} – {fmt(band[1])}" if band else ""


CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
       max-width: 1000px; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .2rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .6rem; border-bottom: 1px solid #ddd;
     padding-bottom: .2rem; }
.description { font-size: 1.1rem; color: #444; margin: 0 0 .4rem; }
.meta, .setup, figcaption, footer { color: #555; font-size: .9rem; }
.verdict { border-left: 5px solid #888; background: #f6f6f6; padding: .8rem 1.1rem;
           margin: 1.2rem 0; }
.verdict.pays { border-color: #2e7d32; background: #f1f8f1; }
.verdict.loses { border-color: #b5532a; background: #fbf2ee; }
.verdict .headline { font-size: 1.2rem; font-weight: 600; margin: 0 0 .3rem; }
.verdict p { margin: 0; }
.warnings { color: #8a4b00; padding-left: 1.2rem; }
.numbers { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1.2rem; align-items: start; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
td { padding: .18rem .3rem; border-bottom: 1px solid #eee; }
td.value { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.band { display: block; color: #777; font-size: .75rem; }
figure { margin: 1.2rem 0 2rem; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
code { background: #f2f2f2; padding: 0 .25rem; border-radius: 3px; }
"""


def _table(title: str, rows: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td class='value'>{html.escape(value)}"
        + (f"<span class='band'>95% CI {html.escape(band)}</span>" if band else "")
        + "</td></tr>"
        for label, value, band in rows
    )
    return f"<table><caption>{html.escape(title)}</caption>{body}</table>"


def _captions(run: Run) -> dict[str, str]:
    reps = int(run.summary.get("replications") or 1)
    mean = f" (mean over {reps} replications)" if reps > 1 else ""
    events_of = " Events are those of replication 0." if reps > 1 else ""
    retrained = bool(run.events.filter(pl.col("kind") == "retraining_start").height)
    hours = run.tick_s / 3600
    tick = "hour" if math.isclose(hours, 1) else f"{hours:g}-hour tick"
    return {
        "report-cost.png": (
            f"<b>Does it pay, and when?</b> Cumulative cost of distill-and-route (GPUs, teacher "
            f"fallbacks, dataset and training on day 0, maintenance, retraining, audits) against "
            f"sending every call to the teacher{mean}, at the end of each {tick}. "
            + (
                "The dashed green line is the break-even day."
                if run.summary.get("break_even_day") is not None
                else "The curves do not cross for good within the horizon."
            )
            + (" Blue lines: retrainings paid." if retrained else "")
            + events_of
        ),
        "report-rates.png": (
            f"<b>Quality over time.</b> Daily fallback rate (top) and silent-failure rate (bottom)"
            f"{mean}: each day's share of its calls. Shaded yellow: an input-drift ramp; dashed "
            f"red: a monitoring alert; shaded blue: a retraining, the old student serving until "
            f"the new one is deployed; hatched grey: a teacher outage.{events_of} The dotted "
            f"line in the bottom panel is the error rate the teacher alone would have had on the "
            f"same calls."
        ),
        "report-latency.png": (
            f"<b>Latency.</b> The run directory keeps one latency percentile per {tick}, so this "
            f"is the p99 of each {tick}{mean} over the horizon (not a full distribution), with "
            f"the p50 and p99 of the whole run."
        ),
        "report-frontier.png": (
            "<b>Which policy, at which setting?</b> Cost per 1,000 calls against the silent-"
            "failure rate for every policy and grid point in compare.parquet, on one request "
            "stream. Stars are on the Pareto frontier (no other variant is at least as good on "
            "cost, silent failures and p99 latency and better on one)."
        ),
    }


def render_html(run: Run, figures: dict[str, bytes]) -> str:
    """The page: title, verdict, key numbers, then the figures as data URIs."""
    s = run.summary
    about = run.scenario.get("scenario", {})
    name = html.escape(str(about.get("name") or s.get("scenario", "run")))
    description = html.escape(str(about.get("description") or ""))
    pays, paragraph = verdict(run)
    headline, css_class = {
        True: ("Distillation pays off.", "pays"),
        False: ("Distillation does not pay off.", "loses"),
        None: ("Teacher-only baseline.", ""),
    }[pays]
    reps = int(s.get("replications") or 1)
    meta = (
        f"policy {html.escape(str(s.get('policy')))} · {run.horizon_days:g} days · seed "
        f"{s.get('seed')} · {reps} replication{'s' if reps != 1 else ''}"
        + (" (figures are means over replications)" if reps > 1 else "")
        + f" · run directory <code>{html.escape(str(_shown(run.directory)))}</code>"
    )
    warnings = s.get("warnings") or []
    warning_list = (
        "<ul class='warnings'>" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>"
        if warnings
        else ""
    )
    tables = "".join(_table(title, rows) for title, rows in key_numbers(s).items())
    captions = _captions(run)
    figure_html = "".join(
        f"<figure><img alt='{html.escape(file)}' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode('ascii')}'><figcaption>{captions[file]} "
        f"<i>({html.escape(file)})</i></figcaption></figure>"
        for file, png in figures.items()
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{name} — distill-sim report</title><style>{CSS}</style></head><body>"
        f"<h1>{name}</h1>"
        + (f"<p class='description'>{description}</p>" if description else "")
        + f"<p class='meta'>{meta}</p>"
        f"<p class='setup'>{setup_line(run)}</p>"
        f"<div class='verdict {css_class}'><p class='headline'>{headline}</p>"
        f"<p>{paragraph}</p></div>{warning_list}"
        f"<h2>Key numbers</h2><div class='numbers'>{tables}</div>"
        f"<h2>Figures</h2>{figure_html}"
        f"<footer>Written by distill-sim; regenerate with <code>distill-sim report "
        f"{html.escape(str(_shown(run.directory)))}</code>. Intervals are 95% t-intervals over "
        f"replications when there are two or more.</footer>"
        "</body></html>\n"
    )


def _write_atomically(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    staging.write_bytes(data)
    os.replace(staging, path)


def _shown(directory: Path) -> Path:
    """The run directory as it will be named: a report is written before the staging directory
    (.NAME.tmp-PID, see sim.results) is renamed into place."""
    match = re.fullmatch(r"\.(.+)\.tmp-\d+", directory.name)
    return directory.with_name(match[1]) if match else directory


def write_report(run_dir: Path) -> Path:
    """Write report.html (self-contained) and its PNG figures into a run directory."""
    run = load_run(Path(run_dir))
    drawers: dict[str, Callable[[Run], bytes]] = {
        "report-cost.png": cost_figure,
        "report-rates.png": rates_figure,
        "report-latency.png": latency_figure,
    }
    if run.compare is not None and run.compare.height:
        drawers["report-frontier.png"] = frontier_figure
    figures = {file: draw(run) for file, draw in drawers.items()}
    for file in FIGURE_NAMES:
        path = run.directory / file
        if file in figures:
            _write_atomically(path, figures[file])
        elif path.exists():  # a frontier from an earlier compare.parquet that is gone
            path.unlink()
    report = run.directory / REPORT_NAME
    _write_atomically(report, render_html(run, figures).encode("utf-8"))
    return report
