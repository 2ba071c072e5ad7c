"""Poisson arrivals with a time-varying rate, generated exactly by thinning."""

import numpy as np

from sim.clock import DAY_S, HOUR_S
from sim.engine.kernels.flags import kernel, step
from sim.engine.kernels.layout import REPLAY_TIME, STATE_STOP, U_SPACING, U_THINNING

_TWO_PI_OVER_DAY = 2.0 * np.pi / 24.0
_OMEGA = 2.0 * np.pi / DAY_S


@step
def rate_at(t, params):
    """Calls per second at time t ≥ 0; params as built by sim.engine.traffic.rate_params."""
    # cos is periodic, so no float modulo (slow in numba) is needed for the hour of day
    diurnal = 1.0 + params[1] * np.cos(_OMEGA * t - _TWO_PI_OVER_DAY * params[2])
    day = int(t * (1.0 / DAY_S)) % 7
    growth = np.exp(params[3] * t) if params[3] != 0.0 else 1.0
    return params[0] * diurnal * params[4 + day] * growth


@kernel
def _diurnal_max(t0, t1, amplitude, peak_hour):
    """Largest diurnal factor on [t0, t1]: 1 + a if a peak falls inside, else an endpoint's."""
    h0 = t0 / HOUR_S
    h1 = t1 / HOUR_S
    next_peak = peak_hour + 24.0 * np.ceil((h0 - peak_hour) / 24.0)
    if next_peak <= h1:
        return 1.0 + amplitude
    d0 = 1.0 + amplitude * np.cos(_TWO_PI_OVER_DAY * (h0 - peak_hour))
    d1 = 1.0 + amplitude * np.cos(_TWO_PI_OVER_DAY * (h1 - peak_hour))
    return max(d0, d1)


@kernel
def rate_bound(t0, t1, params):
    """An upper bound of the rate on [t0, t1) and whether the rate varies there at all."""
    weekly_max = 0.0
    weekly_min = np.inf
    first = int(t0 // DAY_S)
    last = int(t1 // DAY_S)
    for day in range(first, min(last, first + 7) + 1):
        w = params[4 + day % 7]
        weekly_max = max(weekly_max, w)
        weekly_min = min(weekly_min, w)
    growth = max(np.exp(params[3] * t0), np.exp(params[3] * t1))
    diurnal = _diurnal_max(t0, t1, params[1], params[2])
    varies = params[1] > 0.0 or params[3] != 0.0 or weekly_max != weekly_min
    return params[0] * diurnal * weekly_max * growth * (1.0 + 1e-9), varies


@kernel
def rate_floor(t0, t1, params):
    """A lower bound of the rate on [t0, t1): thinning accepts below it without evaluating the
    rate (a squeeze: exact, and it skips the cosine and exponential for most candidates)."""
    weekly_min = np.inf
    first = int(t0 // DAY_S)
    last = int(t1 // DAY_S)
    for day in range(first, min(last, first + 7) + 1):
        weekly_min = min(weekly_min, params[4 + day % 7])
    growth = min(np.exp(params[3] * t0), np.exp(params[3] * t1))
    # the diurnal factor's minimum: a trough (peak + 12 h) inside, else the lower endpoint
    diurnal = 2.0 - _diurnal_max(t0 + 43200.0, t1 + 43200.0, params[1], params[2])
    return params[0] * diurnal * weekly_min * growth * (1.0 - 1e-9)


ARRIVED = 0  # next_arrival found the tick's next call
EXHAUSTED = 1  # ... the tick has no more candidates
STOPPED = 2  # ... another thread asked the tick to stop (state[STATE_STOP] set)
STOP_EVERY = 1 << 14  # candidates between two looks at STATE_STOP (well under a millisecond)


@step
def spacing_scale(uniforms, spacing_end, t0, t1):
    """Seconds per unit of exponential spacing, so the candidates' times are the uniform order
    statistics on [t0, t1): (t1 − t0) / (Σ −log(1 − u_spacing) + spacing_end)."""
    total = spacing_end
    for i in range(uniforms.shape[0]):
        total += -np.log1p(-uniforms[i, U_SPACING])
    return (t1 - t0) / total if uniforms.shape[0] > 0 else 0.0


@step
def next_arrival(uniforms, replayed, ai, t, scale, rate_max, rate_min, varies, traffic, state):
    """Advance from candidate ai at time t to the next accepted arrival: (ai, t, ARRIVED |
    EXHAUSTED | STOPPED), ai then one past the arrival's row.

    uniforms float64[candidates, width]; replayed float64[candidates or 0, REPLAY fields] (a
    trace's calls, all kept, at their own times); a candidate is kept with probability
    rate(t) / rate_max (thinning: an exact Poisson process), at once when its level is under
    rate_min, the rate's floor on the tick; traffic: the rate parameters; state int64[STATE].
    """
    while ai < uniforms.shape[0]:
        if ai % STOP_EVERY == 0 and state[STATE_STOP] != 0:
            return ai, t, STOPPED
        ai += 1
        if replayed.shape[0] > 0:
            return ai, replayed[ai - 1, REPLAY_TIME], ARRIVED
        t += -np.log1p(-uniforms[ai - 1, U_SPACING]) * scale
        if varies:
            level = uniforms[ai - 1, U_THINNING] * rate_max
            if level >= rate_min and level >= rate_at(t, traffic):
                continue
        return ai, t, ARRIVED
    return ai, t, EXHAUSTED
