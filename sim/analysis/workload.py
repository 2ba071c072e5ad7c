"""A work estimate before the work: calls, ticks, retrainings, backlog, memory and time of a run,
computed from the scenario alone, and a refusal naming the field when a run would be too large.

A scenario can ask for work no machine finishes (calls_per_day = 1e13, a retraining every 1e-9
days, a trace replayed a billion times faster and looped) or memory none has (an hour's tick of a
billion calls a day draws its uniforms in one block). Each is cheap to foresee and expensive to
discover, so every command that simulates estimates first and refuses, as bad input (exit 2),
what exceeds a limit, unless --allow-large says the user means it. The estimate is an upper-end
figure from closed forms, never a run: it costs microseconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sim.clock import DAY_S, HOUR_S, MINUTE_S, MONTH_S
from sim.engine.kernels import layout
from sim.engine.traffic import weekly_factors
from sim.problems import BadInput, show
from sim.scenario.models import Scenario

MAX_CALLS = 1e10  # over all replications: about 20 minutes at the engine's speed
MAX_TICKS = 1e7  # per replication: about 80 minutes of per-tick overhead alone
MAX_RETRAININGS = 1e5  # per replication: each is control-plane work in Python
GiB = float(1 << 30)
# at most half the machine's memory (24 GiB here: 12 GiB) and never more than 16 GiB
MAX_MEMORY_BYTES = min(16 * GiB, 0.5 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
SAY_OVER_S = 120.0  # a run estimated longer than this says so before it starts

# Calibrated on this project's 2-core machine (README, Performance): 8.9 M calls/s end to end on
# one core; 5 M/s leaves room for verifier, human and rate-limited scenarios. A tick costs about
# 0.5 ms of control plane (SimPy step, the kernel call, the aggregates) even when empty.
CALLS_PER_S = 5e6
SECONDS_PER_TICK = 5e-4
BASE_MEMORY_BYTES = 400e6  # interpreter, numba, scipy, polars and the report's matplotlib
# per tick and replication: the aggregates' rows and the timeseries frames built from them
BYTES_PER_TICK_ROW = 2048.0
BYTES_PER_SEGMENT_ROW = layout.COUNT_FIELDS * 8.0 * 3  # counts, then their frame and sums


@dataclass(frozen=True)
class Estimate:
    """What one scenario's run would do, from its fields alone."""

    calls: float  # per replication, expected
    ticks: int  # per replication
    replications: int
    retrainings: float  # per replication, at most
    backlog: float  # calls waiting for the rate-limited teacher at the horizon, expected
    tick_calls: float  # the busiest tick's candidate calls, drawn in one block
    memory_bytes: float
    seconds: float  # on one core

    @property
    def total_calls(self) -> float:
        """Calls over every replication."""
        return self.calls * self.replications

    def line(self) -> str:
        """One line for a user about to wait."""
        return (
            f"estimate: about {_num(self.total_calls)} calls and {_num(self.ticks)} ticks over "
            f"{self.replications} replication(s), {_duration(self.seconds)} at "
            f"{_num(CALLS_PER_S)} calls/s and {SECONDS_PER_TICK * 1e3:g} ms a tick, "
            f"about {self.memory_bytes / GiB:.1f} GiB"
        )


def _num(x: float) -> str:
    """1,234 or 6.1e10 (no '+', as a TOML file would spell it)."""
    return f"{x:,.0f}" if x < 1e6 else f"{x:.1e}".replace("e+", "e")


def _limit(x: float) -> str:
    """1e10, 1e7: a round limit as a person writes it."""
    return f"{x:.0e}".replace("e+0", "e").replace("e+", "e")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"about {seconds:.0f} s"
    if seconds < 7200:
        return f"about {seconds / MINUTE_S:.0f} min"
    return f"about {seconds / HOUR_S:.1f} h"


def _growth_integral(horizon_s: float, growth_per_month: float) -> float:
    """∫₀ᴴ (1 + g)^(t / month) dt in seconds (inf when it overflows)."""
    rate = math.log1p(growth_per_month) / MONTH_S
    if abs(rate * horizon_s) < 1e-12:
        return horizon_s
    try:
        return math.expm1(rate * horizon_s) / rate
    except OverflowError:
        return math.inf


