"""Reading a scenario file: TOML, `--set` overrides, and pydantic errors as one line per problem."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sim.data import samples
from sim.engine import replay
from sim.problems import BadInput, did_you_mean, show
from sim.scenario.distribution_models import (
    DIST_FIELDS,
    DIST_KINDS,
    DIST_MODELS,
    Empirical,
    inner_model,
    is_distribution,
)
from sim.scenario.field_info import (
    describe_range,
    field_constraints,
    is_integer_field,
    is_list,
    is_model,
    plain_number,
)
from sim.scenario.lifecycle_models import DRIFT_MODELS
from sim.scenario.models import Scenario

# Lax pydantic reads "90" as 90.0, true as 1 and 1 as true: wrong types that must be reported.
_NO_COERCION = {"int_type": (str, bool), "float_type": (str, bool), "bool_type": (str, int, float)}
_TYPE_NAMES = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string in quotes",
    "list_type": "a list [...]",
    "dict_type": "a table",
    "model_type": "a table",
    "finite_number": "a finite number",
}


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Read, override and validate a scenario file; raise BadInput listing every problem."""
    raw = read_toml(path)
    problems = []
    for item in overrides or []:
        try:
            apply_override(raw, item)
        except BadInput as bad:
            problems += bad.problems
    if problems:
        raise BadInput(problems)
    return validate(raw, Path(path).resolve().parent)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, reporting a missing file or a syntax error with its line and column."""
    file = Path(path)
    if file.is_dir():
        raise BadInput([f"{path}: is a folder; expected a scenario .toml file"])
    if not file.is_file():
        raise BadInput([f"{path}: no such file; expected a scenario .toml file"])
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise BadInput([f"{path}: not UTF-8 text ({err.reason}); expected a TOML file"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise BadInput([f"{path}: malformed TOML{_toml_position(str(err), text)}"]) from None


def _toml_position(message: str, text: str) -> str:
    """' at line L, column C: what is wrong', also for errors tomllib places at the end."""
    match = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, flags=re.S)
    if match:
        return f" at line {match[2]}, column {match[3]}: {match[1]}"
    match = re.fullmatch(r"(.*) \(at end of document\)", message, flags=re.S)
    if match:
        lines = text.split("\n")
        return f" at line {len(lines)}, column {len(lines[-1]) + 1} (end of file): {match[1]}"
    return f": {message}"


def validate(raw: dict[str, Any], base: Path | None = None) -> Scenario:
    """Validate a parsed scenario dict into a frozen Scenario; data files' relative paths are
    resolved against `base` (the scenario file's directory), so the resolved scenario is whole."""
    if base is not None:
        raw = _absolute_paths(raw, base)
    problems: list[str] = []
    errors: list[Any] = []
    scenario = None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        errors = err.errors()
    errors += _coercions(raw, {tuple(e["loc"]) for e in errors})
    problems += [line for e in errors for line in _describe(e)]
    if scenario is not None and not errors:
        problems += _file_problems(scenario)
    if problems or scenario is None:
        raise BadInput(problems)
    return replay.prepare(scenario)


def _coercions(raw: dict[str, Any], reported: set[tuple[Any, ...]]) -> list[Any]:
    """Type errors lax validation let through (a string or boolean taken as a number, ...)."""
    try:
        Scenario.model_validate(raw, strict=True)
    except ValidationError as err:
        return [
            e
            for e in err.errors()
            if e["type"] in _NO_COERCION
            # an int field given 2.0 is fine (lax checks it is whole); "2" or true is not
            and isinstance(e["input"], _NO_COERCION[e["type"]])
            and tuple(e["loc"]) not in reported
        ]
    return []


def _file_problems(s: Scenario) -> list[str]:
    """Every empirical distribution's data file, read and checked."""
    problems = []
    for where, dist in _distributions(s, ""):
        if isinstance(dist, Empirical):
            problems += _sample_problems(where, dist)
    return problems


def _sample_problems(where: str, dist: Empirical) -> list[str]:
    """An empirical distribution's file must hold numbers in the field's range."""
    try:
        samples.load(dist.path, dist.column)
    except BadInput as bad:
        return [f"{where}: {line}" for line in bad.problems]
    unit = where.rsplit(".", 1)[-1].startswith("confidence")
    lo, hi = (0.0, 1.0) if unit else (0.0, float("inf"))
    return [f"{where}: {line}" for line in samples.out_of_range(dist.path, dist.column, lo, hi)]


def _absolute_paths(raw: Any, base: Path) -> Any:
    """A copy of the raw scenario with every data file's `path` made absolute."""
    if isinstance(raw, list):
        return [_absolute_paths(item, base) for item in raw]
    if not isinstance(raw, dict):
        return raw
    out = {k: _absolute_paths(v, base) for k, v in raw.items()}
    if out.get("dist") == "empirical" and isinstance(out.get("path"), str):
        out["path"] = str(base / Path(out["path"]).expanduser())
    trace = out.get("trace")
    if isinstance(trace, dict) and isinstance(trace.get("path"), str):  # [traffic.trace]
        out["trace"] = {**trace, "path": str(base / Path(trace["path"]).expanduser())}
    return out


def _distributions(model: BaseModel, prefix: str) -> list[tuple[str, BaseModel]]:
    """Every distribution in a validated model, with its field path."""
    found: list[tuple[str, BaseModel]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        where = f"{prefix}.{name}" if prefix else name
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            at = where if i is None else f"{where}[{i}]"
            if not isinstance(item, BaseModel):
                continue
            if type(item) in DIST_MODELS.values():
                found.append((at, item))
            else:
                found += _distributions(item, at)
    return found


def _walk(loc: tuple[Any, ...]) -> tuple[str, type[BaseModel] | None, FieldInfo | None]:
    """Follow an error loc through the models.

    Returns the path as a user writes it, the model owning the last key (None inside a plain
    dict or list), and the FieldInfo of the deepest model field on the way.
    """
    text = ""
    model: Any = Scenario
    owner: type[BaseModel] | None = None
    info: FieldInfo | None = None
    distribution = False
    drift = False
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        key = str(part)
        if key.startswith("function-"):
            continue
        if drift and key in DRIFT_MODELS:  # the [[drift]] member pydantic tried, by kind
            model, drift = DRIFT_MODELS[key], False
            continue
        if distribution and (key in DIST_MODELS or key == "<missing>"):
            # pydantic names the union member it tried; the user never wrote it
            model, distribution = DIST_MODELS.get(key), False
            continue
        text += f".{key}" if text else key
        owner = model if is_model(model) else None
        if owner is None:
            continue  # a key of a plain dict: keep the field that holds the dict
        info = owner.model_fields.get(key)
        model = inner_model(info.annotation) if info is not None else None
        distribution = info is not None and is_distribution(info.annotation)
        drift = owner is Scenario and key == "drift"
    return text, owner, info


def _describe(error: Any) -> list[str]:
    loc = tuple(error["loc"])
    where, owner, info = _walk(loc)
    where = where or "scenario file"
    kind = error["type"]
    got = show(error.get("input"))
    dist = next((k for k, m in DIST_MODELS.items() if m is owner), None)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        choices = list(owner.model_fields) if owner else []
        hint = did_you_mean(key, choices)
        takers = [k for k, m in DIST_MODELS.items() if key in m.model_fields]
        if dist is not None and takers and not hint:
            hint = f" for a {dist} distribution ({key} belongs to {' and '.join(takers)}: set dist)"
        return [f"{where}: unknown key{hint}; expected one of {', '.join(choices)}"]
    if kind == "missing":
        if owner is not None and dist is not None:
            needs = " and ".join(k for k in owner.model_fields if k != "dist")
            return [f"{where}: missing; a {dist} distribution needs {needs}"]
        annotation = info.annotation if info is not None else None
        if inner_model(annotation) is not None and not is_distribution(annotation):
            table = f"[[{where}]]" if is_list(annotation) else f"[{where}]"
            return [f"{where}: missing; expected a {table} table"]
        return [f"{where}: missing; this field is required"]
    if kind in ("union_tag_invalid", "union_tag_not_found") and loc[:1] == ("drift",):
        tag = error.get("ctx", {}).get("tag")
        kinds = ", ".join(DRIFT_MODELS)
        hint = did_you_mean(str(tag), DRIFT_MODELS)
        return [f"{where}.kind: got {show(tag)}{hint}; expected one of {kinds}"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = error.get("ctx", {}).get("tag")
        if tag in (None, "<missing>"):
            return [
                f"{where}.dist: missing; expected a number or a table with dist = one of "
                f"{', '.join(DIST_KINDS)}"
            ]
        hint = did_you_mean(str(tag), DIST_KINDS)
        return [f"{where}.dist: got {show(tag)}{hint}; expected one of {', '.join(DIST_KINDS)}"]
    if kind == "model_attributes_type":  # a distribution given as a string, a list, ...
        return [
            f"{where}: got {got}; expected a number or a distribution table such as "
            '{ dist = "lognormal", median = 0.8, sigma = 0.5 }'
        ]
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return [
            line if _HAS_PATH.match(line) else f"{where}: {line}" for line in message.split("\n")
        ]
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        hint = did_you_mean(str(error.get("input")), choices)
        return [f"{where}: got {got}{hint}; expected one of {', '.join(choices)}"]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bounds = field_constraints(info) if info is not None else {}
        bounds = bounds if any(k in bounds for k in ("ge", "gt", "le", "lt")) else error["ctx"]
        noun = "an integer" if is_integer_field(info) else "a number"
        return [
            f"{where}: got {got}; expected {noun} {describe_range(bounds)}{_percent(error, bounds)}"
        ]
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        ctx = error.get("ctx", {})
        unit = "characters" if kind.startswith("string") else "items"
        size = "at least" if kind.endswith("short") else "at most"
        limit = ctx.get("min_length", ctx.get("max_length"))
        unit = unit if limit != 1 else unit[:-1]
        return [f"{where}: got {got}; expected {size} {limit} {unit}"]
    if kind == "string_pattern_mismatch":
        return [f"{where}: got {got}; expected text matching {error['ctx']['pattern']}"]
    if kind in _TYPE_NAMES:
        return [f"{where}: got {got}; expected {_TYPE_NAMES[kind]}"]
    expected = re.sub(r"^\w+ should (be )?", "", str(error["msg"]))
    return [f"{where}: got {got}; expected {expected}"]


def _percent(error: Any, bounds: dict[str, Any]) -> str:
    """A hint for a share given as a percentage (85 for 0.85), a careless user's commonest slip."""
    value = error.get("input")
    if bounds.get("ge") != 0 or bounds.get("le") != 1 or isinstance(value, bool):
        return ""
    if isinstance(value, int | float) and 2 <= value <= 100:  # 1.5 is a slip, not 1.5%
        return f"; {plain_number(float(value))} looks like a percentage: {value / 100:g}"
    return ""


# A model validator's line that already starts with its field path ("segments.*.weight: ...").
_HAS_PATH = re.compile(r"^[A-Za-z_][\w.*\[\]]*: ")


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `--set path=value` to a raw scenario dict (value in TOML syntax, else a string)."""
    if "=" not in item:
        raise BadInput([f"--set {item}: no '='; expected path=value, e.g. router.threshold=0.9"])
    path, text = (part.strip() for part in item.split("=", 1))
    value = parse_value(text)
    where = f"--set {path}"
    tokens = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    if not tokens or "".join(t if t.startswith("[") else "." + t for t in tokens).lstrip(".") != (
        path
    ):
        raise BadInput(
            [
                f"{where}: malformed path; expected names joined by '.' with optional [index], "
                "e.g. segments[0].weight or segments.core.weight"
            ]
        )
    node: Any = raw
    model: Any = Scenario
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(node, list):
            index = _list_index(node, token, where)
            if last:
                node[index] = value
                return
            node = node[index]
            model = _member_model(model, node)
            continue
        if token.startswith("["):
            raise BadInput([f"{where}: got index {token} on a table; expected a field name"])
        allowed = _allowed_keys(model)
        if allowed is not None and token not in allowed:
            hint = did_you_mean(token, allowed)
            raise BadInput(
                [f"{where}: unknown field {token!r}{hint}; expected one of {', '.join(allowed)}"]
            )
        if last:
            node[token] = value
            return
        annotation = model.model_fields[token].annotation if is_model(model) else None
        if token not in node:
            node[token] = [] if is_list(annotation) else {}
        elif is_distribution(annotation) and not isinstance(node[token], dict):
            node[token] = {"dist": "constant", "value": node[token]}
        elif not isinstance(node[token], dict | list):
            inside = ".".join(tokens[: i + 1]).replace(".[", "[")
            raise BadInput(
                [
                    f"{where}: {inside} holds the value {show(node[token])}, not a table; "
                    f"expected --set {inside}=VALUE"
                ]
            )
        model = inner_model(annotation) if annotation is not None else None
        node = node[token]


def _member_model(model: Any, item: Any) -> Any:
    """The model of one [[drift]] entry: the union's member its `kind` names (the union's first
    member, MixDrift, would refuse a concept drift's fields)."""
    if model in DRIFT_MODELS.values() and isinstance(item, dict):
        return DRIFT_MODELS.get(str(item.get("kind")), model)
    return model


def parse_value(text: str) -> Any:
    """A `--set` value: TOML value syntax, else the text itself (an unquoted string)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _list_index(node: list[Any], token: str, where: str) -> int:
    if token.startswith("["):
        index = int(token.strip("[]"))
        if index >= len(node):
            expected = f"an index from 0 to {len(node) - 1}" if node else "none (the list is empty)"
            raise BadInput(
                [f"{where}: got index {index}; expected {expected} (the list has {len(node)})"]
            )
        return index
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if token not in names:
        known = [n for n in names if n]
        hint = did_you_mean(token, known)
        expected = f"one of {', '.join(known)}" if known else "an index [i] (no entry has a name)"
        raise BadInput([f"{where}: no entry named {token!r}{hint}; expected {expected}"])
    return names.index(token)


def _allowed_keys(model: Any) -> list[str] | None:
    if is_model(model):
        if model is DIST_MODELS["constant"]:
            # any distribution's parameters: `--set x.dist=...` may switch the kind
            return sorted(DIST_FIELDS)
        return list(model.model_fields)
    return None


def resolved(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, ready to write back as TOML."""
    return copy.deepcopy(scenario.model_dump(mode="json", exclude_none=True))
