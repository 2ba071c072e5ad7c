"""Warnings for results at the edges: figures a careless input or an extreme run makes suspect.

Validation refuses what cannot be computed; these are legal inputs and legal results a user
should still hear about, in the run's printed warnings and the summary's `warnings`.
"""

from __future__ import annotations

from typing import Any

from sim.engine.kernels.histogram import LATENCY_TOP_S
from sim.scenario.models import Scenario

# The cheapest models cost about 0.01 USD per million tokens; a per-token figure for any real
# model (3e-06 for 3 USD per million) sits far below this.
PER_TOKEN_LOOKALIKE_USD = 1e-3


def price_hints(scenario: Scenario) -> list[str]:
    """A teacher price that looks like a per-token figure given where per million is expected."""
    out = []
    for name in ("input_usd_per_mtok", "output_usd_per_mtok"):
        price = getattr(scenario.teacher, name)
        if 0 < price < PER_TOKEN_LOOKALIKE_USD:
            out.append(
                f"teacher.{name} = {price:g} looks like a per-token price; prices are USD per "
                f"million tokens ({price:g} per token would be {price * 1e6:g})"
            )
    return out


def excess_error_note(scenario: Scenario, summary: dict[str, Any]) -> str | None:
    """A negative excess error explained in one line, so nobody reads it as a student better than
    its teacher: the router keeps the student answers it judges right and sends the rest on, and
    with the two models' errors drawn independently (or weakly correlated), the teacher alone would
    have got some of the kept calls wrong."""
    excess, error = summary.get("excess_error_rate"), summary.get("error_rate")
    if excess is None or error is None or excess >= 0:
        return None
    rhos = sorted({s.error_correlation for s in scenario.segments})
    rho = f"{rhos[0]:g}" if len(rhos) == 1 else f"{rhos[0]:g} to {rhos[-1]:g} across segments"
    shared = "independent of" if rhos[-1] == 0 else "only partly shared with"
    return (
        f"Excess error is negative ({excess:.2%}): the system erred less than the teacher alone "
        f"would have on the same calls ({error:.2%} vs {error - excess:.2%}). That is routing, not "
        "a student better than its teacher: the router keeps the student answers its confidence "
        f"or verifier judges right and sends the rest on, and with the teacher's errors {shared} "
        f"the student's (segments[].error_correlation = {rho}) the teacher alone would have got "
        "some of the kept calls wrong; if hard calls are hard for both, raise error_correlation"
    )


def warnings(scenario: Scenario, summary: dict[str, Any]) -> list[str]:
    """Careless-input hints, latencies beyond the histogram and clamped kernel indices."""
    out = price_hints(scenario)
    overflow = summary.get("latency_overflow_share") or 0.0
    if overflow > 0:
        out.append(
            f"{overflow:.2%} of answered calls took longer than {LATENCY_TOP_S:,.0f} s (the "
            "latency histogram's top): a latency quantile beyond it is reported as the largest "
            f"latency, {summary.get('latency_max_s') or 0.0:.4g} s, an upper bound"
        )
    clamped = summary.get("kernel_clamped") or 0
    if clamped > 0:
        out.append(
            f"The kernels clamped {clamped:g} out-of-range indices instead of trusting them (an "
            "extreme backlog or values at the edge of the validated ranges): the calls involved "
            "are approximate"
        )
    return out
