"""Grids over scenario fields: `path=lo:hi:n` (evenly spaced) or `path=a,b,c` (listed values)."""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from typing import Any

import numpy as np

from sim.problems import BadInput, show, toml_value

_RANGE = re.compile(r"^\s*([^:]+):([^:]+):([^:]+)\s*$")
MAX_POINTS = 10_000  # per axis: a typo such as 0:1:1000000 must not exhaust memory
_FORMS = "path=lo:hi:n or path=a,b,c"


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_axis(spec: str) -> tuple[str, list[Any]]:
    """One `--grid` option as (field path, values)."""
    if "=" not in spec:
        raise BadInput([f"--grid: got {show(spec)}; expected {_FORMS}"])
    path, text = (part.strip() for part in spec.split("=", 1))
    if not path:
        raise BadInput([f"--grid: got {show(spec)}, no field path; expected {_FORMS}"])
    where = f"--grid {path}"
    if not text:
        raise BadInput([f"{where}: got no values; expected lo:hi:n or a,b,c"])
    match = _RANGE.match(text)
    if match:
        lo, hi, n = _value(match[1]), _value(match[2]), _value(match[3])
        if not is_number(lo) or not is_number(hi):
            raise BadInput(
                [f"{where}: got {show(text)}; expected finite numbers lo and hi in lo:hi:n"]
            )
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_POINTS:
            raise BadInput(
                [f"{where}: got n = {match[3].strip()}; expected an integer from 1 to {MAX_POINTS}"]
            )
        return path, [float(x) for x in np.linspace(lo, hi, n)]
    values, bare = [], []
    for part in _split(text):
        try:
            values.append(tomllib.loads(f"v = {part}")["v"])
        except tomllib.TOMLDecodeError:
            values.append(part)  # a bare word: cascade,verify
            bare.append(part)
    if any(":" in word for word in bare):
        # a range with a part missing or extra (0.5:0.9, 1:2:3:4); a quoted "a:b" is a string
        raise BadInput([f"{where}: got {show(text)}; expected lo:hi:n (three parts) or a,b,c"])
    if not values:
        raise BadInput([f"{where}: got {show(text)}; expected lo:hi:n or a,b,c"])
    return path, values


def parse_range(spec: str, option: str) -> tuple[str, float | int, float | int]:
    """A `path=lo:hi` range (for --random and --vary) as (field path, lo, hi), lo < hi; both are
    ints when written as integers, so an integer field keeps integer values."""
    path, _, text = (part.strip() for part in spec.partition("="))
    if not path or not text:
        raise BadInput([f"{option}: got {show(spec)}; expected path=lo:hi"])
    parts = text.split(":")
    bounds = [_value(part) for part in parts]
    where = f"{option} {path}"
    if len(parts) != 2 or not all(is_number(b) for b in bounds):
        raise BadInput([f"{where}: got {show(text)}; expected lo:hi with finite numbers"])
    lo, hi = bounds
    if not lo < hi:
        raise BadInput([f"{where}: got {show(text)}, an empty range; expected lo < hi"])
    return path, lo, hi


def _split(text: str) -> list[str]:
    """a,b,c split on the commas outside quotes, [lists] and { tables }; empty parts dropped."""
    parts, current, quote, depth = [], "", "", 0
    for char in text:
        if quote:
            quote = "" if char == quote and not current.endswith("\\") else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth <= 0:
            parts.append(current)
            current = ""
            continue
        current += char
    return [part.strip() for part in [*parts, current] if part.strip()]


def points(specs: list[str]) -> list[dict[str, Any]]:
    """The cartesian product of the axes: one {path: value} per point ([{}] without axes)."""
    axes, problems = [], []
    for spec in specs:
        try:
            axes.append(parse_axis(spec))
        except BadInput as bad:
            problems += bad.problems
    paths = [p for p, _ in axes]
    for path in sorted({p for p in paths if paths.count(p) > 1}):
        problems.append(
            f"--grid {path}: got it {paths.count(path)} times; expected one axis per field"
        )
    if problems:
        raise BadInput(problems)
    return [
        dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ]


def as_overrides(point: dict[str, Any]) -> list[str]:
    """A grid point as `--set` strings."""
    return [f"{path}={toml_value(value)}" for path, value in point.items()]
