"""The scenario file: pydantic models of every table, validated and frozen before the run."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.policies import POLICIES
from sim.problems import did_you_mean, show

DIST_KINDS = ("constant", "exponential", "lognormal", "beta", "logit_normal", "empirical")


class Strict(BaseModel):
    """Base of every table: unknown keys are errors and a loaded scenario never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]

# Upper bounds. Every number reaches arithmetic (sums over billions of calls, exp of a normal
# quantile, a time turned into a minute index), so each is bounded to where that arithmetic stays
# finite and exact enough, far beyond what any real scenario uses; each bound is in the field's
# description, so the field reference states it.
DAY_S = 86400.0
MAX_SECONDS = DAY_S  # one latency, service or review time: a day (medians, means, constants)
MAX_VALUE = 1e9  # any distribution's value or scale (tokens, seconds, ...), before its own bound
MAX_TOKENS = 1e7  # tokens in one call: ten million, five times the longest context windows
MAX_SIGMA = 10.0  # of a log: exp(10 · 8.2), the table's farthest quantile, is 4e35, still finite
MAX_SHAPE = 1e6  # beta shapes: beyond this the distribution is a constant to double precision
MAX_USD_PER_MTOK = 1e6  # a million dollars per million tokens: 10,000× the dearest model
MAX_USD = 1e6  # one call's, review's, label's price, or one GPU hour
MAX_BUDGET_USD = 1e12  # a one-time or monthly budget: a trillion dollars
MAX_DAYS = 36500.0  # a hundred years: any day, ramp or interval
MAX_FACTOR = 1e9  # weights and day factors (only their ratios matter)
PerToken = Annotated[float, Field(ge=0.0, le=60.0, allow_inf_nan=False)]  # seconds per token
Price = Annotated[float, Field(ge=0.0, le=MAX_USD, allow_inf_nan=False)]
Budget = Annotated[float, Field(ge=0.0, le=MAX_BUDGET_USD, allow_inf_nan=False)]
Day = Annotated[float, Field(ge=0.0, le=MAX_DAYS, allow_inf_nan=False)]
Factor = Annotated[float, Field(ge=0.0, le=MAX_FACTOR, allow_inf_nan=False)]


class Constant(Strict):
    """Always the same value."""

    dist: Literal["constant"] = "constant"
    value: float = Field(
        ge=0.0, le=MAX_VALUE, allow_inf_nan=False, description="the value (at most 1e9)"
    )


class Exponential(Strict):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0.0, le=MAX_VALUE, allow_inf_nan=False, description="mean (at most 1e9)")


class Lognormal(Strict):
    """Lognormal: median · exp(sigma · Z)."""

    dist: Literal["lognormal"]
    median: float = Field(
        gt=0.0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="median (exp of the log-mean; at most 1e9)",
    )
    sigma: float = Field(
        ge=0.0,
        le=MAX_SIGMA,
        allow_inf_nan=False,
        description="standard deviation of the log (at most 10: its tail stays finite)",
    )


class Beta(Strict):
    """Beta(a, b) on [0, 1]."""

    dist: Literal["beta"]
    a: float = Field(
        gt=0.0, le=MAX_SHAPE, allow_inf_nan=False, description="first shape parameter (≤ 1e6)"
    )
    b: float = Field(
        gt=0.0, le=MAX_SHAPE, allow_inf_nan=False, description="second shape parameter (≤ 1e6)"
    )


class LogitNormal(Strict):
    """Logistic of a normal: 1 / (1 + exp(-(mu + sigma · Z))), on (0, 1)."""

    dist: Literal["logit_normal"]
    mu: float = Field(
        ge=-100.0, le=100.0, allow_inf_nan=False, description="mean of the logit, in [-100, 100]"
    )
    sigma: float = Field(
        ge=0.0,
        le=MAX_SIGMA,
        allow_inf_nan=False,
        description="standard deviation of the logit (at most 10)",
    )


class Empirical(Strict):
    """A sample's distribution: a data file's column, interpolated between order statistics."""

    dist: Literal["empirical"]
    path: str = Field(description="CSV, Parquet or JSONL file, relative to the scenario file")
    column: str = Field(description="column holding the sample")


