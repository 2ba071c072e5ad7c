"""A call's draw: its segment, tokens, correctness and latents, from its row of uniforms (or a
trace's row); and a call's passage through the pending heap as one row of floats."""

import numpy as np
from numba.np.unsafe.ndarray import to_fixed_tuple

from sim.engine.kernels.flags import step
from sim.engine.kernels.layout import (
    CALLS,
    DRAW_FIELDS,
    R_U_SECONDARY,
    REPLAY_SEGMENT,
    REPLAY_TOKENS_IN,
    REPLAY_TOKENS_OUT,
    ROUTE_FIELDS,
    SEG_CUM_WEIGHT,
    SEG_ERROR_CORRELATION,
    SEG_STUDENT_ACCURACY,
    SEG_TEACHER_ACCURACY,
    SEG_TEACHER_Z,
    SEG_TOKENS_IN,
    SEG_TOKENS_OUT,
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
    Draw,
    Route,
)
from sim.engine.kernels.normal import ndtri
from sim.engine.kernels.sampling import quantile


@step
def _segment(u, seg_params):
    """The segment whose cumulative weight first exceeds u (the last one otherwise)."""
    n = seg_params.shape[0]
    for s in range(n - 1):
        if u < seg_params[s, SEG_CUM_WEIGHT]:
            return s
    return n - 1


@step
def _replayed_segment(s, replayed, row, n_segments, state):
    """A trace's segment id when it gives one (≥ 0), clamped to the table (and counted)."""
    given = replayed[row, REPLAY_SEGMENT]
    if given < 0.0:
        return s
    clamped = int(min(given, n_segments - 1.0))
    if clamped != given:
        state[STATE_CLAMPED] += 1
    return clamped


@step
def teacher_right(u_correct, u_teacher, seg_params, s):
    """Is the teacher right on this call? Independent of the student (u_teacher below the teacher's
    accuracy) when the segment's error_correlation ρ is 0; otherwise a Gaussian copula: the
    teacher's latent ρ·Φ⁻¹(u_correct) + √(1−ρ²)·Φ⁻¹(u_teacher) is a standard normal, right below
    Φ⁻¹(teacher_accuracy), so its accuracy stays exact while a call the student gets wrong (a high
    u_correct) is likelier wrong for the teacher too. seg_params float64[segments, SEGMENT fields].
    """
    rho = seg_params[s, SEG_ERROR_CORRELATION]
    if rho == 0.0:
        return u_teacher < seg_params[s, SEG_TEACHER_ACCURACY]
    latent = rho * ndtri(u_correct) + np.sqrt(1.0 - rho * rho) * ndtri(u_teacher)
    return latent < seg_params[s, SEG_TEACHER_Z]


@step
def draw_call(u, replayed, row, t, seg_params, m, spec, table, state):
    """The Draw of the call arriving at t; advances the stream's call index.

    u: float64[width], the call's uniforms (UNIFORMS columns, then the optional latents at the
    m.col_* columns); replayed: float64[candidates or 0, REPLAY fields], and row the call's row in
    it (a trace's segment and tokens replace the drawn ones where ≥ 0); seg_params:
    float64[segments, SEGMENT fields]; m: ModelParams; spec, table: the quantile tables
    (sim.engine.kernels.sampling); state: int64[STATE fields].
    """
    replay = replayed.shape[0] > 0
    s = _segment(u[U_SEGMENT], seg_params)
    if replay:
        s = _replayed_segment(s, replayed, row, seg_params.shape[0], state)
    tokens_in = np.floor(quantile(int(seg_params[s, SEG_TOKENS_IN]), u[U_TOKENS_IN], spec, table))
    tokens_out = np.floor(
        quantile(int(seg_params[s, SEG_TOKENS_OUT]), u[U_TOKENS_OUT], spec, table)
    )
    if replay and replayed[row, REPLAY_TOKENS_IN] >= 0.0:
        tokens_in = replayed[row, REPLAY_TOKENS_IN]
    if replay and replayed[row, REPLAY_TOKENS_OUT] >= 0.0:
        tokens_out = replayed[row, REPLAY_TOKENS_OUT]
    index = state[STATE_CALL_INDEX]
    state[STATE_CALL_INDEX] = index + 1
    review = m.col_human_review > 0
    check = m.col_teacher_check > 0
    return Draw(
        t,
        float(s),
        float(index),
        1.0 if u[U_CORRECT] < seg_params[s, SEG_STUDENT_ACCURACY] else 0.0,
        1.0 if teacher_right(u[U_CORRECT], u[U_TEACHER_CORRECT], seg_params, s) else 0.0,
        tokens_in,
        tokens_out,
        tokens_in * m.usd_per_token_in + tokens_out * m.usd_per_token_out,
        u[U_TEACHER_LATENCY],
        u[int(m.col_human_review)] if review else 0.0,
        u[int(m.col_human_correct)] if review else 0.0,
        u[int(m.col_audit)] if m.col_audit > 0 else 1.0,
        u[int(m.col_teacher_check)] if check else 1.0,
        u[int(m.col_teacher_check_latency)] if check else 0.0,
    )


@step
def count_arrival(draw, counts, values):
    """Count a drawn call: counts float64[COUNTS fields] (its segment's row), values
    float64[VALUES fields]; what the teacher alone would have cost and got wrong on it."""
    counts[CALLS] += 1
    values[TEACHER_ONLY_USD] += draw.teacher_usd
    values[TOKENS_IN] += draw.tokens_in
    values[TOKENS_OUT] += draw.tokens_out
    if draw.teacher_correct == 0.0:
        counts[TEACHER_ERRORS] += 1
    if draw.student_correct == 0.0:
        counts[STUDENT_ERRORS] += 1


@step
def to_row(route, draw, secondary, first, m, row):
    """Write a deferred call into row float64[CALL fields]: its Route, its Draw, then its
    m.n_secondary secondary-output latents, read from secondary (the call's uniforms, or its
    pending row: row itself) from index first on."""
    for j in range(ROUTE_FIELDS):
        row[j] = route[j]
    for j in range(DRAW_FIELDS):
        row[ROUTE_FIELDS + j] = draw[j]
    for j in range(int(m.n_secondary)):
        row[R_U_SECONDARY + j] = secondary[first + j]


@step
def from_row(row):
    """The (Route, Draw) of a call written by to_row (its secondary latents stay in the row)."""
    route = Route(*to_fixed_tuple(row[:ROUTE_FIELDS], ROUTE_FIELDS))
    draw = Draw(*to_fixed_tuple(row[ROUTE_FIELDS : ROUTE_FIELDS + DRAW_FIELDS], DRAW_FIELDS))
    return route, draw
