"""Poisson arrivals with a time-varying rate, generated exactly by thinning."""

import numpy as np

from sim.kernels.flags import kernel, step
from sim.kernels.layout import REPLAY_TIME, STATE_STOP, U_SPACING, U_THINNING

_TWO_PI_OVER_DAY = 2.0 * np.pi / 24.0
_OMEGA = 2.0 * np.pi / 86400.0
STOP_EVERY = 1 << 14  # candidates between two looks at STATE_STOP (well under a millisecond)
# next_arrival's verdicts
ARRIVED = 1
NO_MORE = 0
STOPPED = -1


@step
def rate_at(t, params):
    """Calls per second at time t ≥ 0; params as built by sim.traffic.rate_params."""
    # cos is periodic, so no float modulo (slow in numba) is needed for the hour of day
    diurnal = 1.0 + params[1] * np.cos(_OMEGA * t - _TWO_PI_OVER_DAY * params[2])
    day = int(t * (1.0 / 86400.0)) % 7
    growth = np.exp(params[3] * t) if params[3] != 0.0 else 1.0
    return params[0] * diurnal * params[4 + day] * growth


@kernel
def _diurnal_max(t0, t1, amplitude, peak_hour):
    """Largest diurnal factor on [t0, t1]: 1 + a if a peak falls inside, else an endpoint's."""
    h0 = t0 / 3600.0
    h1 = t1 / 3600.0
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
    first = int(t0 // 86400.0)
    last = int(t1 // 86400.0)
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
    first = int(t0 // 86400.0)
    last = int(t1 // 86400.0)
    for day in range(first, min(last, first + 7) + 1):
        weekly_min = min(weekly_min, params[4 + day % 7])
    growth = min(np.exp(params[3] * t0), np.exp(params[3] * t1))
    # the diurnal factor's minimum: a trough (peak + 12 h) inside, else the lower endpoint
    diurnal = 2.0 - _diurnal_max(t0 + 43200.0, t1 + 43200.0, params[1], params[2])
    return params[0] * diurnal * weekly_min * growth * (1.0 - 1e-9)


@step
def next_arrival(uniforms, replayed, ai, t, scale, bounds, traffic, state):
    """Advance to the next accepted candidate of the tick; return (ai, t, verdict).

    uniforms: float64[candidates, width], each row a candidate's draws (U_* columns);
    replayed: float64[candidates or 0, REPLAY_FIELDS], a trace's calls (empty without one);
    ai: the next candidate's row; t: the previous arrival's time (s);
    scale: seconds per unit of normalised exponential spacing;
    bounds: (rate_max, rate_min, varies) of the rate on the tick, for thinning;
    traffic: the rate parameters (sim.traffic.rate_params); state: int64[STATE_FIELDS].
    The verdict is ARRIVED (t is the arrival, uniforms[ai - 1] its row), NO_MORE, or STOPPED
    when another thread raised STATE_STOP (looked at every STOP_EVERY candidates).
    """
    rate_max, rate_min, varies = bounds
    replay = replayed.shape[0] > 0
    while ai < uniforms.shape[0]:
        if ai % STOP_EVERY == 0 and state[STATE_STOP] != 0:
            return ai, t, STOPPED
        u = uniforms[ai]
        ai += 1
        if replay:
            return ai, replayed[ai - 1, REPLAY_TIME], ARRIVED
        t += -np.log1p(-u[U_SPACING]) * scale
        if varies:
            level = u[U_THINNING] * rate_max
            if level >= rate_min and level >= rate_at(t, traffic):
                continue
        return ai, t, ARRIVED
    return ai, t, NO_MORE


@step
def spacing_scale(uniforms, spacing_end, t0, t1):
    """Seconds per unit of exponential spacing, so the candidates' times are the uniform order
    statistics on [t0, t1): uniforms[:, U_SPACING] and spacing_end are the n + 1 spacings."""
    total = spacing_end
    for i in range(uniforms.shape[0]):
        total += -np.log1p(-uniforms[i, U_SPACING])
    return (t1 - t0) / total if uniforms.shape[0] > 0 else 0.0
