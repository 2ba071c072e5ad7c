"""The teacher API's limits: outages and a per-minute rate limit."""

from sim.engine.kernels.flags import step
from sim.engine.kernels.layout import STATE_CLAMPED, STATE_FULL_FROM, STATE_FULL_TO

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
