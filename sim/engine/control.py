"""The fast engine: a SimPy control plane stepping ticks, numba kernels doing every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import simpy

from sim.clock import DAY_S, HOUR_S
from sim.engine import lifecycle, replay
from sim.engine.aggregates import Aggregates
from sim.engine.kernels.arrivals import rate_bound
from sim.engine.kernels.histogram import LATENCY_BINS, histogram_quantile
from sim.engine.kernels.layout import (
    LATENCY_MAX,
    REC_FIELDS,
    REPLAY_FIELDS,
    SAMPLE_COLUMNS,
    STATE_CALL_INDEX,
    STATE_CLAMPED,
    STATE_FIELDS,
    STATE_PENDING,
    STATE_SAMPLE_OVERFLOW,
    STATE_STOP,
)
from sim.engine.kernels.teacher import RING_MINUTES
from sim.engine.kernels.tick import run_tick
from sim.engine.parameters import KernelParameters
from sim.engine.replay import Replay
from sim.scenario.models import Scenario

Progress = Callable[[float], None]
Draw = tuple[np.ndarray, float, np.ndarray]  # a tick's uniforms, end spacing, replayed calls
NO_REPLAY = np.zeros((0, REPLAY_FIELDS))
PENDING_CAPACITY = 1 << 16  # calls waiting for the rate-limited teacher or a reviewer at once


def replication_streams(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One SeedSequence per replication, each independent of how many replications there are."""
    return [replication_stream(seed, r) for r in range(replications)]


def replication_stream(seed: int, replication: int) -> np.random.SeedSequence:
    """Replication r's SeedSequence: the r-th child of the seed's (what spawn would give)."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def request_generator(stream: np.random.SeedSequence) -> np.random.Generator:
    """The generator of a replication's request stream (its first child stream)."""
    return np.random.Generator(np.random.PCG64DXSM(stream.spawn(1)[0]))


T = TypeVar("T")
SIGNAL_POLL_S = 0.05
DRAW_SLICE_ROWS = 1 << 18  # about 20 MB of uniforms between two looks at the stop event


def _wait(future: Future[T]) -> T:
    """A future's result, waiting in short slices: Ctrl-C's signal may land on any thread (the
    drawing one, polars' or pyarrow's), and then only a main thread that wakes up to run Python
    sees it; a single untimed wait would sleep through it forever."""
    while True:
        try:
            return future.result(timeout=SIGNAL_POLL_S)
        except TimeoutError:
            continue


