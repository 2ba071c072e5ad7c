"""Routing decisions: one small function per policy, dispatched by code inside the tick kernel."""

from sim.kernels.flags import step

TEACHER_ONLY = 0
STUDENT_ONLY = 1
CASCADE = 2
POLICY_CODES = {"teacher_only": TEACHER_ONLY, "student_only": STUDENT_ONLY, "cascade": CASCADE}


@step
def uses_student(policy):
    """Does this policy send calls to the student pool?"""
    return policy != TEACHER_ONLY


@step
def falls_back(policy, confidence, threshold):
    """After the student answered: does the call go on to the teacher?"""
    if policy == CASCADE:
        return confidence < threshold
    return False
