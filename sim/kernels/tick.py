"""One tick of the data plane: every request arriving in [t0, t1), start to final answer.

Each request reads the same uniforms whatever the policy, so two policies run on one seed see the
same requests (common random numbers). `run_tick` is the driver; each step it calls is an inlined
@step in the module named for what it does: arrivals, call (the draw), routing, teacher, review,
outcome (counting and the sample) and pending (the heap of deferred calls).
"""

import numpy as np

from sim.kernels.arrivals import (
    ARRIVED,
    STOPPED,
    next_arrival,
    rate_bound,
    rate_floor,
    spacing_scale,
)
from sim.kernels.call import draw_call
from sim.kernels.flags import kernel, step
from sim.kernels.layout import *  # noqa: F403  (callers still read the layouts through tick)
from sim.kernels.layout import (
    R_FALLBACK,
    R_READY,
    R_SEGMENT,
    R_STUDENT_AT,
    R_STUDENT_CORRECT,
    RATE_LIMIT_PER_MIN,
    REC_FIELDS,
    REVIEWER_POOL,
    SOURCE_HUMAN,
    SOURCE_STUDENT,
    SOURCE_TEACHER,
    STATE_CLAMPED,
    STATE_PENDING,
)
from sim.kernels.outcome import apply_deadline, count_outcome, write_sample
from sim.kernels.pending import pop, push
from sim.kernels.review import settle_review
from sim.kernels.routing import route
from sim.kernels.teacher import settle_teacher


@step
def _next_is_pending(pending, state, t, arrival_ok, settle_until):
    """Is the earliest pending call settled before the next arrival (or by the tick's end)?"""
    if state[STATE_PENDING] <= 0:
        return False
    if arrival_ok:
        return pending[0, R_READY] <= t
    return pending[0, R_READY] < settle_until


@step
def _defer(call, t, m, pending, state):
    """Put a call waiting for an order-sensitive resource (a rate-limited teacher, a reviewers'
    pool) in the pending heap; return whether it went there.

    call: float64[REC_FIELDS]; t: now; m: float64[MODEL_FIELDS]; pending: float64[capacity,
    REC_FIELDS], the heap; state: int64[STATE_FIELDS]. A full heap (an extreme backlog) settles
    the call at once, slightly out of order, and counts it as clamped.
    """
    fallback = call[R_FALLBACK]
    defer = (fallback == SOURCE_TEACHER and m[RATE_LIMIT_PER_MIN] > 0) or (
        fallback == SOURCE_HUMAN and m[REVIEWER_POOL] > 0
    )
    if not (defer and call[R_READY] > t):
        return False
    if state[STATE_PENDING] >= pending.shape[0]:
        state[STATE_CLAMPED] += 1
        return False
    state[STATE_PENDING] = push(pending, state[STATE_PENDING], call)
    return True


@step
def _settle(call, m, spec, table, minute_ring, reviewers_free_at, outages, state, counts, values):
    """Settle a routed call's fallback: (source, answer_at, teacher_started, final_correct)
    before the deadline; the arguments as in settle_teacher and settle_review."""
    fallback = call[R_FALLBACK]
    if fallback == SOURCE_TEACHER:
        return settle_teacher(call, m, spec, table, minute_ring, outages, state, counts, values)
    if fallback == SOURCE_HUMAN:
        return settle_review(call, m, spec, table, reviewers_free_at, counts, values)
    return SOURCE_STUDENT, call[R_STUDENT_AT], np.nan, call[R_STUDENT_CORRECT] > 0.0


# fmt: off
@kernel
def run_tick(
    uniforms, spacing_end, replayed, t0, t1, settle_until,  # the tick's draws and bounds
    policy, traffic, seg_params, model_params, spec, table,  # the scenario, as parameters
    free_at, reviewers_free_at, minute_ring, outages, state, pending, sample_every,  # carried
    out_counts, out_values, out_hist, out_first_hist, out_secondary, secondary_quality, out_sample,
):
    # fmt: on
    """Simulate arrivals in [t0, t1), accumulating into the out arrays; return the sample rows.

    Draws: uniforms float64[candidates, width] (U_* columns, then the optional latents),
    spacing_end the last normalised exponential spacing, replayed float64[candidates or 0,
    REPLAY_FIELDS] a trace's calls; settle_until t1, or inf at the end of the horizon.
    Parameters (sim.parameters): policy the code, traffic the rate parameters, seg_params
    float64[segments, SEG_FIELDS], model_params float64[MODEL_FIELDS], spec and table the
    quantile tables, outages float64[n, 2]; secondary_quality float64[K].
    Carried across ticks: free_at float64[slots] and reviewers_free_at float64[reviewers] (heaps
    of free times), minute_ring int64[minutes, 2] (the teacher's limiter), state
    int64[STATE_FIELDS], pending float64[capacity, REC_FIELDS] (the heap of deferred calls);
    sample_every the sampling period in calls (0: none).
    Outputs: out_counts float64[segments, COUNT_FIELDS], out_values float64[VALUE_FIELDS],
    out_hist and out_first_hist int64[LATENCY_BINS], out_secondary float64[K], out_sample
    float64[rows, SAMPLE_COLUMNS].

    Candidates are kept by thinning (an exact Poisson process, see next_arrival); a trace's calls
    are all kept. Calls that need an order-sensitive shared resource (a rate-limited teacher, a
    finite reviewers' pool) wait in `pending` and are settled in the order they become ready:
    those ready before an arrival are settled before it, those ready before settle_until at the
    end of the tick; the rest carry over and count in a later tick.
    """
    m = model_params
    call = np.zeros(REC_FIELDS)  # the call being drawn, routed or settled (R_* slots)
    scratch = np.zeros(REC_FIELDS)
    sampled = 0
    rate_max, varies = rate_bound(t0, t1, traffic)
    bounds = (rate_max, rate_floor(t0, t1, traffic), varies)
    scale = spacing_scale(uniforms, spacing_end, t0, t1)
    t = t0
    ai = 0
    need_arrival = True
    arrival_ok = False
    while True:
        if need_arrival:
            ai, t, verdict = next_arrival(uniforms, replayed, ai, t, scale, bounds, traffic, state)
            if verdict == STOPPED:
                return sampled
            arrival_ok = verdict == ARRIVED
            need_arrival = False
        if _next_is_pending(pending, state, t, arrival_ok, settle_until):
            state[STATE_PENDING] = pop(pending, state[STATE_PENDING], call, scratch)
            counts = out_counts[int(call[R_SEGMENT])]
        elif arrival_ok:
            need_arrival = True
            u = uniforms[ai - 1]
            s = draw_call(
                u,
                replayed,
                ai - 1,
                t,
                seg_params,
                m,
                spec,
                table,
                state,
                out_counts,
                out_values,
                call,
            )
            counts = out_counts[s]
            route(
                policy, u, t, call, seg_params, m, spec, table, free_at, outages, counts, out_values
            )
            if _defer(call, t, m, pending, state):
                continue
        else:
            return sampled
        source, answer_at, started, correct = _settle(
            call, m, spec, table, minute_ring, reviewers_free_at, outages, state, counts, out_values
        )
        source, answer_at = apply_deadline(call, m, source, answer_at, counts)
        if source == SOURCE_STUDENT:
            correct = call[R_STUDENT_CORRECT] > 0.0
        latency, first = count_outcome(
            policy, call, m, source, answer_at, correct, secondary_quality,
            counts, out_values, out_hist, out_first_hist, out_secondary, state,
        )  # fmt: skip
        outcome = (source, correct, latency, first, started)
        sampled = write_sample(out_sample, sampled, sample_every, call, outcome, state)
