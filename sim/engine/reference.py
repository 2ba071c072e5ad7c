"""The reference engine: plain SimPy, one process per request. The readable specification.

It shares no sampling code with the fast engine: distributions are drawn directly with numpy's
generator methods (beta, lognormal, ...) instead of inverse transforms of quantile tables, arrivals
are thinned one by one against the Python rate function, and the student pool is a simpy.Resource.
The fast engine is tested against it, and its speed is measured against it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy
from scipy import stats

from sim.clock import DAY_S, HOUR_S, MINUTE_S, MONTH_S
from sim.engine import lifecycle, replay
from sim.engine.aggregates import Aggregates
from sim.engine.control import replication_streams, teacher_outages
from sim.engine.kernels import tick
from sim.engine.kernels.histogram import LATENCY_BINS, histogram_quantile, latency_bin
from sim.engine.parameters import KernelParameters
from sim.engine.traffic import rate
from sim.scenario.distributions import frozen
from sim.scenario.models import (
    Beta,
    Constant,
    Empirical,
    Exponential,
    LogitNormal,
    Lognormal,
    Scenario,
    Segment,
)
from sim.scenario.policies import BY_NAME

_SOURCES = {"student": 0, "teacher": 1, "human": 2, "none": 3}


def draw(dist: Any, rng: np.random.Generator) -> float:
    """One draw of a scenario distribution, by numpy's own samplers."""
    if isinstance(dist, Constant):
        return dist.value
    if isinstance(dist, Exponential):
        return float(rng.exponential(dist.mean))
    if isinstance(dist, Lognormal):
        return float(dist.median * np.exp(dist.sigma * rng.standard_normal()))
    if isinstance(dist, Beta):
        return float(rng.beta(dist.a, dist.b))
    if isinstance(dist, Empirical):  # resample: a uniform order-statistic position
        return float(frozen(dist).ppf(rng.random()))
    if isinstance(dist, LogitNormal):
        return float(1.0 / (1.0 + np.exp(-rng.normal(dist.mu, dist.sigma))))
    raise ValueError(f"unsupported distribution {dist!r}")


