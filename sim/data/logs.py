"""Logged student outputs: reading a CSV, Parquet or JSONL file and checking every row."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from sim.data.formats import bad_json_line, cell, check_file, format_of, reason
from sim.problems import BadInput, did_you_mean, show

# Problems of one kind (a column's bad values) past this many are counted, not listed.
MAX_LISTED = 20
WHAT = "a CSV, Parquet or JSONL log file"
EMPTY = "empty file; expected one row per logged student answer"
_TRUE = ("true", "1")
_FALSE = ("false", "0")
# A scenario's segment names (sim.scenario.models.Segment.name); other log labels are rewritten to
# fit.
_NAME_CHAR = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class SegmentLogs:
    """One segment's rows: the student's confidence and whether its answer was right."""

    name: str  # as a scenario accepts it
    label: str  # as the logs wrote it
    confidence: np.ndarray
    correct: np.ndarray


@dataclass(frozen=True)
class Logs:
    """A checked log file, split by segment in order of first appearance."""

    path: Path
    rows: int
    segments: list[SegmentLogs]


def read_logs(path: Path, segment_column: str, confidence_column: str, correct_column: str) -> Logs:
    """Read and check a log file; raise BadInput with one line per problem."""
    columns = {"--segment-column": segment_column, "--confidence-column": confidence_column}
    columns["--correct-column"] = correct_column
    frame = _read(path, list(dict.fromkeys(columns.values())), columns)
    if frame.height == 0:
        raise BadInput([f"{path}: no data rows; expected one row per logged student answer"])
    try:
        frame = frame.select(
            pl.col(segment_column).cast(pl.String).str.strip_chars().alias("segment"),
            pl.col(confidence_column).cast(pl.String).str.strip_chars().alias("confidence_text"),
            pl.col(correct_column).cast(pl.String).str.strip_chars().alias("correct_text"),
        ).with_row_index("row", offset=1)
    except pl.exceptions.PolarsError:
        nested = [f"{show(c)} ({frame.schema[c]})" for c in frame.columns]
        raise BadInput(
            [f"{path}: columns {', '.join(nested)}: expected text, numbers or booleans"]
        ) from None
    frame = frame.with_columns(
        pl.col("confidence_text").cast(pl.Float64, strict=False).alias("confidence"),
        pl.col("correct_text").str.to_lowercase().alias("correct_word"),
    ).with_columns(
        pl.col("correct_word").cast(pl.Float64, strict=False).alias("correct_number"),
    )
    problems = _row_problems(frame, path, segment_column, confidence_column, correct_column)
    if problems:
        raise BadInput(problems)
    correct = pl.col("correct_word").is_in(_TRUE) | (pl.col("correct_number") == 1.0)
    frame = frame.with_columns(correct.alias("correct"))
    return Logs(path, frame.height, _split(frame, path))


def _read(path: Path, wanted: list[str], flags: dict[str, str]) -> pl.DataFrame:
    """The wanted columns of the file, every other problem with the file raised as BadInput."""
    check_file(path, None, WHAT)
    kind = format_of(path)
    check_file(path, kind, WHAT)
    if path.stat().st_size == 0:
        raise BadInput([f"{path}: {EMPTY}"])
    try:
        if kind == "csv":
            available = pl.read_csv(path, n_rows=0, infer_schema=False).columns
        elif kind == "parquet":
            available = list(pl.read_parquet_schema(path))
        else:
            frame = pl.read_ndjson(path, infer_schema_length=None)
            available = frame.columns
    except pl.exceptions.NoDataError:
        raise BadInput([f"{path}: {EMPTY}"]) from None
    except (pl.exceptions.PolarsError, OSError) as error:  # SchemaError: a line not an object
        raise BadInput([_unreadable(path, kind, error)]) from None
    missing = [
        f"{path}: {flag}: no column {show(name)}{did_you_mean(name, available)}; "
        f"the file has {', '.join(show(c) for c in available)}"
        for flag, name in flags.items()
        if name not in available
    ]
    if missing:
        raise BadInput(missing)
    try:
        if kind == "csv":
            return pl.read_csv(path, columns=wanted, infer_schema=False)
        if kind == "parquet":
            return pl.read_parquet(path, columns=wanted)
        return frame.select(wanted)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise BadInput([_unreadable(path, kind, error)]) from None


def _unreadable(path: Path, kind: str, error: Exception) -> str:
    """A file polars cannot parse, with the first bad line when a line-by-line scan finds it."""
    if kind == "jsonl":
        line = bad_json_line(path)
        if line is not None:
            return line
    where = _first_ragged_row(path) if kind == "csv" else ""
    return f"{path}: not a readable {kind.upper()} file{where}: {reason(error)}"


def _first_ragged_row(path: Path) -> str:
    with path.open(newline="", encoding="utf-8", errors="replace") as file:
        reader = csv.reader(file)
        header = next(reader, [])
        for row, fields in enumerate(reader, start=1):
            if len(fields) > len(header):
                return f" (row {row} has {len(fields)} fields, the header {len(header)})"
    return ""


def _row_problems(
    frame: pl.DataFrame, path: Path, segment: str, confidence: str, correct: str
) -> list[str]:
    """One line per bad value, at most MAX_LISTED per column and then a count."""
    number = pl.col("confidence")  # null when empty or not a number
    answer = pl.col("correct_word").is_in(_TRUE + _FALSE) | pl.col("correct_number").is_in(
        [0.0, 1.0]
    )
    checks = [
        (segment, "segment", pl.col("segment").is_null() | (pl.col("segment") == ""), "a name"),
        (
            confidence,
            "confidence_text",
            number.is_null() | number.is_nan() | (number < 0) | (number > 1),
            "a number in [0, 1]",
        ),
        (correct, "correct_text", ~answer.fill_null(False), "true/false or 1/0"),
    ]
    by_column: dict[str, list[tuple[int, str]]] = {}
    for column, text, bad, expected in checks:
        rows = frame.filter(bad.fill_null(False)).select("row", text).rows()
        by_column.setdefault(column, []).extend(
            (row, f"{path} row {row}, column {show(column)}: {_got(value)}; expected {expected}")
            for row, value in rows
        )
    problems = []
    for column, found in by_column.items():
        found.sort()
        problems += [line for _, line in found[:MAX_LISTED]]
        if len(found) > MAX_LISTED:
            problems.append(
                f"{path}: and {len(found) - MAX_LISTED} more rows with a bad {show(column)} value"
            )
    return problems


def _got(value: str | None) -> str:
    return "empty" if value is None or value == "" else f"got {cell(value)}"


def _split(frame: pl.DataFrame, path: Path) -> list[SegmentLogs]:
    labels = frame.get_column("segment").unique(maintain_order=True).to_list()
    names = {label: segment_name(label) for label in labels}
    clashes: dict[str, list[str]] = {}
    for label, name in names.items():
        clashes.setdefault(name, []).append(label)
    problems = [
        f"{path}: segments {', '.join(show(label) for label in same)} all become {show(name)} "
        "as scenario names (letters, digits, '_' and '-'); rename them in the logs"
        for name, same in clashes.items()
        if len(same) > 1
    ]
    if problems:
        raise BadInput(problems)
    segments = []
    for label, part in frame.partition_by("segment", maintain_order=True, as_dict=True).items():
        segments.append(
            SegmentLogs(
                name=names[label[0]],
                label=str(label[0]),
                confidence=part.get_column("confidence").to_numpy().astype(np.float64),
                correct=part.get_column("correct").to_numpy().astype(bool),
            )
        )
    return segments


def segment_name(label: str) -> str:
    """A log's segment label as a scenario segment name: other characters become '_'."""
    name = _NAME_CHAR.sub("_", label)
    return name if not name.startswith("-") else "_" + name
