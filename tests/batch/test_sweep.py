"""`distill-sim sweep`: one row per point and replication equal to what `run` gives for that point
and replication, point means and CIs from those rows, Latin hypercube points, a failing run that
is recorded while the others go on, interrupted sweeps that resume to the same table, and bad
input as one line with exit 2."""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from sim.analysis import metrics
from sim.batch import executors, sweep
from sim.batch.executors import Workers
from sim.cli import app
from sim.problems import BadInput

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = ROOT / "scenarios" / "ticket-triage.toml"
SHORT = ("--set", "scenario.horizon_days=0.2")


def cli(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def threads() -> Workers:
    """An in-process executor: the sweep's logic without starting processes."""
    return Workers(ThreadPoolExecutor(2), 2, "threads")


def swept(out: Path, *args: object) -> dict:
    result = cli("sweep", TRIAGE, *SHORT, *args, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sweep") / "grid"
    axes = ("--grid", "router.threshold=0.6:0.9:3", "--grid", "student.servers=1,3")
    return out, swept(out, *axes, "--replications", "2", "--workers", "2")


def test_one_row_per_point_and_replication_then_the_means(grid_sweep):
    out, summary = grid_sweep
    table = pl.read_parquet(out / "sweep.parquet")
    rows = table.filter(pl.col("replication").is_not_null())
    assert rows.height == 3 * 2 * 2
    assert rows.select("point", "replication").is_unique().all()
    assert rows["router.threshold"].unique().sort().to_list() == [0.6, 0.75, 0.9]
    assert rows["student.servers"].dtype == pl.Int64
    means = table.filter(pl.col("replication").is_null())
    assert means.height == 6 and len(summary["means"]) == 6
    for mean in means.iter_rows(named=True):
        mine = rows.filter(pl.col("point") == mean["point"])
        for name in ("fallback_rate", "cost_per_call_usd", "cost.total_usd", "latency_p99_s"):
            value, interval = metrics.mean_and_ci(mine[name].to_list())
            assert mean[name] == value
            assert [mean[f"{name}.ci_low"], mean[f"{name}.ci_high"]] == interval
    assert summary["points"] == {"total": 6, "ran": 6, "skipped": 0, "failed": 0}
    assert summary["runs"] == {"total": 12, "ran": 12, "skipped": 0, "failed": 0}
    assert json.loads((out / "errors.json").read_text()) == []
    assert (out / "sweep.png").stat().st_size > 10_000


def test_a_row_is_what_run_gives_for_that_point_and_replication(grid_sweep, tmp_path):
    """Seeds come from the replication index: replication r of a point is run's replication r."""
    out, _ = grid_sweep
    result = cli("run", TRIAGE, *SHORT, "--set", "router.threshold=0.75", "--set",
                 "student.servers=3", "--replications", "2", "--out", tmp_path / "run",
                 "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # the point's mean and CI are run's over the same two replications
    mean = pl.read_parquet(out / "sweep.parquet").filter(
        (pl.col("router.threshold") == 0.75)
        & (pl.col("student.servers") == 3)
        & pl.col("replication").is_null()
    )
    assert mean["fallback_rate"][0] == pytest.approx(summary["fallback_rate"], rel=1e-12)
    assert [mean["fallback_rate.ci_low"][0], mean["fallback_rate.ci_high"][0]] == pytest.approx(
        summary["ci95"]["fallback_rate"], rel=1e-12
    )
    single = cli("run", TRIAGE, *SHORT, "--set", "router.threshold=0.75", "--set",
                 "student.servers=3", "--out", tmp_path / "one", "--json")  # fmt: skip
    first = pl.read_parquet(out / "sweep.parquet").filter(
        (pl.col("router.threshold") == 0.75)
        & (pl.col("student.servers") == 3)
        & (pl.col("replication") == 0)
    )
    assert first["calls"][0] == json.loads(single.stdout)["calls"]
    assert first["fallback_rate"][0] == json.loads(single.stdout)["fallback_rate"]


def test_rerun_skips_every_finished_run(grid_sweep):
    out, _ = grid_sweep
    before = pl.read_parquet(out / "sweep.parquet")
    again = swept(out, "--grid", "router.threshold=0.6:0.9:3", "--grid", "student.servers=1,3",
                  "--replications", "2")  # fmt: skip
    assert again["runs"] == {"total": 12, "ran": 0, "skipped": 12, "failed": 0}
    assert again["points"]["skipped"] == 6
    assert pl.read_parquet(out / "sweep.parquet").equals(before)


def test_a_different_sweep_into_the_same_out_is_refused(grid_sweep):
    out, _ = grid_sweep
    result = cli("sweep", TRIAGE, *SHORT, "--grid", "router.threshold=0.6:0.9:4", "--out", out)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f'--out: got "{out}"; expected the same FILE') and "--force" in line


def test_latin_hypercube_puts_one_point_in_each_slice():
    specs = ["router.threshold=0.5:0.9", "student.servers=1:8"]
    points = sweep.latin_hypercube(specs, 8, seed=3)
    assert points == sweep.latin_hypercube(specs, 8, seed=3)
    assert points != sweep.latin_hypercube(specs, 8, seed=4)
    thresholds = np.array([p["router.threshold"] for p in points])
    assert sorted(np.floor((thresholds - 0.5) / 0.05).astype(int).tolist()) == list(range(8))
    servers = [p["student.servers"] for p in points]
    assert all(isinstance(s, int) for s in servers) and sorted(servers) == list(range(1, 9))


def test_random_sweep_from_the_cli(tmp_path):
    summary = swept(tmp_path / "lhs", "--grid", "router.threshold=0.5:0.9", "--random", "3",
                    "--workers", "1")  # fmt: skip
    assert summary["points"]["ran"] == 3
    values = sorted(m["router.threshold"] for m in summary["means"])
    assert all(0.5 <= v <= 0.9 for v in values) and len(set(values)) == 3


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path, monkeypatch):
    real = sweep.task

    def flaky(scenario, replication, prefetch):
        if scenario.router.threshold == 0.7:
            raise RuntimeError("the GPU caught fire")
        return real(scenario, replication, prefetch)

    monkeypatch.setattr(sweep, "task", flaky)
    monkeypatch.setattr(executors, "start", lambda workers, cluster: threads())
    out = tmp_path / "flaky"
    result = cli("sweep", TRIAGE, *SHORT, "--grid", "router.threshold=0.6,0.7,0.8", "--out", out,
                 "--json")  # fmt: skip
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["points"] == {"total": 3, "ran": 2, "skipped": 0, "failed": 1}
    (error,) = json.loads((out / "errors.json").read_text())
    assert error["point"] == 1 and error["error"] == "RuntimeError: the GPU caught fire"
    table = pl.read_parquet(out / "sweep.parquet")
    assert sorted(table["point"].unique().to_list()) == [0, 2]
    monkeypatch.setattr(sweep, "task", real)  # fixed: the rerun runs only what failed
    again = json.loads(cli("sweep", TRIAGE, *SHORT, "--grid", "router.threshold=0.6,0.7,0.8",
                           "--out", out, "--json").stdout)  # fmt: skip
    assert again["runs"] == {"total": 3, "ran": 1, "skipped": 2, "failed": 0}


# --- interrupted sweeps ---------------------------------------------------------------------------

SLOW = ("--set", "scenario.horizon_days=10", "--grid", "router.threshold=0.5:0.9:10")


def start(out: Path, workers: int) -> subprocess.Popen:
    args = [sys.executable, "-m", "sim", "sweep", str(TRIAGE), *SLOW, "--out", str(out),
            "--workers", str(workers), "--json"]  # fmt: skip
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(out: Path) -> int:
    return len(list((out / "runs").glob("*.parquet"))) if (out / "runs").is_dir() else 0


def wait_for(out: Path, count: int, process: subprocess.Popen) -> None:
    """Until `count` runs are on disk (the sweep still running)."""
    for _ in range(1200):
        if finished(out) >= count or process.poll() is not None:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the sweep ended before it could be interrupted"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> pl.DataFrame:
    out = tmp_path_factory.mktemp("whole") / "sweep"
    process = start(out, 2)
    assert process.wait(timeout=600) == 0, process.stderr.read()  # type: ignore[union-attr]
    return pl.read_parquet(out / "sweep.parquet")


def test_sigint_then_sigkill_then_resume_gives_the_same_table(tmp_path, uninterrupted):
    out = tmp_path / "sweep"
    first = start(out, 1)
    wait_for(out, 2, first)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130
    assert "interrupted: finished runs are kept" in first.stderr.read().decode()  # type: ignore[union-attr]
    kept = finished(out)
    assert 2 <= kept < 10
    second = start(out, 1)
    wait_for(out, kept + 1, second)
    second.kill()
    second.wait(timeout=60)
    kept_again = finished(out)
    assert kept < kept_again < 10
    third = start(out, 2)
    assert third.wait(timeout=600) == 0
    summary = json.loads(third.stdout.read())  # type: ignore[union-attr]
    assert summary["runs"]["skipped"] == kept_again
    assert summary["runs"]["ran"] == 10 - kept_again
    table = pl.read_parquet(out / "sweep.parquet")
    assert table.filter(pl.col("replication").is_not_null())["point"].to_list() == list(range(10))
    assert table.equals(uninterrupted)


def children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def test_a_killed_worker_loses_nothing(tmp_path, uninterrupted):
    out = tmp_path / "sweep"
    process = start(out, 2)
    wait_for(out, 1, process)
    workers = [w for c in children(process.pid) for w in children(c)]  # forkserver → workers
    assert workers, "no worker processes found"
    os.kill(workers[0], signal.SIGKILL)
    assert process.wait(timeout=600) == 0, process.stderr.read()  # type: ignore[union-attr]
    assert pl.read_parquet(out / "sweep.parquet").equals(uninterrupted)


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--grid", "router.treshold=0.5:0.9:3"),
         "--grid router.treshold: unknown field 'treshold' (did you mean 'threshold'?)"),
        (("--grid", "router.threshold=5:5:0"),
         "--grid router.threshold: got n = 0; expected an integer from 1 to 10000"),
        (("--grid", "router.threshold=0.9:0.5", "--random", "4"),
         '--grid router.threshold: got "0.9:0.5", an empty range; expected lo < hi'),
        (("--grid", "router.threshold=0.5,0.9", "--random", "4"),
         '--grid router.threshold: got "0.5,0.9"; expected lo:hi with finite numbers'),
        (("--grid", "router.threshold=0.5:0.9", "--random", "0"),
         "--random: got 0; expected a number of points ≥ 1"),
        (("--grid", "router.threshold=0.5,1.5"),
         "router.threshold: got 1.5; expected a number in [0, 1]"),
        ((), "--grid: got none; expected at least one path=lo:hi:n or path=a,b,c"),
        (("--grid", "router.threshold=0.5,0.9", "--workers", "0"),
         "--workers: got 0; expected an integer ≥ 1"),
        (("--grid", "router.threshold=0.5,0.9", "--cluster", "nowhere"),
         '--cluster: got "nowhere"; expected local or a scheduler address'),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, line):
    out = tmp_path / "never"
    result = cli("sweep", TRIAGE, *SHORT, *args, "--out", out)
    assert result.exit_code == 2, result.output
    (got,) = result.stderr.splitlines()
    assert got.startswith(line), got
    assert not out.exists()