class DataPlane:
    """Carried state of one replication's kernels: slot free times, call counter, buffers.

    A tick's uniforms are drawn by numpy in one block, on a helper thread one tick ahead while the
    kernel (which releases the GIL) runs the current tick. Only that thread touches the generator,
    in tick order, so the stream is the same as drawing inline. With `prefetch` off they are drawn
    inline: a sweep already keeps every core busy with one replication each, and the helper
    thread would make each of them want about 1.2 cores.

    Ctrl-C ends a run within a second: with `prefetch` on, the kernel also runs on a thread of
    its own while the main thread waits for it (a wait a signal interrupts; a numba call is not),
    and `close` raises the kernel's STATE_STOP flag and the replay's stop event, so neither the
    tick in flight nor a draw (a looped trace replayed a billion times faster) is waited for.
    In a sweep (`prefetch` off) the pool's workers are stopped by the pool instead.
    """

    def __init__(
        self,
        params: KernelParameters,
        rng: np.random.Generator,
        sample_fraction: float,
        replay: Replay | None = None,
        prefetch: bool = True,
    ) -> None:
        self.params = params
        self.rng = rng
        self.replay = replay
        self.free_at = np.zeros(params.slots)
        self.reviewers_free_at = np.zeros(params.reviewers)
        ring = RING_MINUTES if params.rate_limit > 0 else 1
        self.minute_ring = np.full((ring, 2), -1, dtype=np.int64)
        self.state = np.zeros(STATE_FIELDS, dtype=np.int64)
        self.pending = np.zeros((PENDING_CAPACITY, REC_FIELDS))
        self.tick_first_hist = np.zeros(LATENCY_BINS, dtype=np.int64)
        self.sample_every = int(round(1.0 / sample_fraction)) if sample_fraction > 0 else 0
        self.tick_hist = np.zeros(LATENCY_BINS, dtype=np.int64)
        self.kernel_s = 0.0  # time spent inside run_tick, for the benchmarks
        self._drawer = ThreadPoolExecutor(max_workers=1) if prefetch else None
        self._kernel = ThreadPoolExecutor(max_workers=1) if prefetch else None
        self._stop = threading.Event()
        self._pending: dict[float, Future[Draw]] = {}

    def _draw(self, t0: float, t1: float) -> Draw:
        """Candidates of [t0, t1): Poisson(rate bound × length) rows of uniforms and the end
        spacing, or a replayed trace's calls of the tick with one row of uniforms each."""
        if self.replay is not None:
            rows = self.replay.take(t1, self._stop)
            if self._stop.is_set():  # stopped: the run is over, its draws abandoned
                return np.zeros((0, self.params.uniforms)), 0.0, NO_REPLAY
            multiplier = self.replay.trace.rate_multiplier
            rows = replay.multiply(rows, multiplier, self.rng)
            return self._random(len(rows)), 0.0, rows
        bound, _ = rate_bound(t0, t1, self.params.traffic)
        candidates = int(self.rng.poisson(bound * (t1 - t0)))
        uniforms = self._random(candidates)
        return uniforms, float(self.rng.standard_exponential()), NO_REPLAY

    def _random(self, rows: int) -> np.ndarray:
        """rows × uniforms of U[0, 1), filled in slices so that a stop is seen between two: the
        generator fills doubles one after another, so slices give the same numbers as one call."""
        out = np.empty((rows, self.params.uniforms))
        for start in range(0, rows, DRAW_SLICE_ROWS):
            if self._stop.is_set():
                break
            self.rng.random(out=out[start : start + DRAW_SLICE_ROWS])
        return out

    def prefetch(self, t0: float, t1: float) -> None:
        """Start drawing the uniforms of a later tick in the background."""
        if self._drawer is not None:
            self._pending[t0] = self._drawer.submit(self._draw, t0, t1)

    def close(self) -> None:
        """Stop the drawing and kernel threads, at once if a tick is still in flight (Ctrl-C)."""
        self._stop.set()
        self.state[STATE_STOP] = 1
        for pool in (self._drawer, self._kernel):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _uniforms(self, t0: float, t1: float) -> Draw:
        if self._drawer is None:
            return self._draw(t0, t1)
        if t0 not in self._pending:
            self.prefetch(t0, t1)
        return _wait(self._pending.pop(t0))

    def step(self, agg: Aggregates, k: int, t0: float, t1: float, segments: np.ndarray) -> None:
        """Run every request arriving in [t0, t1) under this tick's segment table (mix and
        accuracies) and store tick k's aggregates."""
        p, tables = self.params, self.params.tables
        uniforms, spacing_end, replayed = self._uniforms(t0, t1)
        if k + 1 < agg.ticks:
            start = float(agg.tick_start_s[k + 1])
            self.prefetch(start, start + float(agg.tick_length_s[k + 1]))
        last = k + 1 == agg.ticks
        capacity = 0
        if self.sample_every:
            capacity = (uniforms.shape[0] + int(self.state[STATE_PENDING])) // self.sample_every + 2
        sample = np.zeros((capacity, len(SAMPLE_COLUMNS)))
        self.tick_hist[:] = 0
        self.tick_first_hist[:] = 0
        started = time.perf_counter()
        rows = self._run_tick(
            uniforms,
            spacing_end,
            replayed,
            t0,
            t1,
            np.inf if last else t1,
            p.policy,
            p.traffic,
            segments,
            p.models,
            tables.spec,
            tables.table,
            p.outages,
            p.secondary_quality,
            self.free_at,
            self.reviewers_free_at,
            self.minute_ring,
            self.state,
            self.pending,
            self.sample_every,
            agg.counts[k],
            agg.values[k],
            self.tick_hist,
            self.tick_first_hist,
            agg.secondary_silent[k],
            sample,
        )
        self.kernel_s += time.perf_counter() - started
        agg.histogram += self.tick_hist
        agg.first_histogram += self.tick_first_hist
        agg.latency_p99_s[k] = histogram_quantile(self.tick_hist, 0.99, agg.values[k, LATENCY_MAX])
        if rows:
            agg.sample.append(np.column_stack([np.full(rows, k), sample[:rows]]))
        agg.sample_overflow = bool(self.state[STATE_SAMPLE_OVERFLOW])

    def _run_tick(self, *args: Any) -> int:
        if self._kernel is None:
            return int(run_tick(*args))
        return int(_wait(self._kernel.submit(run_tick, *args)))

    @property
    def calls(self) -> int:
        """Calls simulated so far."""
        return int(self.state[STATE_CALL_INDEX])


