"""The teacher API's limits: outages and a per-minute rate limit."""

import numpy as np

from sim.kernels.flags import step
from sim.kernels.layout import (
    DEADLINE_S,
    R_ARRIVAL,
    R_READY,
    R_STUDENT_AT,
    R_STUDENT_CORRECT,
    R_TEACHER_CORRECT,
    R_TEACHER_USD,
    R_TOKENS_OUT,
    R_U_TEACHER_LATENCY,
    RATE_LIMIT_PER_MIN,
    SOURCE_NONE,
    SOURCE_STUDENT,
    SOURCE_TEACHER,
    STATE_CLAMPED,
    STATE_FULL_FROM,
    STATE_FULL_TO,
    TEACHER_CALLS,
    TEACHER_LATENCY,
    TEACHER_S_PER_TOKEN,
    TEACHER_USD,
    TEACHER_WAIT_SUM,
    UNAVAILABLE,
    UNAVAILABLE_FAILS,
)
from sim.kernels.sampling import quantile

MINUTE_S = 60.0
TEACHER_DOWN = -1.0  # teacher_start's answer when the call would start inside an outage
TEACHER_TOO_LATE = -2.0  # ... and when it could only start after the latest useful moment
RING_MINUTES = 1 << 16  # minutes of backlog the limiter can track (45 days)
# beyond this a time's minute number would not fit the ring's int64 arithmetic: such a call (only
# a backlog of absurd service times gets there) starts unmetered and counts as clamped
LIMITER_HORIZON_S = 1e15


@step
def in_outage(time_s, outages):
    """Is the teacher down at this time? outages[i] = (start_s, end_s), half-open."""
    for k in range(outages.shape[0]):
        if outages[k, 0] <= time_s < outages[k, 1]:
            return True
    return False


@step
def _used(ring, minute, limit):
    slot = minute % ring.shape[0]
    if ring[slot, 0] == minute:
        return ring[slot, 1]
    if ring[slot, 0] > minute:  # a later minute holds the slot: backlog beyond the ring, stay safe
        return limit
    return 0


@step
def teacher_start(ready_s, limit, ring, state, outages, latest_s):
    """When a rate-limited call may start; TEACHER_DOWN if that moment falls in an outage and
    TEACHER_TOO_LATE if it is after latest_s (the deadline): then no call is made.

    A fixed-window limit, as API providers meter it: at most `limit` calls start in any clock
    minute. A call starts when it is ready if its minute has room, else at the start of the first
    later minute that has. ring[slot] = (minute, calls started in it).
    """
    if not ready_s < LIMITER_HORIZON_S:
        state[STATE_CLAMPED] += 1
        if ready_s > latest_s:
            return TEACHER_TOO_LATE
        return TEACHER_DOWN if in_outage(ready_s, outages) else ready_s
    first = int(ready_s // MINUTE_S)
    minute = first
    if state[STATE_FULL_FROM] <= minute < state[STATE_FULL_TO]:
        minute = state[STATE_FULL_TO]
    while _used(ring, minute, limit) >= limit:
        minute += 1
    start = ready_s if minute == first else minute * MINUTE_S
    if start > latest_s:
        return TEACHER_TOO_LATE
    if in_outage(start, outages):
        return TEACHER_DOWN
    slot = minute % ring.shape[0]
    if ring[slot, 0] != minute:
        ring[slot, 0] = minute
        ring[slot, 1] = 0
    ring[slot, 1] += 1
    if ring[slot, 1] >= limit:
        if minute == state[STATE_FULL_TO]:
            end = minute + 1
            while _used(ring, end, limit) >= limit:
                end += 1
            state[STATE_FULL_TO] = end
        elif not (state[STATE_FULL_FROM] <= minute < state[STATE_FULL_TO]):
            state[STATE_FULL_FROM] = minute
            state[STATE_FULL_TO] = minute + 1
    return start


@step
def settle_teacher(call, m, spec, table, minute_ring, outages, state, counts, values):
    """Ask the teacher for a call routed to it; return (source, answer_at, started, correct).

    call: float64[REC_FIELDS], the routed call (ready is when the request can be sent);
    m: float64[MODEL_FIELDS]; spec, table: the quantile tables; minute_ring: int64[minutes, 2],
    the rate limiter's ring; outages: float64[n, 2]; state: int64[STATE_FIELDS] (the limiter's
    run of full minutes); counts: float64[COUNT_FIELDS] (the call's segment's row) and values:
    float64[VALUE_FIELDS], the tick's outputs. The answer comes from the teacher (source
    SOURCE_TEACHER, started the time it was sent), or, in an outage, from the student or nobody
    (started NaN). A call that could not start before the deadline is never sent: its answer
    time is infinite and the deadline abandons it.
    """
    ready = call[R_READY]
    student_at = call[R_STUDENT_AT]
    student_correct = call[R_STUDENT_CORRECT] > 0.0
    start = ready
    if in_outage(ready, outages):
        start = TEACHER_DOWN
    elif m[RATE_LIMIT_PER_MIN] > 0:
        deadline = m[DEADLINE_S]
        latest = call[R_ARRIVAL] + deadline if deadline > 0.0 else np.inf
        start = teacher_start(
            ready, int(m[RATE_LIMIT_PER_MIN]), minute_ring, state, outages, latest
        )
    if start == TEACHER_TOO_LATE:
        return SOURCE_TEACHER, np.inf, np.nan, student_correct
    if start != TEACHER_DOWN:
        values[TEACHER_WAIT_SUM] += start - ready
        answer_at = (
            start
            + quantile(int(m[TEACHER_LATENCY]), call[R_U_TEACHER_LATENCY], spec, table)
            + m[TEACHER_S_PER_TOKEN] * call[R_TOKENS_OUT]
        )  # the authoritative answer (an ensemble's student shows first)
        values[TEACHER_USD] += call[R_TEACHER_USD]
        values[TEACHER_CALLS] += 1
        return SOURCE_TEACHER, answer_at, start, call[R_TEACHER_CORRECT] > 0.0
    counts[UNAVAILABLE] += 1
    if student_at < 0.0 or m[UNAVAILABLE_FAILS] > 0:
        return SOURCE_NONE, student_at, np.nan, student_correct
    return SOURCE_STUDENT, max(ready, student_at), np.nan, student_correct
