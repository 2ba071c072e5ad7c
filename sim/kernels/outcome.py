"""A settled call's outcome: the deadline, what it counts, and its row in the per-call sample."""

import numpy as np

from sim.kernels.flags import step
from sim.kernels.histogram import latency_bin
from sim.kernels.layout import (
    ABANDONED,
    ANSWERED,
    AUDIT_RATE,
    AUDITED,
    AUDITED_ERRORS,
    COL_AUDIT,
    DEADLINE_FAILS,
    DEADLINE_S,
    ERRORS,
    FAILED,
    FIRST_MAX,
    LATENCY_MAX,
    LATENCY_SUM,
    N_SECONDARY,
    R_ARRIVAL,
    R_CONFIDENCE,
    R_FELL_BACK,
    R_INDEX,
    R_SEGMENT,
    R_STUDENT_AT,
    R_STUDENT_CORRECT,
    R_TEACHER_CORRECT,
    R_TEACHER_USD,
    R_U_AUDIT,
    R_U_SECONDARY,
    R_WAIT,
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
    SILENT,
    SLO_MET,
    SOURCE_NONE,
    SOURCE_STUDENT,
    STATE_CLAMPED,
    STATE_SAMPLE_OVERFLOW,
)
from sim.kernels.routing import count_override, first_shown


@step
def apply_deadline(call, m, source, answer_at, counts):
    """Abandon a fallback that answers after router.deadline_s; return (source, answer_at).

    call: float64[REC_FIELDS]; m: float64[MODEL_FIELDS]; source and answer_at: the settlement's
    answer so far; counts: float64[COUNT_FIELDS], the call's segment's row. An abandoned call
    returns the student's answer at the deadline (or when it is ready), or fails when there is
    none or router.on_deadline is "fail".
    """
    deadline = m[DEADLINE_S]
    if deadline > 0.0 and source != SOURCE_STUDENT and source != SOURCE_NONE:
        arrived = call[R_ARRIVAL]
        if answer_at - arrived > deadline:
            counts[ABANDONED] += 1
            student_at = call[R_STUDENT_AT]
            if student_at < 0.0 or m[DEADLINE_FAILS] > 0:
                return SOURCE_NONE, answer_at
            return SOURCE_STUDENT, max(student_at, arrived + deadline)
    return source, answer_at


@step
def count_answer(policy, call, m, source, final_correct, secondary_quality, counts, out_secondary):
    """Count an answered call's audit, errors, silent failures, secondaries and override.

    call: float64[REC_FIELDS]; m: float64[MODEL_FIELDS]; source: SOURCE_* of the final answer
    (not SOURCE_NONE); final_correct: whether it is right; secondary_quality: float64[K], the
    student's quality on each secondary output; counts: float64[COUNT_FIELDS] (the segment's
    row) and out_secondary: float64[K], the tick's outputs.
    """
    student_correct = call[R_STUDENT_CORRECT] > 0.0
    if m[COL_AUDIT] > 0 and call[R_U_AUDIT] < m[AUDIT_RATE]:
        counts[AUDITED] += 1
        if not final_correct:
            counts[AUDITED_ERRORS] += 1
    if source == SOURCE_STUDENT:
        for j in range(int(m[N_SECONDARY])):
            if call[R_U_SECONDARY + j] >= secondary_quality[j]:
                out_secondary[j] += 1
    if not final_correct:
        counts[ERRORS] += 1
    if source == SOURCE_STUDENT and not student_correct:
        counts[SILENT] += 1
    count_override(policy, source, student_correct, call[R_TEACHER_CORRECT] > 0.0, counts)


