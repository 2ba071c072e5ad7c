"""The seed's scorecard: five signals a task is a good distillation candidate, five it isn't.

Each signal's evidence comes from the scenario and a run where that is possible, and from the
`[signals]` table where it is not (a declaration there overrides what was computed). The verdict
is the one every command prints (`sim.analysis.decision`), decided from the run's money and safety
rules; beside it the signals are tallied by the seed's asymmetry (four or five good signals and no
strong bad one make a strong case; a single strong bad signal is usually enough to kill it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sim.analysis import decision
from sim.scenario.models import ConceptDrift, MixDrift, RandomWalkDrift, Scenario

MILLION_A_MONTH = 1_000_000.0


@dataclass(frozen=True)
class Signal:
    """One signal: is it present, how strongly, and on what evidence."""

    name: str
    kind: str  # "good" or "bad"
    present: bool | None  # None: no evidence either way
    strong: bool
    evidence: str
    source: str  # "computed" or "declared"


def _declared(
    scenario: Scenario, field: str, name: str, kind: str, computed: Signal, invert: bool = False
) -> Signal:
    value = getattr(scenario.signals, field) if scenario.signals is not None else None
    if value is None:
        return computed
    present = (not value) if invert else bool(value)
    return Signal(name, kind, present, present and kind == "bad", f"[signals] {field} = "
                  f"{str(value).lower()}", "declared")  # fmt: skip


def _mix_shift(scenario: Scenario) -> float:
    """The largest share of traffic any mix event moves (total variation distance)."""
    w = np.array([s.weight for s in scenario.segments], dtype=float)
    w = w / w.sum()
    names = [s.name for s in scenario.segments]
    moved = 0.0
    for e in sorted(
        (e for e in scenario.drift if isinstance(e, MixDrift)), key=lambda e: e.start_day
    ):
        target = w.copy()
        for name, weight in e.weights.items():
            target[names.index(name)] = weight
        target = target / target.sum()
        moved = max(moved, 0.5 * float(np.abs(target - w).sum()))
        w = target
    return moved


def _mix_evidence(scenario: Scenario) -> tuple[float, float, str]:
    """The top segment's share of traffic, the effective number of segments, and the words."""
    w = np.array([s.weight for s in scenario.segments], dtype=float)
    w = w / w.sum()
    top, effective = float(w.max()), float(1.0 / np.sum(w**2))
    names = [s.name for s in scenario.segments]
    top_name = names[int(w.argmax())]
    mix = f"top segment {top_name} has {top:.0%} of traffic; {effective:.1f} effective segments"
    return top, effective, mix


def _drift_evidence(scenario: Scenario, summary: dict[str, Any]) -> tuple[bool, float, bool, str]:
    """Any concept change? the largest mix shift, drifting at all?, and the words."""
    moved = _mix_shift(scenario)
    concepts = [e for e in scenario.drift if isinstance(e, ConceptDrift)]
    walks = [e for e in scenario.drift if isinstance(e, RandomWalkDrift)]
    drifting = bool(concepts or walks or moved >= 0.05 or summary.get("retrains"))
    drift_text = (
        f"{len(concepts)} concept change(s), mix moves up to {moved:.0%}, "
        f"{len(walks)} random walk(s), {summary.get('alerts', 0)} alert(s), "
        f"{summary.get('retrains', 0)} retraining(s)"
    )
    return bool(concepts), moved, drifting, drift_text


def _verifier_evidence(scenario: Scenario) -> tuple[bool, str]:
    """Is there a verifier good enough to trust (recall, false positives, blind spots)? In words."""
    v = scenario.verifier
    good_verifier = (
        v is not None
        and v.recall >= 0.9
        and v.false_positive_rate <= 0.1
        and v.blind_spot_correlation < 0.5
    )
    verifier_text = (
        "no [verifier]"
        if v is None
        else f"verifier recall {v.recall:g}, false positives {v.false_positive_rate:g}, "
        f"blind-spot correlation {v.blind_spot_correlation:g}"
    )
    return good_verifier, verifier_text


