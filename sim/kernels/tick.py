"""One tick of the data plane: every request arriving in [t0, t1), start to final answer.

Each request reads the same uniforms whatever the policy, so two policies run on one seed see the
same requests (common random numbers).
"""

import numpy as np

from sim.kernels.arrivals import rate_at, rate_bound, rate_floor
from sim.kernels.flags import kernel, step
from sim.kernels.histogram import latency_bin
from sim.kernels.pending import pop, push
from sim.kernels.queueing import take_slot
from sim.kernels.routing import (
    CASCADE,
    ENSEMBLE,
    VERIFY,
    can_bypass,
    falls_back,
    uses_student,
    verifier_flags,
)
from sim.kernels.sampling import quantile
from sim.kernels.teacher import (  # noqa: F401  (the state layout's last three entries)
    STATE_CLAMPED,
    STATE_FULL_FROM,
    STATE_FULL_TO,
    TEACHER_DOWN,
    TEACHER_TOO_LATE,
    in_outage,
    teacher_start,
)

# columns of a candidate's uniforms
U_SPACING = 0
U_THINNING = 1
U_SEGMENT = 2
U_TOKENS_IN = 3
U_TOKENS_OUT = 4
U_CORRECT = 5
U_CONFIDENCE = 6
U_SERVICE = 7
U_TEACHER_LATENCY = 8
U_TEACHER_CORRECT = 9
BASE_UNIFORMS = 10
# optional columns follow, only for the tables a scenario has (their positions are model
# params COL_*): verifier flag and latency, review time and correctness, audit, one per secondary

# per-segment counters: out_counts[segment, field]
CALLS = 0
STUDENT_CALLS = 1
FALLBACKS = 2  # re-routed to the teacher or a human (bypasses included)
ERRORS = 3  # a wrong final answer, whoever gave it
SILENT = 4  # a wrong student answer returned as a normal answer
TEACHER_ERRORS = 5  # errors the teacher alone would have made on the same calls
STUDENT_ERRORS = 6  # wrong student answers, whatever the router did with them
FAILED = 7  # no answer: deadline or teacher outage with on_* = "fail"
OVERRIDES = 8  # ensemble: the teacher's answer replaced a different student answer
SLO_MET = 9  # answered within router.deadline_s
FLAGS = 10  # verify: flagged by the verifier or the threshold
BYPASSES = 11  # sent to the teacher because the student queue was too long
ABANDONED = 12  # a fallback that missed the deadline
UNAVAILABLE = 13  # a teacher call that met an outage
HUMAN_REVIEWS = 14
AUDITED = 15  # answered calls a person labelled
AUDITED_ERRORS = 16  # ... whose answer was wrong: what the team can see
COUNT_FIELDS = 17

# tick-wide sums: out_values[field]
LATENCY_SUM = 0
WAIT_SUM = 1
BUSY_S = 2  # student service time inside the horizon (work past it is the backlog)
TEACHER_USD = 3
TEACHER_ONLY_USD = 4
TEACHER_CALLS = 5
TOKENS_IN = 6
TOKENS_OUT = 7
SOJOURN_SUM = 8  # time in the student pool (wait + service)
VERIFIER_USD = 9
HUMAN_USD = 10
ANSWERED = 11  # calls with an answer (the latency histogram's count)
TEACHER_WAIT_SUM = 12  # rate-limit waits
HUMAN_WAIT_SUM = 13  # review-queue waits
LATENCY_MAX = 14  # the largest latency answered in the tick (the histogram's overflow bin's top)
FIRST_MAX = 15  # ... and the largest time to the first answer shown
VALUE_FIELDS = 16

# per-call sample columns
SAMPLE_COLUMNS = (
    "arrival_s",
    "segment",
    "student_correct",
    "confidence",
    "fell_back",
    "final_correct",
    "silent_failure",
    "queue_wait_s",
    "latency_s",
    "teacher_usd",
    "failed",
    "first_answer_s",
    "teacher_start_s",
    "source",
)
SOURCE_STUDENT = 0
SOURCE_TEACHER = 1
SOURCE_HUMAN = 2
SOURCE_NONE = 3

# seg_params columns
SEG_CUM_WEIGHT = 0
SEG_STUDENT_ACCURACY = 1
SEG_TEACHER_ACCURACY = 2
SEG_THRESHOLD = 3  # -1 when none applies
SEG_CONF_CORRECT = 4
SEG_CONF_WRONG = 5
SEG_TOKENS_IN = 6
SEG_TOKENS_OUT = 7
SEG_FIELDS = 8

