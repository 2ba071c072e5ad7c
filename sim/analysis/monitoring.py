"""Monitoring that cannot run away: an alert threshold the student is already over on day 0, and
retraining more often than a team would ever plan.

The first is known from the scenario alone, so `validate` and `run` say it before the clock starts;
both also go into the summary's `warnings` (and so the report), from the run's own events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.analysis import economics
from sim.clock import DAY_S
from sim.engine.prices import segment_shares
from sim.scenario.models import Scenario
from sim.scenario.policies import BY_NAME

QUARTER_DAYS = 90.0  # three of the project's 30-day months


def expected_monitored_rate(scenario: Scenario) -> float | None:
    """The rate the monitor watches, expected on the day-0 mix with the first student: cascade's
    fallback rate, verify's flag rate (threshold or verifier), 0 for a policy nothing falls back
    in; None without a [monitoring] table. Queue bypasses (cascade) only add to it."""
    if scenario.monitoring is None:
        return None
    if not BY_NAME[scenario.router.policy].escalates:
        return 0.0
    unseen = scenario.student.unseen_accuracy
    total = 0.0
    for share, s, (right, wrong) in zip(
        segment_shares(scenario),
        scenario.segments,
        economics.fallback_probabilities(scenario),
        strict=True,
    ):
        p = s.student_accuracy if s.in_training else unseen  # the first student's accuracy
        total += float(share) * (p * right + (1 - p) * wrong)
    return total


def threshold_warnings(scenario: Scenario) -> list[str]:
    """An alert threshold at or below the rate the monitor is expected to see on day 0."""
    rate = expected_monitored_rate(scenario)
    if rate is None or scenario.monitoring is None:
        return []
    threshold = scenario.monitoring.fallback_rate_alert
    # an alert needs the windowed rate strictly above the threshold: a rate expected right at it
    # crosses on noise about half the time, unless it cannot vary (no call, or every call, goes on)
    if rate < threshold or (rate == threshold and rate in (0.0, 1.0)):
        return []
    watched = "flag" if BY_NAME[scenario.router.policy].verified else "fallback"
    r = scenario.retraining
    then = (
        "alerts fire on normal traffic, and every alert retrains"
        if r is not None and r.trigger == "alert"
        else "alerts fire on normal traffic"
    )
    return [
        f"monitoring.fallback_rate_alert = {threshold:g} is not above the {watched} rate expected "
        f"on the day-0 mix ({rate:.2%}): {then}; set it above {rate:.4g}"
    ]


def busiest_quarter(starts_s: Sequence[float]) -> tuple[int, float]:
    """The most retraining starts within any QUARTER_DAYS (a half-open window opening at a start),
    and the day that window opens."""
    starts = np.sort(np.asarray(starts_s, dtype=float))
    if starts.size == 0:
        return 0, 0.0
    ends = starts + QUARTER_DAYS * DAY_S
    within = np.searchsorted(starts, ends, side="left") - np.arange(starts.size)
    i = int(np.argmax(within))
    return int(within[i]), float(starts[i] / DAY_S)


def retraining_warnings(scenario: Scenario, events: Sequence[Sequence[Any]]) -> list[str]:
    """More retrainings than retraining.max_per_quarter within 90 days in any replication.

    `events` holds each replication's (time_s, kind, detail) list."""
    r = scenario.retraining
    if r is None or r.trigger == "never":
        return []
    worst, opens, where = 0, 0.0, 0
    for replication, log in enumerate(events):
        count, day = busiest_quarter([t for t, kind, _ in log if kind == "retraining_start"])
        if count > worst:
            worst, opens, where = count, day, replication
    if worst <= r.max_per_quarter:
        return []
    which = f" in replication {where}" if len(events) > 1 else ""
    why = (
        "alerts are firing on what the student normally does, not on drift; raise "
        "monitoring.fallback_rate_alert or retraining.cooldown_days"
        if r.trigger == "alert"
        else f"retraining.every_days = {r.every_days:g} retrains more often than a team would"
    )
    return [
        f"{worst} retrainings started within {QUARTER_DAYS:g} days (from day {opens:.4g}"
        f"{which}), more than retraining.max_per_quarter = {r.max_per_quarter}: {why}"
    ]


def warnings(scenario: Scenario, events: Sequence[Sequence[Any]]) -> list[str]:
    """The summary's monitoring warnings: the threshold, then how often it retrained."""
    return [*threshold_warnings(scenario), *retraining_warnings(scenario, events)]
