"""Executors: a real Dask LocalCluster gives the local process pool's rows exactly; an
unreachable scheduler is one line and exit 2; drawing a tick's uniforms inline (sweep workers)
or on the helper thread gives bit-identical aggregates."""

import dataclasses
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from sim.batch import executors
from sim.cli import app
from sim.engine import control as engine
from sim.problems import BadInput
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
AXES = ("--grid", "router.threshold=0.6,0.8", "--grid", "student.servers=2,3")


def sweep_table(out: Path, *args: str) -> pl.DataFrame:
    result = CliRunner().invoke(
        app,
        ["sweep", str(SCENARIOS / "ticket-triage.toml"), "--set", "scenario.horizon_days=0.2",
         *AXES, "--replications", "2", "--out", str(out), "--json", *args],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return pl.read_parquet(out / "sweep.parquet")


def test_dask_local_cluster_rows_equal_the_process_pools(tmp_path):
    pool = sweep_table(tmp_path / "pool", "--workers", "2")
    dask = sweep_table(tmp_path / "dask", "--cluster", "local", "--workers", "2")
    assert pool.height == 4 * 2 + 4
    assert dask.equals(pool)
    one = sweep_table(tmp_path / "one", "--workers", "1")  # one worker draws on its helper thread
    assert one.equals(pool)


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path):
    args = [sys.executable, "-m", "sim", "sweep", str(SCENARIOS / "ticket-triage.toml"),
            "--grid", "router.threshold=0.6,0.8", "--cluster", "tcp://127.0.0.1:1",
            "--out", str(tmp_path / "never")]  # fmt: skip
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith('--cluster: got "tcp://127.0.0.1:1", no Dask scheduler answered within')
    assert not (tmp_path / "never").exists()


def test_a_server_that_is_not_a_scheduler_is_one_line_not_a_crash():
    """Something listening that answers with bytes Dask reads as a huge frame length."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer_garbage() -> None:
        connection, _ = server.accept()
        connection.sendall(b"\x7f" * 64)
        time.sleep(10)
        connection.close()

    threading.Thread(target=answer_garbage, daemon=True).start()
    with pytest.raises(BadInput) as bad:
        executors.start(cluster=f"tcp://127.0.0.1:{port}")
    (line,) = bad.value.problems
    assert line.startswith(f'--cluster: got "tcp://127.0.0.1:{port}", no Dask scheduler answered')
    server.close()


@pytest.mark.parametrize(
    ("workers", "cluster", "line"),
    [
        (0, None, "--workers: got 0; expected an integer ≥ 1"),
        (None, "127.0.0.1", '--cluster: got "127.0.0.1"; expected local or a scheduler address'),
        (None, "http://x:1", '--cluster: got "http://x:1"; expected local or a scheduler address'),
    ],
)
def test_bad_workers_or_cluster(workers, cluster, line):
    with pytest.raises(BadInput) as bad:
        executors.check(workers, cluster)
    (got,) = bad.value.problems
    assert got.startswith(line)
    executors.check(None, "tcp://10.0.0.5:8786")
    executors.check(2, "local")


@pytest.mark.parametrize(
    ("name", "days"),
    [("ticket-triage.toml", 2), ("code-fix-verify.toml", 2), ("new-product-launch.toml", 100)],
)
def test_inline_draws_are_bit_identical_to_the_helper_threads(name, days):
    scenario = load_scenario(SCENARIOS / name, [f"scenario.horizon_days={days}"])
    threaded = engine.run_one(scenario, 1, prefetch=True)
    inline = engine.run_one(scenario, 1, prefetch=False)
    for field in dataclasses.fields(threaded):
        if field.name == "kernel_s":  # wall time
            continue
        mine, theirs = getattr(threaded, field.name), getattr(inline, field.name)
        if isinstance(mine, np.ndarray | float):
            assert np.array_equal(mine, theirs, equal_nan=True), field.name
        elif field.name == "sample":
            assert all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))
        else:
            assert mine == theirs, field.name
    assert threaded.counts.sum() > 0
