"""One tick of the data plane: every request arriving in [t0, t1), start to final answer.

The driver below calls one named step per stage of a request: next_arrival, draw_call, route_call,
settle (the teacher's or a reviewer's answer), apply_deadline, count_outcome, write_sample. Each
request reads the same uniforms whatever the policy, so two policies run on one seed see the same
requests (common random numbers).

run_tick's arguments:
- the tick: uniforms float64[candidates, width] (UNIFORMS columns, then the optional latents),
  spacing_end the last normalised exponential spacing, replayed float64[candidates or 0, REPLAY
  fields] a trace's calls, [t0, t1) the tick, settle_until t1 (or inf at the end of the horizon);
- the scenario (sim.engine.parameters): policy the code, traffic the rate parameters, seg_params
  float64[segments, SEGMENT fields], m a ModelParams, spec and table the quantile tables, outages
  float64[n, 2], secondary_quality float64[K];
- carried across ticks: free_at float64[slots] and reviewers_free_at float64[reviewers] (heaps of
  free times), minute_ring int64[minutes, 2] (the teacher's limiter), state int64[STATE fields],
  pending float64[capacity, CALL fields] (the heap of deferred calls), sample_every the sampling
  period in calls (0: none);
- outputs: out_counts float64[segments, COUNTS fields], out_values float64[VALUES fields],
  out_hist and out_first_hist int64[LATENCY_BINS], out_secondary float64[K], out_sample
  float64[rows, SAMPLE fields].

Calls that need an order-sensitive shared resource (a rate-limited teacher, a finite reviewers'
pool) wait in `pending` and are settled in the order they become ready: those ready before an
arrival are settled before it, those ready before settle_until at the end of the tick; the rest
carry over and count in a later tick.
"""

import numpy as np

from sim.engine.kernels.arrivals import (
    ARRIVED,
    STOPPED,
    next_arrival,
    rate_bound,
    rate_floor,
    spacing_scale,
)
from sim.engine.kernels.borrow import borrow
from sim.engine.kernels.call import count_arrival, draw_call, from_row, to_row
from sim.engine.kernels.flags import kernel, step
from sim.engine.kernels.layout import (
    R_READY,
    R_U_SECONDARY,
    REC_FIELDS,
    SOURCE_HUMAN,
    SOURCE_TEACHER,
    STATE_CLAMPED,
    STATE_PENDING,
)
from sim.engine.kernels.outcome import count_outcome, write_sample
from sim.engine.kernels.pending import pop, push
from sim.engine.kernels.routing import route_call
from sim.engine.kernels.settle import apply_deadline, check_teacher, settle, settle_review


@step
def _pending_first(pending, state, t, arrived, settle_until):
    """Is the earliest pending call ready before the next arrival (or, with none left, before
    settle_until)?"""
    if state[STATE_PENDING] <= 0:
        return False
    if arrived:
        return pending[0, R_READY] <= t
    return pending[0, R_READY] < settle_until


@step
def _defers(route, m):
    """Does the call's fallback need an order-sensitive resource (a rate-limited teacher, a finite
    reviewers' pool), so that it waits in the pending heap until it is ready?"""
    fallback = int(route.fallback)
    return (fallback == SOURCE_TEACHER and m.rate_limit_per_min > 0) or (
        fallback == SOURCE_HUMAN and m.reviewer_pool > 0
    )


@step
def _defer(route, draw, secondary, first, m, row, pending, state):
    """Push the call into the pending heap float64[capacity, CALL fields] to be settled when
    route.ready comes (its secondary latents read from secondary at first, see to_row); False when
    the heap is full (an extreme backlog: the caller settles it at once, slightly out of order,
    counted in state[STATE_CLAMPED])."""
    if state[STATE_PENDING] >= pending.shape[0]:
        state[STATE_CLAMPED] += 1
        return False
    to_row(route, draw, secondary, first, m, row)
    state[STATE_PENDING] = push(pending, state[STATE_PENDING], row)
    return True


