"""Trace replay: a recorded file's arrivals (and tokens, and segments) instead of Poisson traffic.

The file is validated in one streaming pass when the scenario loads (`prepare`), which also sets
what the rest of the simulator reads from `[traffic]`: calls_per_day becomes the trace's mean
rate, and without `loop` the horizon ends just after the last call. During a run, `Replay`
streams the file again in chunks and hands each tick the calls arriving in it, so a trace larger
than memory works and nothing grows with the horizon.

Times: the first row is time 0; a row's simulation time is (its time − the first's) / speedup.
With `loop`, the trace repeats with a period of duration × rows / (rows − 1) (the mean gap after
the last call), which keeps the recorded rate.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sim.clock import DAY_S
from sim.data import traces as trace_file
from sim.data.formats import FORMATS
from sim.engine.kernels.layout import (
    REPLAY_FIELDS,
    REPLAY_SEGMENT,
    REPLAY_TIME,
    REPLAY_TOKENS_IN,
    REPLAY_TOKENS_OUT,
)
from sim.problems import BadInput, did_you_mean, show
from sim.scenario.models import MixDrift, Scenario, Trace

END_MARGIN_S = 1e-6  # without loop, the run ends this long after the last call


def spec(trace: Trace) -> trace_file.TraceSpec:
    """The reader's view of a scenario's [traffic.trace] (its path already absolute)."""
    path = Path(trace.path)
    fmt = trace.format or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(
            [
                f"traffic.trace.path: got {show(trace.path)}, whose extension names no format; "
                'expected .csv, .parquet or .jsonl, or trace.format = "csv", "parquet" or "jsonl"'
            ]
        )
    return trace_file.TraceSpec(
        path=path,
        format=fmt,
        time_column=trace.time_column,
        time_unit=trace.time_unit,
        tokens_in_column=trace.tokens_in_column,
        tokens_out_column=trace.tokens_out_column,
        segment_column=trace.segment_column,
    )


@functools.lru_cache(maxsize=16)
def _scan(file_spec: trace_file.TraceSpec, mtime_ns: int) -> trace_file.TraceInfo:
    return trace_file.scan(file_spec)


def info(trace: Trace) -> trace_file.TraceInfo:
    """The validated trace's row count, span and segment labels (one scan per file version)."""
    file_spec = spec(trace)
    try:
        trace_file.check(file_spec)
    except BadInput as bad:
        raise BadInput([f"traffic.trace.path: {line}" for line in bad.problems]) from None
    return _scan(file_spec, file_spec.path.stat().st_mtime_ns)


def period_s(trace: Trace, found: trace_file.TraceInfo) -> float:
    """Simulated seconds one pass of the trace covers (duration plus one mean gap)."""
    return found.duration_s * found.rows / (found.rows - 1) / trace.speedup


def prepare(s: Scenario) -> Scenario:
    """Validate the scenario's trace against the scenario; return it with the rate (and, without
    loop, the horizon) the trace implies."""
    trace = s.traffic.trace
    if trace is None:
        return s
    try:
        found = info(trace)
    except BadInput as bad:
        raise BadInput(
            [p if p.startswith("traffic.trace") else f"traffic.trace: {p}" for p in bad.problems]
        ) from None
    problems = []
    if found.rows < 2 or found.duration_s <= 0:
        problems.append(
            f"traffic.trace: got {found.rows} calls over {found.duration_s:g} s; expected at least "
            "two calls at different times (a rate needs a span)"
        )
    names = [seg.name for seg in s.segments]
    unknown = [label for label in found.segments if label not in names]
    for label in unknown[:5]:
        problems.append(
            f"traffic.trace.segment_column: got segment {show(label)}{did_you_mean(label, names)}"
            f" in the trace; expected one of {', '.join(names)}"
        )
    if len(unknown) > 5:
        problems.append(f"traffic.trace.segment_column: and {len(unknown) - 5} more unknown names")
    if trace.segment_column is not None:
        for i, event in enumerate(s.drift):
            if isinstance(event, MixDrift):
                problems.append(
                    f"drift[{i}]: a mix drift with trace.segment_column; expected no mix drift "
                    "(the trace names each call's segment) or no segment_column"
                )
    if problems:
        raise BadInput(problems)
    period = period_s(trace, found)
    traffic = s.traffic.model_copy(
        update={"calls_per_day": found.rows * trace.rate_multiplier / period * DAY_S}
    )
    meta = s.scenario
    if not trace.loop:
        end = found.duration_s / trace.speedup + END_MARGIN_S
        horizon_days = min(meta.horizon_days, end / DAY_S)
        meta = meta.model_copy(
            update={"horizon_days": horizon_days, "tick_s": min(meta.tick_s, horizon_days * DAY_S)}
        )
    return s.model_copy(update={"traffic": traffic, "scenario": meta})


