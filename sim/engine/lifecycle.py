"""The student's lifecycle in the control plane: drift, versions, monitoring and retraining.

SimPy processes, shared by both engines: the drift schedule moves the mix and the right answers,
the monitor reads each tick's aggregates and raises alerts, and retraining waits for an alert (or a
schedule), trains for duration_days while the old student serves, and swaps in a new version that
has seen the segments of the mix at its snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.clock import DAY_S, HOUR_S, MONTH_S
from sim.engine.aggregates import Aggregates
from sim.engine.kernels import layout
from sim.engine.prices import teacher_usd_per_call
from sim.scenario.lifecycle_models import RAMPED_DRIFTS
from sim.scenario.models import ConceptDrift, MixDrift, RandomWalkDrift, Scenario
from sim.scenario.policies import BY_NAME


@dataclass(frozen=True)
class StudentVersion:
    """One trained student: when its data was snapshotted, and which segments it has seen."""

    number: int
    trained_at_s: float
    seen: np.ndarray  # bool[segments]


def _progress(start_day: float, ramp_days: float, t: float) -> float:
    start = start_day * DAY_S
    if t < start:
        return 0.0
    if ramp_days <= 0:
        return 1.0
    return min(1.0, (t - start) / (ramp_days * DAY_S))


class Conditions:
    """The world and the student at any time: traffic mix, accuracies, the active version."""

    def __init__(self, scenario: Scenario) -> None:
        self.s = scenario
        self.names = [seg.name for seg in scenario.segments]
        self.base = np.array([seg.weight for seg in scenario.segments], dtype=float)
        self.mixes = sorted(
            (e for e in scenario.drift if isinstance(e, MixDrift)), key=lambda e: e.start_day
        )
        self.concepts = [e for e in scenario.drift if isinstance(e, ConceptDrift)]
        self.walk = np.zeros(len(self.names))  # log-share offsets of the random walks
        seen = np.array([seg.in_training for seg in scenario.segments])
        self.version = StudentVersion(1, 0.0, seen)

    def mix_at(self, t: float) -> np.ndarray:
        """Traffic shares at time t: each mix event blends the earlier trajectory to its target."""
        w = self.base.copy()
        for event in self.mixes:
            p = _progress(event.start_day, event.ramp_days, t)
            if p > 0:
                target = w.copy()
                for name, weight in event.weights.items():
                    target[self.names.index(name)] = weight
                w = (1 - p) * (w / w.sum()) + p * (target / target.sum())
        w = w / w.sum() * np.exp(self.walk)
        return w / w.sum()

    def accuracy_at(self, t: float, version: StudentVersion | None = None) -> np.ndarray:
        """The student's accuracy per segment at time t (unseen segments: unseen_accuracy)."""
        v = version or self.version
        acc = np.array([seg.student_accuracy for seg in self.s.segments], dtype=float)
        for event in self.concepts:
            i = self.names.index(event.segment)
            now = _progress(event.start_day, event.ramp_days, t)
            then = _progress(event.start_day, event.ramp_days, v.trained_at_s)
            acc[i] -= (acc[i] - event.stale_student_accuracy) * max(0.0, now - then)
        return np.where(v.seen, acc, self.s.student.unseen_accuracy)

    def segment_table(self, base: np.ndarray, t: float) -> np.ndarray:
        """The kernels' per-segment table for a tick starting at t."""
        table = base.copy()
        table[:, layout.SEG_CUM_WEIGHT] = np.cumsum(self.mix_at(t))
        table[-1, layout.SEG_CUM_WEIGHT] = 1.0
        table[:, layout.SEG_STUDENT_ACCURACY] = self.accuracy_at(t)
        return table

    def retrain(self, snapshot_s: float, number: int) -> StudentVersion:
        """A student trained on the mix at snapshot_s: segments above min_share become seen."""
        assert self.s.retraining is not None
        seen = self.mix_at(snapshot_s) > self.s.retraining.min_share
        return StudentVersion(number, snapshot_s, seen)


def drift_events(
    env: simpy.Environment, scenario: Scenario, agg: Aggregates
) -> Generator[Any, Any, None]:
    """Record each drift event's start (and a ramp's end) in events.parquet."""
    marks = []
    for i, e in enumerate(scenario.drift):
        marks.append((e.start_day * DAY_S, "drift_start", f"drift[{i}]: {e.label()}"))
        if isinstance(e, RAMPED_DRIFTS) and e.ramp_days > 0:
            marks.append(((e.start_day + e.ramp_days) * DAY_S, "drift_end", f"drift[{i}]"))
    for when, kind, detail in sorted(marks):
        if when >= scenario.horizon_s:
            return
        yield env.timeout(when - env.now)
        agg.events.append((env.now, kind, detail))


