"""The one verdict every command prints: does distilling this slice pay, and is it safe?

`decide` turns the money and the safety rules that fired into one of four words and one plain
sentence naming the number that decided it:

- `unsafe`: a safety rule fires (`breaches`): silent failures above the teacher's own error rate
  or above `[economics] max_silent_failure_rate`, secondary outputs collapsing, a verifier that
  shares the student's blind spots;
- `does_not_pay`: distilling saves nothing (savings ≤ 0) over the horizon;
- `marginal`: it saves something, but under the seed's 20% of the teacher-only cost ("a saving
  under 20% is probably negative once everything is counted");
- `pays`: it saves 20% or more and no safety rule fires.

The first that applies wins (unsafe > does_not_pay > marginal > pays). The money is the
risk-adjusted savings when a summary has them (`risk_adjusted_savings_usd` against
`teacher_only_risk_adjusted_usd`), else the plain ones (`savings_usd` against
`teacher_only_cost_usd`). The seed's warnings (`sim.analysis.verdict.warnings`) test the same
rules through the same functions here, in their own words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.formatting import days, money, share
from sim.scenario.models import Scenario
from sim.scenario.policies import BY_NAME

VERDICTS = ("pays", "marginal", "does_not_pay", "unsafe")  # from best to worst
THIN_SAVINGS = 0.2  # the seed: real wins are 5x or 10x; under 20% is probably negative
SECONDARY_COLLAPSE = 0.005  # a share of calls with a bad secondary output: capability collapse
BLIND_SPOT = 0.5  # a verifier this correlated with the student's misses adds little safety
HEADLINES = {
    "pays": "Distillation pays off.",
    "marginal": "Distillation saves too little to count on.",
    "does_not_pay": "Distillation does not pay off.",
    "unsafe": "Distillation is not safe here.",
}


@dataclass(frozen=True)
class Money:
    """Savings against the teacher-only cost over the horizon, risk-adjusted or plain."""

    savings_usd: float | None
    teacher_only_usd: float | None
    risk_adjusted: bool = False

    @property
    def ratio(self) -> float | None:
        """Savings as a share of the teacher-only cost (None without a teacher-only cost)."""
        if self.savings_usd is None or not self.teacher_only_usd:
            return None
        return self.savings_usd / self.teacher_only_usd


@dataclass(frozen=True)
class BreakEven:
    """The break-even day to quote and the name it is quoted with."""

    day: float | None
    name: str


@dataclass(frozen=True)
class Breach:
    """A safety rule that fired: its name and one sentence naming the number."""

    rule: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """The verdict word and the sentence that says why."""

    verdict: str
    reason: str

    @property
    def headline(self) -> str:
        return HEADLINES[self.verdict]


def failures_priced(summary: Mapping[str, Any]) -> bool:
    """Whether the summary has priced failures on either side: only then do the risk-adjusted
    figures differ from the plain ones, and only then are they quoted."""
    cost = summary.get("cost") or {}
    failure = cost.get("failure_usd") or 0.0
    teacher_only = (summary.get("teacher_only_risk_adjusted_usd") or 0.0) - (
        summary.get("teacher_only_cost_usd") or 0.0
    )
    return failure != 0.0 or teacher_only != 0.0


def money_of(summary: Mapping[str, Any]) -> Money:
    """The summary's savings: risk-adjusted when failures are priced."""
    risky = summary.get("risk_adjusted_savings_usd")
    risky_teacher = summary.get("teacher_only_risk_adjusted_usd")
    if risky is not None and risky_teacher is not None and failures_priced(summary):
        return Money(risky, risky_teacher, True)
    return Money(summary.get("savings_usd"), summary.get("teacher_only_cost_usd"))


def break_even_of(summary: Mapping[str, Any]) -> BreakEven:
    """The simulated break-even day to quote: the risk-adjusted one when failures are priced."""
    if "risk_adjusted_break_even_day" in summary and failures_priced(summary):
        return BreakEven(summary["risk_adjusted_break_even_day"], "simulated, risk-adjusted")
    return BreakEven(summary.get("break_even_day"), "simulated")


def money_class(m: Money) -> str:
    """pays, marginal or does_not_pay on the money alone."""
    ratio = m.ratio
    if m.savings_usd is None or m.savings_usd <= 0 or ratio is None:
        return "does_not_pay"
    return "marginal" if ratio < THIN_SAVINGS else "pays"


def teacher_error(summary: Mapping[str, Any]) -> float:
    """What the teacher alone would have got wrong on the same calls: error minus excess error."""
    return (summary.get("error_rate") or 0.0) - (summary.get("excess_error_rate") or 0.0)


def silent_above_teacher(summary: Mapping[str, Any]) -> Breach | None:
    """Silent failures above the teacher's own error rate: confidently wrong where it was right."""
    silent, teacher = summary.get("silent_failure_rate") or 0.0, teacher_error(summary)
    if silent > teacher and silent > 0:
        return Breach(
            "silent_failures_above_teacher",
            f"Silent failures are {share(silent)} of calls, above the teacher's own error rate "
            f"of {share(teacher)}.",
        )
    return None


