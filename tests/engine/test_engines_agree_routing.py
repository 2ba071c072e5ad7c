"""The fast engine against the reference engine on verify, human review, ensemble, deadlines,
queue bypass, teacher rate limits and outages (same method as test_engines_agree)."""

import copy
from typing import Any

from tests.engine.test_engines_agree import MULTI, assert_engines_agree


def variant(horizon_days: float, **tables: Any) -> dict[str, Any]:
    raw = copy.deepcopy(MULTI)
    raw["scenario"]["horizon_days"] = horizon_days
    for name, value in tables.items():
        raw[name] = value
    return raw


def test_verify_with_blind_spots_threshold_and_a_human_pool():
    raw = variant(
        3.0,
        router={"policy": "verify", "threshold": 0.4},
        verifier={
            "recall": 0.8,
            "false_positive_rate": 0.05,
            "blind_spot_correlation": 0.6,
            "usd_per_call": 0.001,
            "latency_s": {"dist": "exponential", "mean": 5.0},
            "on_flag": "human",
        },
        human={
            "usd_per_review": 2.0,
            "reviewers": 2,
            "review_s": {"dist": "exponential", "mean": 900.0},
            "accuracy": 0.97,
        },
    )
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(51, 52))
    assert {"flag_rate", "human_review_rate", "human_wait_mean_s", "cost.human_usd",
            "cost.verifier_usd", "silent_failure_rate"} <= relative_se.keys()  # fmt: skip


def test_ensemble_under_a_deadline():
    raw = variant(3.0, router={"policy": "ensemble", "deadline_s": 60.0})
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(53, 54))
    assert {"override_rate", "first_answer_p99_s", "slo_attainment", "abandoned_rate",
            "cost.teacher_usd"} <= relative_se.keys()  # fmt: skip


def test_cascade_with_rate_limit_outage_bypass_and_failing_deadline():
    raw = variant(
        3.0,
        router={
            "policy": "cascade",
            "threshold": 0.75,
            "segment_thresholds": {"long_tail": 0.95},
            "bypass_queue_s": 40.0,
            "deadline_s": 150.0,
            "on_deadline": "fail",
        },
    )
    raw["teacher"] = dict(
        raw["teacher"],
        rate_limit_per_min=1,
        latency_s={"dist": "lognormal", "median": 20.0, "sigma": 0.8},
        outages=[{"start_day": 0.6, "hours": 5.0}, {"start_day": 1.8, "hours": 3.0}],
        on_teacher_unavailable="fail",
    )
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(55, 56))
    assert {"bypass_rate", "failed_rate", "abandoned_rate", "teacher_unavailable_rate",
            "teacher_wait_mean_s", "slo_attainment"} <= relative_se.keys()  # fmt: skip


def test_drift_retraining_audits_and_secondary_outputs():
    raw = variant(
        4.0,
        drift=[
            {"kind": "mix", "start_day": 1.0, "ramp_days": 1.0,
             "weights": {"core": 0.4, "long_form": 0.3, "long_tail": 0.3}},
            {"kind": "concept", "segment": "core", "start_day": 0.5, "ramp_days": 1.5,
             "stale_student_accuracy": 0.6},
        ],
        monitoring={"window_hours": 12, "fallback_rate_alert": 0.9, "audit_rate": 0.2},
        retraining={"trigger": "schedule", "every_days": 2.0, "duration_days": 0.5},
        secondary=[{"name": "summary", "student_quality": 0.7, "teacher_quality": 0.95}],
    )  # fmt: skip
    raw["segments"][2]["in_training"] = False
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(57, 58))
    assert {"observed_error_rate", "secondary_silent_failure_rate", "cost.audit_usd",
            "silent_failure_rate", "fallback_rate"} <= relative_se.keys()  # fmt: skip


def test_alert_retraining_under_a_cooldown():
    """A threshold on the day-0 fallback rate itself: alerts come on noise, at random times, and
    the cooldown spaces the retrainings they start; the counts agree in distribution."""
    from sim.analysis.monitoring import expected_monitored_rate
    from sim.scenario.loading import validate

    raw = variant(
        4.0,
        monitoring={"window_hours": 6, "fallback_rate_alert": 0.5},
        retraining={"trigger": "alert", "duration_days": 0.25, "cooldown_days": 0.5},
    )
    rate = expected_monitored_rate(validate(raw))
    assert rate is not None
    raw["monitoring"]["fallback_rate_alert"] = round(rate, 4)
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(59, 60))
    assert {"alerts", "retrains", "cost.retraining_usd"} <= relative_se.keys()


def test_cascade_whose_deadline_abandons_most_fallbacks():
    # the student's median 52 s against a 60 s deadline: about 60% of the fallbacks are abandoned
    # and return the student's answer (the "deadline turns the fallback off" warning's case)
    raw = variant(
        2.0,
        router={
            "policy": "cascade",
            "threshold": 0.75,
            "segment_thresholds": {"long_form": 0.85, "long_tail": 0.95},
            "deadline_s": 60.0,
        },
    )
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(55, 56))
    assert {"abandoned_rate", "fallback_abandoned_ratio", "slo_attainment",
            "silent_failure_rate"} <= relative_se.keys()  # fmt: skip


def test_correlated_errors_and_a_verifier_checking_the_teacher_under_a_deadline():
    """error_correlation > 0 and verifier.checks_teacher: flagged teacher answers reviewed by a
    small pool, some reviews and checks past the deadline."""
    raw = variant(
        3.0,
        router={"policy": "verify", "threshold": 0.3, "deadline_s": 400.0},
        verifier={
            "recall": 0.85,
            "false_positive_rate": 0.1,
            "usd_per_call": 0.002,
            "latency_s": {"dist": "exponential", "mean": 20.0},
            "checks_teacher": True,
        },
        human={
            "usd_per_review": 2.0,
            "reviewers": 1,
            "review_s": {"dist": "exponential", "mean": 300.0},
            "accuracy": 0.95,
        },
    )
    for segment, rho in zip(raw["segments"], (0.5, 0.8, 0.3), strict=True):
        segment["error_correlation"] = rho
    relative_se = assert_engines_agree(raw, ref_reps=12, fast_reps=200, seeds=(59, 60))
    assert {"error_rate", "excess_error_rate", "flag_rate", "teacher_check_rate",
            "teacher_flag_rate", "human_review_rate", "human_wait_mean_s", "abandoned_rate",
            "cost.verifier_usd", "cost.human_usd",
            "latency_mean_s"} <= relative_se.keys()  # fmt: skip