def test_bad_input_lines_name_every_problem_before_any_run():
    with pytest.raises(BadInput) as bad:
        sweep.latin_hypercube(["a.b=1:0", "c.d=x"], 3, 0)
    assert len(bad.value.problems) == 2


def test_workers_do_not_outlive_a_killed_sweep(tmp_path):
    out = tmp_path / "sweep"
    process = start(out, 2)
    wait_for(out, 1, process)
    workers = [w for c in children(process.pid) for w in children(c)]
    process.kill()
    process.wait(timeout=60)
    for _ in range(200):
        if not any(Path(f"/proc/{w}").exists() for w in workers):
            break
        time.sleep(0.05)
    assert not any(Path(f"/proc/{w}").exists() for w in workers)


def test_the_table_shows_alerts_and_retrainings(tmp_path):
    """A threshold every window is over: one alert and one retraining per run at each point,
    in sweep.parquet and in the printed table."""
    sets = ("--set", "monitoring.fallback_rate_alert=0.01", "--set", 'retraining.trigger="alert"')
    result = cli("sweep", TRIAGE, *SHORT, *sets, "--grid", "router.threshold=0.7,0.9",
                 "--workers", "1", "--out", tmp_path / "s")  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(tmp_path / "s" / "sweep.parquet")
    assert table["alerts"].to_list() == table["retrains"].to_list() == [1.0] * 4
    header = next(line for line in result.stdout.splitlines() if "point" in line)
    assert "alerts" in header and "retrains" in header
