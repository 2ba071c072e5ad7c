"""Routing: the student's answer, then who else is asked. Every policy branch of the kernel is here.

A policy's behaviour in the kernel is its code and its declared traits (sim.scenario.policies),
read here as bit masks: whether it uses the student, escalates, or runs the teacher in parallel.
A policy with a decision of its own adds a branch in `decide`.
"""

import numpy as np

from sim.engine.kernels.flags import step
from sim.engine.kernels.layout import (
    BUSY_S,
    BYPASSES,
    FALLBACKS,
    FLAGS,
    SEG_CONF_CORRECT,
    SEG_CONF_WRONG,
    SEG_THRESHOLD,
    SOJOURN_SUM,
    SOURCE_HUMAN,
    SOURCE_NONE,
    SOURCE_TEACHER,
    STUDENT_CALLS,
    U_CONFIDENCE,
    U_SERVICE,
    VERIFIER_USD,
    WAIT_SUM,
    Route,
)
from sim.engine.kernels.queueing import take_slot
from sim.engine.kernels.sampling import quantile
from sim.engine.kernels.teacher import in_outage
from sim.scenario.policies import POLICY_CODES, POLICY_TABLE

CASCADE = POLICY_CODES["cascade"]
VERIFY = POLICY_CODES["verify"]
# the declared traits as bit masks over the policy codes (numba folds the constants)
USES_STUDENT = sum(1 << p.code for p in POLICY_TABLE if p.uses_student)
ESCALATES = sum(1 << p.code for p in POLICY_TABLE if p.escalates)
TEACHER_IN_PARALLEL = sum(1 << p.code for p in POLICY_TABLE if p.teacher_in_parallel)


@step
def uses_student(policy):
    """Does this policy send calls to the student pool?"""
    return (USES_STUDENT >> policy) & 1 == 1


@step
def escalates(policy):
    """Does a call under this policy count as a fallback when someone else is asked?"""
    return (ESCALATES >> policy) & 1 == 1


@step
def in_parallel(policy):
    """Does the teacher start with the student and give the final answer (an ensemble)?"""
    return (TEACHER_IN_PARALLEL >> policy) & 1 == 1


@step
def falls_back(policy, confidence, threshold):
    """Cascade: after the student answered, does the call go on to the teacher?"""
    return policy == CASCADE and confidence < threshold


@step
def can_bypass(policy, bypass_s, queue_wait_s):
    """Load-aware bypass: would the student queue wait exceed the router's limit?"""
    return bypass_s > 0.0 and escalates(policy) and queue_wait_s > bypass_s


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
def decide(policy, u, draw, confidence, threshold, student_at, m, spec, table, counts, values):
    """After the student answered at student_at: who is asked next, and from when.

    Returns (student_at, fallback, ready): the student's answer time (a verifier adds its
    latency), SOURCE_* of who is asked next (SOURCE_NONE: nobody) and when that can start.
    u: the call's uniforms; draw: its Draw; counts float64[COUNTS fields] (its segment's row) and
    values float64[VALUES fields] count flags and the verifier's cost.
    """
    fallback = SOURCE_NONE
    ready = draw.arrival
    if policy == VERIFY:
        student_at += quantile(
            int(m.dist_verifier_latency), u[int(m.col_verifier_latency)], spec, table
        )
        values[VERIFIER_USD] += m.verifier_usd_per_call
        flagged = confidence < threshold or verifier_flags(
            draw.student_correct > 0.0,
            u[U_CONFIDENCE],
            u[int(m.col_verifier)],
            m.verifier_recall,
            m.verifier_recall_z,
            m.verifier_fpr,
            m.verifier_rho,
            int(m.dist_normal),
            spec,
            table,
        )
        if flagged:
            counts[FLAGS] += 1
            fallback = SOURCE_HUMAN if m.on_flag_human > 0 else SOURCE_TEACHER
            ready = student_at
    elif in_parallel(policy):
        fallback = SOURCE_TEACHER
    elif falls_back(policy, confidence, threshold):
        fallback = SOURCE_TEACHER
        ready = student_at
    return student_at, fallback, ready


@step
def route_call(policy, u, draw, seg_params, m, spec, table, free_at, outages, counts, values):
    """The Route of a drawn call: its student answer (queued on the pool), then who is asked next.

    u: float64[width], the call's uniforms; draw: its Draw; seg_params float64[segments, SEGMENT
    fields]; m: ModelParams; free_at float64[slots], the student pool's heap of free times
    (updated); outages float64[n, 2]; counts (its segment's row) and values count the student's
    work, bypasses and fallbacks.
    """
    t = draw.arrival
    confidence = 0.0
    wait = 0.0
    student_at = -1.0  # when the student's answer is ready to return (-1: no answer)
    fallback = SOURCE_NONE  # who is asked after (or beside) the student
    ready = t  # when the fallback can start
    if not uses_student(policy):
        fallback = SOURCE_TEACHER
    else:
        s = int(draw.segment)
        conf_d = SEG_CONF_CORRECT if draw.student_correct > 0.0 else SEG_CONF_WRONG
        confidence = quantile(int(seg_params[s, conf_d]), u[U_CONFIDENCE], spec, table)
        service = (
            quantile(int(m.dist_student_service), u[U_SERVICE], spec, table)
            + m.student_s_per_token * draw.tokens_out
        )
        if can_bypass(policy, m.bypass_s, free_at[0] - t) and not in_outage(t, outages):
            fallback = SOURCE_TEACHER
            counts[BYPASSES] += 1
        else:
            wait = take_slot(free_at, t, service)
            student_at = t + wait + service
            counts[STUDENT_CALLS] += 1
            values[WAIT_SUM] += wait
            # only the part served before the horizon: utilisation never exceeds 1
            served_from = min(t + wait, m.horizon_s)
            values[BUSY_S] += min(student_at, m.horizon_s) - served_from
            values[SOJOURN_SUM] += wait + service
            threshold = seg_params[s, SEG_THRESHOLD]
            student_at, fallback, ready = decide(
                policy, u, draw, confidence, threshold, student_at, m, spec, table, counts, values
            )
    fell_back = fallback != SOURCE_NONE and escalates(policy)
    if fell_back:
        counts[FALLBACKS] += 1
    return Route(
        ready, student_at, float(fallback), confidence, wait, 1.0 if fell_back else 0.0, np.nan
    )


@step
def overrides(policy, draw, source):
    """Ensemble: did the teacher's final answer replace a different student answer?"""
    if not in_parallel(policy) or source != SOURCE_TEACHER:
        return False
    return not (draw.student_correct > 0.0 and draw.teacher_correct > 0.0)


@step
def first_shown(policy, draw, route, source, answer_at, first):
    """The time to the first answer shown: an ensemble shows the student's answer first, unless
    the teacher's came sooner; every other policy shows its final answer (`first`)."""
    if in_parallel(policy) and route.student_at >= 0.0:
        shown = route.student_at if source != SOURCE_TEACHER else min(route.student_at, answer_at)
        return shown - draw.arrival
    return first
