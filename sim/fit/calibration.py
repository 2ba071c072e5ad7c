"""How well a student's confidence tracks its correctness, per segment: accuracy, the fitted
confidence distributions, expected calibration error, AUROC and the reliability bins."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.data.logs import Logs, SegmentLogs
from sim.fit.confidence import ConfidenceFit, can_fit, fit_confidence
from sim.problems import BadInput

BINS = 15


@dataclass(frozen=True)
class Reliability:
    """Equal-width confidence bins: rows, mean confidence and share correct in each."""

    count: np.ndarray
    mean_confidence: np.ndarray  # NaN in an empty bin
    accuracy: np.ndarray  # NaN in an empty bin


@dataclass(frozen=True)
class SegmentCalibration:
    """One segment's (or all rows') calibration and fitted confidence model."""

    name: str
    label: str
    rows: int
    weight: float  # share of the log's rows
    accuracy: float
    accuracy_se: float
    ece: float
    auroc: float | None  # None without both right and wrong answers
    reliability: Reliability
    confidence_correct: ConfidenceFit
    confidence_wrong: ConfidenceFit
    pooled: tuple[str, ...]  # "correct"/"wrong": fitted on all segments' rows, see calibrate()


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> Reliability:
    """Bin i holds confidences in [i/bins, (i+1)/bins); the last also holds 1."""
    index = np.minimum((np.asarray(confidence) * bins).astype(np.int64), bins - 1)
    count = np.bincount(index, minlength=bins)
    confidence_sum = np.bincount(index, weights=confidence, minlength=bins)
    correct_sum = np.bincount(index, weights=np.asarray(correct, dtype=np.float64), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Reliability(count, confidence_sum / count, correct_sum / count)


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = BINS
) -> float:
    """ECE: the row-weighted mean over bins of |share correct − mean confidence|."""
    table = reliability(confidence, correct, bins)
    used = table.count > 0
    gaps = np.abs(table.accuracy[used] - table.mean_confidence[used])
    return float(np.sum(table.count[used] * gaps) / np.sum(table.count))


def auroc(confidence: np.ndarray, correct: np.ndarray) -> float | None:
    """P(a right answer's confidence > a wrong one's), ties counting half: the Mann–Whitney U of
    the right answers over n_right · n_wrong. None when either side is empty."""
    correct = np.asarray(correct, dtype=bool)
    n_right, n_wrong = int(correct.sum()), int((~correct).sum())
    if n_right == 0 or n_wrong == 0:
        return None
    ranks = stats.rankdata(confidence)  # midranks for ties
    u_right = ranks[correct].sum() - n_right * (n_right + 1) / 2.0
    return float(u_right / (n_right * n_wrong))


def accuracy(correct: np.ndarray) -> tuple[float, float]:
    """Share correct and its binomial standard error sqrt(p(1 − p)/n)."""
    p = float(np.mean(correct))
    return p, float(np.sqrt(p * (1.0 - p) / len(correct)))


def calibrate(logs: Logs) -> tuple[list[SegmentCalibration], SegmentCalibration]:
    """Every segment's calibration, and all rows together.

    A segment whose right (or wrong) answers cannot be fitted — none, or fewer than two distinct
    confidences — gets that distribution fitted on every segment's right (or wrong) answers,
    marked in `pooled`: the scenario needs one, and at the accuracy found (often exactly 1 or 0)
    the simulator rarely or never draws from it. When the whole log cannot be fitted, that is
    bad input: nothing could stand in for it."""
    everything = SegmentLogs(
        name="all",
        label="all rows",
        confidence=np.concatenate([s.confidence for s in logs.segments]),
        correct=np.concatenate([s.correct for s in logs.segments]),
    )
    problems = [
        f"{logs.path}: no {side} answers with two or more distinct confidences in the whole "
        f"file; confidence_{side} cannot be fitted"
        for side, rows in _sides(everything)
        if not can_fit(rows)
    ]
    if problems:
        raise BadInput(problems)
    overall = _segment(everything, logs.rows, {})
    fallback = {"correct": overall.confidence_correct, "wrong": overall.confidence_wrong}
    return [_segment(s, logs.rows, fallback) for s in logs.segments], overall


def _sides(segment: SegmentLogs) -> list[tuple[str, np.ndarray]]:
    return [
        ("correct", segment.confidence[segment.correct]),
        ("wrong", segment.confidence[~segment.correct]),
    ]


def _segment(
    segment: SegmentLogs, total_rows: int, fallback: dict[str, ConfidenceFit]
) -> SegmentCalibration:
    fits, pooled = {}, []
    for side, rows in _sides(segment):
        if can_fit(rows):
            fits[side] = fit_confidence(rows)
        else:
            fits[side] = fallback[side]
            pooled.append(side)
    share, share_se = accuracy(segment.correct)
    return SegmentCalibration(
        name=segment.name,
        label=segment.label,
        rows=len(segment.correct),
        weight=len(segment.correct) / total_rows,
        accuracy=share,
        accuracy_se=share_se,
        ece=expected_calibration_error(segment.confidence, segment.correct),
        auroc=auroc(segment.confidence, segment.correct),
        reliability=reliability(segment.confidence, segment.correct),
        confidence_correct=fits["correct"],
        confidence_wrong=fits["wrong"],
        pooled=tuple(pooled),
    )