# model_params entries
STUDENT_SERVICE = 0
STUDENT_S_PER_TOKEN = 1
TEACHER_LATENCY = 2
TEACHER_S_PER_TOKEN = 3
USD_PER_TOKEN_IN = 4
USD_PER_TOKEN_OUT = 5
VERIFIER_RECALL = 6
VERIFIER_RECALL_Z = 7  # Φ⁻¹(recall)
VERIFIER_FPR = 8
VERIFIER_RHO = 9
VERIFIER_USD_PER_CALL = 10
VERIFIER_LATENCY = 11
ON_FLAG_HUMAN = 12
HUMAN_USD_PER_REVIEW = 13
HUMAN_REVIEW = 14
HUMAN_ACCURACY = 15
DEADLINE_S = 16
DEADLINE_FAILS = 17
BYPASS_S = 18
RATE_LIMIT_PER_MIN = 19
UNAVAILABLE_FAILS = 20
NORMAL = 21  # distribution id of the standard normal (for the verifier's copula)
REVIEWER_POOL = 22  # 1 when reviewers are a finite FIFO pool
COL_VERIFIER = 23  # uniform columns of the optional latents (0 when absent)
COL_VERIFIER_LATENCY = 24
COL_HUMAN_REVIEW = 25
COL_HUMAN_CORRECT = 26
COL_AUDIT = 27
COL_SECONDARY = 28  # first of N_SECONDARY columns
N_SECONDARY = 29
AUDIT_RATE = 30
HORIZON_S = 31  # the end of simulated time: student work after it is backlog, not utilisation
MODEL_FIELDS = 32

# state entries (carried across ticks)
STATE_CALL_INDEX = 0
STATE_SAMPLE_OVERFLOW = 1
# STATE_FULL_FROM and STATE_FULL_TO (2, 3) belong to sim.kernels.teacher
STATE_PENDING = 4  # records in the pending heap
# STATE_CLAMPED (5) belongs to sim.kernels.teacher: computed indices (and times) that fell outside
# their array and were clamped instead
STATE_STOP = 6  # set by another thread (Ctrl-C): the tick returns early, its results abandoned
STATE_FIELDS = 7
STOP_EVERY = 1 << 14  # candidates between two looks at STATE_STOP (well under a millisecond)

# a request record between its routing decision and its settlement (sim.kernels.pending)
R_READY = 0  # when the fallback can start: the pending heap's key
R_ARRIVAL = 1
R_SEGMENT = 2
R_STUDENT_AT = 3  # when the student's answer can be returned (-1: none)
R_STUDENT_CORRECT = 4
R_TEACHER_CORRECT = 5
R_FALLBACK = 6  # SOURCE_* of who is asked after or beside the student
R_TOKENS_OUT = 7
R_TEACHER_USD = 8
R_U_TEACHER_LATENCY = 9
R_U_HUMAN_REVIEW = 10
R_U_HUMAN_CORRECT = 11
R_CONFIDENCE = 12
R_WAIT = 13
R_INDEX = 14  # the call's index in the stream (for the per-call sample)
R_FELL_BACK = 15
R_U_AUDIT = 16
R_U_SECONDARY = 17  # MAX_SECONDARY columns
MAX_SECONDARY = 16
REC_FIELDS = R_U_SECONDARY + MAX_SECONDARY


@step
def _segment(u, seg_params):
    n = seg_params.shape[0]
    for s in range(n - 1):
        if u < seg_params[s, SEG_CUM_WEIGHT]:
            return s
    return n - 1


# replayed calls: replayed[i] = arrival time, tokens in, tokens out, segment (-1: draw it)
REPLAY_TIME = 0
REPLAY_TOKENS_IN = 1
REPLAY_TOKENS_OUT = 2
REPLAY_SEGMENT = 3
REPLAY_FIELDS = 4


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
                row[0] = arrived
                row[1] = s
                row[2] = student_correct
                row[3] = confidence
                row[4] = fell_back
                row[5] = final_correct and source != SOURCE_NONE
                row[6] = source == SOURCE_STUDENT and not student_correct
                row[7] = wait
                row[8] = latency if source != SOURCE_NONE else np.nan
                row[9] = teacher_usd if teacher_started == teacher_started else 0.0
                row[10] = source == SOURCE_NONE
                row[11] = first
                row[12] = teacher_started
                row[13] = source
                sampled += 1
            else:
                state[STATE_SAMPLE_OVERFLOW] = 1
    return sampled
