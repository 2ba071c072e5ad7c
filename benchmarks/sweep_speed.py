"""Sweep throughput on one and two workers, and the scheduling overhead of a 1-second point.

Run from anywhere with the project's venv (about a minute; nothing else should be running):

    .venv/bin/python benchmarks/sweep_speed.py            # 16 points of about 1 s each
    .venv/bin/python benchmarks/sweep_speed.py --quick    # 6 points of about 0.3 s, a smoke run

Public tools only: `sim.batch.sweep` (plan, execute) and `sim.batch.executors.start`, as
`distill-sim sweep`
uses them, timed with time.perf_counter, plus the whole CLI command timed in a child process.

  1. the point: ticket-triage with its horizon chosen so that one run (simulation and summary, in
     this process, numba kernels warm) takes about a second; its median over 3 runs is t_point;
  2. a grid of N such points (router.threshold) executed on a local process pool of 1 worker and
     then 2 workers: throughput once the W workers are running, (N − W) runs over the time from
     the W-th run finishing to the last. The speedup of the second worker (target ≥ 1.8×) is
     on the same work per run: two workers draw each tick's uniforms inline, so the one-worker
     baseline is also measured drawing inline. By default a single worker draws on a helper
     thread and so already uses part of the second core: the gain over that default is shown
     too. Also the execute phase's whole wall time, the one-time start-up included (the
     forkserver importing numba, scipy and polars, each worker loading the cached kernels);
  3. scheduling overhead: on 1 worker, the steady-state time per run minus t_point (target < 5%
     of a 1-second point);
  4. `python -m sim sweep` end to end (imports, pool, files and figure) with 1 and 2 workers.

Prints a table with pass/fail against the targets; exits 0 either way (1 if a child fails).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "ticket-triage.toml"
SPEEDUP = 1.8
OVERHEAD_SHARE = 0.05


def point_overrides(days: float) -> list[str]:
    return [f"scenario.horizon_days={days:.3f}", "scenario.replications=1"]


def calibrate(target_s: float) -> tuple[float, float]:
    """A horizon (days) whose run takes about target_s here, and that run's median time."""
    from sim.batch import sweep
    from sim.scenario.loading import load_scenario

    def timed(days: float) -> float:
        scenario = load_scenario(SCENARIO, point_overrides(days))
        times = []
        for _ in range(3):
            started = time.perf_counter()
            sweep.task(scenario, 0, True)  # one worker draws on its helper thread: so does this
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    timed(0.5)  # numba kernels loaded from their cache (or compiled) before anything is timed
    days = 10.0
    for _ in range(2):  # traffic grows month on month: time is not quite linear in the horizon
        days *= target_s / timed(days)
    return days, timed(days)


def execute(
    days: float, points: int, workers: int, prefetch: bool | None = None
) -> tuple[float, list[float]]:
    """The execute phase's wall time and the times runs finished (from its start)."""
    from sim.batch import executors, sweep

    axis = f"router.threshold=0.5:0.95:{points}"
    plan = sweep.plan(SCENARIO, point_overrides(days), [axis])
    out = Path(tempfile.mkdtemp(prefix="sweep-speed-"))
    try:
        pool = executors.start(workers)
        finished: list[float] = []
        started = time.perf_counter()
        try:
            sweep.execute(
                plan, out, pool, lambda: finished.append(time.perf_counter() - started), prefetch
            )
            wall = time.perf_counter() - started
        finally:
            pool.close()
        return wall, finished
    finally:
        shutil.rmtree(out, ignore_errors=True)


def cli(days: float, points: int, workers: int) -> float:
    """`python -m sim sweep` wall time, end to end."""
    out = Path(tempfile.mkdtemp(prefix="sweep-speed-cli-")) / "sweep"
    args = [sys.executable, "-m", "sim", "sweep", str(SCENARIO),
            *(a for o in point_overrides(days) for a in ("--set", o)),
            "--grid", f"router.threshold=0.5:0.95:{points}", "--workers", str(workers),
            "--out", str(out), "--json"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    shutil.rmtree(out.parent, ignore_errors=True)
    if done.returncode != 0:
        sys.exit(f"sweep failed: {done.stderr}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 points of about 0.3 s")
    options = parser.parse_args()
    points, target_s = (6, 0.3) if options.quick else (16, 1.0)
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} before starting")
    days, t_point = calibrate(target_s)
    print(f"point: ticket-triage over {days:.2f} days, {t_point:.3f} s in this process")
    wall_1, finished_1 = execute(days, points, 1)
    _, inline_1 = execute(days, points, 1, prefetch=False)
    wall_2, finished_2 = execute(days, points, 2)
    rate_1 = (points - 1) / (finished_1[-1] - finished_1[0])
    rate_1_inline = (points - 1) / (inline_1[-1] - inline_1[0])
    rate_2 = (points - 2) / (finished_2[-1] - finished_2[1])
    overhead = (1 / rate_1 - t_point) / t_point
    startup = finished_1[0] - t_point
    speedup = rate_2 / rate_1_inline
    cli_1, cli_2 = cli(days, points, 1), cli(days, points, 2)
    rows = [
        ("throughput, 1 worker, draws inline", f"{rate_1_inline:.3f} runs/s", ""),
        ("throughput, 2 workers, draws inline (default)", f"{rate_2:.3f} runs/s", ""),
        ("speedup of the second worker", f"{speedup:.2f}×",
         "PASS" if speedup >= SPEEDUP else f"FAIL (target ≥ {SPEEDUP}×)"),
        ("throughput, 1 worker, helper thread (default)", f"{rate_1:.3f} runs/s",
         f"2 workers: {rate_2 / rate_1:.2f}× this"),
        (f"{points} points, execute phase wall, 1 → 2 workers",
         f"{wall_1:.2f} → {wall_2:.2f} s", f"{wall_1 / wall_2:.2f}× with start-up"),
        ("per run on 1 worker, steady state", f"{1 / rate_1:.3f} s", f"t_point {t_point:.3f} s"),
        ("scheduling overhead per run", f"{overhead:+.1%} of the point",
         "PASS" if overhead < OVERHEAD_SHARE else f"FAIL (target < {OVERHEAD_SHARE:.0%})"),
        ("one-time start-up (pool, first run's cache load)", f"{startup:.2f} s", ""),
        ("`python -m sim sweep`, 1 worker, end to end", f"{cli_1:.2f} s", ""),
        ("`python -m sim sweep`, 2 workers, end to end", f"{cli_2:.2f} s",
         f"{cli_1 / cli_2:.2f}×"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>22}  {note}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