@step
def count_latency(call, m, source, answer_at, policy, counts, values, hist, first_hist, state):
    """Record a settled call's latency and time to the first answer; return both (NaN: none).

    call: float64[REC_FIELDS]; m: float64[MODEL_FIELDS]; source, answer_at: its final answer;
    policy: the code; counts: float64[COUNT_FIELDS] (the segment's row), values:
    float64[VALUE_FIELDS], hist and first_hist: int64[LATENCY_BINS], the tick's outputs;
    state: int64[STATE_FIELDS] (a non-finite latency counts as clamped).
    """
    arrived = call[R_ARRIVAL]
    latency = answer_at - arrived
    latency_k = -1
    first = np.nan
    if source != SOURCE_NONE:
        deadline = m[DEADLINE_S]
        if deadline > 0.0 and latency <= deadline + 1e-9:
            counts[SLO_MET] += 1
        values[LATENCY_SUM] += latency
        values[ANSWERED] += 1
        if latency > values[LATENCY_MAX]:
            values[LATENCY_MAX] = latency
        if not latency < np.inf:  # infinite or NaN: only arithmetic gone wrong gets here
            state[STATE_CLAMPED] += 1
        latency_k = latency_bin(latency)
        hist[latency_k] += 1
        first = latency
    first = first_shown(policy, source, call[R_STUDENT_AT], answer_at, arrived, first)
    if first == first:
        if first > values[FIRST_MAX]:
            values[FIRST_MAX] = first
        same = latency_k >= 0 and first == latency
        first_hist[latency_k if same else latency_bin(first)] += 1
    return latency, first


@step
def write_sample(out_sample, sampled, sample_every, call, outcome, state):
    """Write every sample_every-th call's row; return the rows written so far.

    out_sample: float64[rows, SAMPLE_COLUMNS] (S_* columns); sampled: rows already written;
    sample_every: the sampling period in calls (0: none); call: float64[REC_FIELDS];
    outcome: (source, final_correct, latency, first, teacher_started) of the settled call;
    state: int64[STATE_FIELDS] (a full sample sets STATE_SAMPLE_OVERFLOW).
    """
    if sample_every <= 0 or int(call[R_INDEX]) % sample_every != 0:
        return sampled
    if sampled >= out_sample.shape[0]:
        state[STATE_SAMPLE_OVERFLOW] = 1
        return sampled
    source, final_correct, latency, first, teacher_started = outcome
    student_correct = call[R_STUDENT_CORRECT] > 0.0
    row = out_sample[sampled]
    row[S_ARRIVAL] = call[R_ARRIVAL]
    row[S_SEGMENT] = call[R_SEGMENT]
    row[S_STUDENT_CORRECT] = student_correct
    row[S_CONFIDENCE] = call[R_CONFIDENCE]
    row[S_FELL_BACK] = call[R_FELL_BACK] > 0.0
    row[S_FINAL_CORRECT] = final_correct and source != SOURCE_NONE
    row[S_SILENT_FAILURE] = source == SOURCE_STUDENT and not student_correct
    row[S_QUEUE_WAIT] = call[R_WAIT]
    row[S_LATENCY] = latency if source != SOURCE_NONE else np.nan
    row[S_TEACHER_USD] = call[R_TEACHER_USD] if teacher_started == teacher_started else 0.0
    row[S_FAILED] = source == SOURCE_NONE
    row[S_FIRST_ANSWER] = first
    row[S_TEACHER_START] = teacher_started
    row[S_SOURCE] = source
    return sampled + 1


@step
def count_outcome(
    policy, call, m, source, answer_at, correct, secondary_quality, counts, values, hist,
    first_hist, out_secondary, state,
):  # fmt: skip
    """Count a settled call's outcome into the tick's outputs; return (latency, first).

    counts float64[COUNT_FIELDS] of the call's segment, values float64[VALUE_FIELDS], hist and
    first_hist int64[LATENCY_BINS], out_secondary float64[K], state int64[STATE_FIELDS]; the
    other arguments as in count_answer and count_latency (arrays one by one, not in a tuple: a
    tuple of arrays built per call costs reference counting on the hot path).
    """
    if source == SOURCE_NONE:
        counts[FAILED] += 1
    else:
        count_answer(policy, call, m, source, correct, secondary_quality, counts, out_secondary)
    return count_latency(
        call, m, source, answer_at, policy, counts, values, hist, first_hist, state
    )
