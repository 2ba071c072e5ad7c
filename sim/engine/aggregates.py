"""What a replication leaves behind: fixed-size per-tick arrays, filled by either engine."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engine.kernels.histogram import LATENCY_BINS
from sim.engine.kernels.layout import COUNT_FIELDS, SAMPLE_COLUMNS, VALUE_FIELDS


@dataclass
class Aggregates:
    """Per-tick counts by segment, per-tick sums and p99, and one run-wide latency histogram."""

    tick_start_s: np.ndarray  # float64[ticks]
    tick_length_s: np.ndarray  # float64[ticks]
    counts: np.ndarray  # float64[ticks, segments, COUNT_FIELDS]
    values: np.ndarray  # float64[ticks, VALUE_FIELDS]
    latency_p99_s: np.ndarray  # float64[ticks]
    histogram: np.ndarray  # int64[LATENCY_BINS]: latency of answered calls
    first_histogram: np.ndarray  # int64[LATENCY_BINS]: time to the first answer shown
    retraining_usd: np.ndarray  # float64[ticks]: paid when a retraining starts
    student_version: np.ndarray  # int64[ticks]: the version serving during the tick
    secondary_silent: np.ndarray  # float64[ticks, secondary outputs]
    monitor_rate: np.ndarray  # float64[ticks]: the windowed fallback (or flag) rate
    alerts: int = 0
    retrains: int = 0
    sample: list[np.ndarray] = field(default_factory=list)  # blocks of [tick, *SAMPLE_COLUMNS]
    sample_overflow: bool = False
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (time_s, kind, detail)
    kernel_s: float = 0.0  # seconds inside the data-plane kernel (fast engine only)
    pool_mean_occupancy: float = float("nan")  # time-averaged requests in the pool (reference)
    student_backlog_s: float = 0.0  # after the horizon, until the student pool has drained
    kernel_clamped: int = 0  # indices the kernels clamped instead of trusting (0 in a sound run)

    @classmethod
    def empty(
        cls, horizon_s: float, tick_s: float, segments: int, secondary: int = 0
    ) -> Aggregates:
        """Zeroed arrays for a horizon cut into ticks (the last one may be shorter)."""
        starts = np.arange(0.0, horizon_s, tick_s)
        starts = starts[starts < horizon_s - 1e-9]
        lengths = np.minimum(tick_s, horizon_s - starts)
        ticks = starts.shape[0]
        return cls(
            tick_start_s=starts,
            tick_length_s=lengths,
            counts=np.zeros((ticks, segments, COUNT_FIELDS)),
            values=np.zeros((ticks, VALUE_FIELDS)),
            latency_p99_s=np.full(ticks, np.nan),
            histogram=np.zeros(LATENCY_BINS, dtype=np.int64),
            first_histogram=np.zeros(LATENCY_BINS, dtype=np.int64),
            retraining_usd=np.zeros(ticks),
            student_version=np.ones(ticks, dtype=np.int64),
            secondary_silent=np.zeros((ticks, secondary)),
            monitor_rate=np.full(ticks, np.nan),
        )

    @property
    def ticks(self) -> int:
        """Number of ticks."""
        return int(self.tick_start_s.shape[0])

    def sample_rows(self) -> np.ndarray:
        """All sampled calls as one [rows, 1 + len(SAMPLE_COLUMNS)] array."""
        if not self.sample:
            return np.zeros((0, 1 + len(SAMPLE_COLUMNS)))
        return np.concatenate(self.sample)
