"""One tick of the data plane: every request arriving in [t0, t1), start to final answer.

Each request reads the same uniforms whatever the policy, so two policies run on one seed see the
same requests (common random numbers).
"""

import numpy as np

from sim.engine.kernels.arrivals import rate_at, rate_bound, rate_floor
from sim.engine.kernels.flags import kernel, step
from sim.engine.kernels.histogram import latency_bin
from sim.engine.kernels.layout import (
    ABANDONED,
    ANSWERED,
    AUDIT_RATE,
    AUDITED,
    AUDITED_ERRORS,
    BUSY_S,
    BYPASS_S,
    BYPASSES,
    CALLS,
    COL_AUDIT,
    COL_HUMAN_CORRECT,
    COL_HUMAN_REVIEW,
    COL_SECONDARY,
    COL_VERIFIER,
    COL_VERIFIER_LATENCY,
    DEADLINE_FAILS,
    DEADLINE_S,
    ERRORS,
    FAILED,
    FALLBACKS,
    FIRST_MAX,
    FLAGS,
    HORIZON_S,
    HUMAN_ACCURACY,
    HUMAN_REVIEW,
    HUMAN_REVIEWS,
    HUMAN_USD,
    HUMAN_USD_PER_REVIEW,
    HUMAN_WAIT_SUM,
    LATENCY_MAX,
    LATENCY_SUM,
    N_SECONDARY,
    NORMAL,
    ON_FLAG_HUMAN,
    OVERRIDES,
    R_ARRIVAL,
    R_CONFIDENCE,
    R_FALLBACK,
    R_FELL_BACK,
    R_INDEX,
    R_READY,
    R_SEGMENT,
    R_STUDENT_AT,
    R_STUDENT_CORRECT,
    R_TEACHER_CORRECT,
    R_TEACHER_USD,
    R_TOKENS_OUT,
    R_U_AUDIT,
    R_U_HUMAN_CORRECT,
    R_U_HUMAN_REVIEW,
    R_U_SECONDARY,
    R_U_TEACHER_LATENCY,
    R_WAIT,
    RATE_LIMIT_PER_MIN,
    REC_FIELDS,
    REPLAY_SEGMENT,
    REPLAY_TIME,
    REPLAY_TOKENS_IN,
    REPLAY_TOKENS_OUT,
    REVIEWER_POOL,
    S_ARRIVAL,
    S_CONFIDENCE,
    S_FAILED,
    S_FELL_BACK,
    S_FINAL_CORRECT,
    S_FIRST_ANSWER,
    S_LATENCY,
    S_QUEUE_WAIT,
    S_SEGMENT,
    S_SILENT_FAILURE,
    S_SOURCE,
    S_STUDENT_CORRECT,
    S_TEACHER_START,
    S_TEACHER_USD,
    SEG_CONF_CORRECT,
    SEG_CONF_WRONG,
    SEG_CUM_WEIGHT,
    SEG_STUDENT_ACCURACY,
    SEG_TEACHER_ACCURACY,
    SEG_THRESHOLD,
    SEG_TOKENS_IN,
    SEG_TOKENS_OUT,
    SILENT,
    SLO_MET,
    SOJOURN_SUM,
    SOURCE_HUMAN,
    SOURCE_NONE,
    SOURCE_STUDENT,
    SOURCE_TEACHER,
    STATE_CALL_INDEX,
    STATE_CLAMPED,
    STATE_PENDING,
    STATE_SAMPLE_OVERFLOW,
    STATE_STOP,
    STUDENT_CALLS,
    STUDENT_ERRORS,
    STUDENT_S_PER_TOKEN,
    STUDENT_SERVICE,
    TEACHER_CALLS,
    TEACHER_ERRORS,
    TEACHER_LATENCY,
    TEACHER_ONLY_USD,
    TEACHER_S_PER_TOKEN,
    TEACHER_USD,
    TEACHER_WAIT_SUM,
    TOKENS_IN,
    TOKENS_OUT,
    U_CONFIDENCE,
    U_CORRECT,
    U_SEGMENT,
    U_SERVICE,
    U_SPACING,
    U_TEACHER_CORRECT,
    U_TEACHER_LATENCY,
    U_THINNING,
    U_TOKENS_IN,
    U_TOKENS_OUT,
    UNAVAILABLE,
    UNAVAILABLE_FAILS,
    USD_PER_TOKEN_IN,
    USD_PER_TOKEN_OUT,
    VERIFIER_FPR,
    VERIFIER_LATENCY,
    VERIFIER_RECALL,
    VERIFIER_RECALL_Z,
    VERIFIER_RHO,
    VERIFIER_USD,
    VERIFIER_USD_PER_CALL,
    WAIT_SUM,
)
from sim.engine.kernels.pending import pop, push
from sim.engine.kernels.queueing import take_slot
from sim.engine.kernels.routing import (
    CASCADE,
    ENSEMBLE,
    VERIFY,
    can_bypass,
    falls_back,
    uses_student,
    verifier_flags,
)
from sim.engine.kernels.sampling import quantile
from sim.engine.kernels.teacher import (
    TEACHER_DOWN,
    TEACHER_TOO_LATE,
    in_outage,
    teacher_start,
)

