"""The scenario file: pydantic models of every table, validated and frozen before the run.

The tables live by topic: the bounded number types in sim.scenario.schema_types, the distributions
in
sim.scenario.distribution_models, traffic in sim.scenario.traffic_models, drift and the lifecycle
tables in
sim.scenario.lifecycle_models; this module holds the rest and the whole `Scenario`, and re-exports
them
all, so `from sim.scenario.models import X` works for every table.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sim.problems import did_you_mean, show
from sim.scenario.distribution_models import (
    DIST_KINDS,
    DIST_MODELS,
    DISTRIBUTION_MODELS,
    Beta,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogitNormal,
    Lognormal,
    seconds_at_most_a_day,
    tokens_at_most,
)
from sim.scenario.lifecycle_models import (
    DRIFT_KINDS,
    DRIFT_MODELS,
    RAMPED_DRIFTS,
    ConceptDrift,
    Drift,
    MixDrift,
    Monitoring,
    RandomWalkDrift,
    Retraining,
    Secondary,
    Signals,
)
from sim.scenario.policies import BY_NAME, POLICIES
from sim.scenario.schema_types import (
    DAY_S,
    MAX_BUDGET_USD,
    MAX_DAYS,
    MAX_FACTOR,
    MAX_SECONDS,
    MAX_SHAPE,
    MAX_SIGMA,
    MAX_TOKENS,
    MAX_USD,
    MAX_USD_PER_MTOK,
    MAX_VALUE,
    Budget,
    Day,
    Factor,
    NonNegative,
    PerToken,
    Positive,
    Price,
    Probability,
    Strict,
)
from sim.scenario.traffic_models import Trace, Traffic

__all__ = [
    "DAY_S", "DIST_KINDS", "DIST_MODELS", "DISTRIBUTION_MODELS", "DRIFT_KINDS", "DRIFT_MODELS",
    "MAX_BUDGET_USD", "MAX_DAYS", "MAX_FACTOR", "MAX_SECONDS", "MAX_SHAPE", "MAX_SIGMA",
    "MAX_TOKENS", "MAX_USD", "MAX_USD_PER_MTOK", "MAX_VALUE", "Beta", "Budget", "ConceptDrift",
    "Constant", "Day", "Distribution", "Drift", "Economics", "Empirical", "Exponential", "Factor",
    "Human", "LogitNormal", "Lognormal", "MixDrift", "Monitoring", "NonNegative", "Outage",
    "PerToken", "Policy", "Positive", "Price", "Probability", "RandomWalkDrift", "Retraining",
    "Router", "Scenario", "ScenarioMeta", "Secondary", "Segment", "Signals", "Strict", "Student",
    "Teacher", "Trace", "Traffic", "Verifier",
]  # fmt: skip


class ScenarioMeta(Strict):
    """[scenario]: what is simulated, for how long, with which randomness."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        max_length=100,
        description="names results/<name>/; letters, digits, '.', '_' and '-'",
    )
    description: str = Field("", description="one line for people")
    horizon_days: float = Field(
        gt=0.0, le=MAX_DAYS, allow_inf_nan=False, description="simulated time in days (≤ 36500)"
    )
    seed: int = Field(0, ge=0, description="root of the one SeedSequence every stream comes from")
    replications: int = Field(1, ge=1, le=10000, description="independent runs; CIs need 2 or more")
    tick_s: Positive = Field(3600.0, description="control-plane step in seconds")

    @model_validator(mode="after")
    def _tick_fits(self) -> ScenarioMeta:
        horizon_s = self.horizon_days * DAY_S
        if self.tick_s > horizon_s * (1 + 1e-9):
            raise ValueError(
                f"scenario.tick_s: got {self.tick_s:g}; expected at most the horizon, "
                f"{horizon_s:g} s (horizon_days × 86400)"
            )
        return self


