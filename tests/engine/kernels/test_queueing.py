"""The student pool against queueing theory: Erlang C, utilisation and Little's law.

Queue waits are autocorrelated, so every standard error here comes from the spread across
independent replications (the summary's ci95), never from the per-call variance. With R
replications the studentised error follows Student's t with R - 1 degrees of freedom, so the
bound is the t quantile with the same tail as 4.5 normal standard errors (about 5.2 SE for
R = 40): a false alarm about once in 150,000 runs. Each case has 40-60 M calls, for a relative
standard error of the mean wait near 0.15% (asserted below 0.25%): the bound is about 0.8% of the
value, so a 1% bias in the queue fails it (9 times in 10 at 0.15%).
"""

import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.metrics import summarize
from sim.engine.control import run_fast
from sim.engine.kernels import layout
from sim.engine.reference import run_reference
from sim.scenario.loading import validate
from sim.scenario.models import Scenario

ARRIVALS_PER_S = 100.0
TAIL = stats.norm.sf(4.5)


def erlang_c(slots: int, offered: float) -> float:
    """P(wait) in M/M/c with c = slots and offered load a = λ/μ (Erlang B recursion, then C)."""
    b = 1.0
    for k in range(1, slots + 1):
        b = offered * b / (k + offered * b)
    return slots * b / (slots - offered * (1.0 - b))


def mmc_scenario(
    servers: int, concurrency: int, utilization: float, hours: float, arrivals_per_s: float
) -> tuple[Scenario, float]:
    """A stationary M/M/c pool under student_only, and its mean service time."""
    mean_service_s = utilization * servers * concurrency / arrivals_per_s
    raw = {
        "scenario": {
            "name": "mmc",
            "horizon_days": hours / 24.0,
            "tick_s": 3600.0 if hours >= 1.0 else 60.0,
        },
        "traffic": {
            "calls_per_day": arrivals_per_s * 86400.0,
            "diurnal_amplitude": 0.0,
            "weekly": [1, 1, 1, 1, 1, 1, 1],
            "growth_per_month": 0.0,
        },
        "segments": [
            {
                "name": "only",
                "weight": 1.0,
                "tokens_in": 500,
                "tokens_out": 50,
                "student_accuracy": 0.9,
                "teacher_accuracy": 0.97,
                "confidence_correct": {"dist": "beta", "a": 9, "b": 1.5},
                "confidence_wrong": {"dist": "beta", "a": 3, "b": 3},
            }
        ],
        "student": {
            "servers": servers,
            "concurrency": concurrency,
            "service_s": {"dist": "exponential", "mean": mean_service_s},
            "gpu_hour_usd": 1.0,
        },
        "teacher": {"input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0, "latency_s": 1.0},
        "router": {"policy": "student_only"},
    }
    return validate(raw), mean_service_s


def t_bound(replications: int) -> float:
    """Standard errors allowed for a mean over R replications (4.5-sigma tail, t with R - 1 df)."""
    return float(stats.t.isf(TAIL, replications - 1))


def mean_and_se(summary: dict, name: str) -> tuple[float, float]:
    """A summary metric's mean over replications and its standard error, from the ci95."""
    low, high = summary["ci95"][name]
    r = summary["replications"]
    return summary[name], (high - low) / 2.0 / float(stats.t.ppf(0.975, r - 1))


# (servers, concurrency, utilisation, hours per replication, replications, seed)
CASES = [
    pytest.param(2, 1, 0.70, 3.0, 40, 101, id="M/M/2-rho0.70"),
    pytest.param(3, 1, 0.80, 4.2, 40, 202, id="M/M/3-rho0.80"),
    pytest.param(2, 2, 0.75, 4.2, 40, 303, id="2x2slots-rho0.75"),
]


@pytest.mark.parametrize(("servers", "concurrency", "utilization", "hours", "reps", "seed"), CASES)
def test_queue_wait_and_utilization_match_erlang_c(
    servers, concurrency, utilization, hours, reps, seed
):
    s, mean_service_s = mmc_scenario(servers, concurrency, utilization, hours, ARRIVALS_PER_S)
    summary = summarize(s, seed, run_fast(s, seed, reps))
    slots = servers * concurrency
    service_rate = 1.0 / mean_service_s
    p_wait = erlang_c(slots, ARRIVALS_PER_S * mean_service_s)
    expected_wait = p_wait / (slots * service_rate - ARRIVALS_PER_S)
    k = t_bound(reps)

    wait, wait_se = mean_and_se(summary, "queue_wait_mean_s")
    assert wait_se / expected_wait < 0.0025, "too few calls to see a 1% bias in the queue wait"
    assert abs(wait - expected_wait) < k * wait_se, (wait, expected_wait, wait_se)

    busy, busy_se = mean_and_se(summary, "student_utilization")
    assert busy_se / utilization < 0.0005
    assert abs(busy - utilization) < k * busy_se, (busy, utilization, busy_se)

    # student_only: the answer comes when the student finishes, so latency = wait + service
    latency, latency_se = mean_and_se(summary, "latency_mean_s")
    assert abs(latency - (expected_wait + mean_service_s)) < k * latency_se


def test_erlang_c_formula():
    # textbook values: M/M/1 waits with probability ρ; M/M/2 at a = 1 with probability 1/3
    assert erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)
    assert erlang_c(2, 1.0) == pytest.approx(1.0 / 3.0, rel=1e-12)
    direct = (3.2**4 / math.factorial(4) * 4 / (4 - 3.2)) / (
        sum(3.2**k / math.factorial(k) for k in range(4)) + 3.2**4 / math.factorial(4) * 4 / 0.8
    )
    assert erlang_c(4, 3.2) == pytest.approx(direct, rel=1e-12)


def test_littles_law_on_the_pool():
    """L measured by time integration (reference engine) = λ·W = Erlang's λ/μ + Lq."""
    arrivals_per_s, servers, utilization, reps = 10.0, 2, 0.7, 24
    s, mean_service_s = mmc_scenario(servers, 1, utilization, 0.15, arrivals_per_s)
    reference = run_reference(s, 17, reps)
    occupancy = np.array([agg.pool_mean_occupancy for agg in reference])

    # on every sample path, ∫ N(t) dt equals the sum of the sojourns (all requests leave)
    for agg in reference:
        area = agg.pool_mean_occupancy * s.horizon_s
        assert area == pytest.approx(agg.values[:, layout.SOJOURN_SUM].sum(), rel=1e-9)

    occupancy_mean = float(occupancy.mean())
    occupancy_var = float(occupancy.var(ddof=1)) / reps
    assert math.sqrt(occupancy_var) / occupancy_mean < 0.025
    k = t_bound(reps)  # the reference side dominates the combined error

    fast = summarize(s, 18, run_fast(s, 18, 200))
    wait, wait_se = mean_and_se(fast, "queue_wait_mean_s")
    littles = arrivals_per_s * (wait + mean_service_s)
    littles_var = (arrivals_per_s * wait_se) ** 2
    assert abs(occupancy_mean - littles) < k * math.sqrt(occupancy_var + littles_var)

    offered = arrivals_per_s * mean_service_s
    queue_length = erlang_c(servers, offered) * utilization / (1.0 - utilization)
    erlang_occupancy = offered + queue_length
    assert abs(occupancy_mean - erlang_occupancy) < k * math.sqrt(occupancy_var)
    assert abs(littles - erlang_occupancy) < t_bound(200) * math.sqrt(littles_var)
