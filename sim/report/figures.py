"""The report's matplotlib figures, each drawn from a series in `sim.report.series` into PNG
bytes (Agg canvases, no pyplot state)."""

from __future__ import annotations

import io
import math
from typing import Any

import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.formatting import money, money_short, seconds, share
from sim.report.loading import Run
from sim.report.series import (
    cost_series,
    daily_rates,
    event_marks,
    frontier_points,
    latency_series,
    teacher_error,
)

DPI = 110
DISTILL_COLOR = "#1f6f8b"
TEACHER_COLOR = "#b5532a"
EVENT_STYLE: dict[str, dict[str, Any]] = {
    "drift": {"color": "#d9a400", "label": "input drift (ramp shaded)"},
    "alert": {"color": "#c0392b", "label": "monitoring alert"},
    "retraining": {"color": "#3a6fd8", "label": "retraining (old student serves)"},
    "outage": {"color": "#7f7f7f", "label": "teacher outage"},
}


def _figure(width: float, height: float, top_in: float = 0.12) -> Figure:
    """An Agg figure with fixed margins (inches) and room `top_in` above the axes."""
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
    """The figure as PNG bytes; the figure is cleared to free its artists."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    figure.clear()
    return buffer.getvalue()


def _style(ax: Axes) -> None:
    """A light grid behind the data, no top or right spine."""
    ax.grid(True, color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


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
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: money_short(v)))
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
            label=f"alert threshold ({share(alert_at)}, windowed)",
        )
        top.set_ylim(top=max(top.get_ylim()[1], alert_at * 1.15))
    teacher = teacher_error(run.summary)
    if teacher is not None:
        bottom.axhline(
            teacher,
            color=TEACHER_COLOR,
            linestyle=":",
            linewidth=1.4,
            label=f"teacher's own error rate ({share(teacher)})",
        )
        bottom.set_ylim(top=max(bottom.get_ylim()[1], teacher * 1.15))
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
    ax.plot(
        data["day"].to_numpy(),
        data["latency_p99_s"].to_numpy(),
        color=DISTILL_COLOR,
        linewidth=0.9,
        label=f"p99 of each {run.tick_name}",
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
                label=f"whole run {name}: {seconds(value)}",
            )
    deadline = run.scenario.get("router", {}).get("deadline_s") or 0
    if deadline > 0:
        ax.axhline(
            deadline, color=TEACHER_COLOR, linewidth=1.2, label=f"deadline {seconds(deadline)}"
        )
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
    return draw_frontier(run.compare, "silent_failure_rate")


FRONTIER_AXES = {  # the frontier's other axes: label, and whether it is a share
    "silent_failure_rate": ("silent failure rate", True),
    "latency_p99_s": ("latency p99", False),
}


def draw_frontier(compare: pl.DataFrame, y: str) -> bytes:
    """Cost per call against `y` (silent-failure rate or p99 latency) for every variant of a
    compare.parquet, the Pareto frontier (over cost, silent failures and p99) starred."""
    data = frontier_points(compare)
    name, is_share = FRONTIER_AXES[y]
    figure = _figure(9.0, 4.2)
    ax = figure.add_subplot()
    _style(ax)
    on = data.filter(pl.col("frontier"))
    off = data.filter(~pl.col("frontier"))
    if off.height:
        ax.scatter(
            off["cost_per_call_usd"],
            off[y],
            s=30,
            facecolors="none",
            edgecolors="#999999",
            label="dominated",
        )
    ax.scatter(
        on["cost_per_call_usd"],
        on[y],
        s=60,
        marker="*",
        color=DISTILL_COLOR,
        label="Pareto frontier (cost, silent failures, p99)",
    )
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]), top=_headroom(data[y], 1.2))
    middle = sum(ax.get_xlim()) / 2
    # variants at the same point (a policy the grid's field does not touch) share one label
    shared = on.group_by("cost_per_call_usd", y, maintain_order=True).agg(
        pl.col("label"), pl.col("policy").unique(maintain_order=True)
    )
    for row in shared.iter_rows(named=True):
        labels, policies = row["label"], row["policy"]
        text = labels[0] if len(labels) == 1 else f"{' / '.join(policies)} ({len(labels)} points)"
        left = row["cost_per_call_usd"] > middle  # keep the label inside the axes
        ax.annotate(
            text,
            (row["cost_per_call_usd"], row[y]),
            xytext=(-6 if left else 6, 4),
            textcoords="offset points",
            ha="right" if left else "left",
            fontsize="small",
        )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: money(1000 * v)))
    if is_share:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=_decimals(data[y].to_numpy())))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: seconds(v)))
    ax.set_xlabel("cost per 1,000 calls")
    ax.set_ylabel(name)
    ax.legend(loc="best", frameon=False, fontsize="small")
    return _png(figure)


def _decimals(values: Any) -> int:
    """Decimals for a percentage axis whose largest value is max(values)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    return 0 if top >= 0.1 else 1 if top >= 0.01 else 2


def _headroom(values: Any, factor: float = 1.25) -> float:
    """The axis top: the largest finite value times factor (0.01 when there is none)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    return top * factor if top > 0 else 0.01


FIGURE_NAMES = ("report-cost.png", "report-rates.png", "report-latency.png", "report-frontier.png")


COMPARISON_FIGURES = ("report-frontier.png", "report-frontier-latency.png")


def draw_comparison_figures(compare: pl.DataFrame) -> dict[str, bytes]:
    """A compare directory's figures by file name: cost against silent failures, and against
    p99 latency (the frontier's three axes, two at a time)."""
    if not compare.height:
        return {}
    return {
        COMPARISON_FIGURES[0]: draw_frontier(compare, "silent_failure_rate"),
        COMPARISON_FIGURES[1]: draw_frontier(compare, "latency_p99_s"),
    }


def draw_figures(run: Run) -> dict[str, bytes]:
    """Every figure the run has data for, by file name: the frontier only for a compare run."""
    drawers = dict(zip(FIGURE_NAMES[:3], (cost_figure, rates_figure, latency_figure), strict=True))
    if run.compare is not None and run.compare.height:
        drawers["report-frontier.png"] = frontier_figure
    return {file: draw(run) for file, draw in drawers.items()}
