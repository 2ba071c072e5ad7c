"""One seed, one answer, whatever the thread count: every reduction feeding summary.json and the
Parquet files sums in a fixed order.

Before the fix, a polars group_by summed a replication's ticks across its threads in an order that
varied between calls: on 2,880 hourly ticks (ticket-triage, 120 days) the same aggregates gave
fixed_usd 25999.99999999948 or 25999.999999998836 within one process under 2 threads, and 3 of 5
CLI runs differed in the last digits of the cost terms. These tests use 2,880 one-minute ticks (two
days, few calls) so they stay fast while giving polars as many rows to split.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.analysis import metrics
from sim.engine.control import run_fast
from sim.results import summary_json
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "ticket-triage.toml"
MANY_TICKS = [
    "scenario.horizon_days=2",
    "scenario.tick_s=60",
    "traffic.calls_per_day=1000",
]
COMPARED = ("summary.json", "scenario.toml", "timeseries.parquet", "events.parquet")


def test_repeated_totals_of_one_run_are_identical():
    """The same aggregates reduced 1,000 times in one process (polars on every core): one answer.
    Before the fix, under 2 threads, 6 of 400 reductions of these aggregates differed in the last
    digits, so 1,000 tries miss a regression with probability below 1e-6."""
    scenario = load_scenario(SCENARIO, MANY_TICKS)
    aggs = run_fast(scenario, 0, 1)
    raw = metrics.tick_frame(scenario, aggs)
    answers = {repr(metrics.per_replication(scenario, raw, aggs)) for _ in range(1000)}
    assert len(answers) == 1
    texts = {summary_json(metrics.summarize(scenario, 0, aggs)) for _ in range(5)}
    assert len(texts) == 1
    series = {metrics.timeseries(raw).write_ipc(None).getvalue() for _ in range(5)}
    assert len(series) == 1


def test_totals_match_the_exact_cost_formula():
    """An independent check that the fixed-order sums are the sums: fixed cost is D + T plus the
    monthly upkeep pro rata, GPU cost servers × price × hours."""
    scenario = load_scenario(SCENARIO, MANY_TICKS)
    summary = metrics.summarize(scenario, 0, run_fast(scenario, 0, 1))
    econ, student = scenario.economics, scenario.student
    days = scenario.scenario.horizon_days
    fixed = econ.dataset_usd + econ.training_usd + econ.maintenance_usd_per_month * days / 30
    gpu = student.servers * student.gpu_hour_usd * days * 24
    assert summary["cost"]["fixed_usd"] == pytest.approx(fixed, rel=1e-12)
    assert summary["cost"]["student_gpu_usd"] == pytest.approx(gpu, rel=1e-12)


# the CLI's run without its report (drawings, not answers, and the slowest part to write)
WRITE_RUN = """
import sys
from pathlib import Path
from sim import results, runner
from sim.analysis import metrics
scenario = runner.load(Path(sys.argv[1]), sys.argv[3:])
result = runner.run(scenario)
frames = {"timeseries": result.timeseries, "events": runner.events_frame(result.aggregates)}
results.write_run(Path(sys.argv[2]), result.summary, runner.resolved(scenario), frames)
again = {
    results.summary_json({**metrics.summarize(scenario, 0, result.aggregates), "engine": "fast"})
    for _ in range(30)
}
print(len(again | {results.summary_json(result.summary)}))
"""


def _start(out: Path, threads: int) -> subprocess.Popen[str]:
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    argv = [sys.executable, "-c", WRITE_RUN, str(SCENARIO), str(out), *MANY_TICKS]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


def test_cli_files_are_identical_bytes_under_any_polars_thread_count(tmp_path):
    """summary.json, the resolved scenario and the Parquet files, as `run` writes them: byte for
    byte under 1, 2 and 4 polars threads; and within each process, 30 more summaries of the same
    aggregates are the same text."""
    started = {t: _start(tmp_path / f"threads-{t}", t) for t in (1, 2, 4)}
    for threads, process in started.items():
        stdout, _ = process.communicate(timeout=300)
        assert process.returncode == 0
        assert stdout.strip() == "1", f"{threads} threads: {stdout.strip()} different summaries"
    files = {
        t: {name: (tmp_path / f"threads-{t}" / name).read_bytes() for name in COMPARED}
        for t in started
    }
    for threads in (2, 4):
        for name in COMPARED:
            assert files[threads][name] == files[1][name], (name, threads)
