"""The quantile tables' layout: distribution kinds and grid geometry, shared by builder and kernels.

Plain constants only (no numpy, scipy or pydantic), so the numba kernels can import them without
pulling in the scenario schema.
"""

from __future__ import annotations

KIND_CONSTANT = 0  # spec[d] = (KIND_CONSTANT, value): no table
KIND_EXPONENTIAL = 1  # spec[d] = (KIND_EXPONENTIAL, mean): closed form, no table
KIND_TABLE = 2  # everything else: a tabulated quantile function

BODY_POINTS = 16385
BODY_EDGE = 1.0 / 128.0
TAIL_POINTS = 2049
TAIL_LOGIT = 36.0  # tails cover logit(u) in [-36, logit(BODY_EDGE)]: u down to 2e-16

LOWER_START = BODY_POINTS
UPPER_START = BODY_POINTS + TAIL_POINTS
