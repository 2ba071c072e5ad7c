"""What a pydantic field accepts, read from its annotation: bounds, lengths, lists and tables.

Shared by the scenario file's error lines (`sim.scenario.loading`) and the generated field reference
(`sim.scenario.field_reference`), so a bound reads the same in both.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo


def field_constraints(info: FieldInfo) -> dict[str, Any]:
    """The bounds and lengths of a field, its own and its items' (a list's or dict's values)."""
    found: dict[str, Any] = {}

    def collect(metadata: list[Any]) -> None:
        for item in metadata:
            if isinstance(item, FieldInfo):
                collect(item.metadata)
            for name in ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern"):
                value = getattr(item, name, None)
                if value is not None and isinstance(item, _CONSTRAINT_TYPES.get(name, object)):
                    found.setdefault(name, value)

    def visit(annotation: Any) -> None:
        if typing.get_origin(annotation) is typing.Annotated:
            collect(list(annotation.__metadata__))
        for arg in typing.get_args(annotation):
            if not (isinstance(arg, type) and issubclass(arg, BaseModel)):
                visit(arg)

    collect(list(info.metadata))
    visit(info.annotation)
    return found


_CONSTRAINT_TYPES: dict[str, Any] = {"ge": Ge, "gt": Gt, "le": Le, "lt": Lt}


def describe_range(constraints: dict[str, Any]) -> str:
    """'in [0, 1]', '> 0', '≤ 24' ... for the numeric bounds among constraints ('' when none)."""
    low = ("[", constraints["ge"]) if "ge" in constraints else None
    low = ("(", constraints["gt"]) if "gt" in constraints else low
    high = ("]", constraints["le"]) if "le" in constraints else None
    high = (")", constraints["lt"]) if "lt" in constraints else high
    if low and high:
        return f"in {low[0]}{plain_number(low[1])}, {plain_number(high[1])}{high[0]}"
    if low:
        return f"{'≥' if low[0] == '[' else '>'} {plain_number(low[1])}"
    if high:
        return f"{'≤' if high[0] == ']' else '<'} {plain_number(high[1])}"
    return ""


def plain_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def is_integer_field(info: FieldInfo | None) -> bool:
    """Whether the field holds an int (its errors say "an integer", not "a number")."""
    return info is not None and info.annotation is int


def is_model(model: Any) -> bool:
    """Whether `model` is a pydantic model class (a table), not a plain type."""
    return isinstance(model, type) and issubclass(model, BaseModel)


def is_list(annotation: Any) -> bool:
    """Whether a field holds a list (a TOML array of tables), alone or in a union."""
    if annotation is None:
        return False
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(is_list(a) for a in typing.get_args(annotation))
    return False
