"""Settling: verifier.checks_teacher, the verifier's check of the teacher's answer to a flagged
call, against exact probabilities (the bivariate normal of the error copula, recall, fpr)."""

import math

import pytest
from scipy import stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from tests.builders import BASE, scenario

SEEDS = [71, 72, 73]
A_S, A_T, RHO = 0.85, 0.8, 0.6
HUMAN = {"usd_per_review": 2.0, "review_s": 30.0}


def joint() -> dict[tuple[bool, bool], float]:
    """P(student right?, teacher right?) under the error copula."""
    q_s, q_t = 1 - A_S, 1 - A_T
    z = [stats.norm.ppf(q_s), stats.norm.ppf(q_t)]
    both = float(stats.multivariate_normal(mean=[0, 0], cov=[[1, RHO], [RHO, 1]]).cdf(z))
    return {(False, False): both, (False, True): q_s - both, (True, False): q_t - both,
            (True, True): 1 - q_s - q_t + both}  # fmt: skip


def bound(p: float, n: float) -> float:
    return 4.5 * math.sqrt(max(p * (1 - p), 1e-12) / n)


def run(seed: int, recall: float, fpr: float, **tables) -> dict:
    segment = {**BASE["segments"][0], "student_accuracy": A_S, "teacher_accuracy": A_T,
               "error_correlation": RHO}  # fmt: skip
    verifier = {"recall": recall, "false_positive_rate": fpr, "checks_teacher": True,
                "usd_per_call": 0.01, "latency_s": 2.0}  # fmt: skip
    s = scenario(
        scenario={"horizon_days": 1.0},
        traffic={"calls_per_day": 2_000_000},
        segments=[segment],
        router={"policy": "verify", "threshold": None},
        verifier=verifier,
        **tables,
    )
    return summarize(s, seed, run_fast(s, seed, 1))


def expected(recall: float, fpr: float, human_accuracy: float | None) -> dict[str, float]:
    """Exact rates: the student flagged (recall when wrong, fpr when right), the teacher's answer
    checked, flagged alike, reviewed when there are reviewers, and the final error."""
    p = joint()
    flag = {False: recall, True: fpr}  # by right?
    checked = sum(pr * flag[s] for (s, _), pr in p.items())
    teacher_flagged = sum(pr * flag[s] * flag[t] for (s, t), pr in p.items())
    kept_wrong_teacher = sum(pr * flag[s] * (1 - flag[t]) for (s, t), pr in p.items() if not t)
    error = (1 - A_S) * (1 - recall) + kept_wrong_teacher
    if human_accuracy is None:  # a flagged teacher answer is returned
        error += sum(pr * flag[s] * flag[t] for (s, t), pr in p.items() if not t)
    else:
        error += teacher_flagged * (1 - human_accuracy)
    reviews = teacher_flagged if human_accuracy is not None else 0.0
    return {"teacher_check_rate": checked, "teacher_flag_rate": teacher_flagged,
            "human_review_rate": reviews, "error_rate": error}  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_a_perfect_verifier_and_reviewer_leave_no_error(seed):
    """recall 1, fpr 0, reviewers always right: a wrong student answer goes to the teacher, a wrong
    teacher answer to a person: no error, and one review per call both got wrong."""
    summary = run(seed, 1.0, 0.0, human={**HUMAN, "accuracy": 1.0})
    n = summary["calls"]
    assert summary["error_rate"] == 0.0
    both = joint()[(False, False)]
    assert summary["human_review_rate"] == summary["teacher_flag_rate"]
    assert abs(summary["human_review_rate"] - both) < bound(both, n)
    assert abs(summary["teacher_check_rate"] - (1 - A_S)) < bound(1 - A_S, n)


@pytest.mark.parametrize("human_accuracy", [0.9, None])
@pytest.mark.parametrize("seed", SEEDS)
def test_imperfect_checks_match_the_exact_rates(seed, human_accuracy):
    tables = {} if human_accuracy is None else {"human": {**HUMAN, "accuracy": human_accuracy}}
    summary = run(seed, 0.9, 0.1, **tables)
    n = summary["calls"]
    for name, p in expected(0.9, 0.1, human_accuracy).items():
        assert abs(summary[name] - p) < bound(p, n), (name, summary[name], p)
    # the verifier's bill: one check per student answer and one per teacher answer it checked
    checks = n * (1 + summary["teacher_check_rate"])
    assert summary["cost"]["verifier_usd"] == pytest.approx(0.01 * checks, rel=1e-9)
    assert summary["flag_rate"] == pytest.approx(summary["teacher_check_rate"], rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_check_adds_its_latency_to_the_teachers_answers(seed):
    """Constant times and an idle pool: every answer is the student's 0.1 s and the verifier's
    2 s; a flagged one adds the teacher's 1 s and the check's 2 s, a flagged teacher answer the
    review's 30 s."""
    summary = run(seed, 0.9, 0.1, teacher={**BASE["teacher"], "latency_s": 1.0},
                  student={**BASE["student"], "service_s": 0.1}, human={**HUMAN})  # fmt: skip
    assert summary["queue_wait_mean_s"] == 0.0
    exact = 2.1 + 3.0 * summary["teacher_check_rate"] + 30.0 * summary["human_review_rate"]
    assert summary["latency_mean_s"] == pytest.approx(exact, rel=1e-9)


def test_without_checks_teacher_the_summary_has_no_check_figures(scenario):
    s = scenario(router={"policy": "verify", "threshold": None}, verifier={"recall": 0.9},
                 traffic={"calls_per_day": 20_000})  # fmt: skip
    summary = summarize(s, 1, run_fast(s, 1, 1))
    assert "teacher_check_rate" not in summary and "teacher_flag_rate" not in summary