def random_walks(
    env: simpy.Environment, scenario: Scenario, conditions: Conditions, rng: np.random.Generator
) -> Generator[Any, Any, None]:
    """Each tick from its start, every segment's log-share takes a normal step."""
    walks = [e for e in scenario.drift if isinstance(e, RandomWalkDrift)]
    if not walks:
        return
    tick_s = scenario.scenario.tick_s
    while env.now < scenario.horizon_s:
        for e in walks:
            if env.now >= e.start_day * DAY_S:
                sd = e.volatility_per_month * math.sqrt(tick_s / MONTH_S)
                conditions.walk += sd * rng.standard_normal(conditions.walk.shape[0])
        yield env.timeout(tick_s)


class Monitor:
    """The windowed fallback (verify: flag) rate, and an alert when it crosses the threshold."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, agg: Aggregates) -> None:
        self.env, self.s, self.agg = env, scenario, agg
        m = scenario.monitoring
        self.threshold = m.fallback_rate_alert if m else math.inf
        self.window = max(
            1, math.ceil((m.window_hours if m else 24) * HOUR_S / scenario.scenario.tick_s)
        )
        # a verified policy alerts on the verifier's flags, others on their fallbacks
        verified = BY_NAME[scenario.router.policy].verified
        self.field = layout.FLAGS if verified else layout.FALLBACKS
        self.alerting = False
        self.since = 0  # the window never reaches back past the last deployment
        self.alerts = 0
        self.alert = env.event()
        self.rate = np.full(agg.ticks, np.nan)

    def observe(self, k: int) -> None:
        """Read tick k's aggregates; raise an alert on an upward crossing."""
        lo = max(self.since, k + 1 - self.window)
        counts = self.agg.counts[lo : k + 1].sum(axis=(0, 1))
        calls = counts[layout.CALLS]
        rate = counts[self.field] / calls if calls > 0 else 0.0
        self.rate[k] = rate
        if rate > self.threshold and not self.alerting:
            self.alerting = True
            self.alerts += 1
            self.agg.events.append(
                (self.env.now, "alert", f"windowed rate {rate:.4f} > {self.threshold:g}")
            )
            self.alert.succeed()
            self.alert = self.env.event()
        elif rate <= self.threshold:
            self.alerting = False

    def rearm(self) -> None:
        """A new student is deployed: its window starts afresh, and a high rate alerts again."""
        self.alerting = False
        self.since = math.ceil(self.env.now / self.s.scenario.tick_s - 1e-9)


def retraining(
    env: simpy.Environment,
    scenario: Scenario,
    conditions: Conditions,
    monitor: Monitor,
    agg: Aggregates,
) -> Generator[Any, Any, None]:
    """Wait for the trigger, pay, train for duration_days while the old student serves, swap.

    On the alert trigger, cooldown_days after each deployment pass before another retraining may
    start; an alert raised meanwhile that still stands (the windowed rate still above the
    threshold) when the cooldown ends starts one then. A schedule keeps its own every_days."""
    r = scenario.retraining
    if r is None or r.trigger == "never":
        return
    econ = scenario.economics
    per_call = teacher_usd_per_call(scenario)
    number = 1
    while True:
        if r.trigger == "alert":
            if not monitor.alerting:
                yield monitor.alert
        else:  # every_days apart, start to start (later if the previous one is still training)
            yield env.timeout(max(0.0, (number * r.every_days) * DAY_S - env.now))
        if env.now >= scenario.horizon_s:
            return
        snapshot = env.now
        k = min(int(snapshot // scenario.scenario.tick_s), agg.ticks - 1)
        labels = r.dataset_calls * float(conditions.mix_at(snapshot) @ per_call)
        agg.retraining_usd[k] += labels + r.compute_usd + r.engineer_days * econ.engineer_day_usd
        number += 1
        agg.retrains += 1
        agg.events.append((env.now, "retraining_start", f"student v{number}"))
        yield env.timeout(r.duration_days * DAY_S)
        conditions.version = conditions.retrain(snapshot, number)
        if env.now < scenario.horizon_s:
            agg.events.append((env.now, "retraining_end", f"student v{number} deployed"))
        monitor.rearm()
        if r.trigger == "alert" and r.cooldown_days > 0:
            yield env.timeout(r.cooldown_days * DAY_S)


def control_stream(stream: np.random.SeedSequence) -> np.random.Generator:
    """The control plane's generator (random walks): the same in both engines."""
    return np.random.Generator(np.random.PCG64DXSM(stream.spawn(3)[2]))


def start(
    env: simpy.Environment, scenario: Scenario, agg: Aggregates, stream: np.random.SeedSequence
) -> tuple[Conditions, Monitor]:
    """Start the slow processes of one replication; the engine's tick driver reads the result."""
    conditions = Conditions(scenario)
    monitor = Monitor(env, scenario, agg)
    env.process(random_walks(env, scenario, conditions, control_stream(stream)))
    env.process(drift_events(env, scenario, agg))
    env.process(retraining(env, scenario, conditions, monitor, agg))
    return conditions, monitor
