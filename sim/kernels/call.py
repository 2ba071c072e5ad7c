"""A call's draw: its segment, tokens and correctness, from its row of uniforms (or a trace)."""

import numpy as np

from sim.kernels.flags import step
from sim.kernels.layout import (
    CALLS,
    COL_AUDIT,
    COL_HUMAN_CORRECT,
    COL_HUMAN_REVIEW,
    COL_SECONDARY,
    N_SECONDARY,
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
    REPLAY_SEGMENT,
    REPLAY_TOKENS_IN,
    REPLAY_TOKENS_OUT,
    SEG_CUM_WEIGHT,
    SEG_STUDENT_ACCURACY,
    SEG_TEACHER_ACCURACY,
    SEG_TOKENS_IN,
    SEG_TOKENS_OUT,
    SOURCE_NONE,
    STATE_CALL_INDEX,
    STATE_CLAMPED,
    STUDENT_ERRORS,
    TEACHER_ERRORS,
    TEACHER_ONLY_USD,
    TOKENS_IN,
    TOKENS_OUT,
    U_CORRECT,
    U_SEGMENT,
    U_TEACHER_CORRECT,
    U_TEACHER_LATENCY,
    U_TOKENS_IN,
    U_TOKENS_OUT,
    USD_PER_TOKEN_IN,
    USD_PER_TOKEN_OUT,
)
from sim.kernels.sampling import quantile


@step
def _segment(u, seg_params):
    """The segment whose cumulative weight first exceeds u (the last one otherwise)."""
    n = seg_params.shape[0]
    for s in range(n - 1):
        if u < seg_params[s, SEG_CUM_WEIGHT]:
            return s
    return n - 1


@step
def _given_segment(s, given, n_segments, state):
    """A trace's segment id when it gives one (≥ 0), clamped to the table (and counted)."""
    if given < 0.0:
        return s
    clamped = int(min(given, n_segments - 1.0))
    if clamped != given:
        state[STATE_CLAMPED] += 1
    return clamped


@step
def draw_call(u, replayed, row, t, seg_params, m, spec, table, state, out_counts, values, call):
    """Draw the call arriving at t into `call`, count it, and return its segment.

    u: float64[width], the call's uniforms (U_* columns, then the optional latents at m's col_*);
    replayed: float64[candidates or 0, REPLAY_FIELDS]; row: the call's row in it (a trace's
    tokens and segment override the drawn ones when ≥ 0);
    seg_params: float64[segments, SEG_FIELDS]; m: float64[MODEL_FIELDS];
    spec, table: the quantile tables (sim.kernels.sampling); state: int64[STATE_FIELDS] (the
    call index advances); out_counts: float64[segments, COUNT_FIELDS] and values:
    float64[VALUE_FIELDS], the tick's outputs; call: float64[REC_FIELDS], filled (R_* slots) as
    a call the router has not seen yet: no student answer, no fallback, ready at t.
    """
    replay = replayed.shape[0] > 0
    s = _segment(u[U_SEGMENT], seg_params)
    if replay:
        s = _given_segment(s, replayed[row, REPLAY_SEGMENT], seg_params.shape[0], state)
    tokens_in = np.floor(quantile(int(seg_params[s, SEG_TOKENS_IN]), u[U_TOKENS_IN], spec, table))
    tokens_out = np.floor(
        quantile(int(seg_params[s, SEG_TOKENS_OUT]), u[U_TOKENS_OUT], spec, table)
    )
    if replay and replayed[row, REPLAY_TOKENS_IN] >= 0.0:
        tokens_in = replayed[row, REPLAY_TOKENS_IN]
    if replay and replayed[row, REPLAY_TOKENS_OUT] >= 0.0:
        tokens_out = replayed[row, REPLAY_TOKENS_OUT]
    teacher_usd = tokens_in * m[USD_PER_TOKEN_IN] + tokens_out * m[USD_PER_TOKEN_OUT]
    teacher_correct = u[U_TEACHER_CORRECT] < seg_params[s, SEG_TEACHER_ACCURACY]
    student_correct = u[U_CORRECT] < seg_params[s, SEG_STUDENT_ACCURACY]
    counts = out_counts[s]
    counts[CALLS] += 1
    values[TEACHER_ONLY_USD] += teacher_usd
    values[TOKENS_IN] += tokens_in
    values[TOKENS_OUT] += tokens_out
    if not teacher_correct:
        counts[TEACHER_ERRORS] += 1
    if not student_correct:
        counts[STUDENT_ERRORS] += 1

    index = state[STATE_CALL_INDEX]
    state[STATE_CALL_INDEX] = index + 1
    call[R_READY] = t
    call[R_ARRIVAL] = t
    call[R_SEGMENT] = s
    call[R_STUDENT_AT] = -1.0
    call[R_STUDENT_CORRECT] = student_correct
    call[R_TEACHER_CORRECT] = teacher_correct
    call[R_FALLBACK] = SOURCE_NONE
    call[R_TOKENS_OUT] = tokens_out
    call[R_TEACHER_USD] = teacher_usd
    call[R_CONFIDENCE] = 0.0
    call[R_WAIT] = 0.0
    call[R_INDEX] = index
    call[R_FELL_BACK] = 0.0
    _copy_latents(u, m, call)
    return s


@step
def _copy_latents(u, m, call):
    """The latents only a settlement reads, into the call (defaults where a table is absent)."""
    call[R_U_TEACHER_LATENCY] = u[U_TEACHER_LATENCY]
    review = m[COL_HUMAN_REVIEW] > 0
    call[R_U_HUMAN_REVIEW] = u[int(m[COL_HUMAN_REVIEW])] if review else 0.0
    call[R_U_HUMAN_CORRECT] = u[int(m[COL_HUMAN_CORRECT])] if review else 0.0
    call[R_U_AUDIT] = u[int(m[COL_AUDIT])] if m[COL_AUDIT] > 0 else 1.0
    first = int(m[COL_SECONDARY])
    for j in range(int(m[N_SECONDARY])):
        call[R_U_SECONDARY + j] = u[first + j]
