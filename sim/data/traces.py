"""Trace files: arrivals (and tokens, and segments) read from CSV, Parquet or JSONL in chunks.

A trace is never read whole: pyarrow streams it in record batches, each batch is checked and
converted to plain arrays, and the caller sees chunks of at most `rows_per_chunk` calls. Every
problem names the file, the 1-based data row and the column; at most `MAX_PROBLEMS` are listed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from sim.data.formats import bad_json_line, cell, check_file, reason
from sim.problems import BadInput, did_you_mean, show

MAX_PROBLEMS = 20
BLOCK_BYTES = 1 << 20
# Datetime layouts tried in turn (%.f also matches no fraction); zoned ones are converted to UTC.
DATETIME_FORMATS = [
    f"%Y-%m-%d{sep}%H:%M:%S%.f{zone}" for sep in (" ", "T") for zone in ("", "Z", "%:z", "%z")
]
DATETIME_EXAMPLE = "2023-11-16 18:15:46.6805900"


@dataclass(frozen=True)
class TraceSpec:
    """Which file, and which of its columns hold the time, tokens and segment."""

    path: Path
    format: str
    time_column: str
    time_unit: str = "datetime"
    tokens_in_column: str | None = None
    tokens_out_column: str | None = None
    segment_column: str | None = None

    def columns(self) -> dict[str, str]:
        """The file's column for each role the trace uses."""
        roles = {
            "time": self.time_column,
            "tokens_in": self.tokens_in_column,
            "tokens_out": self.tokens_out_column,
            "segment": self.segment_column,
        }
        return {role: name for role, name in roles.items() if name is not None}


@dataclass(frozen=True)
class TraceChunk:
    """Consecutive calls: seconds since the trace's first call, and the optional columns."""

    t: np.ndarray
    tokens_in: np.ndarray | None
    tokens_out: np.ndarray | None
    segment: np.ndarray | None


@dataclass(frozen=True)
class TraceInfo:
    """What one validating pass over a trace found."""

    rows: int
    duration_s: float
    segments: tuple[str, ...] = field(default=())
    # the first call's time in ns from the column's zero: the Unix epoch for datetimes
    start_ns: int | None = None
    # per segment label ("" without a segment column): calls, and mean whole tokens (the kernels
    # floor tokens) when the trace has the column
    calls: dict[str, int] = field(default_factory=dict)
    tokens_in_mean: dict[str, float] | None = None
    tokens_out_mean: dict[str, float] | None = None


class _Tally:
    """Calls and token sums per segment label over a pass."""

    def __init__(self, spec: TraceSpec) -> None:
        self.spec = spec
        self.calls: dict[str, int] = {}
        self.sums: dict[str, dict[str, float]] = {"tokens_in": {}, "tokens_out": {}}

    def add(self, chunk: TraceChunk) -> None:
        labels = chunk.segment if chunk.segment is not None else np.full(len(chunk.t), "")
        names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        for name, count in zip(names.tolist(), counts.tolist(), strict=True):
            self.calls[name] = self.calls.get(name, 0) + count
        for role, sums in self.sums.items():
            values = getattr(chunk, role)
            if values is None:
                continue
            per_name = np.bincount(inverse, weights=np.floor(values), minlength=len(names))
            for name, total in zip(names.tolist(), per_name.tolist(), strict=True):
                sums[name] = sums.get(name, 0.0) + total

    def info(self, rows: int, span: float, start_ns: int | None) -> TraceInfo:
        means = {
            role: {name: sums.get(name, 0.0) / n for name, n in self.calls.items()}
            if getattr(self.spec, f"{role}_column") is not None
            else None
            for role, sums in self.sums.items()
        }
        labelled = self.spec.segment_column is not None
        return TraceInfo(
            rows=rows,
            duration_s=span,
            segments=tuple(self.calls) if labelled else (),
            start_ns=start_ns,
            calls=self.calls,
            tokens_in_mean=means["tokens_in"],
            tokens_out_mean=means["tokens_out"],
        )


def column_names(spec: TraceSpec) -> list[str]:
    """The file's column names (from its header, schema or first records)."""
    return list(head(spec.path, spec.format, rows=0).columns)


def _batches(spec: TraceSpec) -> Iterator[pa.RecordBatch]:
    """The file's record batches, the roles' columns only (all as read, strings for CSV)."""
    wanted = list(dict.fromkeys(spec.columns().values()))
    try:
        if spec.format == "parquet":
            parquet = pq.ParquetFile(spec.path)
            # one row group at a time: over a whole file pyarrow reads ahead, buffering most of it
            for group in range(parquet.num_row_groups):
                yield from parquet.iter_batches(
                    batch_size=1 << 16, columns=wanted, row_groups=[group]
                )
        elif spec.format == "csv":
            convert = pa_csv.ConvertOptions(
                include_columns=wanted,
                column_types={name: pa.string() for name in wanted},
                strings_can_be_null=True,
                null_values=[
                    ""
                ],  # pyarrow's default also nulls "NaN", "null"...: show them as given
            )
            read = pa_csv.ReadOptions(block_size=BLOCK_BYTES)
            yield from pa_csv.open_csv(spec.path, read_options=read, convert_options=convert)
        else:
            yield from _jsonl_batches(spec.path, wanted)
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(spec.path, spec.format, error) from None


