"""The scenario file reference in Markdown, generated from the models so it cannot drift."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.problems import show
from sim.scenario.distribution_models import DIST_MODELS, Constant, inner_model, is_distribution
from sim.scenario.field_info import describe_range, field_constraints
from sim.scenario.field_info import is_list as _is_list
from sim.scenario.lifecycle_models import DRIFT_MODELS
from sim.scenario.models import Scenario
from sim.scenario.policies import POLICY_TABLE

REGENERATE = ".venv/bin/distill-sim schema --markdown > docs/scenario.md"

_INTRO = """\
# Scenario file reference

<!-- Generated from the pydantic models in sim/scenario/models.py; do not edit. Regenerate with
     {regenerate} -->

A scenario is one TOML file. Every table rejects unknown keys; every problem is reported at once,
one line each: the field path, the value given and what was expected (exit code 2).
Check a file with `distill-sim validate FILE`; `distill-sim schema` prints the JSON Schema for
editors.

Any field can be overridden on the command line with `--set path=value` (repeatable; the value in
TOML syntax, or a bare word taken as a string): `--set router.threshold=0.9`,
`--set segments.core.student_accuracy=0.9` (a `[[segments]]` entry by name),
`--set segments[1].weight=0.2` (by index), `--set student.service_s.median=0.2`,
`--set router.policy=student_only`.

A field whose type is *distribution* takes a bare number (a constant) or an inline table with
`dist`; see [Distributions](#distributions).
"""


def scenario_reference() -> str:
    """The whole reference: one section per table, then distributions and what is not supported."""
    parts = [_INTRO.format(regenerate=REGENERATE)]
    for name, info in Scenario.model_fields.items():
        model = inner_model(info.annotation)
        if model is None:
            continue
        header = f"[[{name}]]" if _is_list(info.annotation) else f"[{name}]"
        if name == "drift":
            for kind, drift_model in DRIFT_MODELS.items():
                parts.append(_table_section(drift_model, f'{header} kind = "{kind}"', name, info))
            continue
        parts.append(_table_section(model, header, name, info))
        if name == "router":
            parts.append(_policies_section())
    parts.append(_distributions_section())
    return "\n".join(parts).rstrip("\n") + "\n"


def _table_section(model: type[BaseModel], header: str, path: str, info: FieldInfo) -> str:
    lines = [f"## {header}", ""]
    lines += [_summary(model), ""]
    if _is_list(info.annotation):
        lengths = field_constraints(info)
        lines += [f"Repeat the table for each entry; {_length_text(lengths, 'entries')}.", ""]
    elif info.is_required():
        lines += ["Required.", ""]
    else:
        lines += ["Optional.", ""]
    lines += _field_table(model, path)
    for name, field in model.model_fields.items():
        nested = inner_model(field.annotation)
        if nested is not None and not is_distribution(field.annotation):
            title = f"{path}.{name} entries" if _is_list(field.annotation) else f"[{path}.{name}]"
            lines += ["", f"### {title}", "", _summary(nested), ""]
            lines += _field_table(nested, f"{path}.{name}")
    return "\n".join(lines) + "\n"


def _field_table(model: type[BaseModel], path: str) -> list[str]:
    lines = [
        "| key | type | default | allowed | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, info in model.model_fields.items():
        if model in DIST_MODELS.values() and name == "dist":
            continue
        allowed = _allowed(info)
        cells = [f"`{name}`", _type_name(info.annotation), _default(info), allowed]
        cells.append(_cell(info.description or ""))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _policies_section() -> str:
    """What each routing policy does, from its one declaration in sim.scenario.policies."""
    lines = ["### Routing policies", ""]
    lines += [f"- `{p.name}`: {_escape(p.summary)}." for p in POLICY_TABLE]
    return "\n".join(lines) + "\n"


def _distributions_section() -> str:
    lines = [
        "## Distributions",
        "",
        "A distribution is a bare number (a constant) or an inline table naming its `dist`, e.g.",
        '`{ dist = "lognormal", median = 0.8, sigma = 0.5 }`. Confidences must stay on [0, 1]:',
        "beta, logit_normal, empirical (a sample on [0, 1]) or a constant ≤ 1. An empirical",
        "distribution reads one numeric column of a CSV, Parquet or JSONL file (path relative to",
        "the scenario file) and draws by linear interpolation between the sample's order",
        "statistics, so its quantiles are the sample's (`np.quantile`).",
    ]
    for kind, model in DIST_MODELS.items():
        lines += ["", f'### dist = "{kind}"', ""]
        lines += [_summary(model), ""]
        lines += _field_table(model, f"dist.{kind}")
    return "\n".join(lines) + "\n"


def _summary(model: type[BaseModel]) -> str:
    """The model's docstring without the table name it repeats."""
    doc = re.sub(r"^\[\[?\w+\]\]?:\s*", "", " ".join((model.__doc__ or "").split()))
    return _escape(doc[:1].upper() + doc[1:])


def _allowed(info: FieldInfo) -> str:
    found = field_constraints(info)
    parts = []
    limits = describe_range(found)
    if limits:
        parts.append(limits)
    if "min_length" in found or "max_length" in found:
        unit = "characters" if info.annotation is str else "items"
        parts.append(_length_text(found, unit))
    if "pattern" in found:
        parts.append(f"matches `{found['pattern']}`")
    return _escape("; ".join(parts))


def _length_text(found: dict[str, Any], unit: str) -> str:
    low, high = found.get("min_length"), found.get("max_length")
    if low is not None and low == high:
        return f"exactly {low} {unit}"
    if low is not None and high is not None:
        return f"{low} to {high} {unit}"
    if low is not None:
        return f"at least {low} {unit}"
    if high is not None:
        return f"at most {high} {unit}"
    return f"any number of {unit}"


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    if value is None or value is PydanticUndefined:
        return "not set"
    if isinstance(value, Constant):
        value = value.value
    elif isinstance(value, BaseModel) and type(value) in DIST_MODELS.values():
        value = value.model_dump()
    elif isinstance(value, BaseModel):
        return "all defaults"
    return _cell(f"`{show(value)}`")


def _type_name(annotation: Any) -> str:
    if is_distribution(annotation):
        return "distribution"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(f'`"{a}"`' for a in args)
    if origin is list:
        item = args[0] if args else Any
        if inner_model(item) is not None:
            return "list of tables"
        return f"list of {_type_name(item)}s"
    if origin is dict:
        return f"table of {_type_name(args[1])}s" if len(args) == 2 else "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    names = {int: "integer", float: "number", str: "string", bool: "boolean"}
    return names.get(annotation, str(annotation))


def _escape(text: str) -> str:
    """Keep Markdown from reading a | as a cell border or <name> as an HTML tag."""
    return text.replace("|", "\\|").replace("<", "\\<")


def _cell(text: str) -> str:
    return _escape(text)
