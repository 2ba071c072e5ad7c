"""The reference engine: plain SimPy, one process per request. The readable specification.

It shares no sampling code with the fast engine: distributions are drawn directly with numpy's
generator methods (beta, lognormal, ...) instead of inverse transforms of quantile tables, arrivals
are thinned one by one against the Python rate function, and the student pool is a simpy.Resource.
The fast engine is tested against it, and its speed is measured against it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import simpy

from sim.aggregates import Aggregates
from sim.engine import replication_streams
from sim.kernels import tick
from sim.kernels.histogram import LATENCY_BINS, histogram_quantile, latency_bin
from sim.scenario import Beta, Constant, Exponential, LogitNormal, Lognormal, Scenario, Segment
from sim.traffic import rate


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
            scenario.horizon_s, scenario.scenario.tick_s, len(scenario.segments)
        )
        self.tick_hists = np.zeros((self.agg.ticks, LATENCY_BINS), dtype=np.int64)
        weights = np.array([seg.weight for seg in scenario.segments], dtype=float)
        self.cumulative = np.cumsum(weights / weights.sum())
        self.sample_every = int(round(1.0 / sample_fraction)) if sample_fraction > 0 else 0
        self.calls = 0
        self.in_pool = 0
        self.pool_area = 0.0  # ∫ (requests in the student pool) dt, for Little's law
        self.last_change = 0.0

    def _pool_changes(self, delta: int) -> None:
        self.pool_area += self.in_pool * (self.env.now - self.last_change)
        self.last_change = self.env.now
        self.in_pool += delta

    def arrivals(self) -> Any:
        """A Poisson process with rate(t), by thinning against its maximum over the horizon."""
        traffic = self.s.traffic
        growth_end = (1 + traffic.growth_per_month) ** (self.s.horizon_s / (30 * 86400.0))
        weekly = np.asarray(traffic.weekly, dtype=float)
        peak = (
            traffic.calls_per_day
            / 86400.0
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

    def request(self) -> Any:
        """One call, from arrival to the final answer."""
        s, rng, router = self.s, self.rng, self.s.router
        arrival = self.env.now
        k = min(int(arrival // s.scenario.tick_s), self.agg.ticks - 1)
        i = int(np.searchsorted(self.cumulative, rng.random(), side="right"))
        i = min(i, len(s.segments) - 1)
        seg: Segment = s.segments[i]
        tokens_in = np.floor(draw(seg.tokens_in, rng))
        tokens_out = np.floor(draw(seg.tokens_out, rng))
        teacher_usd = (
            tokens_in * s.teacher.input_usd_per_mtok + tokens_out * s.teacher.output_usd_per_mtok
        ) / 1e6
        teacher_correct = rng.random() < seg.teacher_accuracy
        student_correct = rng.random() < seg.student_accuracy
        counts, values = self.agg.counts[k, i], self.agg.values[k]
        counts[tick.CALLS] += 1
        counts[tick.TEACHER_ERRORS] += not teacher_correct
        counts[tick.STUDENT_ERRORS] += not student_correct
        values[tick.TEACHER_ONLY_USD] += teacher_usd
        values[tick.TOKENS_IN] += tokens_in
        values[tick.TOKENS_OUT] += tokens_out

        confidence, wait = 0.0, 0.0
        ask_teacher = router.policy == "teacher_only"
        if router.policy != "teacher_only":
            dist = seg.confidence_correct if student_correct else seg.confidence_wrong
            confidence = draw(dist, rng)
            service = (
                draw(s.student.service_s, rng) + s.student.seconds_per_output_token * tokens_out
            )
            self._pool_changes(+1)
            with self.pool.request() as slot:
                yield slot
                wait = self.env.now - arrival
                yield self.env.timeout(service)
            self._pool_changes(-1)
            counts[tick.STUDENT_CALLS] += 1
            values[tick.WAIT_SUM] += wait
            values[tick.BUSY_S] += service
            values[tick.SOJOURN_SUM] += self.env.now - arrival
            if router.policy == "cascade" and confidence < s.threshold_for(seg.name):
                ask_teacher = True
                counts[tick.FALLBACKS] += 1
        if ask_teacher:
            yield self.env.timeout(
                draw(s.teacher.latency_s, rng) + s.teacher.seconds_per_output_token * tokens_out
            )
            values[tick.TEACHER_USD] += teacher_usd
            values[tick.TEACHER_CALLS] += 1
        final_correct = teacher_correct if ask_teacher else student_correct
        silent = not ask_teacher and not student_correct
        counts[tick.ERRORS] += not final_correct
        counts[tick.SILENT] += silent
        latency = self.env.now - arrival
        values[tick.LATENCY_SUM] += latency
        self.tick_hists[k, latency_bin(latency)] += 1
        if self.sample_every and self.calls % self.sample_every == 0:
            fell_back = ask_teacher and router.policy != "teacher_only"
            row = [
                k,
                arrival,
                i,
                student_correct,
                confidence,
                fell_back,
                final_correct,
                silent,
                wait,
                latency,
                teacher_usd if ask_teacher else 0.0,
            ]
            self.agg.sample.append(np.asarray([row], dtype=float))
        self.calls += 1

    def run(self) -> Aggregates:
        """Run to the end of the horizon and until the last request has its answer."""
        self.env.process(self.arrivals())
        self.env.run()
        self._pool_changes(0)
        for k in range(self.agg.ticks):
            self.agg.latency_p99_s[k] = histogram_quantile(self.tick_hists[k], 0.99)
        self.agg.histogram[:] = self.tick_hists.sum(axis=0)
        self.agg.pool_mean_occupancy = self.pool_area / self.s.horizon_s
        return self.agg


def run_reference(
    scenario: Scenario, seed: int, replications: int, sample_fraction: float = 0.0
) -> list[Aggregates]:
    """All replications, each on its own stream of the one SeedSequence (not the fast engine's)."""
    out = []
    for stream in replication_streams(seed, replications):
        rng = np.random.Generator(np.random.PCG64(stream.spawn(2)[1]))
        out.append(ReferenceRun(scenario, rng, sample_fraction).run())
    return out