def _bare_number_is_constant(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {"dist": "constant", "value": value}
    if isinstance(value, dict) and "dist" not in value:
        return {"dist": "<missing>", **value}
    return value


Distribution = Annotated[
    Constant | Exponential | Lognormal | Beta | LogitNormal | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_bare_number_is_constant),
]


def _scale_at_most(dist: Any, limit: str, value_limit: float) -> Any:
    """Refuse a distribution whose typical value (constant, mean, median) exceeds a bound."""
    for name in ("value", "mean", "median"):
        value = getattr(dist, name, None)
        if isinstance(value, float | int) and value > value_limit:
            raise ValueError(f"got {name} = {show(value)}; expected at most {limit}")
    return dist


def _seconds_at_most_a_day(dist: Any) -> Any:
    return _scale_at_most(dist, "86400 s (a day)", MAX_SECONDS)


def _tokens_at_most(dist: Any) -> Any:
    return _scale_at_most(dist, "10000000 tokens", MAX_TOKENS)


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
        horizon_s = self.horizon_days * 86400
        if self.tick_s > horizon_s * (1 + 1e-9):
            raise ValueError(
                f"scenario.tick_s: got {self.tick_s:g}; expected at most the horizon, "
                f"{horizon_s:g} s (horizon_days × 86400)"
            )
        return self


class Trace(Strict):
    """[traffic.trace]: arrivals replayed from a file instead of the Poisson process."""

    path: str = Field(description="CSV, Parquet or JSONL file, relative to the scenario file")
    format: Literal["csv", "parquet", "jsonl"] | None = Field(
        None, description="the file's format (default: from its extension)"
    )
    time_column: str = Field(description="column with each call's arrival time")
    time_unit: Literal["datetime", "s", "ms"] = Field(
        "datetime", description="datetime strings, or numbers in seconds or milliseconds"
    )
    tokens_in_column: str | None = Field(
        None, description="prompt tokens per call (default: the segment's tokens_in)"
    )
    tokens_out_column: str | None = Field(
        None, description="completion tokens per call (default: the segment's tokens_out)"
    )
    segment_column: str | None = Field(
        None, description="each call's segment name (default: drawn by the segments' weights)"
    )
    speedup: Positive = Field(1.0, description="replay this many times faster than recorded")
    loop: bool = Field(
        True,
        description="repeat the trace to fill the horizon (false: the run ends with the trace)",
    )
    rate_multiplier: Positive = Field(
        1.0, description="calls per recorded call on average (thinned or repeated at random)"
    )


class Traffic(Strict):
    """[traffic]: a Poisson process with rate calls_per_day/86400 · diurnal · weekly · growth,
    or a replayed trace."""

    calls_per_day: Positive = Field(
        None,  # type: ignore[assignment]  # required unless a trace sets it (its mean rate)
        description="mean calls per day before the factors (with a trace: set from it)",
    )
    diurnal_amplitude: float = Field(
        0.0, ge=0.0, lt=1.0, description="a in 1 + a·cos(2π(hour − peak_hour)/24); 0 ≤ a < 1"
    )
    peak_hour: float = Field(14.0, ge=0.0, lt=24.0, description="hour of the daily peak")
    weekly: list[Factor] = Field(
        default_factory=lambda: [1.0] * 7,
        min_length=7,
        max_length=7,
        description="seven day factors (each ≤ 1e9), day 0 a Monday; normalised to mean 1",
    )
    growth_per_month: float = Field(
        0.0, gt=-1.0, le=100.0, description="compound growth per 30-day month"
    )

    trace: Trace | None = Field(None, description="replay a file's arrivals instead")

    @field_validator("weekly")
    @classmethod
    def _some_day_has_traffic(cls, weekly: list[float]) -> list[float]:
        if sum(weekly) <= 0:
            raise ValueError(f"got {show(weekly)}; expected at least one positive factor")
        return weekly

    @model_validator(mode="after")
    def _rate_or_trace(self) -> Traffic:
        if self.trace is None:
            if self.calls_per_day is None:
                raise ValueError(
                    "traffic.calls_per_day: missing; expected calls per day, or a [traffic.trace]"
                )
            return self
        problems = []
        if self.calls_per_day is not None:
            problems.append(
                f"traffic.calls_per_day: got {self.calls_per_day:g} with a [traffic.trace]; "
                "expected no calls_per_day (the trace sets the rate; scale it with "
                "trace.rate_multiplier or trace.speedup)"
            )
        shaping = {
            "diurnal_amplitude": (self.diurnal_amplitude, 0.0),
            "weekly": (self.weekly, [1.0] * 7),
            "growth_per_month": (self.growth_per_month, 0.0),
        }
        for name, (value, off) in shaping.items():
            if value != off:
                problems.append(
                    f"traffic.{name}: got {show(value)} with a [traffic.trace]; expected "
                    f"{show(off)} (a replayed trace has its own daily and weekly shape)"
                )
        if problems:
            raise ValueError("\n".join(problems))
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

    @field_validator("tokens_in", "tokens_out")
    @classmethod
    def _tokens_bounded(cls, dist: Any) -> Any:
        return _tokens_at_most(dist)

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
        return _seconds_at_most_a_day(dist)


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
        return _seconds_at_most_a_day(dist)


