"""Monitoring warnings against hand-worked figures: the day-0 monitored rate from the scenario's
accuracies and Beta confidence CDFs (and the verifier's recall and false positives), the busiest
quarter of retraining starts on a schedule, and the warnings firing exactly past their limits."""

import json
import math

import pytest
import tomli_w
from scipy import stats
from typer.testing import CliRunner

from sim.analysis.metrics import summarize
from sim.analysis.monitoring import (
    busiest_quarter,
    expected_monitored_rate,
    retraining_warnings,
    threshold_warnings,
)
from sim.cli import app
from sim.engine.control import run_fast
from tests.builders import BASE

RIGHT, WRONG = stats.beta(9, 1.5), stats.beta(3, 3)  # the builders' confidences
DAY = 86400.0
# cascade at threshold 0.8 with accuracy 0.9: P(confidence < 0.8), right and wrong answers mixed
CASCADE_Q = 0.9 * RIGHT.cdf(0.8) + 0.1 * WRONG.cdf(0.8)
VERIFIER = {"recall": 0.7, "false_positive_rate": 0.05, "usd_per_call": 0.0}


def verify_q(threshold: float, recall: float = 0.7, fpr: float = 0.05) -> float:
    """A right answer is flagged below the threshold or falsely; a wrong one below it or caught
    (independently: blind_spot_correlation 0)."""
    right = 1 - (1 - fpr) * (1 - RIGHT.cdf(threshold))
    below = WRONG.cdf(threshold)
    wrong = below + recall - below * recall
    return 0.9 * right + 0.1 * wrong


def test_the_cascade_rate_is_the_beta_mixture(scenario):
    s = scenario(monitoring={"fallback_rate_alert": 0.5})
    assert 0.3 < CASCADE_Q < 0.35
    assert expected_monitored_rate(s) == pytest.approx(CASCADE_Q, rel=1e-12)


def test_verify_watches_flags_threshold_and_verifier_together(scenario):
    s = scenario(
        router={"policy": "verify", "threshold": 0.3},
        verifier=VERIFIER,
        monitoring={"fallback_rate_alert": 0.5},
    )
    assert expected_monitored_rate(s) == pytest.approx(verify_q(0.3), rel=1e-12)


def test_an_unseen_segment_counts_at_the_unseen_accuracy(scenario):
    core = dict(BASE["segments"][0], weight=3.0)
    new = dict(BASE["segments"][0], name="new", weight=1.0, in_training=False)
    s = scenario(
        segments=[core, new],
        student={"unseen_accuracy": 0.4},
        monitoring={"fallback_rate_alert": 0.5},
    )
    unseen = 0.4 * RIGHT.cdf(0.8) + 0.6 * WRONG.cdf(0.8)
    assert expected_monitored_rate(s) == pytest.approx(0.75 * CASCADE_Q + 0.25 * unseen)


@pytest.mark.parametrize(
    ("tables", "q"),
    [
        ({}, CASCADE_Q),
        ({"router": {"policy": "verify", "threshold": 0.3}, "verifier": VERIFIER}, verify_q(0.3)),
    ],
)
def test_a_threshold_below_the_day0_rate_warns_and_one_above_does_not(scenario, tables, q):
    low = scenario(**tables, monitoring={"fallback_rate_alert": round(q - 0.005, 4)})
    (line,) = threshold_warnings(low)
    assert line.startswith(f"monitoring.fallback_rate_alert = {round(q - 0.005, 4):g} ")
    assert f"({q:.2%})" in line
    assert ("flag" if "verifier" in tables else "fallback") + " rate" in line
    high = scenario(**tables, monitoring={"fallback_rate_alert": round(q + 0.005, 4)})
    assert threshold_warnings(high) == []


@pytest.mark.parametrize("policy", ["student_only", "teacher_only", "ensemble"])
def test_a_policy_that_never_falls_back_never_warns(scenario, policy):
    s = scenario(router={"policy": policy}, monitoring={"fallback_rate_alert": 0.0})
    assert expected_monitored_rate(s) == 0.0
    assert threshold_warnings(s) == []


def test_no_monitoring_no_warning(scenario):
    assert expected_monitored_rate(scenario()) is None
    assert threshold_warnings(scenario()) == []


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_the_expected_flag_rate_is_what_the_run_sees(scenario, seed):
    """The warning's figure against the simulation: verify's flag rate within binomial bounds."""
    s = scenario(
        router={"policy": "verify", "threshold": 0.3},
        verifier=VERIFIER,
        monitoring={"fallback_rate_alert": 0.5},
        traffic={"calls_per_day": 200_000},
    )
    summary = summarize(s, seed, run_fast(s, seed, 1))
    q = verify_q(0.3)
    assert abs(summary["flag_rate"] - q) < 4.5 * math.sqrt(q * (1 - q) / summary["calls"])


