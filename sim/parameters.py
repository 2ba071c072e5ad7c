"""A scenario turned into the plain arrays the kernels read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sim.clock import DAY_S, HOUR_S
from sim.distributions import STANDARD_NORMAL, QuantileTables, build_tables
from sim.kernels import tick
from sim.kernels.routing import POLICY_CODES
from sim.scenario import Constant, Scenario
from sim.traffic import rate_params


@dataclass(frozen=True)
class KernelParameters:
    """Arrays for run_tick: traffic, segments, models and the quantile tables."""

    policy: int
    traffic: np.ndarray
    segments: np.ndarray  # float64[S, SEG_FIELDS]
    models: np.ndarray  # float64[MODEL_FIELDS]
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

        segs = scenario.segments
        weights = np.array([s.weight for s in segs], dtype=float)
        cumulative = np.cumsum(weights / weights.sum())
        table = np.zeros((len(segs), tick.SEG_FIELDS))
        for i, s in enumerate(segs):
            table[i, tick.SEG_CUM_WEIGHT] = cumulative[i]
            table[i, tick.SEG_STUDENT_ACCURACY] = s.student_accuracy
            table[i, tick.SEG_TEACHER_ACCURACY] = s.teacher_accuracy
            table[i, tick.SEG_THRESHOLD] = scenario.threshold_for(s.name)
            table[i, tick.SEG_CONF_CORRECT] = add(s.confidence_correct)
            table[i, tick.SEG_CONF_WRONG] = add(s.confidence_wrong)
            table[i, tick.SEG_TOKENS_IN] = add(s.tokens_in)
            table[i, tick.SEG_TOKENS_OUT] = add(s.tokens_out)
        models = np.zeros(tick.MODEL_FIELDS)
        models[tick.STUDENT_SERVICE] = add(scenario.student.service_s)
        models[tick.STUDENT_S_PER_TOKEN] = scenario.student.seconds_per_output_token
        models[tick.TEACHER_LATENCY] = add(scenario.teacher.latency_s)
        models[tick.TEACHER_S_PER_TOKEN] = scenario.teacher.seconds_per_output_token
        models[tick.USD_PER_TOKEN_IN] = scenario.teacher.input_usd_per_mtok / 1e6
        models[tick.USD_PER_TOKEN_OUT] = scenario.teacher.output_usd_per_mtok / 1e6
        models[tick.NORMAL] = add(STANDARD_NORMAL)
        models[tick.HORIZON_S] = scenario.horizon_s
        _verifier_and_human(scenario, models, add)
        router = scenario.router
        models[tick.DEADLINE_S] = router.deadline_s
        models[tick.DEADLINE_FAILS] = router.on_deadline == "fail"
        models[tick.BYPASS_S] = router.bypass_queue_s
        models[tick.RATE_LIMIT_PER_MIN] = scenario.teacher.rate_limit_per_min
        models[tick.UNAVAILABLE_FAILS] = scenario.teacher.on_teacher_unavailable == "fail"
        reviewers = scenario.human.reviewers if scenario.human is not None else 0
        models[tick.REVIEWER_POOL] = reviewers > 0
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
            models=models,
            tables=build_tables(dists),
            slots=scenario.student.servers * scenario.student.concurrency,
            reviewers=max(reviewers, 1),
            rate_limit=scenario.teacher.rate_limit_per_min,
            outages=outages,
            uniforms=_latent_columns(scenario, models),
            secondary_quality=np.array(
                [o.student_quality for o in scenario.secondary], dtype=float
            ),
        )


def _latent_columns(scenario: Scenario, models: np.ndarray) -> int:
    """Lay out the optional latents after the base ones; return the row width.

    Which columns exist depends on the tables a scenario has, never on its policy, so every policy
    run on one scenario file and seed sees the same requests."""
    column = tick.BASE_UNIFORMS
    if scenario.verifier is not None or scenario.human is not None:
        for name in (
            "COL_VERIFIER",
            "COL_VERIFIER_LATENCY",
            "COL_HUMAN_REVIEW",
            "COL_HUMAN_CORRECT",
        ):
            models[getattr(tick, name)] = column
            column += 1
    m = scenario.monitoring
    if m is not None and m.audit_rate > 0:
        models[tick.COL_AUDIT] = column
        models[tick.AUDIT_RATE] = m.audit_rate
        column += 1
    if scenario.secondary:
        models[tick.COL_SECONDARY] = column
        models[tick.N_SECONDARY] = len(scenario.secondary)
        column += len(scenario.secondary)
    return column


def _verifier_and_human(scenario: Scenario, models: np.ndarray, add: Any) -> None:
    v, h = scenario.verifier, scenario.human
    models[tick.VERIFIER_RECALL_Z] = 0.0
    if v is not None:
        models[tick.VERIFIER_RECALL] = v.recall
        models[tick.VERIFIER_RECALL_Z] = float(stats.norm.ppf(v.recall))
        models[tick.VERIFIER_FPR] = v.false_positive_rate
        models[tick.VERIFIER_RHO] = v.blind_spot_correlation
        models[tick.VERIFIER_USD_PER_CALL] = v.usd_per_call
        models[tick.ON_FLAG_HUMAN] = v.on_flag == "human"
        models[tick.VERIFIER_LATENCY] = add(v.latency_s)
    else:
        models[tick.VERIFIER_LATENCY] = add(Constant(value=0.0))
    if h is not None:
        models[tick.HUMAN_USD_PER_REVIEW] = h.usd_per_review
        models[tick.HUMAN_ACCURACY] = h.accuracy
        models[tick.HUMAN_REVIEW] = add(h.review_s)
    else:
        models[tick.HUMAN_REVIEW] = add(Constant(value=0.0))
