"""Writing a run's files: everything into a temporary directory, then one rename."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl
import tomli_w

RESULTS_ROOT = Path("results")


def new_run_directory(root: Path, scenario_name: str, seed: int, policy: str) -> Path:
    """results/<name>/<run-id>, the run id a UTC timestamp, seed and policy, never reused."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = root / scenario_name / f"{stamp}-seed{seed}-{policy}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def summary_json(summary: dict[str, Any]) -> str:
    """The summary as stable JSON text (sorted keys, so equal summaries are equal bytes)."""
    return json.dumps(summary, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_run(
    directory: Path,
    summary: dict[str, Any],
    scenario: dict[str, Any],
    frames: dict[str, pl.DataFrame],
) -> Path:
    """Write summary.json, scenario.toml and one Parquet file per frame atomically."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        (staging / "summary.json").write_text(summary_json(summary), encoding="utf-8")
        (staging / "scenario.toml").write_text(tomli_w.dumps(scenario), encoding="utf-8")
        for name, frame in frames.items():
            frame.write_parquet(staging / f"{name}.parquet")
        if directory.exists():
            retired = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            directory.rename(retired)
            staging.rename(directory)
            shutil.rmtree(retired)
        else:
            staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory
