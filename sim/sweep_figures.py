"""The sweep's figure: a line per metric over one axis, a heatmap per metric over two."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim import results

SHOWN = (
    ("cost_per_call_usd", "cost per call (USD)"),
    ("savings_ratio", "savings ratio"),
    ("fallback_rate", "fallback rate"),
    ("silent_failure_rate", "silent failure rate"),
    ("error_rate", "error rate"),
    ("latency_p99_s", "latency p99 (s)"),
)


def write_figure(path: Path, sweep: pl.DataFrame, paths: list[str]) -> Path | None:
    """Draw sweep.png from the point means; None (no file) beyond two axes or without means."""
    means = sweep.filter(pl.col("replication").is_null())
    if means.is_empty() or len(paths) > 2:
        return None
    figure = Figure(figsize=(13.5, 7.0), dpi=100)
    FigureCanvasAgg(figure)  # Agg: no display, no global pyplot state to close
    axes = figure.subplots(2, 3).ravel()
    for ax, (metric, title) in zip(axes, SHOWN, strict=True):
        ax.set_title(title, fontsize=10)
        if len(paths) == 1:
            _line(ax, means, paths[0], metric)
        else:
            _heatmap(figure, ax, means, paths, metric)
    figure.tight_layout()
    return results.write_file(path, lambda staging: figure.savefig(staging, format="png"))


def _positions(column: pl.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numbers where the axis is numeric, else evenly spaced categories with their labels."""
    if column.dtype.is_numeric():
        return column.to_numpy(), None
    labels = list(dict.fromkeys(column.to_list()))
    return np.array([labels.index(v) for v in column.to_list()], dtype=float), labels


def _line(ax: Axes, means: pl.DataFrame, path: str, metric: str) -> None:
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


def _heatmap(figure: Figure, ax: Axes, means: pl.DataFrame, paths: list[str], metric: str) -> None:
    x, x_labels = _positions(means[paths[0]])
    y, y_labels = _positions(means[paths[1]])
    z = means[metric].to_numpy().astype(float)
    xs, ys = np.unique(x), np.unique(y)
    if xs.size * ys.size == means.height:  # a full grid: one cell per point
        cells = np.full((ys.size, xs.size), np.nan)
        cells[np.searchsorted(ys, y), np.searchsorted(xs, x)] = z
        image: Any = ax.imshow(cells, origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(xs.size), x_labels or [f"{v:.4g}" for v in xs], fontsize=7)
        ax.set_yticks(range(ys.size), y_labels or [f"{v:.4g}" for v in ys], fontsize=7)
    else:  # scattered points (--random): coloured dots
        image = ax.scatter(x, y, c=z, cmap="viridis", s=18)
    figure.colorbar(image, ax=ax)
    ax.set_xlabel(paths[0], fontsize=9)
    ax.set_ylabel(paths[1], fontsize=9)
