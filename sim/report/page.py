"""The page: report.html, one self-contained file (figures as data URIs, the style inlined), and
writing it with its PNGs into the run directory, or into a compare directory (the frontier, one
row per variant with its verdict). The only module of the report that writes HTML."""

from __future__ import annotations

import base64
import html
import os
import re
from functools import cache
from importlib import resources
from pathlib import Path

import sim.report.prose as prose
from sim.analysis import decision
from sim.report.figures import (
    COMPARISON_FIGURES,
    FIGURE_NAMES,
    draw_comparison_figures,
    draw_figures,
)
from sim.report.loading import Comparison, Run, is_comparison, load_comparison, load_run
from sim.report.series import policy_rows
from sim.scenario.policies import BY_NAME

REPORT_NAME = "report.html"
CSS_CLASSES = {"pays": "pays", "marginal": "caution", "does_not_pay": "loses", "unsafe": "loses"}


def headline(word: str, baseline: bool, warned: bool) -> tuple[str, str]:
    """The verdict box's headline and CSS class: green only for `pays` with no warning."""
    if baseline:
        return "Teacher-only baseline.", ""
    if word == "pays" and warned:
        return "Distillation pays off, with the warnings below.", "caution"
    return decision.HEADLINES[word], CSS_CLASSES[word]


@cache
def style() -> str:
    """The page's CSS, shipped as sim/report/style.css."""
    return resources.files("sim.report").joinpath("style.css").read_text(encoding="utf-8")


def words(text: str) -> str:
    """Prose as HTML: escaped, with its **stressed** phrases in bold."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))


def _table(title: str, rows: list[prose.Row]) -> str:
    """One theme's key numbers as a table, each interval under its value."""
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td class='value'>{html.escape(value)}"
        + (f"<span class='band'>95% CI {html.escape(band)}</span>" if band else "")
        + "</td></tr>"
        for label, value, band in rows
    )
    return f"<table><caption>{html.escape(title)}</caption>{body}</table>"


def _meta(run: Run) -> str:
    """The line under the title: policy, horizon, seed, replications, where the run lives."""
    s, reps = run.summary, run.replications
    return (
        f"policy {html.escape(str(s.get('policy')))} · {run.horizon_days:g} days · seed "
        f"{s.get('seed')} · {reps} replication{'s' if reps != 1 else ''}"
        + (" (figures are means over replications)" if reps > 1 else "")
        + f" · run directory <code>{html.escape(str(shown(run.directory)))}</code>"
    )


def _figures(run: Run, figures: dict[str, bytes]) -> str:
    """Each figure inline as a data URI, with its caption and file name."""
    captions = prose.captions(run)
    return "".join(
        f"<figure><img alt='{html.escape(file)}' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode('ascii')}'><figcaption>{words(captions[file])} "
        f"<i>({html.escape(file)})</i></figcaption></figure>"
        for file, png in figures.items()
    )


