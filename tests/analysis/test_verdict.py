"""Planned against realized, the gap's causes, and the seed's warnings."""

import pytest
from scipy import stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from sim.scenario.loading import load_scenario
from tests.builders import BASE

RIGHT, WRONG = stats.beta(9, 1.5), stats.beta(3, 3)  # the builders' confidences


def run(s, seed=0):
    return summarize(s, seed, run_fast(s, seed, 1))


@pytest.mark.parametrize(
    "tables",
    [
        {},
        {"router": {"policy": "student_only", "threshold": None}},
        {
            "router": {"policy": "verify", "threshold": None},
            "verifier": {"recall": 0.8, "on_flag": "human"},
            "human": {"usd_per_review": 2.0, "review_s": 60},
            "monitoring": {"audit_rate": 0.01},
        },
        {"retraining": {"trigger": "schedule", "every_days": 0.5, "duration_days": 0.1}},
    ],
)
def test_the_gap_causes_add_up_to_the_gap(tables, scenario):
    s = scenario(scenario={"horizon_days": 1.0}, **tables)
    plan = run(s)["planned"]
    assert plan["gap_usd"] == pytest.approx(plan["realized_distill_usd"] - plan["distill_usd"])
    assert sum(plan["gap"].values()) == pytest.approx(plan["gap_usd"])
    assert plan["gap"]["retraining_usd"] >= 0


def test_gap_by_cause_for_a_retraining_and_reviews(scenario):
    s = scenario(
        scenario={"horizon_days": 1.0},
        retraining={"trigger": "schedule", "every_days": 0.5, "duration_days": 0.1,
                    "dataset_calls": 1000, "compute_usd": 100, "engineer_days": 0},
        monitoring={"audit_rate": 0.01, "audit_usd": 2.0},
    )  # fmt: skip
    summary = run(s)
    gap = summary["planned"]["gap"]
    assert gap["retraining_usd"] == summary["cost"]["retraining_usd"] > 100
    assert gap["review_and_audit_usd"] == summary["cost"]["audit_usd"] > 0
    # at the planned fallback rate the teacher spend differs from plan only by sampling noise
    assert abs(gap["fallback_above_plan_usd"]) < 0.02 * summary["cost"]["teacher_usd"]


def test_the_good_candidate_raises_no_warning():
    s = load_scenario("scenarios/ticket-triage.toml", ["scenario.horizon_days=60"])
    assert run(s)["warnings"] == []


def test_warnings_in_the_seeds_words(scenario):
    seg = dict(BASE["segments"][0], student_accuracy=0.7)
    s = scenario(
        scenario={"horizon_days": 2.0},
        segments=[dict(seg, name="core", weight=1.0), dict(seg, name="new", weight=0.0,
                                                          student_accuracy=0.2)],
        router={"policy": "verify", "threshold": 0.5},
        verifier={"recall": 0.5, "blind_spot_correlation": 0.9},
        secondary=[{"name": "summary", "student_quality": 0.7, "teacher_quality": 0.97}],
        drift=[{"kind": "mix", "start_day": 0.5, "ramp_days": 1.0, "weights": {"new": 1.0}}],
        economics={"dataset_usd": 1e6},
    )  # fmt: skip
    text = " ".join(run(s)["warnings"])
    assert "costs" in text and "more than staying on the teacher" in text
    assert "fallback rate rose" in text
    assert "exceed the teacher's own error rate" in text
    assert "Capability collapse" in text
    assert "blind spots" in text


def test_a_modest_saving_is_called_probably_negative(scenario):
    s = scenario(
        scenario={"horizon_days": 2.0},
        economics={"dataset_usd": 2500, "training_usd": 0, "maintenance_usd_per_month": 0},
    )
    summary = run(s)
    assert 0 <= summary["savings_ratio"] < 0.2
    assert any("probably negative" in w for w in summary["warnings"])


def test_drift_is_its_own_cause_of_the_gap(scenario):
    """A step to a segment the student gets wrong more often: the fallbacks that mix and those
    wrong answers imply, beyond the plan's, are the drift; a stationary run has next to none."""
    seg = dict(BASE["segments"][0])
    segments = [dict(seg, name="core", weight=1.0), dict(seg, name="new", weight=0.0,
                                                       student_accuracy=0.3)]  # fmt: skip
    price = (600 * 3.0 + 40 * 15.0) / 1e6
    stationary = run(scenario(scenario={"horizon_days": 1.0}, segments=segments))
    shifted = run(
        scenario(
            scenario={"horizon_days": 1.0},
            segments=segments,
            drift=[{"kind": "mix", "start_day": 0.5, "weights": {"core": 0.0, "new": 1.0}}],
        )
    )
    calls = shifted["calls"]
    # half the day on the new segment: its fallback rate minus the plan's, on half the calls
    right, wrong = 0.3 * RIGHT.cdf(0.8), 0.7 * WRONG.cdf(0.8)
    plan_q = 0.9 * RIGHT.cdf(0.8) + 0.1 * WRONG.cdf(0.8)
    expected = (right + wrong - plan_q) * calls / 2 * price
    assert shifted["planned"]["gap"]["drift_usd"] == pytest.approx(expected, rel=0.05)
    assert abs(stationary["planned"]["gap"]["drift_usd"]) < 0.01 * expected