STOP_EVERY = 1 << 14  # candidates between two looks at STATE_STOP (well under a millisecond)


@step
def _segment(u, seg_params):
    n = seg_params.shape[0]
    for s in range(n - 1):
        if u < seg_params[s, SEG_CUM_WEIGHT]:
            return s
    return n - 1


@kernel
def run_tick(
    uniforms,
    spacing_end,
    replayed,
    t0,
    t1,
    settle_until,
    policy,
    traffic,
    seg_params,
    model_params,
    spec,
    table,
    free_at,
    reviewers_free_at,
    minute_ring,
    outages,
    state,
    pending,
    sample_every,
    out_counts,
    out_values,
    out_hist,
    out_first_hist,
    out_secondary,
    secondary_quality,
    out_sample,
):
    """Simulate arrivals in [t0, t1), accumulating into the out arrays; return the sample rows.

    uniforms[i] holds candidate i's draws: its exponential spacing, its thinning draw and the
    request's latents. The candidates' times are the uniform order statistics on [t0, t1)
    (normalised exponential spacings, spacing_end the last one), kept with probability
    rate(t) / rate_max: an exact Poisson process whose count was drawn as Poisson(rate_max · tick).
    When `replayed` has rows (a trace), it has one per candidate instead: its time, and the tokens
    and segment the trace gives (negative: drawn from the segment's distributions as usual).

    Calls that need an order-sensitive shared resource (a rate-limited teacher, a finite reviewers'
    pool) wait in `pending` and are settled in the order they become ready: all those ready before
    an arrival are settled before it, and those ready before settle_until (t1, or inf at the end
    of the horizon) at the end of the tick; the rest carry over and count in a later tick.
    """
    m = model_params
    record = np.zeros(REC_FIELDS)
    scratch = np.zeros(REC_FIELDS)
    sampled = 0
    replay = replayed.shape[0] > 0
    rate_max, varies = rate_bound(t0, t1, traffic)
    rate_min = rate_floor(t0, t1, traffic)
    total = spacing_end
    for i in range(uniforms.shape[0]):
        total += -np.log1p(-uniforms[i, U_SPACING])
    scale = (t1 - t0) / total if uniforms.shape[0] > 0 else 0.0
    usd_in = m[USD_PER_TOKEN_IN]
    usd_out = m[USD_PER_TOKEN_OUT]
    student_pool = uses_student(policy)
    deferred_teacher = m[RATE_LIMIT_PER_MIN] > 0
    deferred_human = m[REVIEWER_POOL] > 0
    n_secondary = int(m[N_SECONDARY])
    t = t0
    ai = 0
    need_arrival = True
    arrival_ok = False
    while True:
        if need_arrival:  # advance to the next accepted arrival, if any is left in the tick
            arrival_ok = False
            while ai < uniforms.shape[0]:
                if ai % STOP_EVERY == 0 and state[STATE_STOP] != 0:
                    return sampled
                u = uniforms[ai]
                ai += 1
                if replay:
                    t = replayed[ai - 1, REPLAY_TIME]
                    arrival_ok = True
                    break
                t += -np.log1p(-u[U_SPACING]) * scale
                if varies:
                    level = u[U_THINNING] * rate_max
                    if level >= rate_min and level >= rate_at(t, traffic):
                        continue
                arrival_ok = True
                break
            need_arrival = False
        waiting = state[STATE_PENDING] > 0
        if waiting and (
            pending[0, R_READY] <= t if arrival_ok else pending[0, R_READY] < settle_until
        ):
            state[STATE_PENDING] = pop(pending, state[STATE_PENDING], record, scratch)
            arrived = record[R_ARRIVAL]
            ready = record[R_READY]
            s = int(record[R_SEGMENT])
            student_at = record[R_STUDENT_AT]
            student_correct = record[R_STUDENT_CORRECT] > 0.0
            teacher_correct = record[R_TEACHER_CORRECT] > 0.0
            fallback = int(record[R_FALLBACK])
            tokens_out = record[R_TOKENS_OUT]
            teacher_usd = record[R_TEACHER_USD]
            u_teacher_latency = record[R_U_TEACHER_LATENCY]
            u_human_review = record[R_U_HUMAN_REVIEW]
            u_human_correct = record[R_U_HUMAN_CORRECT]
            u_audit = record[R_U_AUDIT]
            confidence = record[R_CONFIDENCE]
            wait = record[R_WAIT]
            index = int(record[R_INDEX])
            fell_back = record[R_FELL_BACK] > 0.0
            secondary_row = record
            secondary_at = R_U_SECONDARY
        elif arrival_ok:
            need_arrival = True
            u = uniforms[ai - 1]
            s = _segment(u[U_SEGMENT], seg_params)
            if replay and replayed[ai - 1, REPLAY_SEGMENT] >= 0.0:
                s = int(min(replayed[ai - 1, REPLAY_SEGMENT], seg_params.shape[0] - 1.0))
                if s != replayed[ai - 1, REPLAY_SEGMENT]:
                    state[STATE_CLAMPED] += 1
            tokens_in = np.floor(
                quantile(int(seg_params[s, SEG_TOKENS_IN]), u[U_TOKENS_IN], spec, table)
            )
            tokens_out = np.floor(
                quantile(int(seg_params[s, SEG_TOKENS_OUT]), u[U_TOKENS_OUT], spec, table)
            )
            if replay and replayed[ai - 1, REPLAY_TOKENS_IN] >= 0.0:
                tokens_in = replayed[ai - 1, REPLAY_TOKENS_IN]
            if replay and replayed[ai - 1, REPLAY_TOKENS_OUT] >= 0.0:
                tokens_out = replayed[ai - 1, REPLAY_TOKENS_OUT]
            teacher_usd = tokens_in * usd_in + tokens_out * usd_out
            teacher_correct = u[U_TEACHER_CORRECT] < seg_params[s, SEG_TEACHER_ACCURACY]
            student_correct = u[U_CORRECT] < seg_params[s, SEG_STUDENT_ACCURACY]
            counts = out_counts[s]
            counts[CALLS] += 1
            out_values[TEACHER_ONLY_USD] += teacher_usd
            out_values[TOKENS_IN] += tokens_in
            out_values[TOKENS_OUT] += tokens_out
            if not teacher_correct:
                counts[TEACHER_ERRORS] += 1
            if not student_correct:
                counts[STUDENT_ERRORS] += 1

            # the student's answer, when the policy asks for one, and the routing decision
            confidence = 0.0
            wait = 0.0
            student_at = -1.0  # when the student's answer is ready to return (-1: no answer)
            fallback = SOURCE_NONE  # who is asked after (or beside) the student
            ready = t  # when the fallback can start
            if not student_pool:
                fallback = SOURCE_TEACHER
            else:
                conf_d = SEG_CONF_CORRECT if student_correct else SEG_CONF_WRONG
                confidence = quantile(int(seg_params[s, conf_d]), u[U_CONFIDENCE], spec, table)
                service = (
                    quantile(int(m[STUDENT_SERVICE]), u[U_SERVICE], spec, table)
                    + m[STUDENT_S_PER_TOKEN] * tokens_out
                )
                threshold = seg_params[s, SEG_THRESHOLD]
                if can_bypass(policy, m[BYPASS_S], free_at[0] - t) and not in_outage(t, outages):
                    fallback = SOURCE_TEACHER
                    counts[BYPASSES] += 1
                else:
                    wait = take_slot(free_at, t, service)
                    student_at = t + wait + service
                    counts[STUDENT_CALLS] += 1
                    out_values[WAIT_SUM] += wait
                    # only the part served before the horizon: utilisation never exceeds 1
                    horizon = m[HORIZON_S]
                    served_from = min(t + wait, horizon)
                    out_values[BUSY_S] += min(student_at, horizon) - served_from
                    out_values[SOJOURN_SUM] += wait + service
                    if policy == VERIFY:
                        student_at += quantile(
                            int(m[VERIFIER_LATENCY]), u[int(m[COL_VERIFIER_LATENCY])], spec, table
                        )
                        out_values[VERIFIER_USD] += m[VERIFIER_USD_PER_CALL]
                        flagged = confidence < threshold or verifier_flags(
                            student_correct,
                            u[U_CONFIDENCE],
                            u[int(m[COL_VERIFIER])],
                            m[VERIFIER_RECALL],
                            m[VERIFIER_RECALL_Z],
                            m[VERIFIER_FPR],
                            m[VERIFIER_RHO],
                            int(m[NORMAL]),
                            spec,
                            table,
                        )
                        if flagged:
                            counts[FLAGS] += 1
                            fallback = SOURCE_HUMAN if m[ON_FLAG_HUMAN] > 0 else SOURCE_TEACHER
                            ready = student_at
                    elif policy == ENSEMBLE:
                        fallback = SOURCE_TEACHER
                    elif falls_back(policy, confidence, threshold):
                        fallback = SOURCE_TEACHER
                        ready = student_at
            fell_back = fallback != SOURCE_NONE and (policy == CASCADE or policy == VERIFY)
            if fell_back:
                counts[FALLBACKS] += 1

            index = state[STATE_CALL_INDEX]
            state[STATE_CALL_INDEX] = index + 1
            arrived = t
            u_teacher_latency = u[U_TEACHER_LATENCY]
            u_human_review = u[int(m[COL_HUMAN_REVIEW])] if m[COL_HUMAN_REVIEW] > 0 else 0.0
            u_human_correct = u[int(m[COL_HUMAN_CORRECT])] if m[COL_HUMAN_REVIEW] > 0 else 0.0
            u_audit = u[int(m[COL_AUDIT])] if m[COL_AUDIT] > 0 else 1.0
            secondary_row = u
            secondary_at = int(m[COL_SECONDARY])
            defer = (fallback == SOURCE_TEACHER and deferred_teacher) or (
                fallback == SOURCE_HUMAN and deferred_human
            )
            # a full heap (an extreme backlog) settles the call at once, slightly out of order
            if defer and ready > t and state[STATE_PENDING] >= pending.shape[0]:
                state[STATE_CLAMPED] += 1
            elif defer and ready > t:
                record[R_READY] = ready
                record[R_ARRIVAL] = t
                record[R_SEGMENT] = s
                record[R_STUDENT_AT] = student_at
                record[R_STUDENT_CORRECT] = student_correct
                record[R_TEACHER_CORRECT] = teacher_correct
                record[R_FALLBACK] = fallback
                record[R_TOKENS_OUT] = tokens_out
                record[R_TEACHER_USD] = teacher_usd
                record[R_U_TEACHER_LATENCY] = u_teacher_latency
                record[R_U_HUMAN_REVIEW] = u_human_review
                record[R_U_HUMAN_CORRECT] = u_human_correct
                record[R_U_AUDIT] = u_audit
                for j in range(n_secondary):
                    record[R_U_SECONDARY + j] = u[secondary_at + j]
                record[R_CONFIDENCE] = confidence
                record[R_WAIT] = wait
                record[R_INDEX] = index
                record[R_FELL_BACK] = fell_back
                state[STATE_PENDING] = push(pending, state[STATE_PENDING], record)
                continue
        else:
            break

        # settle the call: the fallback (or the ensemble's teacher), the deadline, the outcome
        counts = out_counts[s]
        deadline = m[DEADLINE_S]
        source = SOURCE_STUDENT
        answer_at = student_at
        teacher_started = np.nan
        final_correct = student_correct
        if fallback == SOURCE_TEACHER:
            start = ready
            if in_outage(ready, outages):
                start = TEACHER_DOWN
            elif m[RATE_LIMIT_PER_MIN] > 0:
                latest = arrived + deadline if deadline > 0.0 else np.inf
                start = teacher_start(
                    ready, int(m[RATE_LIMIT_PER_MIN]), minute_ring, state, outages, latest
                )
            if start == TEACHER_TOO_LATE:
                # never sent: it could not start before the deadline, which abandons it below
                source = SOURCE_TEACHER
                answer_at = np.inf
            elif start != TEACHER_DOWN:
                out_values[TEACHER_WAIT_SUM] += start - ready
                teacher_started = start
                answer_at = (
                    start
                    + quantile(int(m[TEACHER_LATENCY]), u_teacher_latency, spec, table)
                    + m[TEACHER_S_PER_TOKEN] * tokens_out
                )  # the authoritative answer (an ensemble's student shows first)
                out_values[TEACHER_USD] += teacher_usd
                out_values[TEACHER_CALLS] += 1
                source = SOURCE_TEACHER
                final_correct = teacher_correct
            else:
                counts[UNAVAILABLE] += 1
                if student_at < 0.0 or m[UNAVAILABLE_FAILS] > 0:
                    source = SOURCE_NONE
                else:
                    answer_at = max(ready, student_at)
        elif fallback == SOURCE_HUMAN:
            review = quantile(int(m[HUMAN_REVIEW]), u_human_review, spec, table)
            start = ready
            if m[REVIEWER_POOL] > 0:
                start = ready + take_slot(reviewers_free_at, ready, review)
            out_values[HUMAN_WAIT_SUM] += start - ready
            out_values[HUMAN_USD] += m[HUMAN_USD_PER_REVIEW]
            counts[HUMAN_REVIEWS] += 1
            source = SOURCE_HUMAN
            answer_at = start + review
            final_correct = u_human_correct < m[HUMAN_ACCURACY]
        if deadline > 0.0 and source != SOURCE_STUDENT and source != SOURCE_NONE:
            if answer_at - arrived > deadline:
                counts[ABANDONED] += 1
                if student_at < 0.0 or m[DEADLINE_FAILS] > 0:
                    source = SOURCE_NONE
                else:
                    source = SOURCE_STUDENT
                    answer_at = max(student_at, arrived + deadline)
        if source == SOURCE_STUDENT:
            final_correct = student_correct

        latency = answer_at - arrived
        latency_k = -1
        first = np.nan
        if source == SOURCE_NONE:
            counts[FAILED] += 1
        else:
            if m[COL_AUDIT] > 0 and u_audit < m[AUDIT_RATE]:
                counts[AUDITED] += 1
                if not final_correct:
                    counts[AUDITED_ERRORS] += 1
            if source == SOURCE_STUDENT:
                for j in range(n_secondary):
                    if secondary_row[secondary_at + j] >= secondary_quality[j]:
                        out_secondary[j] += 1
            if not final_correct:
                counts[ERRORS] += 1
            if source == SOURCE_STUDENT and not student_correct:
                counts[SILENT] += 1
            if policy == ENSEMBLE and source == SOURCE_TEACHER:
                if not (student_correct and teacher_correct):
                    counts[OVERRIDES] += 1
            if deadline > 0.0 and latency <= deadline + 1e-9:
                counts[SLO_MET] += 1
            out_values[LATENCY_SUM] += latency
            out_values[ANSWERED] += 1
            if latency > out_values[LATENCY_MAX]:
                out_values[LATENCY_MAX] = latency
            if not latency < np.inf:  # infinite or NaN: only arithmetic gone wrong gets here
                state[STATE_CLAMPED] += 1
            latency_k = latency_bin(latency)
            out_hist[latency_k] += 1
            first = latency
        if policy == ENSEMBLE and student_at >= 0.0:
            # the first answer shown: the student's, unless the teacher's came sooner
            shown = student_at if source != SOURCE_TEACHER else min(student_at, answer_at)
            first = shown - arrived
        if first == first:
            if first > out_values[FIRST_MAX]:
                out_values[FIRST_MAX] = first
            same = latency_k >= 0 and first == latency
            out_first_hist[latency_k if same else latency_bin(first)] += 1

        index = index
        if sample_every > 0 and index % sample_every == 0:
            if sampled < out_sample.shape[0]:
                row = out_sample[sampled]
                row[S_ARRIVAL] = arrived
                row[S_SEGMENT] = s
                row[S_STUDENT_CORRECT] = student_correct
                row[S_CONFIDENCE] = confidence
                row[S_FELL_BACK] = fell_back
                row[S_FINAL_CORRECT] = final_correct and source != SOURCE_NONE
                row[S_SILENT_FAILURE] = source == SOURCE_STUDENT and not student_correct
                row[S_QUEUE_WAIT] = wait
                row[S_LATENCY] = latency if source != SOURCE_NONE else np.nan
                row[S_TEACHER_USD] = teacher_usd if teacher_started == teacher_started else 0.0
                row[S_FAILED] = source == SOURCE_NONE
                row[S_FIRST_ANSWER] = first
                row[S_TEACHER_START] = teacher_started
                row[S_SOURCE] = source
                sampled += 1
            else:
                state[STATE_SAMPLE_OVERFLOW] = 1
    return sampled