def render_html(run: Run, figures: dict[str, bytes]) -> str:
    """The page: title, verdict, key numbers, then the figures as data URIs."""
    s = run.summary
    about = run.scenario.get("scenario", {})
    name = html.escape(str(about.get("name") or s.get("scenario", "run")))
    description = html.escape(str(about.get("description") or ""))
    word, paragraph = prose.verdict(run)
    warnings = s.get("warnings") or []
    policy = BY_NAME.get(str(s.get("policy")))
    title, css_class = headline(
        word, policy is not None and not policy.uses_student, bool(warnings)
    )
    warning_list = (
        "<ul class='warnings'>" + "".join(f"<li>{html.escape(w)}</li>" for w in warnings) + "</ul>"
        if warnings
        else ""
    )
    tables = "".join(_table(title, rows) for title, rows in prose.key_numbers(s).items())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{name} — distill-sim report</title><style>\n{style()}</style></head><body>"
        f"<h1>{name}</h1>"
        + (f"<p class='description'>{description}</p>" if description else "")
        + f"<p class='meta'>{_meta(run)}</p>"
        f"<p class='setup'>{words(prose.setup_line(run))}</p>"
        f"<div class='verdict {css_class}' data-verdict='{word}'><p class='headline'>{title}</p>"
        f"<p>{words(paragraph)}</p></div>{warning_list}"
        f"<h2>Key numbers</h2><div class='numbers'>{tables}</div>"
        f"<h2>Figures</h2>{_figures(run, figures)}"
        f"<footer>Written by distill-sim; regenerate with <code>distill-sim report "
        f"{html.escape(str(shown(run.directory)))}</code>. Intervals are 95% t-intervals over "
        f"replications when there are two or more.</footer>"
        "</body></html>\n"
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside the target and rename: a reader never sees half a file."""
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    staging.write_bytes(data)
    os.replace(staging, path)


def shown(directory: Path) -> Path:
    """The run directory as it will be named: a report is written before the staging directory
    (.NAME.tmp-PID, see sim.results) is renamed into place."""
    match = re.fullmatch(r"\.(.+)\.tmp-\d+", directory.name)
    return directory.with_name(match[1]) if match else directory


def write_report(run_dir: Path) -> Path:
    """Write report.html (self-contained) and its PNG figures into a run directory, or into a
    compare directory."""
    if Path(run_dir).is_dir() and is_comparison(Path(run_dir)):
        return write_comparison_report(load_comparison(Path(run_dir)))
    run = load_run(Path(run_dir))
    figures = draw_figures(run)
    for file in FIGURE_NAMES:
        path = run.directory / file
        if file in figures:
            _write_atomically(path, figures[file])
        elif path.exists():  # a frontier from an earlier compare.parquet that is gone
            path.unlink()
    report = run.directory / REPORT_NAME
    _write_atomically(report, render_html(run, figures).encode("utf-8"))
    return report


def _head(title: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} — distill-sim report</title><style>\n{style()}</style>"
        "</head><body>"
    )


def _comparison_table(comparison: Comparison) -> str:
    """One row per variant: the frontier's star, the metrics, the verdict and its reason."""
    rows = policy_rows(comparison.summaries)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in prose.COMPARISON_HEADERS)
    body = ""
    for cells, reason in zip(prose.comparison_rows(rows), rows["verdict_reason"], strict=True):
        *rest, verdict = cells
        shown = html.escape(verdict) + (
            f"<span class='band'>{html.escape(reason)}</span>" if reason else ""
        )
        body += (
            "<tr>"
            + "".join(
                ("<td>" if i in (1, 2) else "<td class='value'>") + f"{html.escape(c)}</td>"
                for i, c in enumerate(rest)
            )
            + f"<td>{shown}</td></tr>"
        )
    return f"<table class='comparison'><tr>{head}</tr>{body}</table>"


def _comparison_warnings(comparison: Comparison) -> str:
    """Each variant's warnings, under its name."""
    items = ""
    for row, summary in zip(
        policy_rows(comparison.summaries).iter_rows(named=True), comparison.summaries, strict=True
    ):
        name = row["policy"] + (f" ({row['point']})" if row["point"] else "")
        for line in summary.get("warnings") or []:
            items += f"<li><b>{html.escape(name)}</b>: {html.escape(line)}</li>"
    return f"<h2>Warnings</h2><ul class='warnings'>{items}</ul>" if items else ""


def render_comparison_html(comparison: Comparison, figures: dict[str, bytes]) -> str:
    """The compare directory's page: what the comparison found, one row per variant with its
    verdict, each variant's warnings, then the frontier figures."""
    first = comparison.summaries[0] if comparison.summaries else {}
    rows = policy_rows(comparison.summaries)
    name = comparison.scenario_name
    reps = int(first.get("replications") or 1)
    where = html.escape(str(shown(comparison.directory)))
    captions = prose.comparison_captions()
    figure_html = "".join(
        f"<figure><img alt='{html.escape(file)}' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode('ascii')}'><figcaption>{words(captions[file])} "
        f"<i>({html.escape(file)})</i></figcaption></figure>"
        for file, png in figures.items()
    )
    return (
        _head(f"{name}: policies compared") + f"<h1>{html.escape(name)}: policies compared</h1>"
        f"<p class='meta'>{first.get('horizon_days', 0):g} days · seed {first.get('seed')} · "
        f"{reps} replication{'s' if reps != 1 else ''} · compare directory <code>{where}</code>"
        "</p>"
        f"<div class='verdict'><p>{words(prose.comparison_paragraph(rows))}</p></div>"
        f"<h2>Policies</h2>{_comparison_table(comparison)}"
        f"{_comparison_warnings(comparison)}"
        f"<h2>Figures</h2>{figure_html}"
        f"<footer>Written by distill-sim; regenerate with <code>distill-sim report {where}"
        "</code>. ★ marks the Pareto frontier over cost per call, silent failures and p99 "
        "latency. A verdict is the summary's own (— when it has none).</footer>"
        "</body></html>\n"
    )


def write_comparison_report(comparison: Comparison) -> Path:
    """Write report.html and the frontier PNGs into a compare directory."""
    figures = draw_comparison_figures(comparison.table)
    for file in COMPARISON_FIGURES:
        path = comparison.directory / file
        if file in figures:
            _write_atomically(path, figures[file])
        elif path.exists():
            path.unlink()
    report = comparison.directory / REPORT_NAME
    _write_atomically(report, render_comparison_html(comparison, figures).encode("utf-8"))
    return report
