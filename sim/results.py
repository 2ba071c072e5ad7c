"""Writing a run's files: everything into a temporary directory, then one rename."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import tomli_w

from sim import output_dir
from sim.output_dir import MANIFEST

RESULTS_ROOT = Path("results")


def new_run_directory(root: Path, scenario_name: str, label: str) -> Path:
    """results/<name>/<UTC timestamp>-<label>, never reused."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = root / scenario_name / f"{stamp}-{label}"
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
    finish: Callable[[Path], Any] | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write summary.json, scenario.toml and one Parquet file per frame atomically; `finish`
    (the report) runs on the staging directory before the rename."""
    texts = {"summary.json": summary_json(summary), "scenario.toml": tomli_w.dumps(scenario)}
    return write_directory(directory, texts, frames, finish, command="run", force=force)


def write_directory(
    directory: Path,
    texts: dict[str, str],
    frames: dict[str, pl.DataFrame],
    finish: Callable[[Path], Any] | None = None,
    *,
    command: str,
    force: bool = False,
) -> Path:
    """Write text files and Parquet frames into a hidden staging directory, then rename it.

    The manifest is written first, so a staging folder left by a killed process is recognisably
    this tool's (and removed by the next write into the same parent), and again at the end with
    every file written, so `--force` can later tell this result from a user's files."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    output_dir.remove_leftovers(directory.parent)
    staging = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    if staging.exists():  # this PID's own name: a dead process's, or an earlier try
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        (staging / MANIFEST).write_text(output_dir.manifest_text(command, []), encoding="utf-8")
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        for name, frame in frames.items():
            frame.write_parquet(staging / f"{name}.parquet")
        if finish is not None:
            finish(staging)
        written = [p.name for p in staging.iterdir()]
        (staging / MANIFEST).write_text(
            output_dir.manifest_text(command, written), encoding="utf-8"
        )
        output_dir.replace_directory(staging, directory, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def write_file(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write one file through `write(temporary path)` and rename it into place, so a reader (or a
    resumed sweep) sees the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(staging)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path
