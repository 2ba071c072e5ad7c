"""Settling a routed call: the teacher's or a reviewer's answer, the verifier's check of the
teacher's answer, then the deadline.

Each step returns the call's Settled: who gave the final answer (SOURCE_*, SOURCE_NONE for none),
when (answer_at, absolute seconds; inf when never), when the teacher call started (NaN when none
was made) and whether the final answer is right.
"""

from collections import namedtuple

import numpy as np

from sim.engine.kernels.flags import step
from sim.engine.kernels.layout import (
    ABANDONED,
    HUMAN_REVIEWS,
    HUMAN_USD,
    HUMAN_WAIT_SUM,
    SOURCE_HUMAN,
    SOURCE_NONE,
    SOURCE_STUDENT,
    SOURCE_TEACHER,
    TEACHER_CALLS,
    TEACHER_CHECKS,
    TEACHER_FLAGS,
    TEACHER_USD,
    TEACHER_WAIT_SUM,
    UNAVAILABLE,
    VERIFIER_USD,
    Route,
)
from sim.engine.kernels.queueing import take_slot
from sim.engine.kernels.sampling import quantile
from sim.engine.kernels.teacher import TEACHER_DOWN, TEACHER_TOO_LATE, in_outage, teacher_start

Settled = namedtuple("Settled", ("source", "answer_at", "teacher_started", "correct"))


@step
def settle_teacher(draw, route, m, spec, table, minute_ring, state, outages, counts, values):
    """Ask the teacher from route.ready: through an outage, its rate limit and the deadline.

    m: ModelParams; minute_ring int64[minutes, 2] and state int64[STATE fields], the limiter's
    memory (updated); outages float64[n, 2]; counts float64[COUNTS fields] (the call's segment's
    row) and values float64[VALUES fields] count the teacher's work and its outages.
    """
    student = Settled(SOURCE_STUDENT, route.student_at, np.nan, draw.student_correct > 0.0)
    ready = route.ready
    start = ready
    if in_outage(ready, outages):
        start = TEACHER_DOWN
    elif m.rate_limit_per_min > 0:
        latest = draw.arrival + m.deadline_s if m.deadline_s > 0.0 else np.inf
        start = teacher_start(ready, int(m.rate_limit_per_min), minute_ring, state, outages, latest)
    if start == TEACHER_TOO_LATE:
        # never sent: it could not start before the deadline, which abandons it
        return Settled(SOURCE_TEACHER, np.inf, np.nan, student.correct)
    if start != TEACHER_DOWN:
        values[TEACHER_WAIT_SUM] += start - ready
        answer_at = (
            start
            + quantile(int(m.dist_teacher_latency), draw.u_teacher_latency, spec, table)
            + m.teacher_s_per_token * draw.tokens_out
        )  # the authoritative answer (an ensemble's student shows first)
        values[TEACHER_USD] += draw.teacher_usd
        values[TEACHER_CALLS] += 1
        return Settled(SOURCE_TEACHER, answer_at, start, draw.teacher_correct > 0.0)
    counts[UNAVAILABLE] += 1
    if route.student_at < 0.0 or m.unavailable_fails > 0:
        return Settled(SOURCE_NONE, student.answer_at, np.nan, student.correct)
    return Settled(SOURCE_STUDENT, max(ready, route.student_at), np.nan, student.correct)


@step
def settle_review(route, m, spec, table, reviewers_free_at, counts, values, u_review, u_correct):
    """A person reviews the flagged call from route.ready: in a finite FIFO pool when there is one.

    reviewers_free_at float64[reviewers] (a heap of free times, updated when m.reviewer_pool);
    u_review and u_correct: the call's latents for the review time and the reviewer being right.
    """
    review = quantile(int(m.dist_human_review), u_review, spec, table)
    start = route.ready
    if m.reviewer_pool > 0:
        start = route.ready + take_slot(reviewers_free_at, route.ready, review)
    values[HUMAN_WAIT_SUM] += start - route.ready
    values[HUMAN_USD] += m.human_usd_per_review
    counts[HUMAN_REVIEWS] += 1
    correct = u_correct < m.human_accuracy
    return Settled(SOURCE_HUMAN, start + review, route.teacher_started, correct)


