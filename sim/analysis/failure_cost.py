"""Priced failures: what wrong answers and unanswered calls cost the business, on both sides.

A subtle failure (a wrong refund, a bad code fix merged, a misrouted legal ticket) can cost more
than everything distilling saves, so a scenario may put a price on each:

- a **wrong answer returned as normal**: any wrong final answer on an answered call, whoever gave
  it (student, teacher or human reviewer): the kernels' `errors` count, priced at the segment's
  `wrong_answer_usd` (default `economics.wrong_answer_usd`);
- a **failed call** (no answer: a deadline or an outage with on_* = "fail"): the `failed` count,
  priced at the segment's `failed_call_usd` (default `economics.failed_call_usd`);
- a **wrong secondary answer**: a student's secondary output below quality accepted with its
  student main answer, exactly what `secondary_silent_failure_rate` counts, priced at the output's
  own `wrong_answer_usd`. The simulation draws no quality for the teacher's or a reviewer's
  secondary outputs (they are the reference, as in the secondary silent-failure rate), so those
  are never wrong, on either side.

The teacher-only baseline is priced the same way on the same calls: every wrong teacher answer
(the `teacher_errors` count) is a wrong answer returned as normal; it has no failed calls (the
counterfactual is the teacher answering every call) and no wrong secondary answers (see above).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from sim.analysis import economics
from sim.engine.aggregates import Aggregates
from sim.engine.kernels import layout
from sim.scenario.models import Scenario


@dataclass(frozen=True)
class FailurePrices:
    """USD per failure: per segment (in scenario order) and per secondary output."""

    wrong_answer_usd: np.ndarray  # float64[segments]
    failed_call_usd: np.ndarray  # float64[segments]
    secondary_usd: np.ndarray  # float64[secondary outputs]


def prices(scenario: Scenario) -> FailurePrices:
    """Each segment's prices (its own, else the [economics] defaults) and each output's."""
    econ = scenario.economics

    def own_or_default(value: float | None, default: float) -> float:
        return default if value is None else value

    return FailurePrices(
        wrong_answer_usd=np.array(
            [own_or_default(s.wrong_answer_usd, econ.wrong_answer_usd) for s in scenario.segments]
        ),
        failed_call_usd=np.array(
            [own_or_default(s.failed_call_usd, econ.failed_call_usd) for s in scenario.segments]
        ),
        secondary_usd=np.array([o.wrong_answer_usd for o in scenario.secondary], dtype=float),
    )


def tick_failure_costs(scenario: Scenario, agg: Aggregates) -> dict[str, np.ndarray]:
    """Per tick (USD): `failure_usd` of the simulated policy, `teacher_only_failure_usd` of the
    teacher alone on the same calls. Counts are taken in the tick the kernels count them in
    (outcomes when a call settles, the teacher-only errors when it arrives)."""
    p = prices(scenario)
    counts = agg.counts

    def priced(count: np.ndarray, usd: np.ndarray) -> np.ndarray:
        # summed by numpy in a fixed order, not a BLAS product: the same bytes on every run
        return np.sum(count * usd, axis=1)

    failure = priced(counts[:, :, layout.ERRORS], p.wrong_answer_usd) + priced(
        counts[:, :, layout.FAILED], p.failed_call_usd
    )
    failure += priced(agg.secondary_silent, p.secondary_usd)
    teacher_only = priced(counts[:, :, layout.TEACHER_ERRORS], p.wrong_answer_usd)
    return {"failure_usd": failure, "teacher_only_failure_usd": teacher_only}


def risk_adjusted(row: dict[str, Any], series: pl.DataFrame, end_s: np.ndarray) -> dict[str, Any]:
    """One replication's costs with each side's priced failures added, and the day the distill
    side's cumulative risk-adjusted cost falls below the teacher alone's for good (as
    `break_even_day`). row: the replication's totals; series: its tick rows in order; end_s: the
    tick boundaries."""
    distill = row["total_usd"] + row["failure_usd"]
    teacher_only = row["teacher_only_usd"] + row["teacher_only_failure_usd"]
    return {
        "risk_adjusted_total_usd": distill,
        "teacher_only_risk_adjusted_usd": teacher_only,
        "risk_adjusted_savings_usd": teacher_only - distill,
        "risk_adjusted_break_even_day": economics.break_even_day(
            np.cumsum(series["total_usd"].to_numpy() + series["failure_usd"].to_numpy()),
            np.cumsum(
                series["teacher_only_usd"].to_numpy()
                + series["teacher_only_failure_usd"].to_numpy()
            ),
            end_s,
        ),
    }