def _growth_at_end(horizon_s: float, growth_per_month: float) -> float:
    try:
        return max(1.0, math.exp(math.log1p(growth_per_month) * horizon_s / MONTH_S))
    except OverflowError:
        return math.inf


def _uniforms(s: Scenario) -> int:
    """Latents drawn per candidate (the kernels' row width, at most)."""
    width = layout.BASE_UNIFORMS + len(s.secondary)
    if s.verifier is not None or s.human is not None:
        width += 4
    return width + (1 if s.monitoring is not None else 0)


def _teacher_share(s: Scenario) -> float:
    """The share of calls that go to the teacher, on the day-0 mix."""
    policy = s.router.policy
    if policy in ("teacher_only", "ensemble"):
        return 1.0
    if policy == "student_only":
        return 0.0
    from sim.analysis.economics import (
        analytic_fallback_rate,  # scipy's CDFs: only when a limit is set
    )

    return analytic_fallback_rate(s)


def estimate(s: Scenario) -> Estimate:
    """The run's work from the scenario (a replayed trace's rate and horizon already set)."""
    horizon_s = s.horizon_s
    traffic = s.traffic
    base = (traffic.calls_per_day or 0.0) / DAY_S  # a trace's mean rate after replay.prepare
    calls = base * _growth_integral(horizon_s, traffic.growth_per_month)
    # the busiest tick: the rate's bound (peak hour, busiest weekday, end of horizon) × the tick
    peak = base * (1.0 + traffic.diurnal_amplitude) * float(weekly_factors(traffic).max())
    tick_calls = peak * _growth_at_end(horizon_s, traffic.growth_per_month) * s.scenario.tick_s
    tick_calls = min(tick_calls, calls) if math.isfinite(calls) else tick_calls
    ticks = math.ceil(horizon_s / s.scenario.tick_s - 1e-9)
    retrainings = 0.0
    r = s.retraining
    if r is not None and r.trigger != "never":
        # one at a time: the next starts after the previous has trained; a schedule needs no
        # tick (SimPy events), an alert is read at a tick's end and waits out the cooldown
        gap_days = max(r.every_days, r.duration_days)
        if r.trigger == "alert":
            gap_days = max(r.duration_days + r.cooldown_days, s.scenario.tick_s / DAY_S)
        retrainings = s.scenario.horizon_days / gap_days
    backlog = 0.0
    limit = s.teacher.rate_limit_per_min
    if limit > 0 and math.isfinite(calls):
        # arrivals to the teacher beyond what the limit lets start wait in the pending heap
        backlog = max(0.0, calls * _teacher_share(s) - limit * horizon_s / MINUTE_S)
    replications = s.scenario.replications
    rows = float(ticks) * replications
    per_tick = BYTES_PER_TICK_ROW + BYTES_PER_SEGMENT_ROW * len(s.segments)
    # two blocks of uniforms alive at once: the tick running and the next one being drawn
    draws = 2.0 * tick_calls * _uniforms(s) * 8.0
    memory = BASE_MEMORY_BYTES + rows * per_tick + draws
    seconds = calls * replications / CALLS_PER_S + rows * SECONDS_PER_TICK
    return Estimate(calls, ticks, replications, retrainings, backlog, tick_calls, memory, seconds)


def _calls_field(s: Scenario, per_replication: float) -> tuple[str, object]:
    """The field that makes the call count too large, and its value as given."""
    if per_replication <= MAX_CALLS and s.scenario.replications > 1:
        return "scenario.replications", s.scenario.replications
    trace = s.traffic.trace
    if trace is not None:
        if trace.loop and trace.speedup > 1:
            return "traffic.trace.speedup", trace.speedup
        if trace.rate_multiplier > 1:
            return "traffic.trace.rate_multiplier", trace.rate_multiplier
        return "scenario.horizon_days", s.scenario.horizon_days
    if s.scenario.horizon_days > 3650:
        return "scenario.horizon_days", s.scenario.horizon_days
    flat = (s.traffic.calls_per_day or 0.0) / DAY_S * s.horizon_s
    if flat > 0 and per_replication > 10 * flat:
        return "traffic.growth_per_month", s.traffic.growth_per_month
    return "traffic.calls_per_day", s.traffic.calls_per_day


