"""Synthetic traces written as files: CSV with datetimes, Parquet in seconds, JSONL in ms."""

import csv
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from sim.data.traces import TraceSpec

AZURE = Path(__file__).resolve().parents[1] / "scenarios" / "traces" / "azure-llm-2023-conv.csv"
# Day 0 of every synthetic trace: midnight UTC, 2023-11-16 (a Thursday)
MIDNIGHT_NS = 1_700_092_800 * 10**9
UNITS = {".csv": "datetime", ".parquet": "s", ".jsonl": "ms"}
TIME_COLUMNS = {".csv": "TIMESTAMP", ".parquet": "t_s", ".jsonl": "t_ms"}


def datetime_strings(ns: np.ndarray) -> list[str]:
    """Nanoseconds after day 0's midnight as 'YYYY-MM-DD HH:MM:SS.fffffff' (7 digits, as Azure)."""
    text = np.datetime_as_string((MIDNIGHT_NS + ns).astype("datetime64[ns]"), unit="ns")
    return [s.replace("T", " ")[:-2] for s in text.tolist()]


def write(
    path: Path,
    ns: np.ndarray,
    tokens_in: np.ndarray | None = None,
    tokens_out: np.ndarray | None = None,
) -> TraceSpec:
    """Write arrivals (ns after midnight, multiples of 100) in the format the suffix names."""
    assert np.all(ns % 100 == 0)
    suffix = path.suffix
    column = TIME_COLUMNS[suffix]
    if suffix == ".csv":
        times = pl.Series(column, datetime_strings(ns))
    else:
        times = pl.Series(column, ns / (1e9 if suffix == ".parquet" else 1e6))
    frame = pl.DataFrame([times])
    if tokens_in is not None:
        frame = frame.with_columns(pl.Series("ContextTokens", tokens_in))
    if tokens_out is not None:
        frame = frame.with_columns(pl.Series("GeneratedTokens", tokens_out))
    if suffix == ".csv":
        frame.write_csv(path, line_terminator="\r\n")
    elif suffix == ".parquet":
        frame.write_parquet(path, row_group_size=50_000)
    else:
        frame.write_ndjson(path)
    return TraceSpec(
        path=path,
        format={".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}[suffix],
        time_column=column,
        time_unit=UNITS[suffix],
        tokens_in_column=None if tokens_in is None else "ContextTokens",
        tokens_out_column=None if tokens_out is None else "GeneratedTokens",
    )


def azure_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Azure trace by the csv module: integer ns since the first row, and its tokens."""
    stamps, tokens_in, tokens_out = [], [], []
    with AZURE.open(newline="") as f:
        for row in csv.DictReader(f):
            day, fraction = row["TIMESTAMP"].split(".")
            whole = datetime.strptime(day, "%Y-%m-%d %H:%M:%S").timestamp()
            stamps.append(int(whole) * 10**9 + int(fraction.ljust(9, "0")))
            tokens_in.append(int(row["ContextTokens"]))
            tokens_out.append(int(row["GeneratedTokens"]))
    ns = np.array(stamps, dtype=np.int64)
    return ns - ns[0], np.array(tokens_in), np.array(tokens_out)
