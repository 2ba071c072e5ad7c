"""Routing: every decision that depends on the policy, as small steps the tick calls.

The policy codes and traits come from sim.policies (the one declaration of the policies); the
kernel never compares a policy code outside this module.
"""

import numpy as np

from sim.kernels.flags import step
from sim.kernels.layout import (
    BYPASS_S,
    BYPASSES,
    COL_VERIFIER,
    COL_VERIFIER_LATENCY,
    FALLBACKS,
    FLAGS,
    NORMAL,
    ON_FLAG_HUMAN,
    OVERRIDES,
    R_CONFIDENCE,
    R_FALLBACK,
    R_FELL_BACK,
    R_READY,
    R_SEGMENT,
    R_STUDENT_AT,
    R_STUDENT_CORRECT,
    R_TOKENS_OUT,
    R_WAIT,
    SEG_CONF_CORRECT,
    SEG_CONF_WRONG,
    SEG_THRESHOLD,
    SOURCE_HUMAN,
    SOURCE_NONE,
    SOURCE_TEACHER,
    STUDENT_S_PER_TOKEN,
    STUDENT_SERVICE,
    U_CONFIDENCE,
    U_SERVICE,
    VERIFIER_FPR,
    VERIFIER_LATENCY,
    VERIFIER_RECALL,
    VERIFIER_RECALL_Z,
    VERIFIER_RHO,
    VERIFIER_USD,
    VERIFIER_USD_PER_CALL,
)
from sim.kernels.queueing import serve
from sim.kernels.sampling import quantile
from sim.kernels.teacher import in_outage
from sim.policies import POLICY_CODES, POLICY_TABLE

TEACHER_ONLY = POLICY_CODES["teacher_only"]
STUDENT_ONLY = POLICY_CODES["student_only"]
CASCADE = POLICY_CODES["cascade"]
VERIFY = POLICY_CODES["verify"]
ENSEMBLE = POLICY_CODES["ensemble"]

# the traits the kernel branches on, indexed by policy code (numba freezes global arrays)
_BY_CODE = sorted(POLICY_TABLE, key=lambda p: p.code)
assert [p.code for p in _BY_CODE] == list(range(len(_BY_CODE))), "policy codes are 0..n-1"
_USES_STUDENT = np.array([p.uses_student for p in _BY_CODE])
_ESCALATES = np.array([p.escalates for p in _BY_CODE])


@step
def uses_student(policy):
    """Does this policy send calls to the student pool?"""
    return _USES_STUDENT[policy]


@step
def falls_back(policy, confidence, threshold):
    """Cascade: after the student answered, does the call go on to the teacher?"""
    return policy == CASCADE and confidence < threshold


@step
def can_bypass(policy, bypass_s, queue_wait_s):
    """Load-aware bypass: would the student queue wait exceed the router's limit?"""
    return bypass_s > 0.0 and _ESCALATES[policy] and queue_wait_s > bypass_s


@step
def verifier_flags(
    student_correct, u_confidence, u_verifier, recall, recall_z, fpr, rho, normal_d, spec, table
):
    """Does the verifier flag this answer?

    A right answer is flagged with probability fpr. A wrong one is flagged when the Gaussian copula
    latent rho·Φ⁻¹(u_confidence) + √(1−rho²)·Φ⁻¹(u_verifier) is below Φ⁻¹(recall): marginally a
    standard normal, so recall is exact for every rho, while a higher confidence (monotone in
    u_confidence) makes a miss likelier. rho = 1 flags exactly the least confident `recall` share.
    """
    if student_correct:
        return u_verifier < fpr
    if rho == 0.0:
        return u_verifier < recall
    z_confidence = quantile(normal_d, u_confidence, spec, table)
    z_verifier = quantile(normal_d, u_verifier, spec, table)
    latent = rho * z_confidence + np.sqrt(max(0.0, 1.0 - rho * rho)) * z_verifier
    return latent < recall_z


