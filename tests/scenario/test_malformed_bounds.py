"""Malformed inputs of the bounds area: numbers beyond the ranges where the arithmetic stays finite
(1e308 prices, sigma 90, times over a day, ...) and shares given as percentages, via `validate`,
`run` and `--set`: each refused with exit 2 before any work, one line naming the field and the
value as given."""

from __future__ import annotations

import pytest

from tests.malformed import Case, check

# Every optional table, so that --set reaches every bounded field.
BASE = """
[scenario]
name = "bounds"
horizon_days = 2
tick_s = 3600

[traffic]
calls_per_day = 1000

[[segments]]
name = "core"
weight = 1
tokens_in = 500
tokens_out = 20
student_accuracy = 0.9
teacher_accuracy = 0.95
confidence_correct = { dist = "beta", a = 8, b = 2 }
confidence_wrong = { dist = "beta", a = 3, b = 3 }

[student]
servers = 1
service_s = { dist = "lognormal", median = 0.2, sigma = 0.3 }
gpu_hour_usd = 1.0

[teacher]
input_usd_per_mtok = 3.0
output_usd_per_mtok = 15.0
latency_s = { dist = "lognormal", median = 0.9, sigma = 0.4 }
outages = [{ start_day = 1, hours = 2 }]

[router]
policy = "verify"
threshold = 0.5
segment_thresholds = { core = 0.6 }

[verifier]
recall = 0.9
usd_per_call = 0.001
latency_s = 0.5
on_flag = "human"

[human]
usd_per_review = 2.0
reviewers = 2
review_s = 60

[economics]
dataset_usd = 1000
training_usd = 1000
maintenance_usd_per_month = 100
engineer_day_usd = 800

[[drift]]
kind = "mix"
start_day = 1
weights = { core = 1 }

[[drift]]
kind = "random_walk"
volatility_per_month = 0.1

[monitoring]
audit_rate = 0.01
audit_usd = 1.0

[retraining]
trigger = "schedule"
every_days = 30
"""

FILES = {"s.toml": BASE}


def _set(id: str, command: str, item: str, expect: str, lines: int = 1) -> Case:
    return Case(id, [command, "s.toml", "--set", item], [expect], files=FILES, lines=lines)


def _file(id: str, old: str, new: str, expect: str) -> Case:
    assert old in BASE
    return Case(id, ["validate", "s.toml"], [expect], files={"s.toml": BASE.replace(old, new)})


