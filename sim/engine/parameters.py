"""A scenario turned into the plain arrays the kernels read, each slot filled by its name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from sim.clock import DAY_S, HOUR_S
from sim.engine.kernels.layout import BASE_UNIFORMS, MODEL, SEGMENT, ModelParams
from sim.engine.kernels.routing import POLICY_CODES
from sim.engine.traffic import rate_params
from sim.scenario.distributions import STANDARD_NORMAL, QuantileTables, build_tables
from sim.scenario.models import Constant, Scenario
from sim.scenario.policies import BY_NAME


@dataclass(frozen=True)
class KernelParameters:
    """Arrays for run_tick: traffic, segments, models and the quantile tables."""

    policy: int
    traffic: np.ndarray
    segments: np.ndarray  # float64[S, SEG_FIELDS] (sim.engine.kernels.layout.SEGMENT)
    models: ModelParams  # the MODEL fields by name (sim.engine.kernels.layout)
    tables: QuantileTables
    slots: int
    reviewers: int  # size of the reviewers' FIFO pool (1 when unlimited: then unused)
    rate_limit: int  # teacher calls per clock minute (0 = unlimited)
    outages: np.ndarray  # float64[n, 2]: (start_s, end_s)
    uniforms: int  # latents drawn per candidate: fixed by the tables present, not the policy
    secondary_quality: np.ndarray  # float64[K]: the student's quality on each secondary output

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> KernelParameters:
        """Validate nothing (the scenario already is) and lay out the arrays."""
        dists: list[Any] = []

        def add(dist: Any) -> int:
            dists.append(dist)
            return len(dists) - 1

        # distribution ids are handed out in this order: segments, then models
        table = np.array([row for row in _segment_rows(scenario, add)]).reshape(
            len(scenario.segments), SEGMENT.size
        )
        model = _model_values(scenario, add)
        columns, latents = _latent_columns(scenario)
        reviewers = scenario.human.reviewers if scenario.human is not None else 0
        outages = np.array(
            [
                (o.start_day * DAY_S, o.start_day * DAY_S + o.hours * HOUR_S)
                for o in scenario.teacher.outages
            ],
            dtype=float,
        ).reshape(-1, 2)
        return cls(
            policy=POLICY_CODES[scenario.router.policy],
            traffic=rate_params(scenario.traffic),
            segments=table,
            models=ModelParams(*MODEL.pack({**model, **latents})),
            tables=build_tables(dists),
            slots=scenario.student.servers * scenario.student.concurrency,
            reviewers=max(reviewers, 1),
            rate_limit=scenario.teacher.rate_limit_per_min,
            outages=outages,
            uniforms=columns,
            secondary_quality=np.array(
                [o.student_quality for o in scenario.secondary], dtype=float
            ),
        )


def _segment_rows(scenario: Scenario, add: Any) -> list[list[float]]:
    """One SEGMENT row per segment: its cumulative weight, accuracies, threshold, distributions."""
    weights = np.array([s.weight for s in scenario.segments], dtype=float)
    cumulative = np.cumsum(weights / weights.sum())
    return [
        SEGMENT.pack(
            {
                "cum_weight": cumulative[i],
                "student_accuracy": s.student_accuracy,
                "teacher_accuracy": s.teacher_accuracy,
                "threshold": scenario.threshold_for(s.name),
                "confidence_correct": add(s.confidence_correct),
                "confidence_wrong": add(s.confidence_wrong),
                "tokens_in": add(s.tokens_in),
                "tokens_out": add(s.tokens_out),
                "error_correlation": s.error_correlation,
                "teacher_z": float(special.ndtri(s.teacher_accuracy)),
            }
        )
        for i, s in enumerate(scenario.segments)
    ]


def _model_values(scenario: Scenario, add: Any) -> dict[str, float]:
    """The MODEL slots of the models, the router and the teacher's limits, by name."""
    student, teacher, router = scenario.student, scenario.teacher, scenario.router
    reviewers = scenario.human.reviewers if scenario.human is not None else 0
    return {
        "dist_student_service": add(student.service_s),
        "student_s_per_token": student.seconds_per_output_token,
        "dist_teacher_latency": add(teacher.latency_s),
        "teacher_s_per_token": teacher.seconds_per_output_token,
        "usd_per_token_in": teacher.input_usd_per_mtok / 1e6,
        "usd_per_token_out": teacher.output_usd_per_mtok / 1e6,
        "dist_normal": add(STANDARD_NORMAL),
        "horizon_s": scenario.horizon_s,
        **_verifier_and_human(scenario, add),
        "deadline_s": router.deadline_s,
        "deadline_fails": router.on_deadline == "fail",
        "bypass_s": router.bypass_queue_s,
        "rate_limit_per_min": teacher.rate_limit_per_min,
        "unavailable_fails": teacher.on_teacher_unavailable == "fail",
        "reviewer_pool": reviewers > 0,
    }


def _latent_columns(scenario: Scenario) -> tuple[int, dict[str, float]]:
    """Lay out the optional latents after the base ones: (row width, their MODEL slots).

    Which columns exist depends on the tables a scenario has, never on its policy, so every policy
    run on one scenario file and seed sees the same requests."""
    column = BASE_UNIFORMS
    slots: dict[str, float] = {}
    if scenario.verifier is not None or scenario.human is not None:
        for name in (
            "col_verifier",
            "col_verifier_latency",
            "col_human_review",
            "col_human_correct",
        ):
            slots[name] = column
            column += 1
    m = scenario.monitoring
    if m is not None and m.audit_rate > 0:
        slots["col_audit"] = column
        slots["audit_rate"] = m.audit_rate
        column += 1
    if scenario.secondary:
        slots["col_secondary"] = column
        slots["n_secondary"] = len(scenario.secondary)
        column += len(scenario.secondary)
    if scenario.verifier is not None and scenario.verifier.checks_teacher:
        slots["col_teacher_check"] = column
        slots["col_teacher_check_latency"] = column + 1
        column += 2
    return column, slots


def _verifier_and_human(scenario: Scenario, add: Any) -> dict[str, float]:
    """The verifier's and reviewers' MODEL slots (their distributions constant 0 when absent)."""
    v, h = scenario.verifier, scenario.human
    slots: dict[str, float] = {}
    if v is not None:
        slots["verifier_recall"] = v.recall
        slots["verifier_recall_z"] = float(stats.norm.ppf(v.recall))
        slots["verifier_fpr"] = v.false_positive_rate
        slots["verifier_rho"] = v.blind_spot_correlation
        slots["verifier_usd_per_call"] = v.usd_per_call
        slots["on_flag_human"] = v.on_flag == "human"
        policy = scenario.router.policy
        slots["checks_teacher"] = v.checks_teacher and BY_NAME[policy].verified
        slots["dist_verifier_latency"] = add(v.latency_s)
    else:
        slots["dist_verifier_latency"] = add(Constant(value=0.0))
    if h is not None:
        slots["has_human"] = 1.0
        slots["human_usd_per_review"] = h.usd_per_review
        slots["human_accuracy"] = h.accuracy
        slots["dist_human_review"] = add(h.review_s)
    else:
        slots["dist_human_review"] = add(Constant(value=0.0))
    return slots