def silent_above_limit(summary: Mapping[str, Any], limit: float | None) -> Breach | None:
    """Silent failures above the scenario's `[economics] max_silent_failure_rate`."""
    silent = summary.get("silent_failure_rate") or 0.0
    if limit is not None and silent > limit:
        return Breach(
            "silent_failures_above_limit",
            f"Silent failures are {share(silent)} of calls, above the {share(limit)} that "
            "[economics] max_silent_failure_rate allows.",
        )
    return None


def secondary_collapse(summary: Mapping[str, Any]) -> Breach | None:
    """Bad secondary outputs on more than half a percent of calls: capability collapse."""
    secondary = summary.get("secondary_silent_failure_rate") or 0.0
    if secondary > SECONDARY_COLLAPSE:
        return Breach(
            "secondary_outputs_collapse",
            f"Secondary outputs fail silently on {share(secondary)} of calls, above the "
            f"{share(SECONDARY_COLLAPSE)} the seed calls a capability collapse.",
        )
    return None


def blind_verifier(verified: bool, blind_spot_correlation: float | None) -> Breach | None:
    """A routing verifier that shares the student's blind spots: latency without safety."""
    if verified and blind_spot_correlation is not None and blind_spot_correlation >= BLIND_SPOT:
        return Breach(
            "verifier_blind_spots",
            f"The verifier's blind_spot_correlation is {blind_spot_correlation:g} (at or above "
            f"{BLIND_SPOT:g}): it adds latency without adding safety.",
        )
    return None


def breaches(
    summary: Mapping[str, Any],
    limit: float | None = None,
    verified: bool = False,
    blind_spot_correlation: float | None = None,
) -> list[Breach]:
    """Every safety rule that fires, the most specific first."""
    found = (
        silent_above_limit(summary, limit),
        silent_above_teacher(summary),
        secondary_collapse(summary),
        blind_verifier(verified, blind_spot_correlation),
    )
    return [b for b in found if b is not None]


def _money_reason(m: Money, verdict: str, even: BreakEven | None) -> str:
    """The sentence for a verdict decided by the money."""
    adjusted = ", risk-adjusted" if m.risk_adjusted else ""
    if m.savings_usd is None or m.ratio is None:
        return "There is no teacher-only cost to save against (no calls), so nothing to pay off."
    if verdict == "does_not_pay":
        return (
            f"Distilling costs {money(-m.savings_usd)} more than the teacher alone over the "
            f"horizon ({share(-m.ratio)} of the teacher-only cost{adjusted})."
        )
    said = (
        f"Savings are {share(m.ratio)} of the teacher-only cost ({money(m.savings_usd)}{adjusted})"
    )
    if verdict == "marginal":
        return (
            f"{said}, under the seed's {THIN_SAVINGS:.0%} bar: probably negative once "
            "everything is counted."
        )
    day = ""
    if even is not None and even.day is not None:
        day = f"; it breaks even on day {days(even.day)} ({even.name})"
    return f"{said}, at or above the seed's {THIN_SAVINGS:.0%} bar{day}."


def decide(
    m: Money, found: Sequence[Breach] = (), even: BreakEven | None = None, baseline: bool = False
) -> Decision:
    """The verdict: unsafe > does_not_pay > marginal > pays, and the sentence that decided it."""
    if found:
        more = len(found) - 1
        reason = found[0].reason
        if more:
            rules = "rule fires" if more == 1 else "rules fire"
            reason = reason.removesuffix(".") + f" ({more} more safety {rules} too)."
        return Decision("unsafe", reason)
    if baseline:
        return Decision(
            "does_not_pay",
            "This is the teacher-only baseline: no student, so savings are $0 and nothing pays "
            "off.",
        )
    verdict = money_class(m)
    return Decision(verdict, _money_reason(m, verdict, even))


def for_summary(summary: Mapping[str, Any], scenario: Scenario) -> Decision:
    """The verdict of a run: its money, its break-even day and the scenario's safety rules."""
    v = scenario.verifier
    return from_parts(
        summary,
        scenario.router.policy,
        scenario.economics.max_silent_failure_rate,
        None if v is None else v.blind_spot_correlation,
    )


def from_parts(
    summary: Mapping[str, Any],
    policy_name: str,
    limit: float | None = None,
    blind_spot_correlation: float | None = None,
) -> Decision:
    """The verdict from a summary and the few scenario values the safety rules read (the report
    has the scenario as a plain table, not a validated `Scenario`)."""
    policy = BY_NAME.get(policy_name)
    verified = policy is not None and policy.verified
    baseline = policy is not None and not policy.uses_student
    found = breaches(summary, limit, verified, blind_spot_correlation)
    return decide(money_of(summary), found, break_even_of(summary), baseline)


def stored(summary: Mapping[str, Any]) -> Decision | None:
    """The verdict a summary.json carries (None for a summary written before verdicts)."""
    verdict, reason = summary.get("verdict"), summary.get("verdict_reason")
    if verdict in VERDICTS and isinstance(reason, str):
        return Decision(str(verdict), reason)
    return None
