"""Reading a scenario file: TOML, `--set` overrides, and pydantic errors as one line per problem."""

from __future__ import annotations

import copy
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.problems import BadInput, did_you_mean, show
from sim.scenario import DIST_KINDS, Constant, Scenario

# Tables the DESIGN defines whose capability has not landed; present means refused, never ignored.
NOT_YET: dict[str, str] = {
    "verifier": "distill + verify routing",
    "human": "human review",
    "drift": "drift events",
    "secondary": "secondary outputs",
    "monitoring": "monitoring",
    "retraining": "retraining",
    "signals": "the signals scorecard",
}
_DIST_FIELDS = {"dist", "value", "mean", "median", "sigma", "a", "b", "mu", "path", "column"}


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Read, override and validate a scenario file; raise BadInput listing every problem."""
    raw = read_toml(path)
    for item in overrides or []:
        apply_override(raw, item)
    return validate(raw)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, reporting a missing file or a syntax error with its line and column."""
    file = Path(path)
    if not file.is_file():
        raise BadInput([f"{path}: no such file; expected a scenario .toml file"])
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise BadInput([f"{path}: malformed TOML: {err}"]) from None
    except UnicodeDecodeError as err:
        raise BadInput([f"{path}: not UTF-8 text ({err.reason}); expected a TOML file"]) from None


def validate(raw: dict[str, Any]) -> Scenario:
    """Validate a parsed scenario dict into a frozen Scenario."""
    problems = [
        f"{table}: not supported yet ({what} arrives in a later release); remove the table"
        for table, what in NOT_YET.items()
        if table in raw
    ]
    raw = {k: v for k, v in raw.items() if k not in NOT_YET}
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        problems += [line for e in err.errors() for line in _describe(e, raw)]
        raise BadInput(problems) from None
    problems += _unsupported_settings(scenario)
    if problems:
        raise BadInput(problems)
    return scenario


def _unsupported_settings(s: Scenario) -> list[str]:
    problems = []
    if s.router.policy in ("verify", "ensemble"):
        problems.append(
            f"router.policy: got {s.router.policy!r}; not supported yet, expected "
            "teacher_only, student_only or cascade"
        )
    checks = [
        ("router.deadline_s", s.router.deadline_s),
        ("router.bypass_queue_s", s.router.bypass_queue_s),
        ("teacher.rate_limit_per_min", s.teacher.rate_limit_per_min),
        ("teacher.outages", len(s.teacher.outages)),
    ]
    for field, value in checks:
        if value:
            problems.append(f"{field}: got {value}; not supported yet, expected 0 (off)")
    for i, seg in enumerate(s.segments):
        for name in ("tokens_in", "tokens_out", "confidence_correct", "confidence_wrong"):
            if getattr(seg, name).dist == "empirical":
                problems.append(f"segments[{i}].{name}: empirical distributions not supported yet")
    for name in ("service_s",):
        if getattr(s.student, name).dist == "empirical":
            problems.append(f"student.{name}: empirical distributions not supported yet")
    if s.teacher.latency_s.dist == "empirical":
        problems.append("teacher.latency_s: empirical distributions not supported yet")
    return problems


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in DIST_KINDS or str(part).startswith(("function-", "<missing>")):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _lookup(raw: Any, loc: tuple[Any, ...]) -> Any:
    node = raw
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            node = node[part]
    return node


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that owns the key at the end of a loc, for did-you-mean."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if part in DIST_KINDS:
            return None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    for arg in typing.get_args(annotation) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _describe(error: Any, raw: dict[str, Any]) -> list[str]:
    loc = tuple(error["loc"])
    where = _path(loc) or "scenario file"
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc)
        choices = list(model.model_fields) if model else []
        hint = did_you_mean(str(loc[-1]), choices)
        return [f"{where}: unknown key{hint}; expected one of {', '.join(choices)}"]
    if kind == "missing":
        return [f"{where}: missing; this field is required"]
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        got = _lookup(raw, loc)
        tag = got.get("dist") if isinstance(got, dict) else got
        hint = did_you_mean(str(tag), DIST_KINDS)
        return [f"{where}.dist: got {show(tag)}{hint}; expected one of {', '.join(DIST_KINDS)}"]
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return [
            f"{where}: {line}" if ":" not in line[:40] else line for line in message.split("\n")
        ]
    got = show(error.get("input"))
    expected = re.sub(r"^Input should (be )?", "", str(error["msg"]))
    return [f"{where}: got {got}; expected {expected}"]


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `--set path=value` to a raw scenario dict (value in TOML syntax, else a string)."""
    if "=" not in item:
        raise BadInput([f"--set {item}: expected path=value, e.g. router.threshold=0.9"])
    path, text = (part.strip() for part in item.split("=", 1))
    value = _parse_value(text)
    tokens = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    if not tokens or "".join(t if t.startswith("[") else "." + t for t in tokens).lstrip(".") != (
        path
    ):
        raise BadInput([f"--set {path}: malformed path; expected e.g. segments.core.weight"])
    node: Any = raw
    model: Any = Scenario
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        where = f"--set {path}"
        if isinstance(node, list):
            index = _list_index(node, token, where)
            if last:
                node[index] = value
                return
            node = node[index]
            continue
        key = token.strip("[]")
        allowed = _allowed_keys(model, node)
        if allowed is not None and key not in allowed:
            raise BadInput([f"{where}: unknown field {key!r}{did_you_mean(key, allowed)}"])
        if not isinstance(node, dict):
            raise BadInput([f"{where}: {key!r} is inside a value, not a table"])
        if last:
            node[key] = value
            return
        field_model = model.model_fields[key].annotation if _is_model(model) else None
        model = _inner_model(field_model) if field_model is not None else None
        if key not in node:
            node[key] = [] if _is_list(field_model) else {}
        elif not isinstance(node[key], dict | list):
            node[key] = {"dist": "constant", "value": node[key]}
        node = node[key]


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _list_index(node: list[Any], token: str, where: str) -> int:
    if token.startswith("["):
        index = int(token.strip("[]"))
        if index >= len(node):
            raise BadInput([f"{where}: index {index} out of range; the list has {len(node)}"])
        return index
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if token not in names:
        hint = did_you_mean(token, [n for n in names if n])
        raise BadInput([f"{where}: no entry named {token!r}{hint}"])
    return names.index(token)


def _allowed_keys(model: Any, node: Any) -> list[str] | None:
    if _is_model(model):
        if model is Constant:
            return sorted(_DIST_FIELDS)
        return list(model.model_fields)
    return None


def _is_model(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, BaseModel)


def _is_list(annotation: Any) -> bool:
    if annotation is None:
        return False
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def resolved(scenario: Scenario) -> dict[str, Any]:
    """The scenario with every default filled in, ready to write back as TOML."""
    return copy.deepcopy(scenario.model_dump(mode="json", exclude_none=True))
