"""The student pool: FCFS over servers × concurrency slots, as a min-heap of slot free times."""

from sim.kernels.flags import step
from sim.kernels.layout import BUSY_S, HORIZON_S, SOJOURN_SUM, STUDENT_CALLS, WAIT_SUM


@step
def take_slot(free_at, arrival_s, service_s):
    """Start a request on the earliest-free slot; return its queue wait. Arrivals come in order."""
    start = free_at[0] if free_at[0] > arrival_s else arrival_s
    finish = start + service_s
    n = free_at.shape[0]
    i = 0
    while True:  # sift the new finish time down from the root
        left = 2 * i + 1
        if left >= n:
            break
        child = left
        right = left + 1
        if right < n and free_at[right] < free_at[left]:
            child = right
        if free_at[child] >= finish:
            break
        free_at[i] = free_at[child]
        i = child
    free_at[i] = finish
    return start - arrival_s


@step
def serve(free_at, t, service_s, m, counts, values):
    """Serve a call arriving at t on the student pool; return (queue wait, answer time).

    free_at: float64[slots], the slots' free times (a heap, updated); service_s: the call's
    service time; m: float64[MODEL_FIELDS] (horizon_s: the end of simulated time);
    counts: float64[COUNT_FIELDS] (its segment's row) and values: float64[VALUE_FIELDS], the
    tick's outputs.
    """
    wait = take_slot(free_at, t, service_s)
    student_at = t + wait + service_s
    counts[STUDENT_CALLS] += 1
    values[WAIT_SUM] += wait
    # only the part served before the horizon: utilisation never exceeds 1. (Read here, after the
    # counters: fastmath reassociates this sum by the order of its loads, and the order of the
    # original inline code is what keeps the summaries byte-identical.)
    horizon = m[HORIZON_S]
    served_from = min(t + wait, horizon)
    values[BUSY_S] += min(student_at, horizon) - served_from
    values[SOJOURN_SUM] += wait + service_s
    return wait, student_at
