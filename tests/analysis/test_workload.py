"""Runaway scenarios: refused before any work (exit 2), naming the field and the value as given."""

import pytest

from tests.malformed import Case, check

TRIAGE = "{scenarios}/ticket-triage.toml"
LAUNCH = "{scenarios}/new-product-launch.toml"
AZURE = "{scenarios}/azure-conv-replay.toml"
LIMIT = "pass --allow-large"


def _run(scenario: str, *sets: str, command: str = "run") -> list[str]:
    argv = [command, scenario]
    for item in sets:
        argv += ["--set", item]
    return argv


CASES = [
    Case(
        "calls-per-day-1e9",
        _run(TRIAGE, "traffic.calls_per_day=1e9"),
        ["traffic.calls_per_day: got 1000000000.0;", "about 6.1e10 calls (limit 1e10)", LIMIT],
        lines=1,
    ),
    Case(
        "calls-per-day-1e13-no-memory-error",
        _run(TRIAGE, "traffic.calls_per_day=1e13"),
        ["traffic.calls_per_day: got 10000000000000.0;", "(limit 1e10)"],
        lines=1,
    ),
    Case(
        "growth-per-month-100",
        _run(TRIAGE, "traffic.growth_per_month=100"),
        ["traffic.growth_per_month: got 100.0;", "GiB", LIMIT],
        lines=1,
    ),
    Case(
        "growth-per-month-100-over-a-year",
        _run(TRIAGE, "traffic.growth_per_month=100", "scenario.horizon_days=365"),
        ["traffic.growth_per_month: got 100.0;", "calls (limit 1e10)"],
    ),
    Case(
        "retraining-every-1e-9-days",
        _run(
            LAUNCH,
            'retraining.trigger="schedule"',
            "retraining.every_days=1e-9",
            "retraining.duration_days=0",
        ),
        ["retraining.every_days: got 1e-09;", "(limit 1e5)", LIMIT],
        lines=1,
    ),
    Case(
        "tick-0.1-s",
        _run(TRIAGE, "scenario.tick_s=0.1"),
        ["scenario.tick_s: got 0.1;", "ticks (limit 1e7); raise it or pass --allow-large"],
        lines=1,
    ),
    Case(
        "horizon-a-million-days",  # beyond the field's bound: refused before any estimate
        _run(TRIAGE, "scenario.horizon_days=1e6"),
        ["scenario.horizon_days: got 1000000.0; expected a number in (0, 36500]"],
        lines=1,
    ),
    Case(
        "a-century-of-minute-ticks",  # every field in range, the product too large
        _run(TRIAGE, "scenario.horizon_days=36500", "scenario.tick_s=60"),
        ["ticks (limit 1e7)"],
    ),
    Case(
        "replications-2000",
        ["run", TRIAGE, "--replications", "2000"],
        ["scenario.replications: got 2000;", "calls (limit 1e10)"],
        lines=1,
    ),
    Case(
        "trace-speedup-1e9-looped",
        _run(AZURE, "traffic.trace.speedup=1e9"),
        ["traffic.trace.speedup: got 1000000000.0;", "(limit 1e10)", LIMIT],
        lines=1,
    ),
    Case(
        "trace-rate-multiplier-1e6",
        _run(AZURE, "traffic.trace.rate_multiplier=1e6"),
        ["traffic.trace.rate_multiplier: got 1000000.0;", "(limit 1e10)"],
        lines=1,
    ),
    Case(
        "day-long-ticks-at-1e8-calls",
        _run(TRIAGE, "traffic.calls_per_day=1e8", "scenario.tick_s=86400"),
        ["scenario.tick_s: got 86400.0;", "calls at once", "GiB"],
        lines=1,
    ),
    Case(
        "compare-refuses-before-running",
        [*_run(TRIAGE, "traffic.calls_per_day=1e9", command="compare"), "--policy", "cascade"],
        ["traffic.calls_per_day: got 1000000000.0;", LIMIT],
        lines=1,
    ),
    Case(
        "compare-a-grid-point-too-large",
        ["compare", TRIAGE, "--grid", "traffic.calls_per_day=1e5,1e9"],
        ["traffic.calls_per_day: got 1000000000.0;", LIMIT],
    ),
    Case(
        "sweep-refuses-before-running",
        ["sweep", TRIAGE, "--grid", "scenario.tick_s=0.05,3600", "--workers", "1"],
        ["scenario.tick_s: got 0.05;", "ticks (limit 1e7)"],
        lines=1,
    ),
    Case(
        "stress-refuses-an-end-too-large",
        [
            "stress",
            TRIAGE,
            "--vary",
            "traffic.calls_per_day=1e5:1e12",
            "--target",
            "savings_ratio>0",
            "--workers",
            "1",
        ],
        ["traffic.calls_per_day: got 1000000000000.0;", LIMIT],
        lines=1,
    ),
    Case(
        "calls-and-retrainings-both-named",
        _run(
            LAUNCH,
            "traffic.calls_per_day=1e9",
            'retraining.trigger="schedule"',
            "retraining.every_days=1e-9",
            "retraining.duration_days=0",
        ),
        ["traffic.calls_per_day: got 1000000000.0;", "retraining.every_days: got 1e-09;"],
        lines=2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_workload(case, tmp_path):
    check(case, tmp_path)