class ReferenceRun:
    """One replication: the SimPy model and the aggregates it fills."""

    def __init__(
        self, scenario: Scenario, rng: np.random.Generator, sample_fraction: float
    ) -> None:
        self.s = scenario
        self.rng = rng
        self.env = simpy.Environment()
        self.pool = simpy.Resource(
            self.env, capacity=scenario.student.servers * scenario.student.concurrency
        )
        self.agg = Aggregates.empty(
            scenario.horizon_s,
            scenario.scenario.tick_s,
            len(scenario.segments),
            len(scenario.secondary),
        )
        self.tick_hists = np.zeros((self.agg.ticks, LATENCY_BINS), dtype=np.int64)
        self.first_hists = np.zeros((self.agg.ticks, LATENCY_BINS), dtype=np.int64)
        self.slot_free = [0.0] * (scenario.student.servers * scenario.student.concurrency)
        teacher = scenario.teacher
        self.outages = [
            (o.start_day * DAY_S, o.start_day * DAY_S + o.hours * HOUR_S) for o in teacher.outages
        ]
        self.minute_calls: dict[int, int] = {}  # teacher calls started in each clock minute
        human = scenario.human
        self.reviewers = (
            simpy.Resource(self.env, capacity=human.reviewers)
            if human is not None and human.reviewers > 0
            else None
        )
        # the day-0 mix and accuracies; the control plane rewrites those columns every tick
        self.base_table = KernelParameters.from_scenario(scenario).segments
        self.table = self.base_table
        self.sample_every = int(round(1.0 / sample_fraction)) if sample_fraction > 0 else 0
        self.calls = 0
        self.in_pool = 0
        self.pool_area = 0.0  # ∫ (requests in the student pool) dt, for Little's law
        self.last_change = 0.0

    def _pool_changes(self, delta: int) -> None:
        self.pool_area += self.in_pool * (self.env.now - self.last_change)
        self.last_change = self.env.now
        self.in_pool += delta

    def replayed_arrivals(self) -> Any:
        """A trace's calls at their recorded times (each multiplied by the rate multiplier)."""
        trace = replay.Replay(self.s)
        multiplier = trace.trace.rate_multiplier
        whole = int(np.floor(multiplier))
        end, horizon = 0.0, self.s.horizon_s
        while end < horizon:  # a tick's worth of the file at a time
            end = min(end + self.s.scenario.tick_s, horizon)
            for row in trace.take(end):
                yield self.env.timeout(row[tick.REPLAY_TIME] - self.env.now)
                copies = whole + int(self.rng.random() < multiplier - whole)
                for _ in range(copies):
                    self.env.process(self.request(row))

    def arrivals(self) -> Any:
        """A Poisson process with rate(t), by thinning against its maximum over the horizon."""
        traffic = self.s.traffic
        growth_end = (1 + traffic.growth_per_month) ** (self.s.horizon_s / MONTH_S)
        weekly = np.asarray(traffic.weekly, dtype=float)
        peak = (
            traffic.calls_per_day
            / DAY_S
            * (1 + traffic.diurnal_amplitude)
            * (weekly * 7 / weekly.sum()).max()
            * max(1.0, growth_end)
        )
        while True:
            yield self.env.timeout(self.rng.exponential(1.0 / peak))
            if self.env.now >= self.s.horizon_s:
                return
            if self.rng.random() * peak < float(rate(traffic, self.env.now)):
                self.env.process(self.request())

    def teacher_up(self, time_s: float) -> bool:
        """Is the teacher reachable at this time?"""
        return not any(a <= time_s < b for a, b in self.outages)

    def teacher_call(self, tokens_out: float, result: dict[str, Any], latest_s: float) -> Any:
        """Call the teacher: wait for room in a clock minute, then its latency. Fills result.

        A call that could only start after latest_s (the deadline) is never sent."""
        s, env = self.s, self.env
        result["start"] = None
        result["ready"] = env.now
        if not self.teacher_up(env.now):
            return
        limit = s.teacher.rate_limit_per_min
        if limit > 0:
            minute = int(env.now // MINUTE_S)
            while self.minute_calls.get(minute, 0) >= limit:
                minute += 1
            if max(minute * MINUTE_S, env.now) > latest_s:
                result["too_late"] = True
                return
            self.minute_calls[minute] = self.minute_calls.get(minute, 0) + 1  # hold the place
            if minute * MINUTE_S > env.now:
                yield env.timeout(minute * MINUTE_S - env.now)
            if not self.teacher_up(env.now):
                self.minute_calls[minute] -= 1  # no call was made
                return
        result["start"] = env.now
        yield env.timeout(
            draw(s.teacher.latency_s, self.rng) + s.teacher.seconds_per_output_token * tokens_out
        )
        result["done"] = env.now

    def human_review(self, result: dict[str, Any]) -> Any:
        """A person reviews the call, after a FIFO wait for a reviewer when they are few."""
        h = self.s.human
        assert h is not None
        review = draw(h.review_s, self.rng)
        result["correct"] = self.rng.random() < h.accuracy
        result["start"] = self.env.now
        if self.reviewers is None:
            yield self.env.timeout(review)
            return
        with self.reviewers.request() as reviewer:
            yield reviewer
            result["start"] = self.env.now
            yield self.env.timeout(review)

    def verifier_flags(self, seg: Segment, correct: bool, confidence: float) -> bool:
        """The verifier: fpr on right answers; on wrong ones a Gaussian copula with the
        confidence's rank F₀(confidence) among wrong answers, keeping the recall exact."""
        v = self.s.verifier
        assert v is not None
        if correct:
            return bool(self.rng.random() < v.false_positive_rate)
        rho = v.blind_spot_correlation
        rank = float(np.clip(frozen(seg.confidence_wrong).cdf(confidence), 1e-300, 1 - 1e-16))
        latent = rho * stats.norm.ppf(rank) + np.sqrt(1 - rho * rho) * self.rng.standard_normal()
        return bool(latent < stats.norm.ppf(v.recall))

    def request(self, given: np.ndarray | None = None) -> Any:
        """One call, from arrival to the final answer; `given`: a replayed call's row (its
        segment and tokens where the trace has them, else -1)."""
        s, rng, router, env = self.s, self.rng, self.s.router, self.env
        arrival = env.now
        k = min(int(arrival // s.scenario.tick_s), self.agg.ticks - 1)
        cumulative = self.table[:, tick.SEG_CUM_WEIGHT]
        if given is not None and given[tick.REPLAY_SEGMENT] >= 0:
            i = int(given[tick.REPLAY_SEGMENT])
        else:
            u = rng.random()
            i = min(int(np.searchsorted(cumulative, u, side="right")), len(cumulative) - 1)
        seg: Segment = s.segments[i]
        student_accuracy = self.table[i, tick.SEG_STUDENT_ACCURACY]
        tokens_in = np.floor(draw(seg.tokens_in, rng))
        tokens_out = np.floor(draw(seg.tokens_out, rng))
        if given is not None and given[tick.REPLAY_TOKENS_IN] >= 0:
            tokens_in = given[tick.REPLAY_TOKENS_IN]
        if given is not None and given[tick.REPLAY_TOKENS_OUT] >= 0:
            tokens_out = given[tick.REPLAY_TOKENS_OUT]
        teacher_usd = (
            tokens_in * s.teacher.input_usd_per_mtok + tokens_out * s.teacher.output_usd_per_mtok
        ) / 1e6
        teacher_correct = rng.random() < seg.teacher_accuracy
        student_correct = rng.random() < student_accuracy
        counts, values = self.agg.counts[k, i], self.agg.values[k]
        counts[tick.CALLS] += 1
        counts[tick.TEACHER_ERRORS] += not teacher_correct
        counts[tick.STUDENT_ERRORS] += not student_correct
        values[tick.TEACHER_ONLY_USD] += teacher_usd
        values[tick.TOKENS_IN] += tokens_in
        values[tick.TOKENS_OUT] += tokens_out
        policy = BY_NAME[router.policy]
        threshold = s.threshold_for(seg.name)

        confidence, wait = 0.0, 0.0
        latest = arrival + router.deadline_s if router.deadline_s > 0 else np.inf
        student_at: float | None = None
        fallback: str | None = None if policy.uses_student else "teacher"
        teacher: dict[str, Any] = {"start": None}
        ensemble_teacher = None
        if policy.uses_student:
            dist = seg.confidence_correct if student_correct else seg.confidence_wrong
            confidence = draw(dist, rng)
            service = (
                draw(s.student.service_s, rng) + s.student.seconds_per_output_token * tokens_out
            )
            projected = max(0.0, self.slot_free[0] - arrival)
            if (
                router.bypass_queue_s > 0
                and policy.escalates
                and projected > router.bypass_queue_s
                and self.teacher_up(arrival)
            ):
                fallback = "teacher"
                counts[tick.BYPASSES] += 1
            else:
                heapq.heapreplace(self.slot_free, arrival + projected + service)
                if policy.teacher_in_parallel:
                    ensemble_teacher = env.process(self.teacher_call(tokens_out, teacher, latest))
                self._pool_changes(+1)
                with self.pool.request() as slot:
                    yield slot
                    wait = env.now - arrival
                    yield env.timeout(service)
                self._pool_changes(-1)
                assert abs(wait - projected) < 1e-6, "the pool is not FIFO"
                counts[tick.STUDENT_CALLS] += 1
                values[tick.WAIT_SUM] += wait
                # only the part served before the horizon (the rest is the backlog)
                horizon = self.s.horizon_s
                values[tick.BUSY_S] += min(env.now, horizon) - min(env.now - service, horizon)
                values[tick.SOJOURN_SUM] += env.now - arrival
                if policy.verified:
                    assert s.verifier is not None
                    yield env.timeout(draw(s.verifier.latency_s, rng))
                    values[tick.VERIFIER_USD] += s.verifier.usd_per_call
                after = AFTER_STUDENT[policy.name]
                fallback = after(self, seg, student_correct, confidence, threshold, counts)
                student_at = env.now
        if fallback is not None and policy.escalates:
            counts[tick.FALLBACKS] += 1

        source, final_correct = "student", student_correct
        if fallback is not None:
            deadline_at = arrival + router.deadline_s if router.deadline_s > 0 else None
            human: dict[str, Any] = {}
            if fallback == "human":
                job = env.process(self.human_review(human))
                values[tick.HUMAN_USD] += s.human.usd_per_review if s.human else 0.0
                counts[tick.HUMAN_REVIEWS] += 1
            else:
                job = ensemble_teacher or env.process(
                    self.teacher_call(tokens_out, teacher, latest)
                )
            if deadline_at is not None and not job.triggered:
                yield job | env.timeout(max(0.0, deadline_at - env.now))
            elif not job.triggered:
                yield job
            if teacher.get("too_late") and deadline_at is not None:
                yield env.timeout(max(0.0, deadline_at - env.now))
            if fallback == "teacher" and teacher["start"] is not None:
                values[tick.TEACHER_USD] += teacher_usd
                values[tick.TEACHER_CALLS] += 1
                values[tick.TEACHER_WAIT_SUM] += teacher["start"] - teacher["ready"]
            if fallback == "human" and "start" in human:
                values[tick.HUMAN_WAIT_SUM] += human["start"] - (student_at or arrival)
            if fallback == "teacher" and teacher.get("too_late"):
                counts[tick.ABANDONED] += 1
                fail = student_at is None or router.on_deadline == "fail"
                source = "none" if fail else "student"
            elif fallback == "teacher" and job.processed and teacher["start"] is None:
                counts[tick.UNAVAILABLE] += 1
                fail = student_at is None or s.teacher.on_teacher_unavailable == "fail"
                source = "none" if fail else "student"
            elif not job.processed:
                counts[tick.ABANDONED] += 1
                fail = student_at is None or router.on_deadline == "fail"
                source = "none" if fail else "student"
            else:
                source = fallback
                final_correct = teacher_correct if fallback == "teacher" else human["correct"]
        if source == "student":
            final_correct = student_correct
        # the final answer's time: the teacher's own finish for an ensemble that used it (the
        # student may still have been running), otherwise now
        answered_at = float(
            teacher["done"] if source == "teacher" and "done" in teacher else env.now
        )
        latency = answered_at - arrival
        first = None
        if policy.teacher_in_parallel and student_at is not None:
            first = min(student_at, answered_at) - arrival
        if source == "none":
            counts[tick.FAILED] += 1
        else:
            monitoring = s.monitoring
            audited = monitoring is not None and rng.random() < monitoring.audit_rate
            if audited:
                counts[tick.AUDITED] += 1
                counts[tick.AUDITED_ERRORS] += not final_correct
            if source == "student":
                for j, output in enumerate(s.secondary):
                    self.agg.secondary_silent[k, j] += rng.random() >= output.student_quality
            counts[tick.ERRORS] += not final_correct
            counts[tick.SILENT] += source == "student" and not student_correct
            if policy.teacher_in_parallel and source == "teacher":
                counts[tick.OVERRIDES] += not (student_correct and teacher_correct)
            if router.deadline_s > 0 and latency <= router.deadline_s + 1e-9:
                counts[tick.SLO_MET] += 1
            values[tick.LATENCY_SUM] += latency
            values[tick.ANSWERED] += 1
            values[tick.LATENCY_MAX] = max(values[tick.LATENCY_MAX], latency)
            self.tick_hists[k, latency_bin(latency)] += 1
            first = latency if first is None else first
        if first is not None:
            values[tick.FIRST_MAX] = max(values[tick.FIRST_MAX], first)
            self.first_hists[k, latency_bin(first)] += 1
        if self.sample_every and self.calls % self.sample_every == 0:
            fell_back = fallback is not None and policy.escalates
            start = teacher["start"] if teacher["start"] is not None else np.nan
            row = [k, arrival, i, student_correct, confidence, fell_back,
                   final_correct and source != "none", source == "student" and not student_correct,
                   wait, latency if source != "none" else np.nan,
                   teacher_usd if teacher["start"] is not None else 0.0, source == "none",
                   np.nan if first is None else first, start, _SOURCES[source]]  # fmt: skip
            self.agg.sample.append(np.asarray([row], dtype=float))
        self.calls += 1

    def ticks(self, conditions: lifecycle.Conditions, monitor: lifecycle.Monitor) -> Any:
        """The control plane's clock: the mix and the student for each tick; the monitor at its
        end."""
        for k in range(self.agg.ticks):
            self.table = conditions.segment_table(self.base_table, self.env.now)
            self.agg.student_version[k] = conditions.version.number
            yield self.env.timeout(float(self.agg.tick_length_s[k]))
            monitor.observe(k)

    def run(self, stream: np.random.SeedSequence) -> Aggregates:
        """Run to the end of the horizon and until the last request has its answer."""
        conditions, monitor = lifecycle.start(self.env, self.s, self.agg, stream)
        self.env.process(self.ticks(conditions, monitor))
        replaying = self.s.traffic.trace is not None
        self.env.process(self.replayed_arrivals() if replaying else self.arrivals())
        self.env.process(teacher_outages(self.env, self.s, self.agg))
        self.env.run()
        self._pool_changes(0)
        for k in range(self.agg.ticks):
            self.agg.latency_p99_s[k] = histogram_quantile(
                self.tick_hists[k], 0.99, self.agg.values[k, tick.LATENCY_MAX]
            )
        self.agg.histogram[:] = self.tick_hists.sum(axis=0)
        self.agg.first_histogram[:] = self.first_hists.sum(axis=0)
        self.agg.alerts = monitor.alerts
        self.agg.monitor_rate = monitor.rate
        self.agg.pool_mean_occupancy = self.pool_area / self.s.horizon_s
        self.agg.student_backlog_s = max(0.0, max(self.slot_free) - self.s.horizon_s)
        return self.agg


# The reference twins of the kernel's routing steps: once the student has answered (and a verifier
# has looked), where the call goes next: None keeps the student's answer, "teacher" or "human" sends
# it on. Each takes (run, segment, student right?, confidence, threshold, the tick's counts).
Twin = Callable[[ReferenceRun, Segment, bool, float, float, np.ndarray], str | None]


def _student_only(run: ReferenceRun, *_: Any) -> str | None:
    """The student's answer stands."""
    return None


def _cascade(
    run: ReferenceRun, seg: Segment, right: bool, confidence: float, t: float, _: Any
) -> str | None:
    """Below the confidence threshold the teacher answers instead."""
    return "teacher" if confidence < t else None


def _verify(
    run: ReferenceRun, seg: Segment, right: bool, confidence: float, t: float, counts: np.ndarray
) -> str | None:
    """Below the threshold, or flagged by the verifier, the call goes to on_flag."""
    assert run.s.verifier is not None
    if confidence < t or run.verifier_flags(seg, right, confidence):
        counts[tick.FLAGS] += 1
        return run.s.verifier.on_flag
    return None


def _ensemble(run: ReferenceRun, *_: Any) -> str | None:
    """The teacher, started in parallel, gives the final answer."""
    return "teacher"


AFTER_STUDENT: dict[str, Twin] = {
    "student_only": _student_only,
    "cascade": _cascade,
    "verify": _verify,
    "ensemble": _ensemble,
}


def run_reference(
    scenario: Scenario, seed: int, replications: int, sample_fraction: float = 0.0
) -> list[Aggregates]:
    """All replications, each on its own stream of the one SeedSequence (not the fast engine's)."""
    out = []
    for stream in replication_streams(seed, replications):
        rng = np.random.Generator(np.random.PCG64(stream.spawn(2)[1]))
        out.append(ReferenceRun(scenario, rng, sample_fraction).run(stream))
    return out
