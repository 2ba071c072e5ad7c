"""The standard normal quantile Φ⁻¹ to double precision, for the kernels' Gaussian copulas.

Acklam's rational approximation (relative error below 1.2e-9) refined by one Halley step on
math.erfc, which brings it to a few ulps (below p = 1e-300, where φ's reciprocal overflows, the
approximation stands alone). The upper half is computed as −Φ⁻¹(1 − p): 1 − p is exact
for p ≥ 0.5, and a tail probability keeps its relative precision where p itself would not.
"""

import math

from sim.engine.kernels.flags import step

_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)


@step
def _lower_half(p):
    """Φ⁻¹(p) for 0 < p ≤ 0.5: Acklam's approximation, then one Halley step."""
    a0, a1, a2, a3, a4, a5 = _A
    b0, b1, b2, b3, b4 = _B
    c0, c1, c2, c3, c4, c5 = _C
    d0, d1, d2, d3 = _D
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / (
            (((d0 * q + d1) * q + d2) * q + d3) * q + 1.0
        )
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5)
            * q
            / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0)
        )
    e = 0.5 * math.erfc(-x * _SQRT_HALF) - p
    u = e * _SQRT_2PI * math.exp(0.5 * x * x)
    if not abs(u) < math.inf:  # subnormal p: exp overflows; the approximation alone stands
        return x
    return x - u / (1.0 + 0.5 * x * u)


@step
def ndtri(p):
    """Φ⁻¹(p), the standard normal quantile: −inf at p ≤ 0, +inf at p ≥ 1."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    if p <= 0.5:
        return _lower_half(p)
    return -_lower_half(1.0 - p)