@step
def route(policy, u, t, call, seg_params, m, spec, table, free_at, outages, counts, values):
    """Ask the student when the policy does, and decide who is asked after (or beside) it.

    policy: the code (sim.policies); u: float64[width], the call's uniforms; t: its arrival (s);
    call: float64[REC_FIELDS], as draw_call left it, updated in place (confidence, wait,
    student_at, fallback, ready, fell_back); seg_params: float64[segments, SEG_FIELDS];
    m: float64[MODEL_FIELDS]; spec, table: the quantile tables; free_at: float64[slots], the
    student pool's slot free times; outages: float64[n, 2]; counts: float64[COUNT_FIELDS] (the
    call's segment's row) and values: float64[VALUE_FIELDS], the tick's outputs.
    """
    if not uses_student(policy):
        call[R_FALLBACK] = SOURCE_TEACHER
        return
    s = int(call[R_SEGMENT])
    student_correct = call[R_STUDENT_CORRECT] > 0.0
    conf_d = SEG_CONF_CORRECT if student_correct else SEG_CONF_WRONG
    confidence = quantile(int(seg_params[s, conf_d]), u[U_CONFIDENCE], spec, table)
    call[R_CONFIDENCE] = confidence
    service = (
        quantile(int(m[STUDENT_SERVICE]), u[U_SERVICE], spec, table)
        + m[STUDENT_S_PER_TOKEN] * call[R_TOKENS_OUT]
    )
    if can_bypass(policy, m[BYPASS_S], free_at[0] - t) and not in_outage(t, outages):
        call[R_FALLBACK] = SOURCE_TEACHER
        counts[BYPASSES] += 1
    else:
        wait, student_at = serve(free_at, t, service, m, counts, values)
        call[R_WAIT] = wait
        call[R_STUDENT_AT] = student_at
        _after_student(
            policy, u, call, seg_params[s, SEG_THRESHOLD], m, spec, table, counts, values
        )
    if call[R_FALLBACK] != SOURCE_NONE and _ESCALATES[policy]:
        call[R_FELL_BACK] = 1.0
        counts[FALLBACKS] += 1


@step
def _after_student(policy, u, call, threshold, m, spec, table, counts, values):
    """The decision once the student has answered: verify, ensemble or cascade (see route)."""
    if policy == VERIFY:
        student_at = call[R_STUDENT_AT] + quantile(
            int(m[VERIFIER_LATENCY]), u[int(m[COL_VERIFIER_LATENCY])], spec, table
        )
        call[R_STUDENT_AT] = student_at
        values[VERIFIER_USD] += m[VERIFIER_USD_PER_CALL]
        flagged = call[R_CONFIDENCE] < threshold or verifier_flags(
            call[R_STUDENT_CORRECT] > 0.0,
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
            call[R_FALLBACK] = SOURCE_HUMAN if m[ON_FLAG_HUMAN] > 0 else SOURCE_TEACHER
            call[R_READY] = student_at
    elif policy == ENSEMBLE:
        call[R_FALLBACK] = SOURCE_TEACHER
    elif falls_back(policy, call[R_CONFIDENCE], threshold):
        call[R_FALLBACK] = SOURCE_TEACHER
        call[R_READY] = call[R_STUDENT_AT]


@step
def count_override(policy, source, student_correct, teacher_correct, counts):
    """Ensemble: count the teacher's final answer replacing a different student answer."""
    if policy == ENSEMBLE and source == SOURCE_TEACHER:
        if not (student_correct and teacher_correct):
            counts[OVERRIDES] += 1


@step
def first_shown(policy, source, student_at, answer_at, arrived, first):
    """Time to the first answer shown: an ensemble shows the student's (when it has one) unless
    the teacher's came sooner; otherwise `first`, the final answer's latency (NaN: none)."""
    if policy == ENSEMBLE and student_at >= 0.0:
        shown = student_at if source != SOURCE_TEACHER else min(student_at, answer_at)
        return shown - arrived
    return first
