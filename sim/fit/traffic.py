"""Fitting `[traffic]` to a trace: mean rate, diurnal profile, burstiness and token lengths.

The trace is streamed once through `trace_file.chunks` after a validating `scan`; nothing grows
with its number of rows. Counts per window are folded into exact integer sums as windows close;
the hour-of-day counts are 24 integers; token lengths keep exact streaming moments of their logs
(for the lognormal MLE) and an exact count per distinct (integer-rounded) value, for quantiles.
Memory therefore grows only with the number of distinct token counts, never with the calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.clock import DAY_S, HOUR_S
from sim.data import traces as trace_file
from sim.fit.dispersion import Dispersion, WindowCounts
from sim.fit.diurnal import Diurnal, fit_diurnal
from sim.problems import BadInput

WINDOWS_S = (1.0, 10.0, 60.0)
# The chance that a Poisson trace is called bursty or regular, over all windows (Bonferroni):
# each window's bound is Poisson's two-sided (1 − ALPHA/windows) interval
ALPHA = 0.001
MIN_DOF = 10  # fewer degrees of freedom than this: too few windows to judge
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class TokenFit:
    """One token column: mean, exact quantiles, and a lognormal MLE on its positive values."""

    role: str  # tokens_in or tokens_out
    column: str
    calls: int
    zeros: int
    mean: float
    quantiles: dict[str, float]
    median: float | None  # lognormal: exp(mean of log), sigma: sd of log (MLE, ddof 0)
    median_se: float | None
    sigma: float | None
    sigma_se: float | None
    lognormal_ks: float | None  # largest gap between the lognormal's CDF and the sample's


@dataclass(frozen=True)
class TrafficFit:
    """Everything `fit-traffic` estimates from one trace."""

    path: str
    calls: int
    duration_s: float
    rate_per_s: float  # calls / (last time − first time)
    rate_se_per_s: float  # batch means over the longest window: honest under burstiness
    rate_se_poisson_per_s: float  # rate / sqrt(calls), what a Poisson process would give
    calls_per_day: float
    calls_per_day_se: float
    start_hour: float  # clock hour of the first call (UTC for zoned datetimes)
    dispersion: list[Dispersion]
    interarrival_cv: float | None
    interarrival_cv_poisson_high: float | None
    poisson: str  # "fits", "bursty", "too regular" or "too short"
    verdict: str
    diurnal: Diurnal
    tokens: list[TokenFit]


class _Moments:
    """Count, mean and sum of squared deviations, merged chunk by chunk (Chan et al.)."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: np.ndarray) -> None:
        if not len(x):
            return
        n, mean = len(x), float(x.mean())
        m2 = float(((x - mean) ** 2).sum())
        total = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total


class _Tokens:
    """One token column: moments of its logs, zeros, its sum and its count per distinct value."""

    def __init__(self, role: str, column: str) -> None:
        self.role, self.column = role, column
        self.logs = _Moments()
        self.calls, self.zeros, self.total = 0, 0, 0.0
        self.values = np.zeros(0)
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, x: np.ndarray) -> None:
        self.calls += len(x)
        self.total += math.fsum(x)
        positive = x[x > 0]
        self.zeros += len(x) - len(positive)
        self.logs.add(np.log(positive))
        values, inverse = np.unique(np.concatenate([self.values, np.rint(x)]), return_inverse=True)
        weights = np.concatenate([self.counts, np.ones(len(x), dtype=np.int64)])
        self.values, self.counts = values, np.bincount(inverse, weights).astype(np.int64)

    def result(self) -> TokenFit:
        cumulative = np.cumsum(self.counts)
        quantiles = {  # numpy's "inverted_cdf": the smallest value with F(v) ≥ q
            f"p{round(q * 100)}": float(self.values[np.searchsorted(cumulative, q * self.calls)])
            for q in QUANTILES
        }
        n = self.logs.n
        median = median_se = sigma = sigma_se = ks = None
        if n >= 2 and self.logs.m2 > 0:
            sigma = math.sqrt(self.logs.m2 / n)
            median = math.exp(self.logs.mean)
            median_se = median * sigma / math.sqrt(n)  # delta method on exp(mean of log)
            sigma_se = sigma / math.sqrt(2 * n)
            ks = self._ks(self.logs.mean, sigma)
        mean = self.total / self.calls
        return TokenFit(
            self.role,
            self.column,
            self.calls,
            self.zeros,
            mean,
            quantiles,
            median,
            median_se,
            sigma,
            sigma_se,
            ks,
        )

    def _ks(self, mu: float, sigma: float) -> float:
        """Kolmogorov distance between the sample (zeros included) and the fitted lognormal."""
        zeros = self.zeros / self.calls
        positive = self.values > 0
        model = np.full(len(self.values), zeros)  # the model's CDF at each value
        model[positive] += (1 - zeros) * stats.norm.cdf(
            (np.log(self.values[positive]) - mu) / sigma
        )
        just_before = np.where(positive, model, 0.0)  # its left limit: the zeros' atom jumps
        after = np.cumsum(self.counts) / self.calls  # the sample's CDF at and just before each
        before = after - self.counts / self.calls
        return float(max(np.abs(after - model).max(), np.abs(before - just_before).max()))


