"""What `calibrate` writes and prints: the `[[segments]]` TOML fragment, its sample files, the
JSON, the reliability diagram and the table."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from sim.data.logs import Logs
from sim.fit.calibration import BINS, SegmentCalibration
from sim.fit.confidence import EPSILON, ConfidenceFit
from sim.formatting import count, share
from sim.problems import toml_value
from sim.results import write_directory

FRAGMENT = "calibration.toml"
SUMMARY = "calibration.json"
FIGURE = "reliability.png"
SIDES = ("correct", "wrong")


def sample_file(segment: SegmentCalibration, side: str) -> str:
    """The file holding a segment's sample when its fitted distribution is the empirical one."""
    return f"confidence-{segment.name}-{side}.csv"


def _fit(segment: SegmentCalibration, side: str) -> ConfidenceFit:
    fit: ConfidenceFit = getattr(segment, f"confidence_{side}")
    return fit


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def distribution(segment: SegmentCalibration, side: str) -> dict[str, Any]:
    """The chosen distribution as a scenario table, parameters to six significant digits."""
    fit = _fit(segment, side)
    if fit.chosen == "empirical":
        return {"dist": "empirical", "path": sample_file(segment, side), "column": "confidence"}
    chosen = fit.beta if fit.chosen == "beta" else fit.logit_normal
    return {k: v if isinstance(v, str) else _round(v) for k, v in chosen.dist().items()}


def fragment(logs: Logs, segments: list[SegmentCalibration]) -> str:
    """`[[segments]]` entries a scenario accepts once merged by name, with the evidence as
    comments."""
    lines = [
        f"# distill-sim calibrate {logs.path}: {logs.rows} rows, {len(segments)} segment(s).",
        "# Merge each entry into the scenario's segment of the same name: tokens_in, tokens_out",
        "# and teacher_accuracy are not in the logs and stay as the scenario has them. weight",
        "# (required by a scenario) is the segment's share of the log's rows; drop it to keep the",
        "# scenario's mix. Beta and logit-normal are fitted by maximum likelihood on",
        f"# confidences clipped to [{EPSILON:g}, 1 - {EPSILON:g}]; ± is one standard error.",
        "# Empirical paths are relative to this file: copy the CSVs next to the scenario, or fix",
        "# the paths.",
    ]
    for segment in segments:
        lines += ["", "[[segments]]", f"name = {toml_value(segment.name)}"]
        if segment.label != segment.name:
            lines.append(f"# logged as {toml_value(segment.label)}")
        lines.append(f"weight = {toml_value(_round(segment.weight))}  # {segment.rows} rows")
        lines.append(
            f"student_accuracy = {toml_value(_round(segment.accuracy))}"
            f"  # ± {segment.accuracy_se:.2g}"
        )
        for side in SIDES:
            lines += [f"# {line}" for line in evidence(segment, side)]
            lines.append(f"confidence_{side} = {toml_value(distribution(segment, side))}")
    return "\n".join(lines) + "\n"


def evidence(segment: SegmentCalibration, side: str) -> list[str]:
    """Why this distribution: both fits with their standard errors, and the choice's reason."""
    fit = _fit(segment, side)
    b, ln = fit.beta, fit.logit_normal
    answers = "right" if side == "correct" else "wrong"
    head = f"confidence_{side}: {fit.chosen} from {fit.n} {answers} answers"
    if side in segment.pooled:
        head = (
            f"confidence_{side}: {fit.chosen} from all segments' {fit.n} {answers} answers "
            f"(this segment has too few to fit; see the README)"
        )
    return [
        head,
        f"  beta a = {b.a:.4g} ± {b.a_se:.2g}, b = {b.b:.4g} ± {b.b_se:.2g}; logit-normal "
        f"mu = {ln.mu:.4g} ± {ln.mu_se:.2g}, sigma = {ln.sigma:.4g} ± {ln.sigma_se:.2g}",
        f"  {fit.reason}",
    ]


def sample_texts(segments: list[SegmentCalibration]) -> dict[str, str]:
    """A one-column CSV of the sample, as logged, for each empirical choice."""
    return {
        sample_file(segment, side): pl.DataFrame(
            {"confidence": _fit(segment, side).sample}
        ).write_csv()
        for segment in segments
        for side in SIDES
        if _fit(segment, side).chosen == "empirical"
    }


def summary(
    logs: Logs, segments: list[SegmentCalibration], overall: SegmentCalibration, directory: Path
) -> dict[str, Any]:
    """Everything the table shows, as JSON."""
    return {
        "logs": str(logs.path),
        "rows": logs.rows,
        "directory": str(directory),
        "bins": BINS,
        "clip_epsilon": EPSILON,
        "all": _segment_json(overall),
        "segments": [_segment_json(s) for s in segments],
    }


