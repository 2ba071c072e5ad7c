"""What the teacher charges per call on the scenario's mix: the price both the engine (labelling a
retraining dataset) and the economics (the plan, the teacher-only baseline) need."""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine import replay
from sim.scenario.distributions import frozen
from sim.scenario.models import Scenario


def segment_shares(scenario: Scenario) -> np.ndarray:
    """The day-0 mix: the weights, or a replayed trace's own segment column."""
    trace = scenario.traffic.trace
    found = replay.info(trace) if trace is not None else None
    if found is not None and found.segments:
        return np.array([found.calls.get(s.name, 0) / found.rows for s in scenario.segments])
    w = np.array([s.weight for s in scenario.segments], dtype=float)
    return w / w.sum()


def teacher_usd_per_call(scenario: Scenario) -> np.ndarray:
    """Expected teacher price of one call, per segment (tokens are floored as in the kernels);
    a replayed trace's token columns replace the segments' token distributions."""
    t = scenario.teacher
    trace = scenario.traffic.trace
    found = replay.info(trace) if trace is not None else None
    out = []
    for s in scenario.segments:
        tokens_in = mean_floor(s.tokens_in)
        tokens_out = mean_floor(s.tokens_out)
        if found is not None:
            label = s.name if found.segments else ""
            if found.tokens_in_mean is not None:
                tokens_in = found.tokens_in_mean.get(label, tokens_in)
            if found.tokens_out_mean is not None:
                tokens_out = found.tokens_out_mean.get(label, tokens_out)
        out.append((tokens_in * t.input_usd_per_mtok + tokens_out * t.output_usd_per_mtok) / 1e6)
    return np.array(out)


def mean_floor(dist: Any) -> float:
    """The mean of a token distribution floored to whole tokens, as the kernels draw it."""
    u = (np.arange(200000) + 0.5) / 200000
    return float(np.floor(frozen(dist).ppf(u)).mean())
