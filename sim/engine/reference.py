"""The reference engine: plain SimPy, one process per request. The readable specification.

It shares no sampling code with the fast engine: distributions are drawn directly with numpy's
generator methods (beta, lognormal, ...) instead of inverse transforms of quantile tables, arrivals
are thinned one by one against the Python rate function, and the student pool is a simpy.Resource.
The fast engine is tested against it, and its speed is measured against it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from scipy import special, stats

from sim.clock import DAY_S, HOUR_S, MINUTE_S, MONTH_S
from sim.engine import lifecycle, replay
from sim.engine.aggregates import Aggregates
from sim.engine.control import replication_streams, teacher_outages
from sim.engine.kernels import layout
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
from sim.scenario.policies import BY_NAME, Policy

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


@dataclass
class _Call:
    """One call's state on its way through the reference engine's request process."""

    arrival: float
    k: int  # its tick
    i: int  # its segment
    seg: Segment
    tokens_out: float
    teacher_usd: float
    teacher_correct: bool
    student_correct: bool
    counts: np.ndarray  # the tick's and segment's counts (a view)
    values: np.ndarray  # the tick's values (a view)
    policy: Policy
    threshold: float
    latest: float  # the deadline, or inf
    fallback: str | None
    final_correct: bool
    confidence: float = 0.0
    wait: float = 0.0
    student_at: float | None = None
    teacher: dict[str, Any] = field(default_factory=lambda: {"start": None})
    ensemble_teacher: simpy.Process | None = None
    source: str = "student"
    latency: float = 0.0
    first: float | None = None


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
                yield self.env.timeout(row[layout.REPLAY_TIME] - self.env.now)
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

    def human_review(self, result: dict[str, Any], values: np.ndarray) -> Any:
        """A person reviews the call, after a FIFO wait for a reviewer when they are few; the wait
        counts in values when the review starts (a call abandoned at its deadline meanwhile
        still holds its place in the queue)."""
        h = self.s.human
        assert h is not None
        review = draw(h.review_s, self.rng)
        result["correct"] = self.rng.random() < h.accuracy
        if self.reviewers is None:
            yield self.env.timeout(review)
            return
        ready = self.env.now
        with self.reviewers.request() as reviewer:
            yield reviewer
            values[layout.HUMAN_WAIT_SUM] += self.env.now - ready
            yield self.env.timeout(review)

    @staticmethod
    def teacher_right(seg: Segment, u_student: float, u_teacher: float) -> bool:
        """The teacher is right with its accuracy; with error_correlation ρ > 0 through a Gaussian
        copula with the student's uniform (high: the student wrong), so their errors coincide."""
        rho = seg.error_correlation
        if rho == 0.0:
            return bool(u_teacher < seg.teacher_accuracy)
        latent = rho * special.ndtri(u_student) + np.sqrt(1 - rho * rho) * special.ndtri(u_teacher)
        return bool(latent < special.ndtri(seg.teacher_accuracy))

    def checked_teacher(self, call: _Call, teacher: simpy.Process, human: dict[str, Any]) -> Any:
        """verifier.checks_teacher: the teacher answers the flagged call, then the verifier checks
        its answer if it came by the deadline; a flag sends it to review when there are reviewers
        and the check ended by the deadline. Sets call.teacher["done"] to when the checked answer
        is ready, human["escalated"] when a person reviews it."""
        s, env, v = self.s, self.env, self.s.verifier
        assert v is not None
        yield teacher
        done = call.teacher.get("done")
        if done is None or done > call.latest:
            return
        call.counts[layout.TEACHER_CHECKS] += 1
        call.values[layout.VERIFIER_USD] += v.usd_per_call
        yield env.timeout(draw(v.latency_s, self.rng))
        call.teacher["done"] = env.now
        flag_p = v.false_positive_rate if call.teacher_correct else v.recall
        if not self.rng.random() < flag_p:
            return
        call.counts[layout.TEACHER_FLAGS] += 1
        if s.human is None or env.now > call.latest:
            return
        human["escalated"] = True
        call.values[layout.HUMAN_USD] += s.human.usd_per_review
        call.counts[layout.HUMAN_REVIEWS] += 1
        yield env.process(self.human_review(human, call.values))

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
        # the draws happen in this order (common random numbers): the call, the student's
        # confidence and service, the verifier, the fallback, then the audit and secondary outputs
        call = self._arrive(given)
        if call.policy.uses_student:
            yield from self._ask_student(call)
        if call.fallback is not None and call.policy.escalates:
            call.counts[layout.FALLBACKS] += 1
        if call.fallback is not None:
            yield from self._fall_back(call)
        if call.source == "student":
            call.final_correct = call.student_correct
        self._answer(call)
        if self.sample_every and self.calls % self.sample_every == 0:
            self._sample(call)
        self.calls += 1

    def _arrive(self, given: np.ndarray | None) -> _Call:
        """Draw the call's segment, tokens and correctness; count it in its tick."""
        s, rng, env = self.s, self.rng, self.env
        arrival = env.now
        k = min(int(arrival // s.scenario.tick_s), self.agg.ticks - 1)
        cumulative = self.table[:, layout.SEG_CUM_WEIGHT]
        if given is not None and given[layout.REPLAY_SEGMENT] >= 0:
            i = int(given[layout.REPLAY_SEGMENT])
        else:
            u = rng.random()
            i = min(int(np.searchsorted(cumulative, u, side="right")), len(cumulative) - 1)
        seg: Segment = s.segments[i]
        student_accuracy = self.table[i, layout.SEG_STUDENT_ACCURACY]
        tokens_in = np.floor(draw(seg.tokens_in, rng))
        tokens_out = np.floor(draw(seg.tokens_out, rng))
        if given is not None and given[layout.REPLAY_TOKENS_IN] >= 0:
            tokens_in = given[layout.REPLAY_TOKENS_IN]
        if given is not None and given[layout.REPLAY_TOKENS_OUT] >= 0:
            tokens_out = given[layout.REPLAY_TOKENS_OUT]
        teacher_usd = (
            tokens_in * s.teacher.input_usd_per_mtok + tokens_out * s.teacher.output_usd_per_mtok
        ) / 1e6
        u_teacher, u_student = rng.random(), rng.random()
        student_correct = u_student < student_accuracy
        teacher_correct = self.teacher_right(seg, u_student, u_teacher)
        counts, values = self.agg.counts[k, i], self.agg.values[k]
        counts[layout.CALLS] += 1
        counts[layout.TEACHER_ERRORS] += not teacher_correct
        counts[layout.STUDENT_ERRORS] += not student_correct
        values[layout.TEACHER_ONLY_USD] += teacher_usd
        values[layout.TOKENS_IN] += tokens_in
        values[layout.TOKENS_OUT] += tokens_out
        policy = BY_NAME[s.router.policy]
        router = s.router
        return _Call(
            arrival=arrival,
            k=k,
            i=i,
            seg=seg,
            tokens_out=tokens_out,
            teacher_usd=teacher_usd,
            teacher_correct=teacher_correct,
            student_correct=student_correct,
            counts=counts,
            values=values,
            policy=policy,
            threshold=s.threshold_for(seg.name),
            latest=arrival + router.deadline_s if router.deadline_s > 0 else np.inf,
            fallback=None if policy.uses_student else "teacher",
            final_correct=student_correct,
        )

    def _ask_student(self, call: _Call) -> Any:
        """Send the call to the student's pool, or past it when its queue is too long."""
        s, rng, router = self.s, self.rng, self.s.router
        dist = call.seg.confidence_correct if call.student_correct else call.seg.confidence_wrong
        call.confidence = draw(dist, rng)
        service = (
            draw(s.student.service_s, rng) + s.student.seconds_per_output_token * call.tokens_out
        )
        projected = max(0.0, self.slot_free[0] - call.arrival)
        if (
            router.bypass_queue_s > 0
            and call.policy.escalates
            and projected > router.bypass_queue_s
            and self.teacher_up(call.arrival)
        ):
            call.fallback = "teacher"
            call.counts[layout.BYPASSES] += 1
            return
        heapq.heapreplace(self.slot_free, call.arrival + projected + service)
        if call.policy.teacher_in_parallel:
            call.ensemble_teacher = self.env.process(
                self.teacher_call(call.tokens_out, call.teacher, call.latest)
            )
        yield from self._serve_student(call, service, projected)
        after = AFTER_STUDENT[call.policy.name]
        call.fallback = after(
            self, call.seg, call.student_correct, call.confidence, call.threshold, call.counts
        )
        call.student_at = self.env.now

    def _serve_student(self, call: _Call, service: float, projected: float) -> Any:
        """Wait for a slot in the student's pool, be served, then verified if the policy says."""
        s, env, values = self.s, self.env, call.values
        self._pool_changes(+1)
        with self.pool.request() as slot:
            yield slot
            call.wait = env.now - call.arrival
            yield env.timeout(service)
        self._pool_changes(-1)
        assert abs(call.wait - projected) < 1e-6, "the pool is not FIFO"
        call.counts[layout.STUDENT_CALLS] += 1
        values[layout.WAIT_SUM] += call.wait
        # only the part served before the horizon (the rest is the backlog)
        horizon = self.s.horizon_s
        values[layout.BUSY_S] += min(env.now, horizon) - min(env.now - service, horizon)
        values[layout.SOJOURN_SUM] += env.now - call.arrival
        if call.policy.verified:
            assert s.verifier is not None
            yield env.timeout(draw(s.verifier.latency_s, self.rng))
            values[layout.VERIFIER_USD] += s.verifier.usd_per_call

    def _fall_back(self, call: _Call) -> Any:
        """Send the call to the teacher or a person and wait for them, or for the deadline."""
        s, env, router = self.s, self.env, self.s.router
        deadline_at = call.arrival + router.deadline_s if router.deadline_s > 0 else None
        human: dict[str, Any] = {}
        if call.fallback == "human":
            job = env.process(self.human_review(human, call.values))
            call.values[layout.HUMAN_USD] += s.human.usd_per_review if s.human else 0.0
            call.counts[layout.HUMAN_REVIEWS] += 1
        else:
            job = call.ensemble_teacher or env.process(
                self.teacher_call(call.tokens_out, call.teacher, call.latest)
            )
            verifier = s.verifier
            checks = verifier is not None and verifier.checks_teacher and call.policy.verified
            if checks and call.student_at is not None:  # flagged (a bypass is not)
                job = env.process(self.checked_teacher(call, job, human))
        if deadline_at is not None and not job.triggered:
            yield job | env.timeout(max(0.0, deadline_at - env.now))
        elif not job.triggered:
            yield job
        if call.teacher.get("too_late") and deadline_at is not None:
            yield env.timeout(max(0.0, deadline_at - env.now))
        self._settle(call, job, human)

    def _settle(self, call: _Call, job: simpy.Process, human: dict[str, Any]) -> None:
        """Charge the fallback and decide whose answer stands (none when it never came)."""
        s, router, teacher = self.s, self.s.router, call.teacher
        counts, values, fallback = call.counts, call.values, call.fallback
        if fallback == "teacher" and teacher["start"] is not None:
            values[layout.TEACHER_USD] += call.teacher_usd
            values[layout.TEACHER_CALLS] += 1
            values[layout.TEACHER_WAIT_SUM] += teacher["start"] - teacher["ready"]
        if fallback == "teacher" and teacher.get("too_late"):
            counts[layout.ABANDONED] += 1
            fail = call.student_at is None or router.on_deadline == "fail"
            call.source = "none" if fail else "student"
        elif fallback == "teacher" and job.processed and teacher["start"] is None:
            counts[layout.UNAVAILABLE] += 1
            fail = call.student_at is None or s.teacher.on_teacher_unavailable == "fail"
            call.source = "none" if fail else "student"
        elif not job.processed:
            counts[layout.ABANDONED] += 1
            fail = call.student_at is None or router.on_deadline == "fail"
            call.source = "none" if fail else "student"
        else:
            assert fallback is not None
            call.source = "human" if human.get("escalated") else fallback
            correct = call.teacher_correct if call.source == "teacher" else human["correct"]
            call.final_correct = correct

    def _answer(self, call: _Call) -> None:
        """Record the final answer: its latency, errors, audit and secondary outputs."""
        counts, values, k, teacher = call.counts, call.values, call.k, call.teacher
        # the final answer's time: the teacher's own finish for an ensemble that used it (the
        # student may still have been running), otherwise now
        answered_at = float(
            teacher["done"] if call.source == "teacher" and "done" in teacher else self.env.now
        )
        call.latency = latency = answered_at - call.arrival
        if call.policy.teacher_in_parallel and call.student_at is not None:
            call.first = min(call.student_at, answered_at) - call.arrival
        if call.source == "none":
            counts[layout.FAILED] += 1
        else:
            self._check_answer(call)
            values[layout.LATENCY_SUM] += latency
            values[layout.ANSWERED] += 1
            values[layout.LATENCY_MAX] = max(values[layout.LATENCY_MAX], latency)
            self.tick_hists[k, latency_bin(latency)] += 1
            call.first = latency if call.first is None else call.first
        if call.first is not None:
            values[layout.FIRST_MAX] = max(values[layout.FIRST_MAX], call.first)
            self.first_hists[k, latency_bin(call.first)] += 1

    def _check_answer(self, call: _Call) -> None:
        """Count an answered call's audit, secondary outputs, errors, overrides and SLO."""
        s, rng, counts, router = self.s, self.rng, call.counts, self.s.router
        monitoring = s.monitoring
        audited = monitoring is not None and rng.random() < monitoring.audit_rate
        if audited:
            counts[layout.AUDITED] += 1
            counts[layout.AUDITED_ERRORS] += not call.final_correct
        if call.source == "student":
            for j, output in enumerate(s.secondary):
                self.agg.secondary_silent[call.k, j] += rng.random() >= output.student_quality
        counts[layout.ERRORS] += not call.final_correct
        counts[layout.SILENT] += call.source == "student" and not call.student_correct
        if call.policy.teacher_in_parallel and call.source == "teacher":
            counts[layout.OVERRIDES] += not (call.student_correct and call.teacher_correct)
        if router.deadline_s > 0 and call.latency <= router.deadline_s + 1e-9:
            counts[layout.SLO_MET] += 1

    def _sample(self, call: _Call) -> None:
        """Append the call's row to the calls sample."""
        source, teacher, first = call.source, call.teacher, call.first
        fell_back = call.fallback is not None and call.policy.escalates
        start = teacher["start"] if teacher["start"] is not None else np.nan
        row = [call.k, call.arrival, call.i, call.student_correct, call.confidence, fell_back,
               call.final_correct and source != "none",
               source == "student" and not call.student_correct,
               call.wait, call.latency if source != "none" else np.nan,
               call.teacher_usd if teacher["start"] is not None else 0.0, source == "none",
               np.nan if first is None else first, start, _SOURCES[source]]  # fmt: skip
        self.agg.sample.append(np.asarray([row], dtype=float))

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
                self.tick_hists[k], 0.99, self.agg.values[k, layout.LATENCY_MAX]
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
        counts[layout.FLAGS] += 1
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
