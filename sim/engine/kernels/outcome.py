"""A settled call's outcome: counted into the tick's outputs, and written to the per-call sample."""

import numpy as np

from sim.engine.kernels.flags import step
from sim.engine.kernels.histogram import latency_bin
from sim.engine.kernels.layout import (
    ANSWERED,
    AUDITED,
    AUDITED_ERRORS,
    ERRORS,
    FAILED,
    FIRST_MAX,
    LATENCY_MAX,
    LATENCY_SUM,
    OVERRIDES,
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
from sim.engine.kernels.routing import first_shown, overrides


@step
def _count_answer(policy, draw, settled, m, latency, secondary, secondary_at, secondary_quality,
                  counts, values, hist, out_secondary, state):  # fmt: skip
    """Count an answered call: audits, secondary outputs, errors, silent failures, overrides,
    the SLO, the latency sums and histogram. Returns the latency's histogram bin."""
    correct = settled.correct
    student = settled.source == SOURCE_STUDENT
    if m.col_audit > 0 and draw.u_audit < m.audit_rate:
        counts[AUDITED] += 1
        if not correct:
            counts[AUDITED_ERRORS] += 1
    if student:
        for j in range(int(m.n_secondary)):
            if secondary[secondary_at + j] >= secondary_quality[j]:
                out_secondary[j] += 1
    if not correct:
        counts[ERRORS] += 1
    if student and not draw.student_correct > 0.0:
        counts[SILENT] += 1
    if overrides(policy, draw, settled.source):
        counts[OVERRIDES] += 1
    if m.deadline_s > 0.0 and latency <= m.deadline_s + 1e-9:
        counts[SLO_MET] += 1
    values[LATENCY_SUM] += latency
    values[ANSWERED] += 1
    if latency > values[LATENCY_MAX]:
        values[LATENCY_MAX] = latency
    if not latency < np.inf:  # infinite or NaN: only arithmetic gone wrong gets here
        state[STATE_CLAMPED] += 1
    k = latency_bin(latency)
    hist[k] += 1
    return k


@step
def count_outcome(policy, draw, route, settled, m, secondary, secondary_at, secondary_quality,
                  counts, values, hist, first_hist, out_secondary, state):  # fmt: skip
    """Count the settled call; return (latency, first): its latency and the time to the first
    answer shown (NaN when it got no answer and showed none).

    secondary float64[...] holds the call's secondary-output latents from secondary_at on (its
    uniforms, or its pending row); secondary_quality float64[K]; counts float64[COUNTS fields]
    (its segment's row); values float64[VALUES fields]; hist and first_hist int64[LATENCY_BINS];
    out_secondary float64[K], the secondary outputs the student got right; state int64[STATE].
    """
    latency = settled.answer_at - draw.arrival
    k = -1
    first = np.nan
    if settled.source == SOURCE_NONE:
        counts[FAILED] += 1
    else:
        k = _count_answer(policy, draw, settled, m, latency, secondary, secondary_at,
                          secondary_quality, counts, values, hist, out_secondary,
                          state)  # fmt: skip
        first = latency
    first = first_shown(policy, draw, route, settled.source, settled.answer_at, first)
    if first == first:
        if first > values[FIRST_MAX]:
            values[FIRST_MAX] = first
        same = k >= 0 and first == latency
        first_hist[k if same else latency_bin(first)] += 1
    return latency, first


@step
def write_sample(out_sample, sampled, sample_every, draw, route, settled, latency, first, state):
    """Write every sample_every-th call (by stream index) as the next row of out_sample
    float64[rows, SAMPLE fields]; return the rows written. A full sample sets
    state[STATE_SAMPLE_OVERFLOW]."""
    if sample_every <= 0 or int(draw.index) % sample_every != 0:
        return sampled
    if sampled >= out_sample.shape[0]:
        state[STATE_SAMPLE_OVERFLOW] = 1
        return sampled
    answered = settled.source != SOURCE_NONE
    row = out_sample[sampled]
    row[S_ARRIVAL] = draw.arrival
    row[S_SEGMENT] = draw.segment
    row[S_STUDENT_CORRECT] = draw.student_correct
    row[S_CONFIDENCE] = route.confidence
    row[S_FELL_BACK] = route.fell_back
    row[S_FINAL_CORRECT] = settled.correct and answered
    row[S_SILENT_FAILURE] = settled.source == SOURCE_STUDENT and not draw.student_correct > 0.0
    row[S_QUEUE_WAIT] = route.wait
    row[S_LATENCY] = latency if answered else np.nan
    started = settled.teacher_started
    row[S_TEACHER_USD] = draw.teacher_usd if started == started else 0.0
    row[S_FAILED] = not answered
    row[S_FIRST_ANSWER] = first
    row[S_TEACHER_START] = started
    row[S_SOURCE] = settled.source
    return sampled + 1