@step
def settle(draw, route, m, spec, table, minute_ring, reviewers_free_at, state, outages, counts,
           values):  # fmt: skip
    """The call's Settled before the deadline: its fallback's answer, or the student's."""
    fallback = int(route.fallback)
    if fallback == SOURCE_TEACHER:
        return settle_teacher(draw, route, m, spec, table, minute_ring, state, outages, counts,
                              values)  # fmt: skip
    if fallback == SOURCE_HUMAN:
        return settle_review(route, m, spec, table, reviewers_free_at, counts, values,
                             draw.u_human_review, draw.u_human_correct)  # fmt: skip
    return Settled(SOURCE_STUDENT, route.student_at, np.nan, draw.student_correct > 0.0)


@step
def _late(draw, settled, m):
    """Does the settled answer come after router.deadline_s (never without one, or inf)?"""
    return m.deadline_s > 0.0 and not settled.answer_at - draw.arrival <= m.deadline_s


@step
def check_teacher(draw, route, settled, m, spec, table, counts, values):
    """verifier.checks_teacher: the verifier checks the teacher's answer to a flagged call.

    Returns (settled, route, escalated). Only a flagged call (verify's teacher fallback after a
    student answer; m.checks_teacher is 0 under other policies) whose teacher answered by the
    deadline is checked: at the verifier's price, after its latency (the answer is returned once
    checked), flagged with its recall when the teacher is wrong and its false positive rate when
    right. A flagged answer checked by the deadline goes to review when there are reviewers
    (escalated: route becomes the review's, ready when the check ends); without them the teacher's
    answer is returned, counted in counts[TEACHER_FLAGS]. counts float64[COUNTS fields] (the call's
    segment's row) and values float64[VALUES fields] count checks, flags and the verifier's cost.
    """
    if m.checks_teacher == 0.0 or int(route.fallback) != SOURCE_TEACHER:
        return settled, route, False
    if route.student_at < 0.0 or settled.source != SOURCE_TEACHER or _late(draw, settled, m):
        return settled, route, False  # bypassed, the teacher unavailable, or too late
    counts[TEACHER_CHECKS] += 1
    values[VERIFIER_USD] += m.verifier_usd_per_call
    latency = quantile(int(m.dist_verifier_latency), draw.u_teacher_check_latency, spec, table)
    checked_at = settled.answer_at + latency
    checked = Settled(SOURCE_TEACHER, checked_at, settled.teacher_started, settled.correct)
    flag_p = m.verifier_fpr if settled.correct else m.verifier_recall
    if not draw.u_teacher_check < flag_p:
        return checked, route, False
    counts[TEACHER_FLAGS] += 1
    if m.has_human == 0.0 or _late(draw, checked, m):
        return checked, route, False
    review = Route(checked_at, route.student_at, float(SOURCE_HUMAN), route.confidence,
                   route.wait, route.fell_back, settled.teacher_started)  # fmt: skip
    return checked, review, True


@step
def apply_deadline(draw, route, settled, m, counts):
    """router.deadline_s: a fallback answering later is abandoned (counted in counts[ABANDONED]);
    the student's answer is returned at the deadline, or nothing with deadline_action = "fail"."""
    deadline = m.deadline_s
    source = settled.source
    if deadline > 0.0 and source != SOURCE_STUDENT and source != SOURCE_NONE:
        if settled.answer_at - draw.arrival > deadline:
            counts[ABANDONED] += 1
            student_correct = draw.student_correct > 0.0
            if route.student_at < 0.0 or m.deadline_fails > 0:
                return Settled(SOURCE_NONE, settled.answer_at, settled.teacher_started,
                               student_correct)  # fmt: skip
            answer_at = max(route.student_at, draw.arrival + deadline)
            return Settled(SOURCE_STUDENT, answer_at, settled.teacher_started, student_correct)
    return settled