def tick_driver(
    env: simpy.Environment,
    plane: DataPlane,
    agg: Aggregates,
    conditions: lifecycle.Conditions,
    monitor: lifecycle.Monitor,
    progress: Progress | None,
) -> Generator[Any, Any, None]:
    """The control plane's clock: each tick hands the current parameters to the data plane, and
    the monitor reads what came back."""
    for k in range(agg.ticks):
        t0 = float(agg.tick_start_s[k])
        t1 = t0 + float(agg.tick_length_s[k])
        agg.student_version[k] = conditions.version.number
        plane.step(agg, k, t0, t1, conditions.segment_table(plane.params.segments, t0))
        if progress is not None:
            progress((k + 1) / agg.ticks)
        yield env.timeout(t1 - env.now)
        monitor.observe(k)  # at the tick's end, as a team's dashboard would


def teacher_outages(
    env: simpy.Environment, scenario: Scenario, agg: Aggregates
) -> Generator[Any, Any, None]:
    """The control plane's record of the teacher going down and coming back.

    The data plane reads the same schedule (KernelParameters.outages) to refuse teacher calls
    inside a window to the microsecond, whatever the tick.
    """
    for outage in sorted(scenario.teacher.outages, key=lambda o: o.start_day):
        if outage.start_day * DAY_S >= scenario.horizon_s:
            return
        yield env.timeout(max(0.0, outage.start_day * DAY_S - env.now))
        agg.events.append((env.now, "outage_start", f"teacher down for {outage.hours:g} h"))
        yield env.timeout(outage.hours * HOUR_S)
        agg.events.append((env.now, "outage_end", "teacher back"))


def run_replication(
    scenario: Scenario,
    params: KernelParameters,
    stream: np.random.SeedSequence,
    sample_fraction: float = 0.0,
    progress: Progress | None = None,
    prefetch: bool = True,
) -> Aggregates:
    """One replication of the fast engine."""
    agg = Aggregates.empty(
        scenario.horizon_s,
        scenario.scenario.tick_s,
        len(scenario.segments),
        len(scenario.secondary),
    )
    trace = Replay(scenario) if scenario.traffic.trace is not None else None
    plane = DataPlane(params, request_generator(stream), sample_fraction, trace, prefetch)
    env = simpy.Environment()
    conditions, monitor = lifecycle.start(env, scenario, agg, stream)
    env.process(tick_driver(env, plane, agg, conditions, monitor, progress))
    env.process(teacher_outages(env, scenario, agg))
    try:
        env.run(until=scenario.horizon_s + 1e-6)
    finally:
        plane.close()
    agg.kernel_s = plane.kernel_s
    agg.kernel_clamped = int(plane.state[STATE_CLAMPED])
    # work admitted before the horizon but not done by it (the slots' last finish times)
    agg.student_backlog_s = max(0.0, float(plane.free_at.max()) - scenario.horizon_s)
    agg.alerts = monitor.alerts
    agg.monitor_rate = monitor.rate
    return agg


def run_fast(
    scenario: Scenario,
    seed: int,
    replications: int,
    sample_fraction: float = 0.0,
    progress: Progress | None = None,
) -> list[Aggregates]:
    """All replications of the fast engine, each on its own stream of the one SeedSequence."""
    params = KernelParameters.from_scenario(scenario)
    out = []
    for r, stream in enumerate(replication_streams(seed, replications)):

        def report(share: float, r: int = r) -> None:
            if progress is not None:
                progress((r + share) / replications)

        out.append(run_replication(scenario, params, stream, sample_fraction, report))
    return out


def run_one(scenario: Scenario, replication: int, prefetch: bool = True) -> Aggregates:
    """Replication `replication` of a scenario on its own seed's stream, alone: the same
    aggregates as that replication of `run_fast`, whoever runs it and in whatever order."""
    params = KernelParameters.from_scenario(scenario)
    stream = replication_stream(scenario.scenario.seed, replication)
    return run_replication(scenario, params, stream, prefetch=prefetch)
