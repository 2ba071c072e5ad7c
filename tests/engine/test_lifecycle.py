"""Drift, student versions, monitoring, audits, retraining and secondary outputs against exact
answers (Beta CDFs, binomial bounds, cost identities) and the control plane's own clock."""

import math

import numpy as np
import polars as pl
import pytest
import simpy
from scipy import stats

from sim.analysis.metrics import summarize, tick_frame, timeseries
from sim.engine import lifecycle
from sim.engine.aggregates import Aggregates
from sim.engine.control import run_fast
from sim.runner import events_frame
from tests.builders import BASE

SEEDS = [31, 32, 33]
RIGHT, WRONG = stats.beta(9, 1.5), stats.beta(3, 3)  # the builders' confidences
DAY = 86400.0


def bound(p: float, n: float) -> float:
    return 4.5 * math.sqrt(max(p * (1 - p), 1e-12) / n)


def two_segments(b_accuracy=0.6, b_in_training=True, b_weight=0.0, **b):
    core = dict(BASE["segments"][0], name="core", weight=1.0)
    new = dict(
        BASE["segments"][0],
        name="new",
        weight=b_weight,
        student_accuracy=b_accuracy,
        in_training=b_in_training,
        confidence_wrong={"dist": "beta", "a": 6, "b": 2},
        **b,
    )
    return [core, new]


def cascade_rates(p: float, threshold: float = 0.8, wrong=None) -> tuple[float, float]:
    wrong = wrong or WRONG
    fallback = p * RIGHT.cdf(threshold) + (1 - p) * wrong.cdf(threshold)
    silent = (1 - p) * (1 - wrong.cdf(threshold))
    return fallback, silent


def run(s, seed):
    aggs = run_fast(s, seed, 1)
    raw = tick_frame(s, aggs)
    return summarize(s, seed, aggs, raw), timeseries(raw), events_frame(aggs)


def after(series: pl.DataFrame, day: float) -> pl.DataFrame:
    return series.filter(pl.col("time_s") >= day * DAY)


def pooled(series: pl.DataFrame, rate: str) -> tuple[float, float]:
    calls = series["calls"].sum()
    return float((series[rate] * series["calls"]).sum() / calls), float(calls)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("seen", "accuracy"), [(True, 0.6), (False, 0.5)])
def test_a_step_shift_moves_the_rates_to_their_new_analytic_values(seed, seen, accuracy, scenario):
    s = scenario(
        scenario={"horizon_days": 4.0},
        segments=two_segments(b_accuracy=0.6, b_in_training=seen),
        student={"unseen_accuracy": 0.5},
        drift=[{"kind": "mix", "start_day": 2.0, "weights": {"core": 0.0, "new": 1.0}}],
    )
    _, series, events = run(s, seed)
    fallback, silent = cascade_rates(accuracy, wrong=stats.beta(6, 2))
    got, n = pooled(after(series, 2.0), "fallback_rate")
    assert abs(got - fallback) < bound(fallback, n)
    got, n = pooled(after(series, 2.0), "silent_failure_rate")
    assert abs(got - silent) < bound(silent, n)
    before = series.filter(pl.col("time_s") < 2 * DAY)
    got, n = pooled(before, "fallback_rate")
    assert abs(got - cascade_rates(0.9)[0]) < bound(cascade_rates(0.9)[0], n)
    assert events.filter(pl.col("kind") == "drift_start")["time_s"].to_list() == [2 * DAY]


def test_a_linear_ramp_moves_the_mix_linearly(scenario):
    s = scenario(
        segments=two_segments(),
        drift=[
            {"kind": "mix", "start_day": 10, "ramp_days": 10, "weights": {"core": 0.2, "new": 0.8}}
        ],
        scenario={"horizon_days": 30.0},
    )
    conditions = lifecycle.Conditions(s)
    for day, share in [(5, 0.0), (10, 0.0), (12.5, 0.2), (15, 0.4), (20, 0.8), (29, 0.8)]:
        assert conditions.mix_at(day * DAY)[1] == pytest.approx(share)


