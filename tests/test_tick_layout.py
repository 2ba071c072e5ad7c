"""The kernel's array layouts: every index group is a permutation of 0..N-1 (no two names share a
slot, which once silently added verifier costs into the human column)."""

import pytest

from sim.kernels import tick

GROUPS = {
    "U_": "BASE_UNIFORMS",
    "SEG_": "SEG_FIELDS",
    "STATE_": "STATE_FIELDS",
}
COUNTS = ["CALLS", "STUDENT_CALLS", "FALLBACKS", "ERRORS", "SILENT", "TEACHER_ERRORS",
          "STUDENT_ERRORS", "FAILED", "OVERRIDES", "SLO_MET", "FLAGS", "BYPASSES", "ABANDONED",
          "UNAVAILABLE", "HUMAN_REVIEWS", "AUDITED", "AUDITED_ERRORS"]  # fmt: skip
VALUES = ["LATENCY_SUM", "WAIT_SUM", "BUSY_S", "TEACHER_USD", "TEACHER_ONLY_USD", "TEACHER_CALLS",
          "TOKENS_IN", "TOKENS_OUT", "SOJOURN_SUM", "VERIFIER_USD", "HUMAN_USD", "ANSWERED",
          "TEACHER_WAIT_SUM", "HUMAN_WAIT_SUM", "LATENCY_MAX", "FIRST_MAX"]  # fmt: skip
MODELS = ["STUDENT_SERVICE", "STUDENT_S_PER_TOKEN", "TEACHER_LATENCY", "TEACHER_S_PER_TOKEN",
          "USD_PER_TOKEN_IN", "USD_PER_TOKEN_OUT", "VERIFIER_RECALL", "VERIFIER_RECALL_Z",
          "VERIFIER_FPR", "VERIFIER_RHO", "VERIFIER_USD_PER_CALL", "VERIFIER_LATENCY",
          "ON_FLAG_HUMAN", "HUMAN_USD_PER_REVIEW", "HUMAN_REVIEW", "HUMAN_ACCURACY", "DEADLINE_S",
          "DEADLINE_FAILS", "BYPASS_S", "RATE_LIMIT_PER_MIN", "UNAVAILABLE_FAILS", "NORMAL",
          "REVIEWER_POOL", "COL_VERIFIER", "COL_VERIFIER_LATENCY", "COL_HUMAN_REVIEW",
          "COL_HUMAN_CORRECT", "COL_AUDIT", "COL_SECONDARY", "N_SECONDARY",
          "AUDIT_RATE", "HORIZON_S"]  # fmt: skip


@pytest.mark.parametrize(
    ("names", "size"),
    [(COUNTS, "COUNT_FIELDS"), (VALUES, "VALUE_FIELDS"), (MODELS, "MODEL_FIELDS")]
    + [
        (
            [n for n in vars(tick) if n.startswith(prefix) and n != size and n.isupper()],
            size,
        )
        for prefix, size in GROUPS.items()
    ],
)
def test_index_group_is_a_permutation(names, size):
    slots = sorted(getattr(tick, n) for n in names)
    assert slots == list(range(getattr(tick, size)))
