"""Log-spaced latency histogram: constant memory, quantiles within 0.5% relative error.

Latencies beyond the top edge (a backlog can push them anywhere) land in an overflow bin whose
values the histogram cannot place; the callers keep the largest latency beside it, and a quantile
that falls in the overflow bin is reported as that maximum: an upper bound, never the top edge (a
silent cap that once put p99 below the mean).
"""

import numpy as np

from sim.engine.kernels.flags import kernel, step

LATENCY_MIN_S = 1e-4
LATENCY_RATIO = 1.01
LATENCY_BINS = 2 + int(np.ceil(np.log(1e10) / np.log(LATENCY_RATIO)))  # 0.1 ms .. 1e6 s
OVERFLOW = LATENCY_BINS - 1
LATENCY_TOP_S = LATENCY_MIN_S * LATENCY_RATIO ** (LATENCY_BINS - 2)  # the overflow bin's low edge
_LOG_MIN = np.log(LATENCY_MIN_S)
_INV_LOG_RATIO = 1.0 / np.log(LATENCY_RATIO)


@step
def latency_bin(latency_s):
    """Bin 0 holds [0, 0.1 ms); bin k ≥ 1 holds [min·r^(k-1), min·r^k); the last is overflow.

    Every input gives an index inside the histogram: negative values go to bin 0, and infinity
    and NaN (which fail every comparison) to the overflow bin, before any float-to-int cast."""
    if latency_s < LATENCY_MIN_S:
        return 0
    if not latency_s < LATENCY_TOP_S:
        return OVERFLOW
    k = 1 + int((np.log(latency_s) - _LOG_MIN) * _INV_LOG_RATIO)
    return max(1, min(k, OVERFLOW))


@step
def bin_value(k):
    """The geometric midpoint of bin k (0 for the sub-0.1 ms bin)."""
    if k == 0:
        return 0.0
    return LATENCY_MIN_S * LATENCY_RATIO ** (k - 0.5)


@kernel
def histogram_quantile(hist, q, overflow_max=np.inf):
    """The q-quantile (inverted CDF: the smallest value with at least q of the mass at or below).

    A quantile in the overflow bin is `overflow_max`, the largest latency recorded (an upper
    bound; infinity when the caller does not know it)."""
    total = 0
    for k in range(hist.shape[0]):
        total += hist[k]
    if total == 0:
        return np.nan
    rank = max(1, int(np.ceil(q * total - 1e-9)))
    seen = 0
    for k in range(OVERFLOW):
        seen += hist[k]
        if seen >= rank:
            return bin_value(k)
    return max(overflow_max, LATENCY_TOP_S)
