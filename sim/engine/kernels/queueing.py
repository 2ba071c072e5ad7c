"""The student pool: FCFS over servers × concurrency slots, as a min-heap of slot free times."""

from sim.engine.kernels.flags import step


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
