"""The teacher API's limits: outages and a per-minute rate limit."""

from sim.kernels.flags import step

MINUTE_S = 60.0


@step
def in_outage(time_s, outages):
    """Is the teacher down at this time? outages[i] = (start_s, end_s), half-open."""
    for k in range(outages.shape[0]):
        if outages[k, 0] <= time_s < outages[k, 1]:
            return True
    return False


@step
def teacher_start(ready_s, ring, state, fstate, outages):
    """When a rate-limited call may start; -1 if that moment falls in an outage (no call made).

    The limiter keeps the start times of the last L calls in a ring: a call starts no earlier than
    60 s after the call L places before it, so no minute ever holds more than L starts. Calls start
    in the order they reach the limiter (starts never go backwards).
    """
    slot = state[2]
    start = max(ready_s, fstate[0], ring[slot] + MINUTE_S)
    if in_outage(start, outages):
        return -1.0
    ring[slot] = start
    state[2] = (slot + 1) % ring.shape[0]
    fstate[0] = start
    return start