def fit(spec: trace_file.TraceSpec, rows_per_chunk: int = 1 << 16) -> TrafficFit:
    """Validate the trace, stream it once, and estimate everything `fit-traffic` reports."""
    info = trace_file.scan(spec)
    if info.rows < 2 or info.duration_s <= 0:
        raise BadInput(
            [
                f"{spec.path}: got {info.rows} calls over {info.duration_s:g} s; expected at "
                "least two calls at different times (a rate needs a span)"
            ]
        )
    start_ns = info.start_ns or 0
    start_s = (start_ns % int(DAY_S * 1e9)) / 1e9  # seconds after the first call's midnight
    windows = [WindowCounts(w) for w in WINDOWS_S]
    gaps = _Moments()
    hours = np.zeros(24, dtype=np.int64)
    tokens = {
        role: _Tokens(role, name)
        for role, name in (
            ("tokens_in", spec.tokens_in_column),
            ("tokens_out", spec.tokens_out_column),
        )
        if name is not None
    }
    last_t = None
    for chunk in trace_file.chunks(spec, rows_per_chunk):
        for counter in windows:
            counter.add(chunk.t)
        gaps.add(np.diff(chunk.t if last_t is None else np.concatenate([[last_t], chunk.t])))
        last_t = float(chunk.t[-1])
        hour = np.floor(((start_s + chunk.t) % DAY_S) / HOUR_S).astype(np.int64)
        hours += np.bincount(np.minimum(hour, 23), minlength=24)
        for role, column in (("tokens_in", chunk.tokens_in), ("tokens_out", chunk.tokens_out)):
            if column is not None:
                tokens[role].add(column)
    level = ALPHA / len(WINDOWS_S)
    dispersion = [counter.result(info.duration_s, level) for counter in windows]
    return _estimates(spec, info, start_s, dispersion, gaps, hours, list(tokens.values()))


def _estimates(
    spec: trace_file.TraceSpec,
    info: trace_file.TraceInfo,
    start_s: float,
    dispersion: list[Dispersion],
    gaps: _Moments,
    hours: np.ndarray,
    tokens: list[_Tokens],
) -> TrafficFit:
    rate = info.rows / info.duration_s
    usable = [d for d in dispersion if d.dof >= MIN_DOF]
    # Var(calls) ≈ D·calls, D the local dispersion at the longest usable window (batch means):
    # bursts widen the error, a slow drift of the rate (the daily swing) does not
    burst = (usable[-1].local or 1.0) if usable else 1.0
    se_poisson = rate / math.sqrt(info.rows)
    se = rate * math.sqrt(burst / info.rows)
    cv = cv_high = None
    if gaps.n >= 2 and gaps.mean > 0:
        cv = math.sqrt(gaps.m2 / (gaps.n - 1)) / gaps.mean
        # for exponential gaps the sample CV is ≈ normal(1, 1/n) (delta method on mean and sd)
        cv_high = 1 + float(stats.norm.isf(ALPHA / 2)) / math.sqrt(gaps.n)
    diurnal = fit_diurnal(hours, start_s, info.duration_s, burst)
    poisson, verdict = _verdict(usable, dispersion[0].window_s)
    return TrafficFit(
        path=str(spec.path),
        calls=info.rows,
        duration_s=info.duration_s,
        rate_per_s=rate,
        rate_se_per_s=se,
        rate_se_poisson_per_s=se_poisson,
        calls_per_day=rate * DAY_S,
        calls_per_day_se=se * DAY_S,
        start_hour=start_s / HOUR_S,
        dispersion=dispersion,
        interarrival_cv=cv,
        interarrival_cv_poisson_high=cv_high,
        poisson=poisson,
        verdict=verdict,
        diurnal=diurnal,
        tokens=[t.result() for t in tokens],
    )


def _verdict(usable: list[Dispersion], shortest_s: float) -> tuple[str, str]:
    """Whether Poisson fits, and one sentence saying how well."""
    if not usable:
        return "too short", (
            f"too few whole {shortest_s:g} s windows to test burstiness; Poisson assumed, untested"
        )
    above = [d for d in usable if _outside(d) > 0]
    below = [d for d in usable if _outside(d) < 0]
    worst = max(above or below or usable, key=lambda d: abs(math.log(d.local or 1.0)))
    shown = (
        f"dispersion {worst.local:.3g} at {worst.window_s:g} s windows, where a Poisson "
        f"process stays within [{worst.poisson_low:.3g}, {worst.poisson_high:.3g}]"
    )
    if above:
        return "bursty", (
            f"Poisson does not fit: the arrivals come in bursts ({shown}); counts vary "
            f"{worst.local:.3g}× as much as Poisson's"
        )
    if below:
        return "too regular", (
            f"Poisson does not fit: the arrivals are more regular than Poisson's ({shown}); a "
            "Poisson model overstates their bursts, which errs on the safe side"
        )
    return (
        "fits",
        f"Poisson fits: every window's dispersion is within its bound (furthest: {shown})",
    )


def _outside(d: Dispersion) -> int:
    """+1 above Poisson's bound, -1 below it, 0 within (or untested)."""
    if d.local is None or d.poisson_low is None or d.poisson_high is None:
        return 0
    return int(d.local > d.poisson_high) - int(d.local < d.poisson_low)