def _segment_json(segment: SegmentCalibration) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": segment.name,
        "label": segment.label,
        "rows": segment.rows,
        "weight": segment.weight,
        "student_accuracy": segment.accuracy,
        "student_accuracy_se": segment.accuracy_se,
        "ece": segment.ece,
        "auroc": segment.auroc,
    }
    for side in SIDES:
        fit = _fit(segment, side)
        result[f"confidence_{side}"] = {
            "chosen": fit.chosen,
            "reason": fit.reason,
            "n": fit.n,
            "pooled": side in segment.pooled,
            "distribution": distribution(segment, side),
            "beta": dataclasses.asdict(fit.beta),
            "logit_normal": dataclasses.asdict(fit.logit_normal),
        }
    return result


def reliability_figure(panels: list[SegmentCalibration]) -> bytes:
    """One reliability diagram per panel: share correct against confidence, by bin."""
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(3.6 * columns, 3.4 * rows), dpi=110)
    FigureCanvasAgg(figure)  # Agg: no display, no global pyplot state
    figure.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.9, wspace=0.3, hspace=0.45)
    edges = np.linspace(0.0, 1.0, BINS + 1)
    for i, segment in enumerate(panels):
        ax = figure.add_subplot(rows, columns, i + 1)
        table = segment.reliability
        used = table.count > 0
        ax.bar(
            edges[:-1][used],
            table.accuracy[used],
            width=1 / BINS,
            align="edge",
            color="#9ecae1",
            edgecolor="white",
            label="share correct",
        )
        ax.plot([0, 1], [0, 1], linestyle="--", color="#555555", linewidth=1, label="calibrated")
        ax.plot(
            table.mean_confidence[used],
            table.accuracy[used],
            "o",
            color="#08519c",
            markersize=3,
            label="bin mean confidence",
        )
        auroc = "—" if segment.auroc is None else f"{segment.auroc:.3f}"
        ax.set_title(
            f"{segment.label} (n = {segment.rows})\nECE {segment.ece:.3f} · AUROC {auroc}",
            fontsize=9,
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence", fontsize=8)
        ax.set_ylabel("share correct", fontsize=8)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=6, loc="upper left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write(
    directory: Path,
    logs: Logs,
    segments: list[SegmentCalibration],
    overall: SegmentCalibration,
    force: bool = False,
) -> dict[str, Any]:
    """Write the fragment, sample files, JSON and figure into a staging directory, then rename
    it into place: an error leaves nothing behind. Returns the JSON summary."""
    result = summary(logs, segments, overall, directory)
    texts = {
        FRAGMENT: fragment(logs, segments),
        SUMMARY: json.dumps(result, indent=2, allow_nan=False) + "\n",
        **sample_texts(segments),
    }

    def draw(staging: Path) -> None:
        (staging / FIGURE).write_bytes(reliability_figure([overall, *segments]))

    write_directory(directory, texts, {}, draw, command="calibrate", force=force)
    return result


def print_table(result: dict[str, Any]) -> None:
    """The per-segment table, then where the files are."""
    console = Console(emoji=False, width=max(Console().width, 150))
    table = Table(title=f"calibration of {result['logs']} ({count(result['rows'])} rows)")
    for heading in ("segment", "confidence_correct", "confidence_wrong"):
        table.add_column(heading)
    for heading in ("rows", "weight", "accuracy ± SE", "ECE", "AUROC"):
        table.add_column(heading, justify="right")
    for segment in [*result["segments"], result["all"]]:
        table.add_row(
            segment["label"],
            _cell(segment["confidence_correct"]),
            _cell(segment["confidence_wrong"]),
            count(segment["rows"]),
            share(segment["weight"]),
            f"{share(segment['student_accuracy'])} ± {share(segment['student_accuracy_se'])}",
            f"{segment['ece']:.3f}",
            "—" if segment["auroc"] is None else f"{segment['auroc']:.3f}",
        )
    console.print(table)
    for segment in result["segments"]:
        for side in SIDES:
            fit = segment[f"confidence_{side}"]
            if fit["pooled"]:
                console.print(
                    f"{segment['label']}: too few {side} answers to fit confidence_{side}; "
                    "used the fit on all segments' rows",
                    markup=False,
                )
    console.print(f"wrote {result['directory']}: {FRAGMENT}, {SUMMARY}, {FIGURE}", markup=False)


def _cell(fit: dict[str, Any]) -> str:
    if fit["chosen"] == "beta":
        b = fit["beta"]
        text = f"beta a={b['a']:.3g}±{b['a_se']:.1g} b={b['b']:.3g}±{b['b_se']:.1g}"
    elif fit["chosen"] == "logit_normal":
        ln = fit["logit_normal"]
        text = f"logit-normal μ={ln['mu']:.3g}±{ln['mu_se']:.1g} σ={ln['sigma']:.3g}"
    else:
        text = f"empirical ({fit['n']} values)"
    return text + (" (pooled)" if fit["pooled"] else "")
