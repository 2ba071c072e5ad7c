"""Small scenarios and log files for tests, as plain dicts and columns."""

import copy
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sim.scenario.loading import validate
from sim.scenario.models import Scenario

BASE: dict[str, Any] = {
    "scenario": {"name": "test", "horizon_days": 1.0, "seed": 0, "tick_s": 3600},
    "traffic": {"calls_per_day": 1_000_000},
    "segments": [
        {
            "name": "core",
            "weight": 1.0,
            "tokens_in": 600,
            "tokens_out": 40,
            "student_accuracy": 0.9,
            "teacher_accuracy": 0.97,
            "confidence_correct": {"dist": "beta", "a": 9, "b": 1.5},
            "confidence_wrong": {"dist": "beta", "a": 3, "b": 3},
        }
    ],
    "student": {
        "servers": 4,
        "concurrency": 8,
        "service_s": {"dist": "lognormal", "median": 0.1, "sigma": 0.3},
        "gpu_hour_usd": 2.5,
    },
    "teacher": {
        "input_usd_per_mtok": 3.0,
        "output_usd_per_mtok": 15.0,
        "latency_s": {"dist": "lognormal", "median": 0.8, "sigma": 0.5},
    },
    "router": {"policy": "cascade", "threshold": 0.8},
    "economics": {
        "dataset_usd": 15000,
        "training_usd": 8000,
        "maintenance_usd_per_month": 4000,
    },
}


def raw(**tables: dict[str, Any]) -> dict[str, Any]:
    """A copy of BASE with the given tables' keys updated (segments replaced whole)."""
    out = copy.deepcopy(BASE)
    for name, value in tables.items():
        if isinstance(value, dict) and name in out:
            out[name].update(value)
        else:
            out[name] = value
    return out


def scenario(**tables: dict[str, Any]) -> Scenario:
    """A validated scenario from BASE and the given table updates."""
    return validate(raw(**tables))


def write_logs(path: Path, columns: dict[str, list[Any]]) -> Path:
    """Logged student outputs as CSV, Parquet or JSONL, by the path's extension."""
    frame = pl.DataFrame(columns, strict=False)
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".jsonl":
        frame.write_ndjson(path)
    else:
        frame.write_csv(path)
    return path


def synthetic_logs(seed: int, segments: dict[str, tuple[int, float]]) -> dict[str, list[Any]]:
    """Rows of segment, confidence and correct: per segment (rows, accuracy), right answers'
    confidence Beta(9, 1.5) and wrong ones' Beta(3, 3)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {"segment": [], "confidence": [], "correct": []}
    for name, (rows, share) in segments.items():
        correct = rng.random(rows) < share
        columns["segment"] += [name] * rows
        columns["confidence"] += np.where(
            correct, rng.beta(9, 1.5, rows), rng.beta(3, 3, rows)
        ).tolist()
        columns["correct"] += correct.tolist()
    return columns
