"""Inverse-transform sampling from the quantile tables built in sim.scenario.distributions."""

import numpy as np

from sim.engine.kernels.flags import step
from sim.scenario.distributions import (
    BODY_EDGE,
    BODY_POINTS,
    KIND_CONSTANT,
    KIND_EXPONENTIAL,
    LOWER_START,
    TAIL_LOGIT,
    TAIL_POINTS,
    UPPER_START,
)

_BODY_SCALE = (BODY_POINTS - 1) / (1.0 - 2.0 * BODY_EDGE)
_TAIL_TOP = float(np.log(BODY_EDGE / (1.0 - BODY_EDGE)))
_TAIL_SCALE = (TAIL_POINTS - 1) / (_TAIL_TOP + TAIL_LOGIT)


@step
def _interpolate(table, d, x, start, last):
    """Linear interpolation at fractional index x of the grid table[d, start : start + last + 1]."""
    i = int(x)
    if i < 0:
        i = 0
        x = 0.0
    if i >= last:
        i = last - 1
        x = float(last)
    j = start + i
    return table[d, j] + (x - i) * (table[d, j + 1] - table[d, j])


@step
def quantile(d, u, spec, table):
    """The value of distribution d at uniform u (monotone non-decreasing in u)."""
    k = spec[d, 0]
    if k == KIND_CONSTANT:
        return spec[d, 1]
    if k == KIND_EXPONENTIAL:
        return -spec[d, 1] * np.log1p(-u)
    if u < BODY_EDGE:
        x = (np.log(u / (1.0 - u)) + TAIL_LOGIT) * _TAIL_SCALE
        return _interpolate(table, d, x, LOWER_START, TAIL_POINTS - 1)
    if u > 1.0 - BODY_EDGE:
        x = (np.log((1.0 - u) / u) + TAIL_LOGIT) * _TAIL_SCALE
        return _interpolate(table, d, x, UPPER_START, TAIL_POINTS - 1)
    return _interpolate(table, d, (u - BODY_EDGE) * _BODY_SCALE, 0, BODY_POINTS - 1)