def tally(n_good: int, strong_bad: list[str]) -> str:
    """The seed's asymmetric count, as evidence beside the verdict: four or five good signals
    and no strong bad one make a strong case; one strong bad signal usually kills it."""
    if strong_bad:
        return (
            f"The seed's signals: {n_good} of 5 good, and a strong bad one "
            f"({', '.join(strong_bad)}), which the seed says is usually enough to kill a case."
        )
    if n_good >= 4:
        return f"The seed's signals: {n_good} of 5 good and no strong bad one, a strong case."
    if n_good >= 2:
        return (
            f"The seed's signals: only {n_good} of 5 good; the seed would weigh staying on the "
            "teacher and optimising something else (prompt length, caching, routing)."
        )
    return f"The seed's signals: {n_good} of 5 good, too few for a candidate."


def assess(scenario: Scenario, summary: dict[str, Any]) -> dict[str, Any]:
    """All ten signals with their evidence, the seed's tally of them, and the one verdict of
    `sim.analysis.decision` on the run's summary (the same word `run` and `report` print)."""
    top, effective, mix = _mix_evidence(scenario)
    monthly = (summary["calls"] or 0) / scenario.scenario.horizon_days * 30
    eval_error = summary.get("eval_error_rate")
    eval_accuracy = 1 - eval_error if eval_error is not None else None
    concept_change, moved, drifting, drift_text = _drift_evidence(scenario, summary)
    v = scenario.verifier
    good_verifier, verifier_text = _verifier_evidence(scenario)
    silent = summary.get("silent_failure_rate") or 0.0
    teacher_error = decision.teacher_error(summary)
    silent_unsafe = decision.silent_above_teacher(summary) is not None
    program = (
        f"student accuracy on its training mix {eval_accuracy:.1%}"
        if eval_accuracy is not None
        else "no segment in training"
    )
    good = [
        _declared(scenario, "narrow", "narrow", "good",
                  Signal("narrow", "good", top >= 0.6 or effective <= 2.0, False, mix,
                         "computed")),
        _declared(scenario, "stable", "stable", "good",
                  Signal("stable", "good", not drifting, False, drift_text, "computed")),
        Signal("high volume", "good", monthly >= MILLION_A_MONTH, False,
               f"{monthly:,.0f} calls a month", "computed"),
        _declared(scenario, "program_like", "program-like", "good",
                  Signal("program-like", "good",
                         eval_accuracy is not None and eval_accuracy >= 0.9, False, program,
                         "computed")),
        _declared(scenario, "verifiable", "verifiable", "good",
                  Signal("verifiable", "good", good_verifier, False, verifier_text, "computed")),
    ]  # fmt: skip
    broad = top < 0.6 and effective >= 2.5
    cost = scenario.signals.subtle_failure_cost if scenario.signals is not None else None
    bad = [
        _declared(scenario, "narrow", "broad or open-ended", "bad",
                  Signal("broad or open-ended", "bad", broad, broad and effective >= 3.0, mix,
                         "computed"), invert=True),
        _declared(scenario, "world_knowledge", "needs world knowledge or judgement", "bad",
                  Signal("needs world knowledge or judgement", "bad",
                         eval_accuracy is not None and eval_accuracy < 0.8, False, program,
                         "computed")),
        _declared(scenario, "stable", "drifting", "bad",
                  Signal("drifting", "bad", drifting, concept_change or moved >= 0.2,
                         drift_text, "computed"), invert=True),
        Signal("costly subtle failures", "bad", None if cost is None else cost != "low",
               cost == "high",
               f"[signals] subtle_failure_cost = {cost}" if cost else
               f"not declared; silent failures {silent:.2%} of calls", "declared" if cost else
               "computed"),
        _declared(scenario, "verifiable", "no verifier", "bad",
                  Signal("no verifier", "bad", v is None, v is None and silent_unsafe,
                         f"{verifier_text}; silent failures {silent:.2%} vs the teacher's own "
                         f"error {teacher_error:.2%}", "computed"), invert=True),
    ]  # fmt: skip
    n_good = sum(1 for s in good if s.present)
    strong_bad = [s.name for s in bad if s.present and s.strong]
    decided = decision.stored(summary) or decision.for_summary(summary, scenario)
    return {
        "scenario": scenario.scenario.name,
        "good_signals": n_good,
        "strong_bad_signals": strong_bad,
        "signals_tally": tally(n_good, strong_bad),
        "verdict": decided.verdict,
        "verdict_reason": decided.reason,
        "signals": [asdict(s) for s in good + bad],
    }
