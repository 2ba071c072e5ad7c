"""Data files the simulator reads (samples, traces, logs): their formats and read errors."""

from __future__ import annotations

from pathlib import Path

from sim.problems import BadInput, show

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def format_of(path: Path) -> str:
    """The file's format from its extension; BadInput naming the file when there is none."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise BadInput(
            [f"{path}: got extension {show(path.suffix)}; expected .csv, .parquet or .jsonl"]
        )
    return kind


def reason(error: BaseException) -> str:
    """A reader's error in one line: its first line, or its type when it has no message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