def test_random_walk_steps_have_the_stated_volatility(scenario):
    s = scenario(
        segments=two_segments(b_weight=1.0),
        drift=[{"kind": "random_walk", "volatility_per_month": 0.3}],
        scenario={"horizon_days": 30.0},
    )
    env = simpy.Environment()
    conditions = lifecycle.Conditions(s)
    steps = []

    def record(env):
        previous = conditions.walk.copy()
        while True:
            yield env.timeout(3600.0)
            steps.append(conditions.walk - previous)
            previous = conditions.walk.copy()

    env.process(lifecycle.random_walks(env, s, conditions, np.random.default_rng(5)))
    env.process(record(env))
    env.run(until=s.horizon_s - 1)
    steps = np.concatenate(steps)
    sd = 0.3 * math.sqrt(3600 / (30 * DAY))
    # a chi-square bound on the sample variance of ~1440 normal steps
    ratio = steps.var() / sd**2
    low, high = stats.chi2.ppf([1e-6, 1 - 1e-6], steps.size) / steps.size
    assert low < ratio < high


# halfway between the fallback rate before the step (core) and after it (new, accuracy 0.3)
ALERT_BETWEEN = (cascade_rates(0.9)[0] + cascade_rates(0.3, wrong=stats.beta(6, 2))[0]) / 2


@pytest.mark.parametrize("seed", SEEDS)
def test_alert_within_one_window_and_one_tick_of_a_step(seed, scenario):
    s = scenario(
        scenario={"horizon_days": 4.0},
        segments=two_segments(b_accuracy=0.3),
        drift=[{"kind": "mix", "start_day": 1.5, "weights": {"core": 0.0, "new": 1.0}}],
        monitoring={"window_hours": 6, "fallback_rate_alert": ALERT_BETWEEN},
    )
    summary, series, events = run(s, seed)
    alerts = events.filter(pl.col("kind") == "alert")["time_s"].to_list()
    assert summary["alerts"] == len(alerts) == 1
    assert 1.5 * DAY < alerts[0] <= 1.5 * DAY + 6 * 3600 + 3600


@pytest.mark.parametrize("seed", SEEDS)
def test_monitor_rate_is_the_windowed_rate_and_alerts_are_its_upward_crossings(seed, scenario):
    q = cascade_rates(0.9)[0]
    s = scenario(
        scenario={"horizon_days": 3.0},
        traffic={"calls_per_day": 20_000},
        monitoring={"window_hours": 4, "fallback_rate_alert": q},
    )
    summary, series, _ = run(s, seed)
    fallbacks = (series["fallback_rate"] * series["calls"]).to_numpy()
    calls = series["calls"].to_numpy()
    window = (
        np.convolve(fallbacks, np.ones(4))[: calls.size]
        / np.convolve(calls, np.ones(4))[: calls.size]
    )
    assert np.allclose(series["monitored_rate"].to_numpy(), window)
    above = window > q
    crossings = int(above[0]) + int(np.sum(above[1:] & ~above[:-1]))
    assert summary["alerts"] == crossings > 3


def test_no_drift_raises_no_more_alerts_than_the_false_alarm_rate_predicts(scenario):
    """Threshold 4 binomial standard errors above the stationary fallback rate: each window
    exceeds it with probability ~3e-5, so 5 × 3 days of hourly windows expect ~0.01 alerts."""
    q = cascade_rates(0.9)[0]
    window_calls = 200_000 / 24 * 6
    threshold = q + 4 * math.sqrt(q * (1 - q) / window_calls)
    expected = 5 * 72 * stats.norm.sf(4)
    total = 0
    for seed in range(5):
        s = scenario(
            scenario={"horizon_days": 3.0},
            traffic={"calls_per_day": 200_000},
            monitoring={"window_hours": 6, "fallback_rate_alert": threshold},
        )
        total += run(s, seed)[0]["alerts"]
    assert expected < 0.02
    assert total <= 1  # P(two or more) < 1e-4 even if every exceedance were its own alert


# between the fallback rate with the new segment unseen (accuracy 0.4) and seen (0.85)
RETRAIN_ALERT = 0.5 * cascade_rates(0.9)[0] + 0.25 * (
    cascade_rates(0.4, wrong=stats.beta(6, 2))[0] + cascade_rates(0.85, wrong=stats.beta(6, 2))[0]
)