Policy = Literal[POLICIES]  # type: ignore[valid-type]  # the names declared in sim.policies


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

    @field_validator("latency_s")
    @classmethod
    def _latency_bounded(cls, dist: Any) -> Any:
        return _seconds_at_most_a_day(dist)


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
        return _seconds_at_most_a_day(dist)


class MixDrift(Strict):
    """[[drift]] kind = "mix": traffic shares move linearly to `weights` over ramp_days."""

    kind: Literal["mix"]
    start_day: Day = Field(description="day the shift starts (≤ 36500)")
    ramp_days: Day = Field(0.0, description="days to reach the new weights (0 = a step; ≤ 36500)")
    weights: dict[str, Factor] = Field(
        description="target weight per segment (unnamed segments keep their share; each ≤ 1e9)"
    )


class ConceptDrift(Strict):
    """[[drift]] kind = "concept": the right answers change; students trained before it degrade."""

    kind: Literal["concept"]
    segment: str = Field(description="the segment whose answers change")
    start_day: Day = Field(description="day the change starts (≤ 36500)")
    ramp_days: Day = Field(0.0, description="days over which it completes (≤ 36500)")
    stale_student_accuracy: Probability = Field(
        description="accuracy a student trained before the change ends at (the teacher adapts)"
    )


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


Drift = Annotated[MixDrift | ConceptDrift | RandomWalkDrift, Field(discriminator="kind")]


class Secondary(Strict):
    """[[secondary]]: an output nobody routes on (e.g. an audit-log summary)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$", description="unique name")
    student_quality: Probability = Field(description="share of the student's outputs that are good")
    teacher_quality: Probability = Field(description="share of the teacher's outputs that are good")


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
        if self.router.policy == "cascade" and self.router.threshold is None:
            missing = [n for n in names if n not in self.router.segment_thresholds]
            if missing:
                problems.append(
                    "router.threshold: missing; cascade needs a threshold "
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
        if router.policy == "verify" and self.verifier is None:
            problems.append(
                'router.policy: got "verify" without a [verifier] table; expected a [verifier] '
                "table (recall, false_positive_rate, ...) or another policy"
            )
        if self.verifier is not None and self.verifier.on_flag == "human" and self.human is None:
            problems.append(
                'verifier.on_flag: got "human" without a [human] table; expected a [human] table '
                '(usd_per_review, review_s, ...) or on_flag = "teacher"'
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
            elif (
                isinstance(event, MixDrift | ConceptDrift)
                and event.start_day + event.ramp_days > horizon
            ):
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
        from sim.distributions import lower_bound

        if self.router.policy == "teacher_only":
            return lower_bound(
                self.teacher.latency_s
            ) + self.teacher.seconds_per_output_token * min(
                lower_bound(s.tokens_out) for s in self.segments
            )
        return lower_bound(self.student.service_s) + self.student.seconds_per_output_token * min(
            lower_bound(s.tokens_out) for s in self.segments
        )

    def threshold_for(self, segment: str) -> float:
        """The cascade threshold that applies to one segment (0 when none is set)."""
        if segment in self.router.segment_thresholds:
            return self.router.segment_thresholds[segment]
        return self.router.threshold if self.router.threshold is not None else 0.0

    @property
    def horizon_s(self) -> float:
        """Simulated time in seconds."""
        return self.scenario.horizon_days * 86400.0

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