@kernel
def run_tick(
    uniforms, spacing_end, replayed, t0, t1, settle_until,  # the tick's draws and bounds
    policy, traffic, seg_params, m, spec, table, outages, secondary_quality,  # the scenario
    free_at, reviewers_free_at, minute_ring, state, pending, sample_every,  # carried over ticks
    out_counts, out_values, out_hist, out_first_hist, out_secondary, out_sample,  # the outputs
):  # fmt: skip
    """Simulate arrivals in [t0, t1), accumulating into the out arrays; return the sample rows.
    The arguments, their shapes and meanings are in this module's docstring."""
    # borrowed views (sim.engine.kernels.borrow): the steps below pass them around for free
    uniforms, replayed, traffic = borrow(uniforms), borrow(replayed), borrow(traffic)
    seg_params, spec, table = borrow(seg_params), borrow(spec), borrow(table)
    outages, secondary_quality = borrow(outages), borrow(secondary_quality)
    free_at, reviewers_free_at = borrow(free_at), borrow(reviewers_free_at)
    minute_ring, state, pending = borrow(minute_ring), borrow(state), borrow(pending)
    out_counts, out_values = borrow(out_counts), borrow(out_values)
    out_hist, out_first_hist = borrow(out_hist), borrow(out_first_hist)
    out_secondary, out_sample = borrow(out_secondary), borrow(out_sample)
    # owned, not borrowed: numba frees a local array after its last use, a borrowed view's too
    row = np.zeros(REC_FIELDS)  # a deferred call's row, on its way into or out of the heap
    scratch = np.zeros(REC_FIELDS)
    sampled = 0
    rate_max, varies = rate_bound(t0, t1, traffic)
    rate_min = rate_floor(t0, t1, traffic)
    scale = spacing_scale(uniforms, spacing_end, t0, t1)
    t = t0
    ai = 0
    status = ARRIVED
    need_arrival = True
    while True:
        if need_arrival:
            ai, t, status = next_arrival(
                uniforms, replayed, ai, t, scale, rate_max, rate_min, varies, traffic, state
            )
            if status == STOPPED:
                return sampled
            need_arrival = False
        if _pending_first(pending, state, t, status == ARRIVED, settle_until):
            state[STATE_PENDING] = pop(pending, state[STATE_PENDING], row, scratch)
            route, draw = from_row(row)
            secondary, secondary_at = row, R_U_SECONDARY
        elif status == ARRIVED:
            need_arrival = True
            u = uniforms[ai - 1]
            draw = draw_call(u, replayed, ai - 1, t, seg_params, m, spec, table, state)
            counts = out_counts[int(draw.segment)]
            count_arrival(draw, counts, out_values)
            route = route_call(
                policy, u, draw, seg_params, m, spec, table, free_at, outages, counts, out_values
            )
            secondary, secondary_at = u, int(m.col_secondary)
            if _defers(route, m) and route.ready > t:
                if _defer(route, draw, secondary, secondary_at, m, row, pending, state):
                    continue
        else:
            return sampled
        counts = out_counts[int(draw.segment)]
        settled = settle(draw, route, m, spec, table, minute_ring, reviewers_free_at, state,
                         outages, counts, out_values)  # fmt: skip
        settled, route, escalated = check_teacher(draw, route, settled, m, spec, table, counts,
                                                  out_values)  # fmt: skip
        if escalated:  # the verifier flagged the teacher's answer: a person reviews it
            if _defers(route, m) and _defer(route, draw, secondary, secondary_at, m, row, pending,
                                            state):  # fmt: skip
                continue
            settled = settle_review(route, m, spec, table, reviewers_free_at, counts, out_values,
                                    draw.u_human_review, draw.u_human_correct)  # fmt: skip
        settled = apply_deadline(draw, route, settled, m, counts)
        latency, first = count_outcome(policy, draw, route, settled, m, secondary, secondary_at,
                                       secondary_quality, counts, out_values, out_hist,
                                       out_first_hist, out_secondary, state)  # fmt: skip
        sampled = write_sample(out_sample, sampled, sample_every, draw, route, settled, latency,
                               first, state)  # fmt: skip
