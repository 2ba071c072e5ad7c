"""Samples read from data files: the values behind `{ dist = "empirical", path, column }`.

A sample is one numeric column of a CSV, Parquet or JSONL file (by extension), read once per
process and kept sorted. Its distribution is the sample's quantile function with linear
interpolation between order statistics (numpy's default `np.quantile`), so a table built from it
reproduces the sample's quantiles.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import polars as pl

from sim.data.formats import bad_json_line, cell, check_file, format_of, reason
from sim.problems import BadInput, did_you_mean, show

WHAT = "a CSV, Parquet or JSONL sample"
MAX_LISTED = 5  # bad rows listed per sample before "and N more"


def _read(path: Path, column: str) -> pl.Series:
    check_file(path, None, WHAT)
    kind = format_of(path)
    check_file(path, kind, WHAT)
    try:
        if kind == "csv":
            frame = pl.read_csv(path, infer_schema=False)  # strings: every bad cell is named
        elif kind == "parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_ndjson(path)
    except (pl.exceptions.PolarsError, OSError) as err:
        line = bad_json_line(path) if kind == "jsonl" else None
        raise BadInput([line or f"{path}: unreadable as {kind} ({reason(err)})"]) from None
    if column not in frame.columns:
        raise BadInput(
            [
                f"{path}: no column {show(column)}{did_you_mean(column, frame.columns)}; "
                f"expected one of {', '.join(frame.columns)}"
            ]
        )
    return frame[column]


@functools.lru_cache(maxsize=64)
def _sorted_sample(path: str, column: str, mtime_ns: int) -> np.ndarray:
    series = _read(Path(path), column)
    values = series.cast(pl.Float64, strict=False)
    bad = (values.is_null() | values.is_nan() | values.is_infinite()).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        problems = [
            f"{path} data row {r + 1}, column {column}: got {cell(series[int(r)])}; "
            "expected a finite number"
            for r in rows[:MAX_LISTED]
        ]
        if len(rows) > MAX_LISTED:
            problems.append(f"{path}: and {len(rows) - MAX_LISTED} more rows that are not numbers")
        raise BadInput(problems)
    if len(values) == 0:
        raise BadInput([f"{path}, column {column}: got no rows; expected at least one value"])
    out = np.sort(values.to_numpy())
    out.setflags(write=False)
    return out


def load(path: str | Path, column: str) -> np.ndarray:
    """The sorted sample (read-only), or BadInput naming the file, row and value."""
    file = Path(path)
    mtime = file.stat().st_mtime_ns if file.is_file() else -1
    return _sorted_sample(str(file), column, mtime)


def out_of_range(path: str | Path, column: str, lo: float, hi: float) -> list[str]:
    """One line per value outside [lo, hi] (the first few), naming its row in the file."""
    values = _read(Path(path), column).cast(pl.Float64, strict=False).to_numpy()
    rows = np.flatnonzero((values < lo) | (values > hi))
    span = f"[{lo:g}, {hi:g}]" if np.isfinite(hi) else f"≥ {lo:g}"
    lines = [
        f"{path} data row {r + 1}, column {column}: got {values[r]:g}; expected a value in {span}"
        for r in rows[:MAX_LISTED]
    ]
    if len(rows) > MAX_LISTED:
        lines.append(f"{path}: and {len(rows) - MAX_LISTED} more values outside {span}")
    return lines


class EmpiricalDist:
    """A sample's distribution: its quantile function, interpolated between order statistics."""

    def __init__(self, sorted_sample: np.ndarray) -> None:
        self.x = np.asarray(sorted_sample, dtype=float)
        self.n = len(self.x)

    def ppf(self, u: object) -> np.ndarray:
        """np.quantile(sample, u) with linear interpolation, in O(1) per value."""
        if self.n == 1:
            return np.full_like(np.asarray(u, dtype=float), self.x[0])
        h = np.clip(np.asarray(u, dtype=float), 0.0, 1.0) * (self.n - 1)
        i = np.minimum(np.floor(h).astype(np.int64), self.n - 2)
        return self.x[i] + (h - i) * (self.x[i + 1] - self.x[i])

    def cdf(self, x: object) -> np.ndarray:
        """P(X ≤ x): where the quantile function leaves x."""
        xs = np.asarray(x, dtype=float)
        if self.n == 1:
            return (xs >= self.x[0]).astype(float)
        k = np.clip(np.searchsorted(self.x, xs, side="right") - 1, 0, self.n - 2)  # last x_k ≤ x
        u = (k + self._fraction(xs, k)) / (self.n - 1)
        return np.where(xs < self.x[0], 0.0, np.where(xs >= self.x[-1], 1.0, u))

    def cdf_below(self, x: object) -> np.ndarray:
        """P(X < x): where the quantile function reaches x; differs from cdf(x) at ties."""
        xs = np.asarray(x, dtype=float)
        if self.n == 1:
            return (xs > self.x[0]).astype(float)
        k = np.clip(np.searchsorted(self.x, xs, side="left") - 1, 0, self.n - 2)  # last x_k < x
        u = (k + self._fraction(xs, k)) / (self.n - 1)
        return np.where(xs <= self.x[0], 0.0, np.where(xs > self.x[-1], 1.0, u))

    def _fraction(self, xs: np.ndarray, k: np.ndarray) -> np.ndarray:
        lo, hi = self.x[k], self.x[k + 1]
        gap = np.where(hi > lo, hi - lo, 1.0)
        return np.clip((xs - lo) / gap, 0.0, 1.0)

    def mean(self) -> float:
        """The mean of the interpolated quantile function (the trapezoid rule is exact here)."""
        if self.n == 1:
            return float(self.x[0])
        return float((self.x.sum() - 0.5 * (self.x[0] + self.x[-1])) / (self.n - 1))