class Segment(Strict):
    """[[segments]]: one slice of the traffic with its own tokens, accuracies and confidences."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$", description="unique name")
    weight: Factor = Field(
        description="share of traffic at day 0 (weights are normalised; each ≤ 1e9)"
    )
    tokens_in: Distribution = Field(
        description="prompt tokens per call (a distribution; constant, mean or median ≤ 1e7)"
    )
    tokens_out: Distribution = Field(
        description="completion tokens per call (a distribution; constant, mean or median ≤ 1e7)"
    )
    student_accuracy: Probability = Field(description="accuracy of a student trained on it")
    teacher_accuracy: Probability = Field(description="accuracy of the teacher")
    confidence_correct: Distribution = Field(description="student confidence when right, on [0, 1]")
    confidence_wrong: Distribution = Field(description="student confidence when wrong, on [0, 1]")
    in_training: bool = Field(True, description="did the first student see this segment?")
    wrong_answer_usd: Price | None = Field(
        None,
        description="what one wrong answer returned as normal costs the business, whoever gave "
        "it (≤ 1e6; default: economics.wrong_answer_usd)",
    )
    failed_call_usd: Price | None = Field(
        None,
        description="what one call that got no answer costs (≤ 1e6; default: "
        "economics.failed_call_usd)",
    )
    error_correlation: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description="ρ in [0, 1): how much the student's and the teacher's errors travel "
        "together on one call (Gaussian copula on their wrongness; both accuracies stay exact); "
        "0 = independent",
    )

    @field_validator("tokens_in", "tokens_out")
    @classmethod
    def _tokens_bounded(cls, dist: Any) -> Any:
        return tokens_at_most(dist)

    @field_validator("confidence_correct", "confidence_wrong")
    @classmethod
    def _on_unit_interval(cls, dist: Any) -> Any:
        if isinstance(dist, Exponential | Lognormal):
            raise ValueError(
                f'got dist = "{dist.dist}", which can exceed 1; expected a confidence on [0, 1]: '
                "beta, logit_normal, empirical or a constant in [0, 1]"
            )
        if isinstance(dist, Constant) and dist.value > 1:
            raise ValueError(
                f"got {show(dist.value)}; expected a confidence on [0, 1]: a constant in [0, 1], "
                "beta, logit_normal or empirical"
            )
        return dist


class Student(Strict):
    """[student]: the distilled model on a pool of GPU servers, FIFO queue."""

    servers: int = Field(ge=1, le=100000, description="GPU servers, each paid busy or idle")
    concurrency: int = Field(1, ge=1, le=1024, description="requests one server runs at once")
    service_s: Distribution = Field(
        description="service time per request in seconds (constant, mean or median ≤ 86400)"
    )
    seconds_per_output_token: PerToken = Field(0.0, description="added per output token (≤ 60)")
    gpu_hour_usd: Price = Field(description="price of one server per hour (≤ 1e6)")
    unseen_accuracy: Probability = Field(
        0.5, description="accuracy on segments it was never trained on"
    )

    @field_validator("service_s")
    @classmethod
    def _service_bounded(cls, dist: Any) -> Any:
        return seconds_at_most_a_day(dist)


class Outage(Strict):
    """One teacher outage."""

    start_day: Day = Field(description="day the outage starts (≤ 36500)")
    hours: float = Field(
        gt=0.0, le=MAX_DAYS * 24, allow_inf_nan=False, description="how long it lasts (≤ 876000)"
    )


class Teacher(Strict):
    """[teacher]: the frontier model behind an API, unlimited concurrency unless rate limited."""

    input_usd_per_mtok: float = Field(
        ge=0.0,
        le=MAX_USD_PER_MTOK,
        allow_inf_nan=False,
        description="USD per million prompt tokens (≤ 1e6)",
    )
    output_usd_per_mtok: float = Field(
        ge=0.0,
        le=MAX_USD_PER_MTOK,
        allow_inf_nan=False,
        description="USD per million completion tokens (≤ 1e6)",
    )
    latency_s: Distribution = Field(
        description="time to first token, or the whole call (constant, mean or median ≤ 86400)"
    )
    seconds_per_output_token: PerToken = Field(0.0, description="added per output token (≤ 60)")
    rate_limit_per_min: int = Field(
        0, ge=0, le=10_000_000, description="calls that may start in any minute; 0 = unlimited"
    )
    outages: list[Outage] = Field(default_factory=list, description="[{ start_day, hours }]")
    on_teacher_unavailable: Literal["return_student", "fail"] = Field(
        "return_student", description="what a fallback does during an outage"
    )

    @field_validator("latency_s")
    @classmethod
    def _latency_bounded(cls, dist: Any) -> Any:
        return seconds_at_most_a_day(dist)


Policy = Literal[POLICIES]  # type: ignore[valid-type]  # the names declared in sim.scenario.policies


class Router(Strict):
    """[router]: which model answers each call."""

    policy: Policy = Field(description=" | ".join(POLICIES))
    threshold: Probability | None = Field(
        None, description="cascade falls back below this student confidence"
    )
    segment_thresholds: dict[str, Probability] = Field(
        default_factory=dict, description="per-segment thresholds, e.g. { long_tail = 0.95 }"
    )
    deadline_s: float = Field(
        0.0,
        ge=0.0,
        le=30 * DAY_S,
        allow_inf_nan=False,
        description="0 = no deadline (≤ 2592000, 30 days)",
    )
    on_deadline: Literal["return_student", "fail"] = Field(
        "return_student", description="what a fallback late past the deadline does"
    )
    bypass_queue_s: float = Field(
        0.0,
        ge=0.0,
        le=30 * DAY_S,
        allow_inf_nan=False,
        description="0 = off; a longer student queue wait sends the call to the teacher "
        "(≤ 2592000, 30 days)",
    )


class Economics(Strict):
    """[economics]: one-time and running costs of distilling (the seed's D, T, M)."""

    dataset_usd: Budget = Field(0.0, description="D, paid on day 0 (≤ 1e12)")
    training_usd: Budget = Field(0.0, description="T, paid on day 0 (≤ 1e12)")
    maintenance_usd_per_month: Budget = Field(
        0.0, description="M per 30-day month, accrued tick by tick (≤ 1e12)"
    )
    engineer_day_usd: Price = Field(0.0, description="price of one engineer day (≤ 1e6)")
    wrong_answer_usd: Price = Field(
        0.0,
        description="what one wrong answer returned as normal costs, for segments that set none "
        "(≤ 1e6)",
    )
    failed_call_usd: Price = Field(
        0.0,
        description="what one call that got no answer costs, for segments that set none (≤ 1e6)",
    )
    max_silent_failure_rate: Probability | None = Field(
        None,
        description="the highest share of calls that may fail silently; above it the verdict is "
        "unsafe (unset: only the teacher's own error rate bounds it)",
    )


class Verifier(Strict):
    """[verifier]: checks the student's answer (tests, a schema, a rules engine, another model)."""

    recall: Probability = Field(description="probability it flags a wrong answer")
    false_positive_rate: Probability = Field(0.0, description="probability it flags a right one")
    blind_spot_correlation: Probability = Field(
        0.0,
        description="ρ: its misses concentrate on the student's most confident wrong answers "
        "(Gaussian copula; recall stays exact); 1 = it only catches what a threshold would",
    )
    usd_per_call: Price = Field(0.0, description="price of one verification (≤ 1e6)")
    latency_s: Distribution = Field(
        default_factory=lambda: Constant(value=0.0),
        description="time one verification takes (constant, mean or median ≤ 86400)",
    )
    on_flag: Literal["teacher", "human"] = Field(
        "teacher", description="where a flagged call goes: teacher or human review"
    )
    checks_teacher: bool = Field(
        False,
        description="under verify, also check the teacher's answer to a flagged call (same "
        "recall and false_positive_rate, price and latency); a flagged teacher answer goes to "
        "[human] review when there is one, else it is returned (counted in teacher_flag_rate)",
    )

    @field_validator("latency_s")
    @classmethod
    def _latency_bounded(cls, dist: Any) -> Any:
        return seconds_at_most_a_day(dist)


class Human(Strict):
    """[human]: people reviewing flagged calls, a FIFO pool when reviewers > 0."""

    usd_per_review: Price = Field(description="price of one review (≤ 1e6)")
    reviewers: int = Field(0, ge=0, le=100000, description="0 = unlimited")
    review_s: Distribution = Field(
        description="time one review takes (constant, mean or median ≤ 86400)"
    )
    accuracy: Probability = Field(1.0, description="probability a review's answer is right")

    @field_validator("review_s")
    @classmethod
    def _review_bounded(cls, dist: Any) -> Any:
        return seconds_at_most_a_day(dist)


class Scenario(Strict):
    """A whole scenario file."""

    scenario: ScenarioMeta
    traffic: Traffic
    segments: list[Segment] = Field(min_length=1, max_length=256)
    student: Student
    teacher: Teacher
    router: Router
    economics: Economics = Field(default_factory=Economics)  # type: ignore[arg-type]
    verifier: Verifier | None = None
    human: Human | None = None
    drift: list[Drift] = Field(default_factory=list, max_length=100)
    secondary: list[Secondary] = Field(default_factory=list, max_length=16)
    monitoring: Monitoring | None = None
    retraining: Retraining | None = None
    signals: Signals | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems: list[str] = []
        names = [s.name for s in self.segments]
        problems += _repeated_names("segments", names)
        if sum(s.weight for s in self.segments) <= 0:
            problems.append(
                "segments.*.weight: all weights are zero; expected at least one positive weight"
            )
        for name in self.router.segment_thresholds:
            if name not in names:
                hint = did_you_mean(name, names)
                problems.append(
                    f"router.segment_thresholds.{name}: unknown segment{hint}; "
                    f"expected one of {', '.join(names)}"
                )
        if BY_NAME[self.router.policy].needs_threshold and self.router.threshold is None:
            missing = [n for n in names if n not in self.router.segment_thresholds]
            if missing:
                problems.append(
                    f"router.threshold: missing; {self.router.policy} needs a threshold "
                    f"(or segment_thresholds for {missing})"
                )
        problems += self._routing_problems()
        problems += self._lifecycle_problems(names)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _routing_problems(self) -> list[str]:
        problems = []
        router = self.router
        if BY_NAME[router.policy].verified and self.verifier is None:
            problems.append(
                f'router.policy: got "{router.policy}" without a [verifier] table; expected a '
                "[verifier] table (recall, false_positive_rate, ...) or another policy"
            )
        if self.verifier is not None and self.verifier.on_flag == "human" and self.human is None:
            problems.append(
                'verifier.on_flag: got "human" without a [human] table; expected a [human] table '
                '(usd_per_review, review_s, ...) or on_flag = "teacher"'
            )
        verifier = self.verifier
        if verifier is not None and verifier.checks_teacher and verifier.on_flag == "human":
            problems.append(
                'verifier.checks_teacher: got true with on_flag = "human"; the teacher never '
                'answers a flagged call then; expected on_flag = "teacher" or checks_teacher '
                "= false"
            )
        # each outage against the one ending last among those starting no later (not only the
        # previous one: a long outage can contain several short ones)
        outages = self.teacher.outages
        latest: tuple[float, int] | None = None  # (end day, index)
        for j in sorted(range(len(outages)), key=lambda k: (outages[k].start_day, k)):
            start, end = outages[j].start_day, outages[j].start_day + outages[j].hours / 24
            if latest is not None and start < latest[0]:
                i = latest[1]
                problems.append(
                    f"teacher.outages[{j}].start_day: got {show(start)}, inside outages[{i}] "
                    f"(day {outages[i].start_day:g} for {outages[i].hours:g} h, until day "
                    f"{latest[0]:.6g}); expected outages that do not overlap"
                )
            if latest is None or end > latest[0]:
                latest = (end, j)
        fastest = self.fastest_answer_s()
        if router.deadline_s > 0 and router.deadline_s <= fastest:
            problems.append(
                f"router.deadline_s: got {show(router.deadline_s)}; no answer can arrive that fast "
                f"(the fastest takes {fastest:g} s); expected a deadline above {fastest:g} s "
                "(or 0 for none)"
            )
        return problems

    def _lifecycle_problems(self, names: list[str]) -> list[str]:
        problems = []
        horizon = self.scenario.horizon_days
        weights = {s.name: s.weight for s in self.segments}
        for i in sorted(range(len(self.drift)), key=lambda k: self.drift[k].start_day):
            event, where = self.drift[i], f"drift[{i}]"
            if event.start_day >= horizon:  # say so, not "ramp_days: expected at most 0"
                problems.append(
                    f"{where}.start_day: got {event.start_day:g}; the drift starts at or after "
                    f"the horizon's end (day {horizon:g}); expected a start_day below horizon_days"
                )
            elif isinstance(event, RAMPED_DRIFTS) and event.start_day + event.ramp_days > horizon:
                problems.append(
                    f"{where}.ramp_days: got {event.ramp_days:g}; the ramp from day "
                    f"{event.start_day:g} ends past the horizon (day {horizon:g}); expected "
                    f"at most {max(0.0, horizon - event.start_day):g}"
                )
            if isinstance(event, ConceptDrift) and event.segment not in names:
                problems.append(
                    f"{where}.segment: got {show(event.segment)}"
                    f"{did_you_mean(event.segment, names)}; expected one of {', '.join(names)}"
                )
            if isinstance(event, MixDrift):
                for name in event.weights:
                    if name not in names:
                        problems.append(
                            f"{where}.weights.{name}: unknown segment{did_you_mean(name, names)}; "
                            f"expected one of {', '.join(names)}"
                        )
                weights = {n: event.weights.get(n, w) for n, w in weights.items()}
                if sum(weights.values()) <= 0:
                    problems.append(
                        f"{where}.weights: got {show(dict(event.weights))}; after this shift every "
                        "segment's weight is zero; expected at least one positive weight"
                    )
        problems += _repeated_names("secondary", [s.name for s in self.secondary])
        if (
            self.retraining is not None
            and self.retraining.trigger == "alert"
            and self.monitoring is None
        ):
            problems.append(
                'retraining.trigger: got "alert" without a [monitoring] table; expected a '
                '[monitoring] table (alerts come from it) or trigger = "never" or "schedule"'
            )
        return problems

    def fastest_answer_s(self) -> float:
        """The shortest time any answer of this policy can take (support lower bounds)."""
        shortest_out = min(s.tokens_out.lower_bound() for s in self.segments)
        if not BY_NAME[self.router.policy].uses_student:
            return self.teacher.latency_s.lower_bound() + (
                self.teacher.seconds_per_output_token * shortest_out
            )
        return self.student.service_s.lower_bound() + (
            self.student.seconds_per_output_token * shortest_out
        )

    def threshold_for(self, segment: str) -> float:
        """The cascade threshold that applies to one segment (0 when none is set)."""
        if segment in self.router.segment_thresholds:
            return self.router.segment_thresholds[segment]
        return self.router.threshold if self.router.threshold is not None else 0.0

    @property
    def horizon_s(self) -> float:
        """Simulated time in seconds."""
        return self.scenario.horizon_days * DAY_S

    @property
    def ticks(self) -> int:
        """Number of control-plane ticks (the last may be shorter)."""
        return math.ceil(self.horizon_s / self.scenario.tick_s - 1e-9)


def _repeated_names(table: str, names: list[str]) -> list[str]:
    """One line per entry whose name an earlier entry already has."""
    return [
        f"{table}[{i}].name: got {show(name)}, the name of {table}[{names.index(name)}] too; "
        "expected unique names"
        for i, name in enumerate(names)
        if names.index(name) < i
    ]