class Replay:
    """Hands out a trace's calls tick by tick, in time order, streaming the file in chunks."""

    def __init__(self, s: Scenario, rows_per_chunk: int = 1 << 16) -> None:
        trace = s.traffic.trace
        if trace is None:
            raise ValueError("the scenario has no [traffic.trace]")
        self.trace = trace
        self.spec = spec(trace)
        found = info(trace)
        self.period = period_s(trace, found) if trace.loop else math.inf
        self.rows_per_chunk = rows_per_chunk
        self.segment_ids = {seg.name: i for i, seg in enumerate(s.segments)}
        self._chunks: Iterator[trace_file.TraceChunk] | None = None
        self._offset = 0.0
        self._buffer = np.zeros((0, REPLAY_FIELDS))
        self._exhausted = False

    def _next_chunk(self) -> np.ndarray | None:
        """The next chunk as replay rows in simulation time; restarts the file when looping."""
        while True:
            if self._chunks is None:
                self._chunks = trace_file.chunks(self.spec, self.rows_per_chunk)
            chunk = next(self._chunks, None)
            if chunk is not None:
                return self._rows(chunk)
            if math.isinf(self.period):
                return None
            self._chunks = None
            self._offset += self.period

    def _rows(self, chunk: trace_file.TraceChunk) -> np.ndarray:
        rows = np.full((len(chunk.t), REPLAY_FIELDS), -1.0)
        rows[:, REPLAY_TIME] = chunk.t / self.trace.speedup + self._offset
        if chunk.tokens_in is not None:
            rows[:, REPLAY_TOKENS_IN] = chunk.tokens_in
        if chunk.tokens_out is not None:
            rows[:, REPLAY_TOKENS_OUT] = chunk.tokens_out
        if chunk.segment is not None:  # names to segment ids, one dict lookup per distinct name
            labels, inverse = np.unique(np.asarray(chunk.segment).astype(str), return_inverse=True)
            ids = np.array([self.segment_ids[label] for label in labels], dtype=float)
            rows[:, REPLAY_SEGMENT] = ids[inverse]
        return rows

    def take(self, t1: float, stop: threading.Event | None = None) -> np.ndarray:
        """Every call not yet handed out that arrives before t1, as replay rows; when `stop` is
        set (Ctrl-C), what was gathered so far: a looped trace replayed much faster than recorded
        can need millions of passes over the file for one tick, and the run must end at once."""
        parts = []
        while stop is None or not stop.is_set():
            buffer = self._buffer
            cut = int(np.searchsorted(buffer[:, REPLAY_TIME], t1, side="left"))
            parts.append(buffer[:cut])
            self._buffer = buffer[cut:]
            if cut < len(buffer) or self._exhausted:
                break
            more = self._next_chunk()
            if more is None:
                self._exhausted = True
                break
            self._buffer = more
        if not parts:
            return np.zeros((0, REPLAY_FIELDS))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def multiply(rows: np.ndarray, multiplier: float, rng: np.random.Generator) -> np.ndarray:
    """Each recorded call becomes floor(m) calls, plus one more with probability m − floor(m)."""
    if multiplier == 1.0 or len(rows) == 0:
        return rows
    whole = math.floor(multiplier)
    copies = whole + (rng.random(len(rows)) < multiplier - whole)
    return np.repeat(rows, copies, axis=0)