@pytest.mark.parametrize("seed", SEEDS)
def test_retraining_on_alert_restores_the_silent_rate_and_costs_what_it_should(seed, scenario):
    s = scenario(
        scenario={"horizon_days": 8.0},
        segments=two_segments(b_accuracy=0.85, b_in_training=False),
        student={"unseen_accuracy": 0.4},
        drift=[{"kind": "mix", "start_day": 1.0, "weights": {"core": 0.5, "new": 0.5}}],
        monitoring={"window_hours": 6, "fallback_rate_alert": RETRAIN_ALERT},
        retraining={"trigger": "alert", "duration_days": 2.0, "dataset_calls": 10_000,
                    "compute_usd": 1500, "engineer_days": 2},
        economics={"engineer_day_usd": 1000},
    )  # fmt: skip
    summary, series, events = run(s, seed)
    assert summary["retrains"] == 1
    start = events.filter(pl.col("kind") == "retraining_start")["time_s"][0]
    end = events.filter(pl.col("kind") == "retraining_end")["time_s"][0]
    assert end == pytest.approx(start + 2 * DAY)
    wrong = stats.beta(6, 2)
    unseen = 0.5 * cascade_rates(0.9)[1] + 0.5 * cascade_rates(0.4, wrong=wrong)[1]
    restored = 0.5 * cascade_rates(0.9)[1] + 0.5 * cascade_rates(0.85, wrong=wrong)[1]
    during, n = pooled(
        # the old student serves while the new one trains
        series.filter((pl.col("time_s") >= start) & (pl.col("time_s") < end - 3600)),
        "silent_failure_rate",
    )
    assert abs(during - unseen) < bound(unseen, n)
    later, n = pooled(after(series, math.ceil(end / 3600) * 3600 / DAY), "silent_failure_rate")
    assert abs(later - restored) < bound(restored, n)
    versions = series["student_version"].to_numpy()
    assert set(versions) == {1, 2} and np.all(np.diff(versions) >= 0)
    price = (600 * 3.0 + 40 * 15.0) / 1e6
    assert summary["cost"]["retraining_usd"] == pytest.approx(10_000 * price + 1500 + 2 * 1000)


def test_scheduled_retraining_cost_identity(scenario):
    s = scenario(
        scenario={"horizon_days": 20.0},
        traffic={"calls_per_day": 10_000},
        retraining={"trigger": "schedule", "every_days": 6, "duration_days": 1,
                    "dataset_calls": 5000, "compute_usd": 700, "engineer_days": 1.5},
        economics={"engineer_day_usd": 800},
    )  # fmt: skip
    summary, series, events = run(s, 1)
    price = (600 * 3.0 + 40 * 15.0) / 1e6
    assert summary["retrains"] == 3  # starting on days 6, 12 and 18
    per = 5000 * price + 700 + 1.5 * 800
    assert summary["cost"]["retraining_usd"] == pytest.approx(3 * per)
    assert series["retraining_usd"].sum() == pytest.approx(3 * per)
    assert events.filter(pl.col("kind") == "retraining_start").height == 3


