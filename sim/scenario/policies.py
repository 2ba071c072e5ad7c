"""The routing policies, declared once.

Every other place that knows the policies derives from this table: the scenario's `router.policy`
literal and its field reference, the kernels' policy codes, the reference engine, the economics and
the report's prose. Adding a policy means a `Policy` here, its kernel step, its reference twin and
its tests.

This module imports nothing heavy, so the numba kernels can read the codes from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """One routing policy: its name, its kernel code, what it does in words, and its traits."""

    name: str
    code: int
    summary: str
    uses_student: bool = True  # calls go through the student's GPU pool
    escalates: bool = False  # a call can fall back after the student answered (threshold or flag)
    teacher_answers_all: bool = False  # the teacher answers (and is paid for) every call
    needs_threshold: bool = False  # router.threshold (or segment_thresholds) must be set
    verified: bool = False  # a verifier checks every student answer (needs a [verifier] table)
    teacher_in_parallel: bool = False  # the teacher starts with the student; its answer is final


POLICY_TABLE: tuple[Policy, ...] = (
    Policy(
        "teacher_only",
        0,
        "stay on the teacher's API: no GPUs, no dataset, no training",
        uses_student=False,
        teacher_answers_all=True,
    ),
    Policy("student_only", 1, "the student answers every call"),
    Policy(
        "cascade",
        2,
        "the student answers; below the confidence threshold the teacher answers instead",
        escalates=True,
        needs_threshold=True,
    ),
    Policy(
        "verify",
        3,
        "a verifier checks every student answer; a flag sends the call to the teacher or a person",
        escalates=True,
        verified=True,
    ),
    Policy(
        "ensemble",
        4,
        "student and teacher run in parallel; the student's answer shows first, the teacher's is "
        "final",
        teacher_answers_all=True,
        teacher_in_parallel=True,
    ),
)

POLICIES: tuple[str, ...] = tuple(p.name for p in POLICY_TABLE)
POLICY_CODES: dict[str, int] = {p.name: p.code for p in POLICY_TABLE}
BY_NAME: dict[str, Policy] = {p.name: p for p in POLICY_TABLE}


def policy_named(name: str) -> Policy:
    """The declaration of a policy by its name (a validated scenario's `router.policy`)."""
    return BY_NAME[name]


def reference_text() -> str:
    """The policies in words, for the field reference: one `name`: summary per policy."""
    return "; ".join(f"`{p.name}`: {p.summary}" for p in POLICY_TABLE)
