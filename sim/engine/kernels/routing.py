"""Routing decisions: one small function per decision, dispatched by policy code in the kernel."""

import numpy as np

from sim.engine.kernels.flags import step
from sim.engine.kernels.sampling import quantile
from sim.scenario.policies import POLICY_CODES

TEACHER_ONLY = POLICY_CODES["teacher_only"]
STUDENT_ONLY = POLICY_CODES["student_only"]
CASCADE = POLICY_CODES["cascade"]
VERIFY = POLICY_CODES["verify"]
ENSEMBLE = POLICY_CODES["ensemble"]


@step
def uses_student(policy):
    """Does this policy send calls to the student pool?"""
    return policy != TEACHER_ONLY


@step
def falls_back(policy, confidence, threshold):
    """Cascade: after the student answered, does the call go on to the teacher?"""
    return policy == CASCADE and confidence < threshold


@step
def can_bypass(policy, bypass_s, queue_wait_s):
    """Load-aware bypass: would the student queue wait exceed the router's limit?"""
    return bypass_s > 0.0 and (policy == CASCADE or policy == VERIFY) and queue_wait_s > bypass_s


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
