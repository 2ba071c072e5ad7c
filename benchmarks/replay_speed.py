"""Trace replay benchmark: replay throughput and memory as the trace grows.

    .venv/bin/python benchmarks/replay_speed.py            # 1 M and 10 M-row traces (~2 min)
    .venv/bin/python benchmarks/replay_speed.py --quick    # 0.2 M and 1 M rows (~30 s)

It writes synthetic traces in the Azure file's own format (CSV, `YYYY-MM-DD HH:MM:SS.fffffff`
timestamps, CRLF line ends, prompt and completion tokens) with polars, then replays each through
`distill-sim run` (cascade, no loop) in a child process and reports wall time, calls per second
(validation scan, streaming parse and simulation together) and the child's peak RSS
(resource.getrusage(RUSAGE_CHILDREN).ru_maxrss of a fresh child each time). Streaming means the peak
RSS stays flat while the trace grows tenfold; the file's size is printed next to it.

A script, not a test: it prints a table and exits 0 (1 only if a child fails).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "azure-conv-replay.toml"
MIB = 1024**2


def write_trace(path: Path, rows: int, seed: int) -> None:
    """A Poisson trace at 100 calls/s with lognormal tokens, in the Azure CSV layout."""
    rng = np.random.default_rng(seed)
    gaps_ns = rng.exponential(0.01, rows) * 1e9
    t_ns = np.cumsum(gaps_ns).astype(np.int64) + 1_700_000_000 * 10**9
    frame = pl.DataFrame(
        {
            "t": pl.Series(t_ns).cast(pl.Datetime("ns")),
            "ContextTokens": rng.lognormal(6.5, 0.8, rows).astype(np.int64),
            "GeneratedTokens": rng.lognormal(5.0, 0.9, rows).astype(np.int64),
        }
    ).select(
        pl.col("t").dt.strftime("%Y-%m-%d %H:%M:%S%.f").str.slice(0, 27).alias("TIMESTAMP"),
        "ContextTokens",
        "GeneratedTokens",
    )
    frame.write_csv(path, line_terminator="\r\n")


def replay(trace: Path, out: Path) -> dict[str, float]:
    """One child process: `distill-sim run` on the trace; wall, calls, peak RSS."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "if done.returncode: sys.stderr.write(done.stderr); sys.exit(1)\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps({'wall': wall, 'rss': rss, 'summary': json.loads(done.stdout)}))\n"
    )
    command = [
        str(Path(sys.executable).with_name("distill-sim")),
        "run",
        str(SCENARIO),
        "--set",
        f'traffic.trace.path="{trace}"',
        "--set",
        "traffic.trace.loop=false",
        "--set",
        "scenario.horizon_days=365",
        "--out",
        str(out),
        "--json",
    ]
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(1)
    result = json.loads(done.stdout)
    return {"wall": result["wall"], "rss": result["rss"], "calls": result["summary"]["calls"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller traces")
    args = parser.parse_args()
    sizes = [200_000, 1_000_000] if args.quick else [1_000_000, 10_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small = work / "warm.csv"
        write_trace(small, 10_000, 0)
        replay(small, work / "warm")  # compile or load the numba cache once
        print(
            f"{'trace rows':>12} {'file MiB':>9} {'wall s':>8} {'calls/s':>12} {'peak RSS MiB':>13}"
        )
        for i, rows in enumerate(sizes):
            trace = work / f"trace-{rows}.csv"
            write_trace(trace, rows, i + 1)
            r = replay(trace, work / f"out-{rows}")
            assert r["calls"] == rows, (r["calls"], rows)
            print(
                f"{rows:>12,} {trace.stat().st_size / MIB:>9.0f} {r['wall']:>8.2f} "
                f"{r['calls'] / r['wall']:>12,.0f} {r['rss'] / MIB:>13.0f}"
            )
            trace.unlink()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - started:.0f} s")
