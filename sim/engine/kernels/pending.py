"""Calls waiting for a shared, order-sensitive resource (the teacher's rate limit, a reviewers'
pool): a min-heap of request records keyed by the time they become ready, so the resource is
granted in the order calls reach it, not the order they arrived."""

from sim.engine.kernels.flags import step
from sim.engine.kernels.layout import R_READY

KEY = R_READY  # the record column holding the ready time


@step
def push(heap, size, record):
    """Add a record; return the new size (the caller checks capacity)."""
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if heap[parent, KEY] <= record[KEY]:
            break
        heap[i, :] = heap[parent, :]
        i = parent
    heap[i, :] = record
    return size + 1


@step
def pop(heap, size, out, last):
    """Move the earliest record into out (last is scratch space); return the new size."""
    out[:] = heap[0, :]
    size -= 1
    last[:] = heap[size, :]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and heap[left + 1, KEY] < heap[left, KEY]:
            child = left + 1
        if heap[child, KEY] >= last[KEY]:
            break
        heap[i, :] = heap[child, :]
        i = child
    if size > 0:
        heap[i, :] = last
    return size
