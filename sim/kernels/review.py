"""Human review: a flagged call answered by a person, from a finite FIFO pool or at once."""

import numpy as np

from sim.kernels.flags import step
from sim.kernels.layout import (
    HUMAN_ACCURACY,
    HUMAN_REVIEW,
    HUMAN_REVIEWS,
    HUMAN_USD,
    HUMAN_USD_PER_REVIEW,
    HUMAN_WAIT_SUM,
    R_READY,
    R_U_HUMAN_CORRECT,
    R_U_HUMAN_REVIEW,
    REVIEWER_POOL,
    SOURCE_HUMAN,
)
from sim.kernels.queueing import take_slot
from sim.kernels.sampling import quantile


@step
def settle_review(call, m, spec, table, reviewers_free_at, counts, values):
    """Have a person review a flagged call; return (source, answer_at, started, correct).

    call: float64[REC_FIELDS], the flagged call (ready is when the review can start);
    m: float64[MODEL_FIELDS]; spec, table: the quantile tables; reviewers_free_at:
    float64[reviewers], the pool's free times (a heap, updated; unused without a pool);
    counts: float64[COUNT_FIELDS] (the call's segment's row) and values: float64[VALUE_FIELDS],
    the tick's outputs. `started` is the teacher's start: NaN, the teacher was not asked.
    """
    ready = call[R_READY]
    review = quantile(int(m[HUMAN_REVIEW]), call[R_U_HUMAN_REVIEW], spec, table)
    start = ready
    if m[REVIEWER_POOL] > 0:
        start = ready + take_slot(reviewers_free_at, ready, review)
    values[HUMAN_WAIT_SUM] += start - ready
    values[HUMAN_USD] += m[HUMAN_USD_PER_REVIEW]
    counts[HUMAN_REVIEWS] += 1
    return SOURCE_HUMAN, start + review, np.nan, call[R_U_HUMAN_CORRECT] < m[HUMAN_ACCURACY]
