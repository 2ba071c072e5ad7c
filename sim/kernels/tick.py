"""One tick of the data plane: every request arriving in [t0, t1), start to final answer.

Each request draws the same eight uniforms in the same order whatever the policy, so two policies
run on one seed see the same requests (common random numbers).
"""

import numpy as np

from sim.kernels.arrivals import rate_at, rate_bound
from sim.kernels.flags import kernel, step
from sim.kernels.histogram import latency_bin
from sim.kernels.queueing import take_slot
from sim.kernels.routing import falls_back, uses_student
from sim.kernels.sampling import quantile

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
UNIFORMS = 10

# per-segment counters: out_counts[segment, field]
CALLS = 0
STUDENT_CALLS = 1
FALLBACKS = 2
ERRORS = 3
SILENT = 4
TEACHER_ERRORS = 5  # errors the teacher alone would have made on the same calls
STUDENT_ERRORS = 6  # wrong student answers, whatever the router did with them
COUNT_FIELDS = 7

# tick-wide sums: out_values[field]
LATENCY_SUM = 0
WAIT_SUM = 1
BUSY_S = 2
TEACHER_USD = 3
TEACHER_ONLY_USD = 4
TEACHER_CALLS = 5
TOKENS_IN = 6
TOKENS_OUT = 7
SOJOURN_SUM = 8  # time in the student pool (wait + service)
VALUE_FIELDS = 9

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
)

# seg_params columns
SEG_CUM_WEIGHT = 0
SEG_STUDENT_ACCURACY = 1
SEG_TEACHER_ACCURACY = 2
SEG_THRESHOLD = 3
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
MODEL_FIELDS = 6

# state entries (carried across ticks)
STATE_CALL_INDEX = 0
STATE_SAMPLE_OVERFLOW = 1


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
    t0,
    t1,
    policy,
    traffic,
    seg_params,
    model_params,
    spec,
    table,
    free_at,
    state,
    sample_every,
    out_counts,
    out_values,
    out_hist,
    out_sample,
):
    """Simulate arrivals in [t0, t1), accumulating into the out arrays; return the sample rows.

    uniforms[i] holds candidate i's draws: its exponential spacing, its thinning draw and the
    request's latents. The candidates' times are the uniform order statistics on [t0, t1)
    (normalised exponential spacings, spacing_end the last one), kept with probability
    rate(t) / rate_max: an exact Poisson process whose count was drawn as Poisson(rate_max · tick).
    """
    rate_max, varies = rate_bound(t0, t1, traffic)
    total = spacing_end
    for i in range(uniforms.shape[0]):
        total += -np.log1p(-uniforms[i, U_SPACING])
    scale = (t1 - t0) / total
    service_d = int(model_params[STUDENT_SERVICE])
    latency_d = int(model_params[TEACHER_LATENCY])
    student_tok_s = model_params[STUDENT_S_PER_TOKEN]
    teacher_tok_s = model_params[TEACHER_S_PER_TOKEN]
    usd_in = model_params[USD_PER_TOKEN_IN]
    usd_out = model_params[USD_PER_TOKEN_OUT]
    student_pool = uses_student(policy)
    sampled = 0
    t = t0
    for i in range(uniforms.shape[0]):
        u = uniforms[i]
        t += -np.log1p(-u[U_SPACING]) * scale
        if varies and u[U_THINNING] * rate_max >= rate_at(t, traffic):
            continue
        u_segment = u[U_SEGMENT]
        u_tokens_in = u[U_TOKENS_IN]
        u_tokens_out = u[U_TOKENS_OUT]
        u_correct = u[U_CORRECT]
        u_confidence = u[U_CONFIDENCE]
        u_service = u[U_SERVICE]
        u_teacher_latency = u[U_TEACHER_LATENCY]
        u_teacher_correct = u[U_TEACHER_CORRECT]

        s = _segment(u_segment, seg_params)
        tokens_in = np.floor(quantile(int(seg_params[s, SEG_TOKENS_IN]), u_tokens_in, spec, table))
        tokens_out = np.floor(
            quantile(int(seg_params[s, SEG_TOKENS_OUT]), u_tokens_out, spec, table)
        )
        teacher_usd = tokens_in * usd_in + tokens_out * usd_out
        teacher_correct = u_teacher_correct < seg_params[s, SEG_TEACHER_ACCURACY]
        student_correct = u_correct < seg_params[s, SEG_STUDENT_ACCURACY]
        out_counts[s, CALLS] += 1
        out_values[TEACHER_ONLY_USD] += teacher_usd
        out_values[TOKENS_IN] += tokens_in
        out_values[TOKENS_OUT] += tokens_out
        if not teacher_correct:
            out_counts[s, TEACHER_ERRORS] += 1
        if not student_correct:
            out_counts[s, STUDENT_ERRORS] += 1

        confidence = 0.0
        wait = 0.0
        latency = 0.0
        teacher_called = not student_pool
        if student_pool:
            conf_d = SEG_CONF_CORRECT if student_correct else SEG_CONF_WRONG
            confidence = quantile(int(seg_params[s, conf_d]), u_confidence, spec, table)
            service = quantile(service_d, u_service, spec, table) + student_tok_s * tokens_out
            wait = take_slot(free_at, t, service)
            latency = wait + service
            out_counts[s, STUDENT_CALLS] += 1
            out_values[WAIT_SUM] += wait
            out_values[BUSY_S] += service
            out_values[SOJOURN_SUM] += latency
            if falls_back(policy, confidence, seg_params[s, SEG_THRESHOLD]):
                teacher_called = True
                out_counts[s, FALLBACKS] += 1
        if teacher_called:
            latency += (
                quantile(latency_d, u_teacher_latency, spec, table) + teacher_tok_s * tokens_out
            )
            out_values[TEACHER_USD] += teacher_usd
            out_values[TEACHER_CALLS] += 1
            final_correct = teacher_correct
        else:
            final_correct = student_correct
        silent = (not teacher_called) and (not student_correct)
        if not final_correct:
            out_counts[s, ERRORS] += 1
        if silent:
            out_counts[s, SILENT] += 1
        out_values[LATENCY_SUM] += latency
        out_hist[latency_bin(latency)] += 1

        index = state[STATE_CALL_INDEX]
        state[STATE_CALL_INDEX] = index + 1
        if sample_every > 0 and index % sample_every == 0:
            if sampled < out_sample.shape[0]:
                row = out_sample[sampled]
                row[0] = t
                row[1] = s
                row[2] = student_correct
                row[3] = confidence
                row[4] = teacher_called and student_pool
                row[5] = final_correct
                row[6] = silent
                row[7] = wait
                row[8] = latency
                row[9] = teacher_usd if teacher_called else 0.0
                sampled += 1
            else:
                state[STATE_SAMPLE_OVERFLOW] = 1
    return sampled