def test_the_summary_carries_the_threshold_warning(scenario):
    low = scenario(monitoring={"fallback_rate_alert": 0.1}, traffic={"calls_per_day": 10_000})
    summary = summarize(low, 0, run_fast(low, 0, 1))
    assert threshold_warnings(low)[0] in summary["warnings"]
    sane = scenario(monitoring={"fallback_rate_alert": 0.4}, traffic={"calls_per_day": 10_000})
    summary = summarize(sane, 0, run_fast(sane, 0, 1))
    assert not any("fallback_rate_alert" in w for w in summary["warnings"])


def test_validate_and_run_warn_at_load(tmp_path, raw):
    path = tmp_path / "low.toml"
    scenario = raw(monitoring={"fallback_rate_alert": 0.1}, traffic={"calls_per_day": 5000})
    path.write_text(tomli_w.dumps(scenario))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: monitoring.fallback_rate_alert = 0.1 ")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(path), "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: monitoring.fallback_rate_alert = 0.1 " in result.stderr
    summary = json.loads(result.stdout)  # stdout stays the summary alone
    assert any(w.startswith("monitoring.fallback_rate_alert") for w in summary["warnings"])
    sane = tmp_path / "sane.toml"
    sane.write_text(tomli_w.dumps(raw(monitoring={"fallback_rate_alert": 0.4})))
    result = CliRunner().invoke(app, ["validate", str(sane)])
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.parametrize(
    ("starts_days", "most", "opens"),
    [
        ([], 0, 0.0),
        ([5.0], 1, 5.0),
        ([0.0, 90.0], 1, 0.0),  # 90 days apart: two quarters
        ([0.0, 89.9], 2, 0.0),
        ([10.0, 100.0, 120.0, 150.0, 190.0], 3, 100.0),
        ([44.0, 88.0, 132.0, 176.0], 3, 44.0),
    ],
)
def test_busiest_quarter_by_hand(starts_days, most, opens):
    assert busiest_quarter([d * DAY for d in starts_days]) == (most, pytest.approx(opens))


def schedule_events(every_days: float, horizon_days: float) -> list[tuple[float, str, str]]:
    """A schedule's retraining starts, on days every, 2·every, … before the horizon."""
    n = math.ceil(horizon_days / every_days) - 1
    return [((k + 1) * every_days * DAY, "retraining_start", "") for k in range(n)]


@pytest.mark.parametrize(
    ("every_days", "limit", "warns"),
    # every 44 days: 44, 88 and 132 within one 90-day window; every 45: never three
    [(44.0, 2, True), (45.0, 2, False), (44.0, 3, False), (30.0, 2, True), (30.0, 3, False)],
)
def test_the_quarter_warning_fires_exactly_past_the_limit(scenario, every_days, limit, warns):
    s = scenario(
        scenario={"horizon_days": 200.0},
        retraining={"trigger": "schedule", "every_days": every_days, "max_per_quarter": limit},
    )
    lines = retraining_warnings(s, [schedule_events(every_days, 200.0)])
    assert bool(lines) == warns
    if warns:
        assert f"retraining.max_per_quarter = {limit}" in lines[0]
        assert lines[0].startswith(f"{math.ceil(90 / every_days)} retrainings started within 90")


@pytest.mark.parametrize(("every_days", "warns"), [(44.0, True), (45.0, False)])
def test_a_scheduled_run_warns_in_its_summary(scenario, every_days, warns):
    s = scenario(
        scenario={"horizon_days": 200.0},
        traffic={"calls_per_day": 500},
        retraining={"trigger": "schedule", "every_days": every_days},
    )
    summary = summarize(s, 0, run_fast(s, 0, 1))
    assert summary["retrains"] == math.ceil(200 / every_days) - 1
    assert any("retraining.max_per_quarter" in w for w in summary["warnings"]) == warns


@pytest.mark.parametrize(("limit", "warns"), [(8, True), (9, False)])
def test_an_alert_loop_warns_past_the_limit_and_names_the_cooldown(scenario, limit, warns):
    """Nine starts 3.5 days apart (an alert loop held by a 3-day cooldown) all fall in one
    quarter."""
    s = scenario(
        scenario={"horizon_days": 30.0},
        monitoring={"fallback_rate_alert": 0.01},
        retraining={"trigger": "alert", "cooldown_days": 3.0, "max_per_quarter": limit},
    )
    events = [(3600 + k * 3.5 * DAY, "retraining_start", "") for k in range(9)]
    lines = retraining_warnings(s, [[(0.0, "alert", "")], events])
    assert bool(lines) == warns
    if warns:
        assert lines[0].startswith(
            "9 retrainings started within 90 days (from day 0.04167 in replication 1), more "
            "than retraining.max_per_quarter = 8"
        )
        assert "retraining.cooldown_days" in lines[0]
