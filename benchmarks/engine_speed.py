"""Engine speed and memory benchmark: fast engine vs reference engine, 100 M calls, quickstart.

Run from anywhere with the project's venv:

    .venv/bin/python benchmarks/engine_speed.py            # full sizes (~1.5 min)
    .venv/bin/python benchmarks/engine_speed.py --quick    # smaller sizes, a smoke check (~15 s)

Everything runs on ONE core: numba is held to one thread (NUMBA_NUM_THREADS=1, set before numba is
imported) and, unless --all-cpus is given, the process is pinned to a single CPU with
os.sched_setaffinity, which the subprocesses inherit. Pinning matters: the fast engine draws each
tick's uniforms on a helper thread while the kernel runs, and on one CPU that thread shares the
core with the kernel instead of hiding behind it on a second one.

Measured (time.perf_counter, resource.getrusage, subprocess only):
  1. fast engine (sim.engine.control.run_fast) on ticket-triage over 90 days (~14 M calls),
     median of 3 runs after a tiny JIT warm-up: end-to-end and kernel-only calls/s;
  2. reference engine (sim.engine.reference.run_reference) on a 2-day horizon (~0.36 M calls);
  3. ~100 M calls through the CLI in a child process: its wall time and peak RSS
     (resource.getrusage(RUSAGE_CHILDREN).ru_maxrss, the child being this script's first);
  4. warm `distill-sim run scenarios/ticket-triage.toml --out <tmp>` on both cores (a newcomer's
     run, report included): median of 3 after a warm-up.

This is a script, not a test: it prints a table with pass/fail against the targets and exits 0
either way (1 only if a child process fails).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Before numba (imported lazily, with sim) is loaded; inherited by every child process.
os.environ["NUMBA_NUM_THREADS"] = "1"
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "ticket-triage.toml"
BASE_CALLS_PER_DAY = 150_000  # ticket-triage.toml's traffic.calls_per_day
GIB = 1024**3

# Targets
KERNEL_CALLS_PER_S = 10e6  # fast-engine kernel, one core
SPEEDUP = 150.0  # fast vs reference, calls/s
BIG_RSS_BYTES = 1 * GIB  # peak RSS of a 100 M-call run
QUICKSTART_S = 3.0  # warm `distill-sim run scenarios/ticket-triage.toml`

FULL = {
    "fast_overrides": ["scenario.horizon_days=90"],  # ~14 M calls
    "fast_repeats": 3,
    "min_fast_calls": 10_000_000,
    "ref_overrides": ["scenario.horizon_days=2"],  # ~0.36 M calls, ~10 s
    "big_calls": 100_000_000,
    "quickstart_repeats": 3,
}
QUICK = {
    "fast_overrides": ["scenario.horizon_days=7"],  # ~1 M calls
    "fast_repeats": 1,
    "min_fast_calls": 500_000,
    "ref_overrides": ["scenario.horizon_days=0.25"],  # ~40 k calls
    "big_calls": 10_000_000,
    "quickstart_repeats": 1,
}

sys.path.insert(0, str(ROOT))  # `python benchmarks/engine_speed.py` without an installed package


def pin_to_one_cpu() -> str:
    """Restrict this process (and its future children) to its lowest allowed CPU."""
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {allowed[0]})
    return f"pinned to CPU {allowed[0]} (of {len(allowed)} allowed)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def calls_of(aggs: list) -> int:
    return int(sum(agg.counts[:, :, 0].sum() for agg in aggs))


def bench_fast(sizes: dict) -> dict:
    """Warm the JIT, then time run_fast on the scenario; medians over the repeats."""
    from sim.engine.control import run_fast
    from sim.scenario.loading import load_scenario

    started = time.perf_counter()
    tiny = load_scenario(SCENARIO, ["scenario.horizon_days=1"])
    run_fast(tiny, tiny.scenario.seed, 1)
    warm_s = time.perf_counter() - started

    scenario = load_scenario(SCENARIO, sizes["fast_overrides"])
    runs = []
    for _ in range(sizes["fast_repeats"]):
        started = time.perf_counter()
        aggs = run_fast(scenario, scenario.scenario.seed, scenario.scenario.replications)
        wall = time.perf_counter() - started
        runs.append((wall, sum(agg.kernel_s for agg in aggs), calls_of(aggs)))
    walls = [r[0] for r in runs]
    kernels = [r[1] for r in runs]
    calls = runs[0][2]  # same seed, same calls every repeat
    return {
        "warm_s": warm_s,
        "calls": calls,
        "wall_s": statistics.median(walls),
        "kernel_s": statistics.median(kernels),
        "e2e": calls / statistics.median(walls),
        "kernel": calls / statistics.median(kernels),
        "walls": walls,
        "kernel_rates": [calls / k for k in kernels],
        "horizon_days": scenario.scenario.horizon_days,
    }


def bench_reference(sizes: dict) -> dict:
    from sim.engine.reference import run_reference
    from sim.scenario.loading import load_scenario

    scenario = load_scenario(SCENARIO, sizes["ref_overrides"])
    started = time.perf_counter()
    aggs = run_reference(scenario, scenario.scenario.seed, scenario.scenario.replications)
    wall = time.perf_counter() - started
    calls = calls_of(aggs)
    return {
        "calls": calls,
        "wall_s": wall,
        "rate": calls / wall,
        "horizon_days": scenario.scenario.horizon_days,
    }


def cli() -> list[str]:
    exe = Path(sys.executable).parent / "distill-sim"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("distill-sim")
    return [found] if found else [sys.executable, "-m", "sim"]


ALL_CPUS = sorted(os.sched_getaffinity(0))  # read before pinning


def run_child(
    args: list[str], whole_machine: bool = False
) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    unpin = (lambda: os.sched_setaffinity(0, ALL_CPUS)) if whole_machine else None
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, preexec_fn=unpin)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(f"child failed ({done.returncode}): {' '.join(args)}\n{done.stderr}\n")
        raise SystemExit(1)
    return wall, done


def bench_big(sizes: dict, calls_per_base_day: float, tmp: Path) -> dict:
    """A run of ~big_calls through the CLI, as this script's first child process."""
    before_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # scale the day's rate from the measured fast run, 1 % over so the run reaches the target
    per_day = int(round(BASE_CALLS_PER_DAY * sizes["big_calls"] / calls_per_base_day * 1.01, -3))
    args = [*cli(), "run", str(SCENARIO), "--set", f"traffic.calls_per_day={per_day}"]
    args += ["--json", "--out", str(tmp / "big")]
    wall, done = run_child(args)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    calls = int(json.loads(done.stdout)["calls"])
    return {
        "calls_per_day": per_day,
        "calls": calls,
        "wall_s": wall,
        "rate": calls / wall,
        "peak_rss_bytes": peak_kb * 1024,
        "clean": before_kb == 0,  # no earlier child could have set the maximum
    }