def problems(s: Scenario) -> list[str]:
    """One line per limit the scenario's run would exceed (empty when it fits)."""
    e = estimate(s)
    out = []
    hint = "lower it or pass --allow-large"
    if not e.total_calls <= MAX_CALLS:  # NaN and inf included
        path, value = _calls_field(s, e.calls)
        out.append(
            f"{path}: got {show(value)}; the run would simulate about {_num(e.total_calls)} "
            f"calls (limit {_limit(MAX_CALLS)}); {hint}"
        )
    if e.ticks > MAX_TICKS:
        meta = s.scenario
        short = meta.tick_s < 60 or meta.horizon_days <= 3650
        path, value = (
            ("scenario.tick_s", meta.tick_s)
            if short
            else ("scenario.horizon_days", meta.horizon_days)
        )
        verb = "raise" if path == "scenario.tick_s" else "lower"
        out.append(
            f"{path}: got {show(value)}; the run would take about {_num(e.ticks)} ticks (limit "
            f"{_limit(MAX_TICKS)}); {verb} it or pass --allow-large"
        )
    if e.retrainings > MAX_RETRAININGS and s.retraining is not None:
        path, value = "retraining.every_days", s.retraining.every_days
        if s.retraining.trigger == "alert":
            path, value = "retraining.duration_days", s.retraining.duration_days
        out.append(
            f"{path}: got {show(value)}; the run would retrain about {_num(e.retrainings)} times "
            f"(limit {_limit(MAX_RETRAININGS)}); raise it or pass --allow-large"
        )
    if not out and not e.memory_bytes <= MAX_MEMORY_BYTES:
        out.append(_memory_problem(s, e))
    return out


def _memory_problem(s: Scenario, e: Estimate) -> str:
    draws = 2.0 * e.tick_calls * _uniforms(s) * 8.0
    limit = f"limit {MAX_MEMORY_BYTES / GiB:.0f} GiB"
    if draws > e.memory_bytes / 2:
        # a long tick, or a rate too high for any tick: name what departs from the usual
        path, value = _calls_field(s, math.inf)
        if s.scenario.tick_s > HOUR_S:
            path, value = "scenario.tick_s", s.scenario.tick_s
        return (
            f"{path}: got {show(value)}; the busiest tick (scenario.tick_s = "
            f"{show(s.scenario.tick_s)}) would draw about {_num(e.tick_calls)} calls at once, "
            f"about {e.memory_bytes / GiB:.1f} GiB ({limit}); lower it or pass --allow-large"
        )
    field = "scenario.replications" if e.replications > 1 else "scenario.tick_s"
    value = e.replications if e.replications > 1 else s.scenario.tick_s
    verb = "lower" if e.replications > 1 else "raise"
    return (
        f"{field}: got {show(value)}; the run would keep {_num(e.ticks * e.replications)} tick "
        f"rows, about {e.memory_bytes / GiB:.1f} GiB ({limit}); {verb} it or pass --allow-large"
    )


def check(
    scenarios: Iterable[Scenario],
    allow_large: bool = False,
    say: Callable[[str], None] | None = None,
) -> list[Estimate]:
    """Refuse (BadInput) any scenario over a limit unless allow_large; when the work of them all
    is estimated over two minutes, say so in one line before it starts."""
    listed = list(scenarios)
    estimates = [estimate(s) for s in listed]
    if not allow_large:
        lines: list[str] = []
        for s in listed:
            lines += problems(s)
        if lines:
            raise BadInput(list(dict.fromkeys(lines)))
    if say is not None and estimates:
        total = sum(e.seconds for e in estimates)
        if total > SAY_OVER_S:
            if len(estimates) == 1:
                say(estimates[0].line())
            else:
                calls = sum(e.total_calls for e in estimates)
                say(
                    f"estimate: about {_num(calls)} calls in {len(estimates)} runs, "
                    f"{_duration(total)} of one core's work at {_num(CALLS_PER_S)} calls/s"
                )
    return estimates
