"""What `router.deadline_s` did to the fallbacks: the share it abandoned, what those calls got
instead, and the warning when it abandons most of them (the deadline then turns the fallback off).

A fallback abandoned at the deadline returns the student's answer (`on_deadline =
"return_student"`) or fails (`"fail"`, and always when there is no student answer: teacher-only,
or a call that bypassed the student's queue). Policies are told apart by their traits in
`sim.scenario.policies`: for an escalating policy (cascade, verify) the deadline can abandon only
fallbacks; for a policy whose teacher answers every call (teacher-only, ensemble) every call's
teacher answer is exposed to it.
"""

from __future__ import annotations

import math
from typing import Any

from sim.formatting import seconds, share
from sim.scenario.models import Scenario
from sim.scenario.policies import BY_NAME

MOST = 0.5  # abandoning more than this share of the fallbacks turns the fallback off


def abandoned_ratio(policy_name: str, abandoned: float, fallbacks: float, calls: float) -> float:
    """The share of the fallbacks (of every teacher answer, for teacher-only and the ensemble)
    that the deadline abandoned, from one replication's counts; NaN when there was nothing to
    abandon (no fallback, or a policy that never asks anyone else)."""
    policy = BY_NAME[policy_name]
    if policy.teacher_answers_all:
        exposed = calls
    elif policy.escalates:
        exposed = fallbacks
    else:
        exposed = 0.0
    return abandoned / exposed if exposed > 0 else math.nan


def fails_on_deadline(router: dict[str, Any], policy_name: Any) -> bool:
    """Whether an abandoned call fails rather than getting the student's answer (from the
    resolved scenario's `[router]`)."""
    policy = BY_NAME.get(str(policy_name))
    no_student = policy is not None and not policy.uses_student
    return no_student or router.get("on_deadline") == "fail"


def returned_student(summary: dict[str, Any], router: dict[str, Any]) -> bool:
    """Whether fallbacks the deadline abandoned returned the student's answer: then some flagged
    (or below-threshold) student answers reached users all the same (from the summary and the
    resolved scenario's `[router]`)."""
    policy = BY_NAME.get(str(summary.get("policy")))
    escalates = policy is not None and policy.escalates
    abandoned = (summary.get("abandoned_rate") or 0.0) > 0
    return escalates and abandoned and not fails_on_deadline(router, summary.get("policy"))


def instead(router: dict[str, Any], policy_name: Any) -> str:
    """What an abandoned call got, in words (from the resolved scenario's `[router]`)."""
    if fails_on_deadline(router, policy_name):
        return "failed with no answer"
    policy = BY_NAME.get(str(policy_name))
    if policy is not None and policy.teacher_answers_all:
        return "kept the student's first answer"
    bypassed = (router.get("bypass_queue_s") or 0) > 0
    return "got the student's answer instead" + (
        " (or failed, having bypassed the student)" if bypassed else ""
    )


def warnings(scenario: Scenario, summary: dict[str, Any]) -> list[str]:
    """The deadline turns the fallback off: more than half of what it could abandon was."""
    router = scenario.router
    ratio = summary.get("fallback_abandoned_ratio")
    if router.deadline_s <= 0 or ratio is None or ratio <= MOST:
        return []
    policy = BY_NAME[router.policy]
    what = "teacher answers" if policy.teacher_answers_all else "fallbacks"
    settings = router.model_dump()
    got = instead(settings, router.policy)
    slo = (
        ""
        if fails_on_deadline(settings, router.policy)
        else "; SLO attainment counts them as answered in time"
    )
    return [
        f"Your deadline turns the fallback off: router.deadline_s = {seconds(router.deadline_s)} "
        f"abandoned {share(ratio)} of the {what} ({share(summary.get('abandoned_rate'))} of "
        f"calls), which {got}{slo}. Raise the deadline or speed the teacher up if the fallback "
        "is meant to answer."
    ]
