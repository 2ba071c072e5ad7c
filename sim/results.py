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
) -> Path:
    """Write summary.json, scenario.toml and one Parquet file per frame atomically; `finish`
    (the report) runs on the staging directory before the rename."""
    texts = {"summary.json": summary_json(summary), "scenario.toml": tomli_w.dumps(scenario)}
    return write_directory(directory, texts, frames, finish)


def write_directory(
    directory: Path,
    texts: dict[str, str],
    frames: dict[str, pl.DataFrame],
    finish: Callable[[Path], Any] | None = None,
) -> Path:
    """Write text files and Parquet frames into a hidden staging directory, then rename it."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        for name, text in texts.items():
            (staging / name).write_text(text, encoding="utf-8")
        for name, frame in frames.items():
            frame.write_parquet(staging / f"{name}.parquet")
        if finish is not None:
            finish(staging)
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
