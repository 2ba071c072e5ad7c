"""The run report: one self-contained HTML page and its PNG figures, written beside a run's files.

In layers, each importing only those above it:

- `loading`: a run directory read and checked once (`Run`, `load_run`), or a compare directory
  (`Comparison`, `load_comparison`; `load_any` takes either);
- `series`: the data each figure plots, as polars frames (pure, so tests compare them with the
  files they come from);
- `figures`: matplotlib drawings of those series, as PNG bytes;
- `prose`: the verdict, setup line, key numbers and captions in plain words;
- `page`: the HTML page, its style (`style.css`, package data) and writing it all.
"""

from sim.report.figures import COMPARISON_FIGURES, FIGURE_NAMES, draw_figures
from sim.report.loading import Comparison, Run, load_any, load_comparison, load_run
from sim.report.page import REPORT_NAME, render_comparison_html, render_html, write_report
from sim.report.prose import comparison_paragraph, key_numbers, setup_line, verdict
from sim.report.series import (
    cost_series,
    daily_rates,
    event_marks,
    frontier_points,
    latency_series,
    policy_rows,
)

__all__ = [
    "COMPARISON_FIGURES",
    "FIGURE_NAMES",
    "REPORT_NAME",
    "Comparison",
    "Run",
    "comparison_paragraph",
    "cost_series",
    "daily_rates",
    "draw_figures",
    "event_marks",
    "frontier_points",
    "key_numbers",
    "latency_series",
    "load_any",
    "load_comparison",
    "load_run",
    "policy_rows",
    "render_comparison_html",
    "render_html",
    "setup_line",
    "verdict",
    "write_report",
]
