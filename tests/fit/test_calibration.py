"""Calibration metrics against hand computations and exact formulas, with bounds from sampling
error; the per-segment assembly and its fallback when a segment has too few rows to fit."""

from itertools import product
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

from sim.data.logs import Logs, SegmentLogs
from sim.fit.calibration import accuracy, auroc, calibrate, expected_calibration_error, reliability
from sim.problems import BadInput


def test_ece_on_a_hand_computed_example():
    confidence = np.array([0.05, 0.1, 0.95, 0.97, 0.5, 0.55, 1.0])
    correct = np.array([False, False, True, False, True, True, True])
    # bins of width 1/15: 0.05 → 0, 0.1 → 1, 0.5 → 7, 0.55 → 8, 0.95, 0.97 and 1.0 → 14
    # |acc − conf| per bin: 0.05, 0.1, 0.5, 0.45, and |2/3 − 2.92/3| = 0.92/3 over three rows
    expected = (0.05 + 0.1 + 0.5 + 0.45 + 3 * (0.92 / 3)) / 7
    assert expected_calibration_error(confidence, correct) == pytest.approx(expected, abs=1e-12)
    table = reliability(confidence, correct)
    assert table.count.tolist() == [1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 3]
    assert table.accuracy[14] == pytest.approx(2 / 3)
    assert np.isnan(table.mean_confidence[2])


def calibrated(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    confidence = rng.random(n)
    return confidence, rng.random(n) < confidence


def sampling_bound(confidence: np.ndarray) -> float:
    """4 standard deviations of each bin's |share correct − mean confidence| under perfect
    calibration, weighted like the ECE: sd_b = sqrt(Σ c(1 − c)) / n_b."""
    index = np.minimum((confidence * 15).astype(int), 14)
    variance_sum = np.bincount(index, weights=confidence * (1 - confidence), minlength=15)
    return float(np.sum(4 * np.sqrt(variance_sum)) / confidence.size)


@pytest.mark.parametrize("seed", range(3))
def test_ece_of_perfectly_calibrated_data_is_within_sampling_error_and_a_1pct_bias_is_not(seed):
    confidence, correct = calibrated(seed, 1_000_000)
    bound = sampling_bound(confidence)
    assert bound < 0.008
    assert expected_calibration_error(confidence, correct) < bound
    # a student 1 point overconfident everywhere
    shifted = np.clip(confidence + 0.01, 0, 1)
    assert expected_calibration_error(shifted, correct) > bound


def test_auroc_equals_the_pairwise_mann_whitney_count_with_ties_counting_half():
    confidence = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.8, 0.5, 0.9, 0.3])
    correct = np.array([True, True, False, True, False, False, True, True, False])
    right, wrong = confidence[correct], confidence[~correct]
    pairs = [1.0 if r > w else 0.5 if r == w else 0.0 for r, w in product(right, wrong)]
    # right (0.9, 0.8, 0.7, 0.5, 0.9) against wrong (0.8, 0.6, 0.8, 0.3): each 0.9 wins 4, the
    # 0.8 wins 2 and ties 2, the 0.7 wins 2, the 0.5 wins 1: 13 wins and 2 ties of 20 pairs
    assert sum(pairs) == 14.0
    assert auroc(confidence, correct) == pytest.approx(14 / 20, abs=1e-12)
    u = stats.mannwhitneyu(right, wrong).statistic
    assert auroc(confidence, correct) == pytest.approx(u / (len(right) * len(wrong)), abs=1e-12)


def test_auroc_is_undefined_without_both_outcomes():
    assert auroc(np.array([0.4, 0.9]), np.array([True, True])) is None
    assert auroc(np.array([0.4, 0.9]), np.array([False, False])) is None


@pytest.mark.parametrize("seed", range(3))
def test_auroc_of_independent_confidence_is_one_half_within_its_null_standard_error(seed):
    rng = np.random.default_rng(seed)
    n = 50_000
    confidence, correct = rng.random(n), rng.random(n) < 0.8
    n1, n0 = correct.sum(), (~correct).sum()
    se = np.sqrt((n1 + n0 + 1) / (12 * n1 * n0))
    assert abs(auroc(confidence, correct) - 0.5) < 4 * se


@pytest.mark.parametrize("seed", range(3))
def test_auroc_of_binormal_scores_is_phi_of_d_over_root_two(seed):
    # right answers' logits ~ N(d, 1), wrong ones' ~ N(0, 1): AUROC = Φ(d/√2); the logistic is
    # monotone, so the confidences have the same AUROC
    rng = np.random.default_rng(seed)
    d, n = 1.0, 20_000
    logits = np.concatenate([rng.normal(d, 1, n), rng.normal(0, 1, n)])
    correct = np.arange(2 * n) < n
    exact = stats.norm.cdf(d / np.sqrt(2))
    # Hanley–McNeil standard error for n right and n wrong answers
    q1, q2 = exact / (2 - exact), 2 * exact**2 / (1 + exact)
    se = np.sqrt(exact * (1 - exact) + (n - 1) * (q1 - exact**2) + (n - 1) * (q2 - exact**2)) / n
    assert abs(auroc(special.expit(logits), correct) - exact) < 4 * se
    assert 4 * se < 0.01


def test_accuracy_and_its_binomial_standard_error():
    p, se = accuracy(np.array([True] * 90 + [False] * 10))
    assert p == pytest.approx(0.9)
    assert se == pytest.approx(np.sqrt(0.9 * 0.1 / 100))


def segment(name: str, seed: int, n: int, share: float) -> SegmentLogs:
    rng = np.random.default_rng(seed)
    correct = rng.random(n) < share
    confidence = np.where(correct, rng.beta(9, 1.5, n), rng.beta(3, 3, n))
    return SegmentLogs(name, name, confidence, correct)


def test_segments_are_calibrated_separately_with_weights_their_share_of_rows():
    logs = Logs(
        Path("logs.csv"), 6000, [segment("core", 0, 5000, 0.9), segment("tail", 1, 1000, 0.6)]
    )
    segments, overall = calibrate(logs)
    assert [s.name for s in segments] == ["core", "tail"]
    assert [s.weight for s in segments] == [5000 / 6000, 1000 / 6000]
    core = logs.segments[0]
    assert segments[0].accuracy == core.correct.mean()
    assert segments[0].ece == expected_calibration_error(core.confidence, core.correct)
    assert segments[0].confidence_correct.n == core.correct.sum()
    assert overall.rows == 6000 and segments[0].pooled == ()


def test_a_segment_without_wrong_answers_borrows_the_fit_on_all_wrong_answers():
    perfect = SegmentLogs("perfect", "perfect", np.array([0.9, 0.95, 0.99]), np.ones(3, bool))
    logs = Logs(Path("logs.csv"), 5003, [segment("core", 0, 5000, 0.9), perfect])
    segments, overall = calibrate(logs)
    assert segments[1].pooled == ("wrong",)
    assert segments[1].confidence_wrong is overall.confidence_wrong
    assert segments[1].accuracy == 1.0 and segments[1].auroc is None


def test_no_wrong_answers_in_the_whole_file_cannot_be_fitted():
    perfect = SegmentLogs("perfect", "perfect", np.array([0.9, 0.95, 0.99]), np.ones(3, bool))
    with pytest.raises(BadInput) as bad:
        calibrate(Logs(Path("logs.csv"), 3, [perfect]))
    assert bad.value.problems == [
        "logs.csv: no wrong answers with two or more distinct confidences in the whole file; "
        "confidence_wrong cannot be fitted"
    ]
