"""The sweep's figure: a line per metric over one axis, a heatmap per metric over two.

Every heatmap follows one rule: darker is better, whichever way the metric improves, and each cell
prints its value the way the terminal tables do (sim.formatting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim import results
from sim.formatting import for_metric

SHOWN = (  # (metric, title, higher is better)
    ("cost_per_call_usd", "cost per call (USD)", False),
    ("savings_ratio", "savings ratio", True),
    ("fallback_rate", "fallback rate", False),
    ("silent_failure_rate", "silent failure rate", False),
    ("error_rate", "error rate", False),
    ("latency_p99_s", "latency p99 (s)", False),
)
# viridis runs dark to light as values grow: reversed where higher is better, so dark is better
COLOURS = {False: "viridis", True: "viridis_r"}


def write_figure(path: Path, sweep: pl.DataFrame, paths: list[str]) -> Path | None:
    """Draw sweep.png from the point means; None (no file) beyond two axes or without means."""
    means = sweep.filter(pl.col("replication").is_null())
    if means.is_empty() or len(paths) > 2:
        return None
    figure = Figure(figsize=(13.5, 7.0), dpi=100)
    FigureCanvasAgg(figure)  # Agg: no display, no global pyplot state to close
    axes = figure.subplots(2, 3).ravel()
    for ax, (metric, title, higher_better) in zip(axes, SHOWN, strict=True):
        better = "higher" if higher_better else "lower"
        if len(paths) == 1:
            ax.set_title(f"{title}: {better} is better", fontsize=10)
            _line(ax, means, paths[0], metric)
        else:
            ax.set_title(f"{title}: {better} is better (darker)", fontsize=10)
            _heatmap(figure, ax, means, paths, metric, COLOURS[higher_better])
    over = " × ".join(paths)
    figure.suptitle(f"sweep means over replications, by {over}", fontsize=12)
    figure.tight_layout()
    return results.write_file(path, lambda staging: figure.savefig(staging, format="png"))


def _positions(column: pl.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numbers where the axis is numeric, else evenly spaced categories with their labels."""
    if column.dtype.is_numeric():
        return column.to_numpy(), None
    labels = list(dict.fromkeys(column.to_list()))
    return np.array([labels.index(v) for v in column.to_list()], dtype=float), labels


def _line(ax: Axes, means: pl.DataFrame, path: str, metric: str) -> None:
    """One metric over one axis: the means with their 95% band."""
    data = means.sort(path) if means[path].dtype.is_numeric() else means
    x, labels = _positions(data[path])
    y = data[metric].to_numpy().astype(float)
    low = data[f"{metric}.ci_low"].to_numpy().astype(float)
    high = data[f"{metric}.ci_high"].to_numpy().astype(float)
    ax.plot(x, y, marker="o", markersize=3, color="#1f5fa8")
    if np.isfinite(low).any():
        ax.fill_between(x, low, high, color="#1f5fa8", alpha=0.2, linewidth=0, label="95% CI")
    ax.set_xlabel(path, fontsize=9)
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.grid(True, color="#e4e4e4")


def _heatmap(
    figure: Figure, ax: Axes, means: pl.DataFrame, paths: list[str], metric: str, cmap: str
) -> None:
    """One metric over two axes: a cell per point of a full grid, each printing its value; a
    coloured dot per point for scattered (--random) points."""
    x, x_labels = _positions(means[paths[0]])
    y, y_labels = _positions(means[paths[1]])
    z = means[metric].to_numpy().astype(float)
    xs, ys = np.unique(x), np.unique(y)
    if xs.size * ys.size == means.height:  # a full grid: one cell per point
        cells = np.full((ys.size, xs.size), np.nan)
        cells[np.searchsorted(ys, y), np.searchsorted(xs, x)] = z
        image: Any = ax.imshow(cells, origin="lower", aspect="auto", cmap=cmap)
        _annotate(ax, image, cells, metric)
        ax.set_xticks(range(xs.size), x_labels or [f"{v:.4g}" for v in xs], fontsize=7)
        ax.set_yticks(range(ys.size), y_labels or [f"{v:.4g}" for v in ys], fontsize=7)
    else:  # scattered points (--random): coloured dots
        image = ax.scatter(x, y, c=z, cmap=cmap, s=18)
    fmt = for_metric(metric)
    figure.colorbar(image, ax=ax, format=FuncFormatter(lambda v, _p: fmt(v, 0)))
    ax.set_xlabel(paths[0], fontsize=9)
    ax.set_ylabel(paths[1], fontsize=9)


def _annotate(ax: Axes, image: Any, cells: np.ndarray, metric: str) -> None:
    """Each cell's value, light text on dark cells and dark on light ones; a cell too small to
    read stays plain (beyond 12 columns or rows)."""
    rows, columns = cells.shape
    if rows > 12 or columns > 12:
        return
    fmt = for_metric(metric)
    for (row, column), value in np.ndenumerate(cells):
        if not np.isfinite(value):
            continue
        red, green, blue, _alpha = image.cmap(image.norm(value))
        light = 0.299 * red + 0.587 * green + 0.114 * blue > 0.5
        ax.text(column, row, fmt(float(value), 0), ha="center", va="center", fontsize=7,
                color="#111111" if light else "#ffffff")  # fmt: skip