def _unreadable(path: Path, fmt: str, error: Exception) -> BadInput:
    # pyarrow's JSON errors count rows within a block; a line-by-line pass names the line
    line = bad_json_line(path) if fmt == "jsonl" else None
    return BadInput([line or f"{path}: cannot read it as {fmt}: {reason(error)}"])


def check(spec: TraceSpec) -> None:
    """BadInput unless the trace is a file whose first bytes fit its format."""
    check_file(spec.path, spec.format, f"a CSV, Parquet or JSONL trace ({spec.format})")


def _jsonl_batches(
    path: Path, wanted: list[str], names_only: bool = False
) -> Iterator[pa.RecordBatch]:
    """JSON lines in blocks of whole lines, so a file larger than memory streams."""
    with path.open("rb") as f:
        while lines := f.readlines(BLOCK_BYTES):
            table = pa_json.read_json(io.BytesIO(b"".join(lines)))
            if names_only:
                yield table.to_batches()[0]
                return
            missing = [name for name in wanted if name not in table.column_names]
            for name in missing:  # a key absent from a whole block: its cells are empty
                table = table.append_column(name, pa.nulls(len(table)))
            yield from table.select(wanted).to_batches()


def head(path: Path, fmt: str, rows: int = 1000) -> pl.DataFrame:
    """The file's first rows, every column as read (to guess which column holds what)."""
    check_file(path, fmt, f"a CSV, Parquet or JSONL trace ({fmt})")
    try:
        if fmt == "parquet":
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
            batch = next(parquet.iter_batches(batch_size=max(rows, 1)), None)
        elif fmt == "csv":
            reader = pa_csv.open_csv(path)
            schema = reader.schema
            batch = next(iter(reader), None)
        else:
            batch = next(_jsonl_batches(path, [], names_only=True), None)
            if batch is None:
                raise BadInput([f"{path}: empty; expected {fmt} records with column names"])
            schema = batch.schema
    except (pa.ArrowException, OSError) as error:
        raise _unreadable(path, fmt, error) from None
    frame = pl.from_arrow(batch or pa.RecordBatch.from_pylist([], schema=schema))
    assert isinstance(frame, pl.DataFrame)
    return frame.head(rows)


def datetime_share(column: pl.Series) -> float:
    """The share of a column's non-empty cells that read as datetimes (0 if none is filled)."""
    present = column.drop_nulls()
    if not len(present):
        return 0.0
    return 1.0 - _times_ns(present, "datetime").null_count() / len(present)


def _check_columns(spec: TraceSpec) -> None:
    names = column_names(spec)
    problems = []
    for role, name in spec.columns().items():
        if name not in names:
            problems.append(
                f"traffic.trace.{role}_column: got {show(name)}{did_you_mean(name, names)}; "
                f"expected a column of {spec.path.name} ({', '.join(names[:12])})"
            )
    if problems:
        raise BadInput(problems)


def _times_ns(column: pl.Series, unit: str) -> pl.Series:
    """Arrival times as integer nanoseconds (nulls where a cell is not a time)."""
    if unit == "datetime":
        if column.dtype == pl.Datetime or column.dtype == pl.Date:
            return column.cast(pl.Datetime("ns")).dt.epoch("ns")
        text = column.cast(pl.String)
        found = pl.Series(column.name, [None] * len(text), dtype=pl.Int64)
        for layout in DATETIME_FORMATS:  # a file keeps one layout: usually one parse is all
            parsed = text.str.to_datetime(format=layout, time_unit="ns", strict=False)
            found = found.fill_null(parsed.dt.epoch("ns"))
            if found.null_count() == text.null_count():
                break
        return found
    scale = 1e9 if unit == "s" else 1e6
    seconds = column.cast(pl.Float64, strict=False) if column.dtype != pl.String else None
    if seconds is None:
        seconds = column.str.strip_chars().cast(pl.Float64, strict=False)
    return (seconds * scale).round().cast(pl.Int64, strict=False)


def _numbers(column: pl.Series) -> pl.Series:
    if column.dtype == pl.String:
        return column.str.strip_chars().cast(pl.Float64, strict=False)
    return column.cast(pl.Float64, strict=False)