@pytest.mark.parametrize("seed", SEEDS)
def test_concept_drift_fallback_leads_and_silent_failures_follow(seed, scenario):
    """As the right answers change the student's accuracy slides; the fallback rate (what the team
    sees) alerts before the silent failures (what it does not) peak, and retraining ends it."""
    s = scenario(
        scenario={"horizon_days": 16.0},
        traffic={"calls_per_day": 50_000},
        drift=[{"kind": "concept", "segment": "core", "start_day": 2, "ramp_days": 6,
                "stale_student_accuracy": 0.5}],
        monitoring={"window_hours": 12, "fallback_rate_alert": 0.25},
        retraining={"trigger": "alert", "duration_days": 3},
    )  # fmt: skip
    summary, series, events = run(s, seed)
    alert = events.filter(pl.col("kind") == "alert")["time_s"][0]
    daily = (
        series.with_columns((pl.col("time_s") // DAY).alias("day"))
        .group_by("day")
        .agg((pl.col("silent_failure_rate") * pl.col("calls")).sum() / pl.col("calls").sum())
        .sort("day")
    )
    peak_day = daily["day"][int(np.argmax(daily["silent_failure_rate"].to_numpy()))]
    assert alert < peak_day * DAY
    # the last student learned the answers as they were at its snapshot (its retraining's start):
    # after the ramp and its deployment, its accuracy is 0.9 − 0.4 · (1 − progress at snapshot)
    snapshot = events.filter(pl.col("kind") == "retraining_start")["time_s"][-1]
    end = events.filter(pl.col("kind") == "retraining_end")["time_s"][-1]
    progress = min(1.0, max(0.0, (snapshot - 2 * DAY) / (6 * DAY)))
    accuracy = 0.9 - 0.4 * (1 - progress)
    settled = after(series, max(8.0, math.ceil(end / 3600) / 24))
    later, n = pooled(settled, "silent_failure_rate")
    assert abs(later - cascade_rates(accuracy)[1]) < bound(cascade_rates(accuracy)[1], n)


@pytest.mark.parametrize("seed", SEEDS)
def test_audits_see_the_error_rate_and_secondary_outputs_collapse_silently(seed, scenario):
    s = scenario(
        scenario={"horizon_days": 2.0},
        monitoring={"audit_rate": 0.02, "audit_usd": 1.5},
        secondary=[{"name": "audit_summary", "student_quality": 0.75, "teacher_quality": 0.97}],
    )
    summary, _, _ = run(s, seed)
    n = summary["calls"]
    audited = summary["cost"]["audit_usd"] / 1.5
    assert abs(audited / n - 0.02) < bound(0.02, n)
    low, high = summary["observed_error_ci95"]
    assert low <= summary["observed_error_rate"] <= high
    assert abs(summary["observed_error_rate"] - summary["error_rate"]) < bound(
        summary["error_rate"], audited
    )
    answered_by_student = 1 - summary["fallback_rate"]
    expected = answered_by_student * 0.25
    assert abs(summary["secondary_silent_failure_rate"] - expected) < bound(expected, n)
    assert summary["secondary"]["audit_summary"] == summary["secondary_silent_failure_rate"]


def test_aggregates_start_with_version_one():
    agg = Aggregates.empty(7200.0, 3600.0, 2, 1)
    assert agg.student_version.tolist() == [1, 1]


def runaway(scenario, cooldown_days: float, threshold: float = 0.01, horizon_days: float = 30.0):
    """A threshold far below the fallback rate (~0.32): every tick alerts, so retraining on alert
    loops for as long as the cooldown lets it."""
    return scenario(
        scenario={"horizon_days": horizon_days},
        traffic={"calls_per_day": 5000},
        monitoring={"window_hours": 24, "fallback_rate_alert": threshold},
        retraining={"trigger": "alert", "duration_days": 0.5, "cooldown_days": cooldown_days},
    )


def loop_starts(horizon_s: float, first_s: float, period_s: float) -> int:
    """Starts at first, first + period, … before the horizon."""
    return math.ceil((horizon_s - first_s) / period_s)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_cooldown_bounds_an_alert_loop(seed, scenario):
    """The first alert ends tick 0 (1 h); without a cooldown each deployment (0.5 days later)
    alerts again one tick after, so a retraining starts every 13 h; with a 3-day cooldown the
    standing alert starts the next one as the cooldown ends, every 3.5 days."""
    free = run(runaway(scenario, 0.0), seed)[0]
    assert free["retrains"] == loop_starts(30 * DAY, 3600, 13 * 3600) == 56
    held, _, events = run(runaway(scenario, 3.0), seed)
    assert held["retrains"] == loop_starts(30 * DAY, 3600, 3.5 * DAY) == 9
    assert held["retrains"] <= 30 / 3 + 1
    starts = events.filter(pl.col("kind") == "retraining_start")["time_s"].to_numpy()
    assert np.allclose(np.diff(starts), 3.5 * DAY)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cooldown_days", [1.0, 2.5])
def test_no_retraining_starts_within_the_cooldown_of_a_deployment(seed, cooldown_days, scenario):
    """At a threshold on the stationary rate itself the windowed rate crosses it on noise, at
    random times: whatever they are, each start waits cooldown_days after the last deployment,
    so at most horizon / cooldown + 1 retrainings start."""
    s = runaway(scenario, cooldown_days, threshold=cascade_rates(0.9)[0])
    summary, _, events = run(s, seed)
    starts = events.filter(pl.col("kind") == "retraining_start")["time_s"].to_numpy()
    ends = events.filter(pl.col("kind") == "retraining_end")["time_s"].to_numpy()
    assert summary["retrains"] == starts.size >= 3  # the loop is real
    assert np.all(starts[1:] >= ends[: starts.size - 1] + cooldown_days * DAY - 1e-6)
    assert summary["retrains"] <= 30 / cooldown_days + 1


@pytest.mark.parametrize("seed", [61, 62])
def test_both_engines_count_the_same_retrainings_under_the_cooldown(seed, scenario):
    """The loop's count depends on the cooldown alone (every window is far above the threshold),
    so the reference engine, on its own streams, must count exactly the same starts and alerts."""
    from sim.engine.reference import run_reference

    s = runaway(scenario, 3.0, horizon_days=12.0)
    fast = run_fast(s, seed, 1)[0]
    ref = run_reference(s, seed, 1)[0]
    assert fast.retrains == ref.retrains == loop_starts(12 * DAY, 3600, 3.5 * DAY) == 4
    # the first alert, and one after each deployment (the cooldown holds it until it ends)
    assert fast.alerts == ref.alerts == 1 + 4