CASES = [
    # the crashes: sigma 90 wrote outside the histogram; 1e308 prices crashed with exit 1
    _set(
        "sigma-90-run",
        "run",
        'student.service_s={ dist = "lognormal", median = 0.15, sigma = 90 }',
        "student.service_s.sigma: got 90; expected a number in [0, 10]",
    ),
    _file(
        "sigma-90-file",
        "median = 0.9, sigma = 0.4",
        "median = 0.9, sigma = 90.5",
        "teacher.latency_s.sigma: got 90.5; expected a number in [0, 10]",
    ),
    _set(
        "input-price-1e308",
        "run",
        "teacher.input_usd_per_mtok=1e308",
        "teacher.input_usd_per_mtok: got 1e+308; expected a number in [0, 1000000]",
    ),
    _set(
        "output-price-1e308",
        "validate",
        "teacher.output_usd_per_mtok=1e308",
        "teacher.output_usd_per_mtok: got 1e+308; expected a number in [0, 1000000]",
    ),
    _set(
        "gpu-hour-1e308",
        "run",
        "student.gpu_hour_usd=1e308",
        "student.gpu_hour_usd: got 1e+308; expected a number in [0, 1000000]",
    ),
    _set(
        "gpu-hour-1e7",
        "validate",
        "student.gpu_hour_usd=10000000",
        "student.gpu_hour_usd: got 10000000; expected a number in [0, 1000000]",
    ),
    _set(
        "dataset-usd",
        "validate",
        "economics.dataset_usd=1e13",
        "economics.dataset_usd: got 10000000000000.0; expected a number in [0, 1000000000000]",
    ),
    _set(
        "training-usd",
        "run",
        "economics.training_usd=1e308",
        "economics.training_usd: got 1e+308; expected a number in [0, 1000000000000]",
    ),
    _set(
        "maintenance-usd",
        "validate",
        "economics.maintenance_usd_per_month=1e300",
        "economics.maintenance_usd_per_month: got 1e+300; expected a number in [0, 1000000000000]",
    ),
    _set(
        "engineer-day-usd",
        "validate",
        "economics.engineer_day_usd=1e308",
        "economics.engineer_day_usd: got 1e+308; expected a number in [0, 1000000]",
    ),
    _set(
        "verifier-usd",
        "validate",
        "verifier.usd_per_call=1e308",
        "verifier.usd_per_call: got 1e+308; expected a number in [0, 1000000]",
    ),
    _set(
        "review-usd",
        "run",
        "human.usd_per_review=1e308",
        "human.usd_per_review: got 1e+308; expected a number in [0, 1000000]",
    ),
    _set(
        "audit-usd",
        "validate",
        "monitoring.audit_usd=1e308",
        "monitoring.audit_usd: got 1e+308; expected a number in [0, 1000000]",
    ),
    _set(
        "retraining-compute-usd",
        "validate",
        "retraining.compute_usd=1e308",
        "retraining.compute_usd: got 1e+308; expected a number in [0, 1000000000000]",
    ),
    _set(
        "retraining-dataset-calls",
        "validate",
        "retraining.dataset_calls=1e300",
        "retraining.dataset_calls: got 1e+300; expected a number in [0, 1000000000000]",
    ),
    _set(
        "retraining-engineer-days",
        "validate",
        "retraining.engineer_days=1e300",
        "retraining.engineer_days: got 1e+300; expected a number in [0, 1000000]",
    ),
    # shares given as percentages: refused, with the share they probably meant
    _set(
        "threshold-percent",
        "run",
        "router.threshold=85",
        "router.threshold: got 85; expected a number in [0, 1]; 85 looks like a percentage: 0.85",
    ),
    _set(
        "segment-threshold-percent",
        "validate",
        "router.segment_thresholds.core=95",
        "router.segment_thresholds.core: got 95; expected a number in [0, 1]; "
        "95 looks like a percentage: 0.95",
    ),
    _set(
        "accuracy-percent",
        "validate",
        "segments.core.student_accuracy=96.5",
        "segments[0].student_accuracy: got 96.5; expected a number in [0, 1]; "
        "96.5 looks like a percentage: 0.965",
    ),
    _set(
        "recall-percent",
        "validate",
        "verifier.recall=90",
        "verifier.recall: got 90; expected a number in [0, 1]; 90 looks like a percentage: 0.9",
    ),
    _set(
        "threshold-above-100-no-hint",
        "validate",
        "router.threshold=850",
        "router.threshold: got 850; expected a number in [0, 1]",
    ),
    # the error copula's ρ: [0, 1) (1 would ignore the teacher's own draw; negative ρ would
    # flatter distillation further)
    _set(
        "error-correlation-one",
        "run",
        "segments.core.error_correlation=1",
        "segments[0].error_correlation: got 1; expected a number in [0, 1)",
    ),
    _set(
        "error-correlation-negative",
        "validate",
        "segments.core.error_correlation=-0.2",
        "segments[0].error_correlation: got -0.2; expected a number in [0, 1)",
    ),
    _set(
        "checks-teacher-when-flags-go-to-people",
        "run",
        "verifier.checks_teacher=true",
        'verifier.checks_teacher: got true with on_flag = "human"; the teacher never answers a '
        'flagged call then; expected on_flag = "teacher" or checks_teacher = false',
    ),
    # times: a latency, service or review longer than a day is a unit slip (ms for s)
    _set(
        "teacher-latency-constant",
        "run",
        "teacher.latency_s=100000",
        "teacher.latency_s: got value = 100000.0; expected at most 86400 s (a day)",
    ),
    _set(
        "teacher-latency-median",
        "validate",
        'teacher.latency_s={ dist = "lognormal", median = 900000, sigma = 0.4 }',
        "teacher.latency_s: got median = 900000.0; expected at most 86400 s (a day)",
    ),
    _set(
        "service-exponential-1e300",
        "validate",
        'student.service_s={ dist = "exponential", mean = 1e300 }',
        "student.service_s.mean: got 1e+300; expected a number in (0, 1000000000]",
    ),
    _set(
        "verifier-latency",
        "validate",
        "verifier.latency_s=90000",
        "verifier.latency_s: got value = 90000.0; expected at most 86400 s (a day)",
    ),
    _set(
        "review-time",
        "validate",
        'human.review_s={ dist = "exponential", mean = 200000 }',
        "human.review_s: got mean = 200000.0; expected at most 86400 s (a day)",
    ),
    _set(
        "seconds-per-token",
        "validate",
        "student.seconds_per_output_token=1e308",
        "student.seconds_per_output_token: got 1e+308; expected a number in [0, 60]",
    ),
    _set(
        "deadline",
        "validate",
        "router.deadline_s=1e308",
        "router.deadline_s: got 1e+308; expected a number in [0, 2592000]",
    ),
    _set(
        "bypass",
        "validate",
        "router.bypass_queue_s=1e9",
        "router.bypass_queue_s: got 1000000000.0; expected a number in [0, 2592000]",
    ),
    # tokens and distribution shapes
    _set(
        "tokens-in-constant",
        "validate",
        "segments.core.tokens_in=100000000",
        "segments[0].tokens_in: got value = 100000000.0; expected at most 10000000 tokens",
    ),
    _set(
        "tokens-out-1e308",
        "run",
        "segments[0].tokens_out=1e308",
        "segments[0].tokens_out.value: got 1e+308; expected a number in [0, 1000000000]",
    ),
    _set(
        "beta-shape",
        "validate",
        'segments.core.confidence_correct={ dist = "beta", a = 1e300, b = 2 }',
        "segments[0].confidence_correct.a: got 1e+300; expected a number in (0, 1000000]",
    ),
    _set(
        "logit-normal-mu",
        "validate",
        'segments.core.confidence_wrong={ dist = "logit_normal", mu = 1e300, sigma = 1 }',
        "segments[0].confidence_wrong.mu: got 1e+300; expected a number in [-100, 100]",
    ),
    _set(
        "logit-normal-sigma",
        "validate",
        'segments.core.confidence_wrong={ dist = "logit_normal", mu = 0, sigma = 50 }',
        "segments[0].confidence_wrong.sigma: got 50; expected a number in [0, 10]",
    ),
    # traffic shape, weights, days
    _file(  # in the file: --set reaching random_walk fields is another part of issue 12
        "volatility-1e300",
        "volatility_per_month = 0.1",
        "volatility_per_month = 1e300",
        "drift[1].volatility_per_month: got 1e+300; expected a number in [0, 2]",
    ),
    _set(
        "segment-weight",
        "validate",
        "segments.core.weight=1e308",
        "segments[0].weight: got 1e+308; expected a number in [0, 1000000000]",
    ),
    _set(
        "mix-weight",
        "validate",
        "drift[0].weights.core=1e308",
        "drift[0].weights.core: got 1e+308; expected a number in [0, 1000000000]",
    ),
    _set(
        "weekly-factor",
        "validate",
        "traffic.weekly=[1e308, 1, 1, 1, 1, 1, 1]",
        "traffic.weekly[0]: got 1e+308; expected a number in [0, 1000000000]",
    ),
    _set(
        "outage-hours",
        "validate",
        "teacher.outages[0].hours=1e308",
        "teacher.outages[0].hours: got 1e+308; expected a number in (0, 876000]",
    ),
    _set(
        "drift-start-day",
        "validate",
        "drift[0].start_day=1e300",
        "drift[0].start_day: got 1e+300; expected a number in [0, 36500]",
    ),
    _set(
        "horizon",
        "validate",
        "scenario.horizon_days=1e300",
        "scenario.horizon_days: got 1e+300; expected a number in (0, 36500]",
    ),
    _set(
        "window-hours",
        "validate",
        "monitoring.window_hours=1e300",
        "monitoring.window_hours: got 1e+300; expected a number in (0, 876000]",
    ),
    Case(
        "two-problems-two-lines",
        [
            "validate",
            "s.toml",
            "--set",
            "teacher.input_usd_per_mtok=1e308",
            "--set",
            "router.threshold=85",
        ],
        [
            "teacher.input_usd_per_mtok: got 1e+308; expected a number in [0, 1000000]",
            "router.threshold: got 85; expected a number in [0, 1]; 85 looks like a percentage",
        ],
        files=FILES,
        lines=2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed(case, tmp_path):
    check(case, tmp_path)


def test_base_is_valid(tmp_path):
    """The corpus's base scenario itself passes, so each case fails for its one change."""
    from sim.scenario.loading import load_scenario

    (tmp_path / "s.toml").write_text(BASE, encoding="utf-8")
    load_scenario(tmp_path / "s.toml")