class _Reader:
    """One pass over a trace: batches become checked arrays, problems are collected."""

    def __init__(self, spec: TraceSpec) -> None:
        self.spec = spec
        self.problems: list[str] = []
        self.more = 0
        self.rows = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None

    def _problem(self, row: int, column: str, got: object, expected: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                f"{self.spec.path}: data row {row}, column {column!r}: got {cell(got)}; "
                f"expected {expected}"
            )
        else:
            self.more += 1

    def _flag(self, raw: pl.Series, bad: np.ndarray, column: str, expected: str) -> None:
        for i in np.flatnonzero(bad)[: MAX_PROBLEMS + 1]:
            value = raw[int(i)]
            self._problem(self.rows + int(i) + 1, column, value, expected)
        self.more += max(0, int(bad.sum()) - MAX_PROBLEMS - 1)

    def read(self, batch: pa.RecordBatch) -> TraceChunk:
        """One batch as arrays; bad cells are recorded (and their rows left as they parsed)."""
        spec = self.spec
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        raw = frame[spec.time_column]
        ns_series = _times_ns(raw, spec.time_unit)
        bad = ns_series.is_null().to_numpy()
        expected = (
            f"a datetime like {DATETIME_EXAMPLE}"
            if spec.time_unit == "datetime"
            else f"a number of {'seconds' if spec.time_unit == 's' else 'milliseconds'}"
        )
        self._flag(raw, bad, spec.time_column, expected)
        filled = ns_series.fill_null(strategy="forward").fill_null(strategy="backward")
        ns = filled.fill_null(self.last_ns or 0).to_numpy().astype(np.int64)
        if self.first_ns is None and len(ns):
            self.first_ns = int(ns[0])
        previous = np.concatenate([[self.last_ns if self.last_ns is not None else ns[0]], ns[:-1]])
        decreasing = np.flatnonzero((ns < previous) & ~bad)
        self.more += max(0, len(decreasing) - MAX_PROBLEMS - 1)
        for i in decreasing[: MAX_PROBLEMS + 1]:
            self._problem(
                self.rows + int(i) + 1,
                spec.time_column,
                raw[int(i)],
                f"a time no earlier than data row {self.rows + int(i)}'s (times must not decrease)",
            )
        if len(ns):
            self.last_ns = int(ns[-1])
        tokens: dict[str, np.ndarray | None] = {}
        for role in ("tokens_in", "tokens_out"):
            name = getattr(spec, f"{role}_column")
            if name is None:
                tokens[role] = None
                continue
            values = _numbers(frame[name])
            # 1e400 reads as inf: a finite count or the kernels' arithmetic overflows
            bad_tokens = (
                values.is_null() | values.is_nan() | values.is_infinite() | (values < 0)
            ).fill_null(True)
            self._flag(frame[name], bad_tokens.to_numpy(), name, "a finite token count ≥ 0")
            tokens[role] = values.fill_null(0.0).to_numpy()
        segment = None
        if spec.segment_column is not None:
            labels = frame[spec.segment_column].cast(pl.String)
            self._flag(labels, labels.is_null().to_numpy(), spec.segment_column, "a segment name")
            segment = labels.fill_null("").to_numpy()
        assert self.first_ns is not None or not len(ns)
        t = (ns - (self.first_ns or 0)) / 1e9
        self.rows += len(ns)
        return TraceChunk(t, tokens["tokens_in"], tokens["tokens_out"], segment)

    def raise_problems(self) -> None:
        if self.problems:
            more = [f"{self.spec.path}: and {self.more} more problems"] if self.more else []
            raise BadInput(self.problems + more)


def scan(spec: TraceSpec) -> TraceInfo:
    """Validate the whole trace in one streaming pass; its row count, span and segment names."""
    check(spec)
    _check_columns(spec)
    reader = _Reader(spec)
    tally = _Tally(spec)
    for batch in _batches(spec):
        tally.add(reader.read(batch))
    reader.raise_problems()
    span = 0.0
    if reader.first_ns is not None and reader.last_ns is not None:
        span = (reader.last_ns - reader.first_ns) / 1e9
    return tally.info(reader.rows, span, reader.first_ns)


def chunks(spec: TraceSpec, rows_per_chunk: int = 1 << 16) -> Iterator[TraceChunk]:
    """The trace's calls in order, at most rows_per_chunk at a time (times from its first call)."""
    reader = _Reader(spec)
    for batch in _batches(spec):
        chunk = reader.read(batch)
        reader.raise_problems()  # the file changed since it was scanned
        for start in range(0, len(chunk.t), rows_per_chunk):
            piece = slice(start, start + rows_per_chunk)
            yield TraceChunk(
                chunk.t[piece],
                None if chunk.tokens_in is None else chunk.tokens_in[piece],
                None if chunk.tokens_out is None else chunk.tokens_out[piece],
                None if chunk.segment is None else chunk.segment[piece],
            )
