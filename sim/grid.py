"""Grids over scenario fields: `path=lo:hi:n` (evenly spaced) or `path=a,b,c` (listed values)."""

from __future__ import annotations

import itertools
import re
import tomllib
from typing import Any

import numpy as np

from sim.problems import BadInput

_RANGE = re.compile(r"^\s*([^:]+):([^:]+):(\d+)\s*$")


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def parse_axis(spec: str) -> tuple[str, list[Any]]:
    """One `--grid` option as (field path, values)."""
    if "=" not in spec:
        raise BadInput([f"--grid {spec}: expected path=lo:hi:n or path=a,b,c"])
    path, text = (part.strip() for part in spec.split("=", 1))
    match = _RANGE.match(text)
    if match:
        lo, hi, n = _value(match[1]), _value(match[2]), int(match[3])
        if not isinstance(lo, int | float) or not isinstance(hi, int | float):
            raise BadInput([f"--grid {path}: got {text!r}; expected numbers in lo:hi:n"])
        if n < 1:
            raise BadInput([f"--grid {path}: got n={n}; expected at least 1 point"])
        return path, [float(x) for x in np.linspace(lo, hi, n)]
    values = [_value(v) for v in text.split(",") if v.strip()]
    if not values:
        raise BadInput([f"--grid {path}: empty; expected lo:hi:n or a,b,c"])
    return path, values


def points(specs: list[str]) -> list[dict[str, Any]]:
    """The cartesian product of the axes: one {path: value} per point ([{}] without axes)."""
    axes = [parse_axis(spec) for spec in specs]
    paths = [p for p, _ in axes]
    if len(set(paths)) != len(paths):
        raise BadInput([f"--grid: a field appears twice in {paths}; expected one axis per field"])
    return [
        dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ]


def as_overrides(point: dict[str, Any]) -> list[str]:
    """A grid point as `--set` strings."""
    return [f"{path}={_toml(value)}" for path, value in point.items()]


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)
