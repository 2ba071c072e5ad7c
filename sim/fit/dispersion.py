"""Index of dispersion of arrival counts in fixed windows, streamed, against Poisson's.

Windows start at the first call; the last, partial window is left out. Two statistics:

- `index`, variance / mean of all windows' counts (what the trace shows, daily swing included),
  from exact integer sums;
- `local`, the same around a straight line fitted to each stretch of `STRETCH` windows. A
  Poisson process whose rate drifts slowly (the daily cosine) has local ≈ 1 where its index
  grows with the window; only variation faster than a few windows counts as a burst. Given a
  stretch's total S over n windows, the residual sum of squares over S/n has expectation
  exactly n − 2 under Poisson (multinomial counts), and the pooled statistic is ≈ χ² with
  Σ (n − 2) degrees of freedom (Fisher's dispersion test, with a trend).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

STRETCH = 10  # windows per local trend line


@dataclass(frozen=True)
class Dispersion:
    """Dispersion of counts in windows of window_s seconds, and Poisson's interval for it."""

    window_s: float
    windows: int  # whole windows from the first call
    index: float | None  # variance / mean of the counts over the whole trace
    local: float | None  # around each stretch's own trend line (slow drifts removed)
    dof: int  # degrees of freedom of local: Σ (windows in a stretch − 2)
    poisson_low: float | None  # local outside [low, high]: not Poisson (at the level asked)
    poisson_high: float | None


class WindowCounts:
    """Counts in consecutive windows, folded into sums as each window closes."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.open_bin, self.open_count = 0, 0
        self.sum, self.sum_sq = 0, 0  # over closed windows (exact integers)
        self.stretch = 0
        self.part = np.zeros(3, dtype=np.int64)  # the open stretch's Σc, Σc², Σ j·c
        self.statistic, self.dof = 0.0, 0

    def add(self, t: np.ndarray) -> None:
        """Count a chunk of arrival times (seconds since the first call, in order)."""
        bins, counts = np.unique(np.floor(t / self.window_s).astype(np.int64), return_counts=True)
        if bins[0] == self.open_bin:
            counts[0] += self.open_count
        else:
            bins = np.concatenate([[self.open_bin], bins])
            counts = np.concatenate([[self.open_count], counts])
        self.open_bin, self.open_count = int(bins[-1]), int(counts[-1])
        self._close(bins[:-1], counts[:-1].astype(np.int64))

    def _close(self, bins: np.ndarray, counts: np.ndarray) -> None:
        self.sum += int(counts.sum())
        self.sum_sq += int((counts**2).sum())
        if not len(bins):
            return
        stretches, first = np.unique(bins // STRETCH, return_index=True)
        terms = np.column_stack([counts, counts**2, (bins % STRETCH) * counts])
        for stretch, part in zip(stretches.tolist(), np.add.reduceat(terms, first), strict=True):
            if stretch != self.stretch:
                self._close_stretch(STRETCH)
                self.stretch = stretch
            self.part += part

    def _close_stretch(self, windows: int) -> None:
        total, squares, moment = (int(v) for v in self.part)
        if windows >= 3 and total > 0:
            centre = (windows - 1) / 2
            spread = windows * (windows * windows - 1) / 12  # Σ (j − centre)²
            slope_term = (moment - centre * total) ** 2 / spread
            self.statistic += (squares - total * total / windows - slope_term) * windows / total
            self.dof += windows - 2
        self.part[:] = 0

    def result(self, duration_s: float, level: float) -> Dispersion:
        """The dispersion over the whole windows of a trace lasting duration_s."""
        n = math.floor(duration_s / self.window_s)  # the last call's window, still open, is cut
        self._close_stretch(min(STRETCH, n - self.stretch * STRETCH))
        index = None
        if n >= 2 and self.sum > 0:
            index = (n * self.sum_sq - self.sum * self.sum) / ((n - 1) * self.sum)
        local = low = high = None
        if self.dof > 0:
            local = self.statistic / self.dof
            low = float(stats.chi2.ppf(level / 2, self.dof)) / self.dof
            high = float(stats.chi2.isf(level / 2, self.dof)) / self.dof
        return Dispersion(self.window_s, n, index, local, self.dof, low, high)
