"""The lifecycle tables: drift kinds, secondary outputs, monitoring, retraining and signals."""

from __future__ import annotations

import typing
from typing import Annotated, Literal

from pydantic import Field

from sim.scenario.schema_types import MAX_DAYS, Budget, Day, Factor, Price, Probability, Strict


class MixDrift(Strict):
    """[[drift]] kind = "mix": traffic shares move linearly to `weights` over ramp_days."""

    kind: Literal["mix"]
    start_day: Day = Field(description="day the shift starts (≤ 36500)")
    ramp_days: Day = Field(0.0, description="days to reach the new weights (0 = a step; ≤ 36500)")
    weights: dict[str, Factor] = Field(
        description="target weight per segment (unnamed segments keep their share; each ≤ 1e9)"
    )

    def label(self) -> str:
        """How the events log names it."""
        return self.kind


class ConceptDrift(Strict):
    """[[drift]] kind = "concept": the right answers change; students trained before it degrade."""

    kind: Literal["concept"]
    segment: str = Field(description="the segment whose answers change")
    start_day: Day = Field(description="day the change starts (≤ 36500)")
    ramp_days: Day = Field(0.0, description="days over which it completes (≤ 36500)")
    stale_student_accuracy: Probability = Field(
        description="accuracy a student trained before the change ends at (the teacher adapts)"
    )

    def label(self) -> str:
        """How the events log names it."""
        return f"concept on {self.segment}"


class RandomWalkDrift(Strict):
    """[[drift]] kind = "random_walk": shares wander (log-normal steps), for stress tests."""

    kind: Literal["random_walk"]
    start_day: Day = Field(0.0, description="day the wandering starts (≤ 36500)")
    volatility_per_month: float = Field(
        ge=0.0,
        # 2 already multiplies a share by e^±2 in a month; a hundred years of it stays far inside
        # exp's range, where a larger value sends every call to one segment
        le=2.0,
        allow_inf_nan=False,
        description="standard deviation of each segment's log-share change over 30 days (≤ 2)",
    )

    def label(self) -> str:
        """How the events log names it."""
        return self.kind


# The drift family, declared once as this union: the kinds, the field reference and the messages
# derive from it. Adding a kind means a class here, its handling in sim.engine.lifecycle and its
# tests.
Drift = Annotated[MixDrift | ConceptDrift | RandomWalkDrift, Field(discriminator="kind")]
DRIFT_MODELS_ORDER: tuple[type[Strict], ...] = typing.get_args(typing.get_args(Drift)[0])
DRIFT_MODELS: dict[str, type[Strict]] = {
    typing.get_args(m.model_fields["kind"].annotation)[0]: m for m in DRIFT_MODELS_ORDER
}
DRIFT_KINDS: tuple[str, ...] = tuple(DRIFT_MODELS)
RAMPED_DRIFTS = (MixDrift, ConceptDrift)  # the kinds that move over ramp_days


class Secondary(Strict):
    """[[secondary]]: an output nobody routes on (e.g. an audit-log summary)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$", description="unique name")
    student_quality: Probability = Field(description="share of the student's outputs that are good")
    teacher_quality: Probability = Field(description="share of the teacher's outputs that are good")
    wrong_answer_usd: Price = Field(
        0.0,
        description="what one bad student output accepted with its main answer costs (≤ 1e6)",
    )


class Monitoring(Strict):
    """[monitoring]: what the team can see — a leading indicator and audited samples."""

    window_hours: float = Field(
        24.0,
        gt=0.0,
        le=MAX_DAYS * 24,
        allow_inf_nan=False,
        description="window of the fallback (or flag) rate (≤ 876000)",
    )
    fallback_rate_alert: Probability = Field(
        0.3, description="alert when the windowed fallback (verify: flag) rate exceeds this"
    )
    audit_rate: Probability = Field(0.0, description="share of calls labelled by people")
    audit_usd: Price = Field(1.0, description="price of labelling one call (≤ 1e6)")


class Retraining(Strict):
    """[retraining]: when a new student is trained, and what it costs."""

    trigger: Literal["never", "alert", "schedule"] = Field(
        "never", description="never | alert (a monitoring alert) | schedule (every_days)"
    )
    every_days: float = Field(
        90.0,
        gt=0.0,
        le=MAX_DAYS,
        allow_inf_nan=False,
        description="schedule: days between retrainings (≤ 36500)",
    )
    duration_days: Day = Field(7.0, description="the old student serves meanwhile (≤ 36500)")
    dataset_calls: float = Field(
        20000.0,
        ge=0.0,
        le=1e12,
        allow_inf_nan=False,
        description="teacher calls to label the new dataset (at teacher prices; ≤ 1e12)",
    )
    compute_usd: Budget = Field(2000.0, description="training compute per retraining (≤ 1e12)")
    engineer_days: float = Field(
        3.0,
        ge=0.0,
        le=1e6,
        allow_inf_nan=False,
        description="people time per retraining (≤ 1e6)",
    )
    min_share: Probability = Field(
        0.01, description="segments above this share at retraining time become seen"
    )
    # A week: the new student's rate is read over a whole weekly cycle of traffic before another
    # alert may replace it, and an alert loop (a threshold the student cannot get under) retrains
    # at most once every duration_days + 7 days instead of once per tick after each deployment.
    cooldown_days: Day = Field(
        7.0,
        description="alert: days after a new student is deployed before an alert may start "
        "another retraining; an alert still standing when it ends starts one then (0 = none; "
        "≤ 36500)",
    )
    # Two a quarter: a retraining costs a dataset, compute and people, and drift a monitor is meant
    # to catch moves over months; more than two in 90 days is a trigger firing on normal traffic.
    max_per_quarter: int = Field(
        2,
        ge=0,
        le=1_000_000,
        description="warn when more retrainings than this start within any 90 days (≤ 1e6)",
    )


class Signals(Strict):
    """[signals]: what a run cannot compute about the task, declared by the team (for `assess`).

    Each value, when given, overrides the evidence `distill-sim assess` computes."""

    narrow: bool | None = Field(None, description="a bounded input distribution and output space")
    stable: bool | None = Field(None, description="unchanged for months, no change planned")
    program_like: bool | None = Field(
        None, description="the reasoning follows rules or a checklist, not novel insight"
    )
    verifiable: bool | None = Field(
        None, description="right answers can be checked cheaply and automatically"
    )
    world_knowledge: bool | None = Field(
        None, description="the answers draw on broad world knowledge, judgement or taste"
    )
    subtle_failure_cost: Literal["low", "medium", "high"] | None = Field(
        None, description="what a plausible-looking wrong answer costs (legal, medical: high)"
    )