def bench_quickstart(sizes: dict, tmp: Path) -> dict:
    def once(i: int) -> float:
        # a newcomer's run uses the whole machine: the kernels and the random-number thread
        # and the report's imports overlap on the two cores
        args = [*cli(), "run", str(SCENARIO), "--out", str(tmp / f"quick{i}")]
        wall, _ = run_child(args, whole_machine=True)
        return wall

    warmup = once(0)
    walls = [once(i + 1) for i in range(sizes["quickstart_repeats"])]
    return {"warmup_s": warmup, "walls": walls, "median_s": statistics.median(walls)}


def scenario_horizon_days() -> float:
    from sim.scenario.loading import load_scenario

    return float(load_scenario(SCENARIO).scenario.horizon_days)


def mega(x: float) -> str:
    return f"{x / 1e6:.2f} M"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke check")
    parser.add_argument(
        "--all-cpus",
        action="store_true",
        help="do not pin to one CPU (numba still uses one thread; the draw thread may use another)",
    )
    opts = parser.parse_args()
    sizes = QUICK if opts.quick else FULL

    pinning = "not pinned (--all-cpus)" if opts.all_cpus else pin_to_one_cpu()
    import numba
    import numpy

    print(f"engine_speed{' --quick' if opts.quick else ''}: {SCENARIO.relative_to(ROOT)}")
    print(
        f"  {cpu_model()}; one core: NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}, {pinning}"
    )
    print(
        f"  python {platform.python_version()}, numpy {numpy.__version__}, "
        f"numba {numba.__version__}"
    )

    fast = bench_fast(sizes)
    print(f"\n[1] fast engine, {fast['horizon_days']:g} days (JIT warm-up {fast['warm_s']:.2f} s)")
    print(f"    calls            {fast['calls']:,}")
    print(
        f"    wall (median)    {fast['wall_s']:.3f} s  (runs: "
        + ", ".join(f"{w:.3f}" for w in fast["walls"])
        + ")"
    )
    print(f"    kernel (median)  {fast['kernel_s']:.3f} s  (inside run_tick)")
    print(f"    end-to-end       {mega(fast['e2e'])} calls/s")
    print(
        f"    kernel-only      {mega(fast['kernel'])} calls/s  (runs: "
        + ", ".join(mega(r) for r in fast["kernel_rates"])
        + ")"
    )
    if fast["calls"] < sizes["min_fast_calls"]:
        print(f"    warning: fewer than {sizes['min_fast_calls']:,} calls")

    ref = bench_reference(sizes)
    e2e_ratio, kernel_ratio = fast["e2e"] / ref["rate"], fast["kernel"] / ref["rate"]
    print(f"\n[2] reference engine, {ref['horizon_days']:g} days")
    print(f"    calls            {ref['calls']:,}")
    print(f"    wall             {ref['wall_s']:.3f} s")
    print(f"    rate             {ref['rate'] / 1e3:.1f} k calls/s")
    print(f"    fast/reference   {e2e_ratio:.0f}x end-to-end, {kernel_ratio:.0f}x kernel-based")

    with tempfile.TemporaryDirectory(prefix="engine_speed_") as tmpdir:
        tmp = Path(tmpdir)
        horizon = scenario_horizon_days()
        calls_per_base_day = fast["calls"] / fast["horizon_days"] * horizon  # the file's horizon
        big = bench_big(sizes, calls_per_base_day, tmp)
        print(f"\n[3] CLI child, traffic.calls_per_day={big['calls_per_day']:,} ({horizon:g} days)")
        print(f"    calls            {big['calls']:,}")
        print(
            f"    wall             {big['wall_s']:.2f} s  ({mega(big['rate'])} calls/s incl."
            " start-up, metrics and files)"
        )
        print(
            f"    peak RSS         {big['peak_rss_bytes'] / 2**20:.0f} MiB"
            + ("" if big["clean"] else "  (max over earlier children too)")
        )

        quick = bench_quickstart(sizes, tmp)
        print("\n[4] warm `distill-sim run scenarios/ticket-triage.toml --out <tmp>`, both cores")
        print(f"    warm-up          {quick['warmup_s']:.2f} s")
        print("    runs             " + ", ".join(f"{w:.2f} s" for w in quick["walls"]))
        print(f"    median           {quick['median_s']:.2f} s")

    cores = "1 numba thread, all CPUs" if opts.all_cpus else "one core"
    big_label = f"{big['calls'] / 1e6:.0f} M calls peak RSS"
    rows = [
        (
            f"fast kernel-only, {cores}",
            f"{mega(fast['kernel'])} calls/s",
            f">= {mega(KERNEL_CALLS_PER_S)} calls/s",
            fast["kernel"] >= KERNEL_CALLS_PER_S,
        ),
        (f"fast end-to-end, {cores}", f"{mega(fast['e2e'])} calls/s", "(info)", None),
        ("reference", f"{ref['rate'] / 1e3:.1f} k calls/s", "(info)", None),
        (
            "fast/reference, end-to-end",
            f"{e2e_ratio:.0f}x",
            f">= {SPEEDUP:.0f}x",
            e2e_ratio >= SPEEDUP,
        ),
        (
            "fast/reference, kernel-based",
            f"{kernel_ratio:.0f}x",
            f">= {SPEEDUP:.0f}x",
            kernel_ratio >= SPEEDUP,
        ),
        (
            big_label,
            f"{big['peak_rss_bytes'] / 2**20:.0f} MiB",
            "< 1024 MiB",
            big["peak_rss_bytes"] < BIG_RSS_BYTES,
        ),
        (f"{big['calls'] / 1e6:.0f} M calls wall (CLI)", f"{big['wall_s']:.2f} s", "(info)", None),
        (
            "warm quickstart, median",
            f"{quick['median_s']:.2f} s",
            f"< {QUICKSTART_S:g} s",
            quick["median_s"] < QUICKSTART_S,
        ),
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    print(
        f"\nsummary{' (--quick: smaller sizes, targets are for full sizes)' if opts.quick else ''}"
    )
    for name, figure, target, ok in rows:
        mark = "" if ok is None else verdict(ok)
        line = f"  {name:<{widths[0]}}  {figure:>{widths[1]}}  {target:<{widths[2]}}  {mark}"
        print(line.rstrip())


if __name__ == "__main__":
    main()
