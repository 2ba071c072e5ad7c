"""The run report: one self-contained HTML page and its PNG figures, written beside a run's files.

In layers, each importing only those above it:

- `loading`: a run directory read and checked once (`Run`, `load_run`);
- `series`: the data each figure plots, as polars frames (pure, so tests compare them with the
  files they come from);
- `figures`: matplotlib drawings of those series, as PNG bytes;
- `prose`: the verdict, setup line, key numbers and captions in plain words;
- `page`: the HTML page, its style (`style.css`, package data) and writing it all.
"""

from sim.report.figures import FIGURE_NAMES, draw_figures
from sim.report.loading import Run, load_run
from sim.report.page import REPORT_NAME, render_html, write_report
from sim.report.prose import key_numbers, setup_line, verdict
from sim.report.series import (
    cost_series,
    daily_rates,
    event_marks,
    frontier_points,
    latency_series,
)

__all__ = [
    "FIGURE_NAMES",
    "REPORT_NAME",
    "Run",
    "cost_series",
    "daily_rates",
    "draw_figures",
    "event_marks",
    "frontier_points",
    "key_numbers",
    "latency_series",
    "load_run",
    "render_html",
    "setup_line",
    "verdict",
    "write_report",
]
