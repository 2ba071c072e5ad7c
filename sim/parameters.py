"""A scenario turned into the plain arrays the kernels read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.distributions import QuantileTables, build_tables
from sim.kernels import tick
from sim.kernels.routing import POLICY_CODES
from sim.scenario import Scenario
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
        return cls(
            policy=POLICY_CODES[scenario.router.policy],
            traffic=rate_params(scenario.traffic),
            segments=table,
            models=models,
            tables=build_tables(dists),
            slots=scenario.student.servers * scenario.student.concurrency,
        )
