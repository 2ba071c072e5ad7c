"""The kernel's routing steps read the policies' declared traits."""

import pytest

from sim.engine.kernels import routing
from sim.scenario.policies import POLICY_TABLE


@pytest.mark.parametrize("policy", POLICY_TABLE, ids=lambda p: p.name)
def test_the_kernel_reads_each_policy_s_declared_traits(policy):
    """The kernel's trait tests are the declaration's (sim/scenario/policies.py), so a new policy
    that escalates counts its fallbacks without an edit to the kernel."""
    assert routing.uses_student(policy.code) == policy.uses_student
    assert routing.escalates(policy.code) == policy.escalates
    assert routing.in_parallel(policy.code) == policy.teacher_in_parallel
