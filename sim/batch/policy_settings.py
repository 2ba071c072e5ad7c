"""`compare --policy NAME[:path=value]`: settings that apply to one policy only, so that a cascade's
threshold does not leak into verify (`--policy cascade --policy verify:router.threshold=0`).

Each `--policy` names a policy and, after a colon, at most one setting in `--set` syntax (a TOML
value, else a bare word as a string); repeating a policy adds its settings, in order, to the same
variant. The settings are applied after `--set` and the policy itself, so they win over both; a
field that is also a `--grid` axis is refused, since the grid would not vary it for that policy.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sim.problems import BadInput, did_you_mean, show
from sim.scenario import grid
from sim.scenario import loading as scenario_file
from sim.scenario.policies import POLICIES

FORM = "NAME or NAME:path=value, e.g. verify:router.threshold=0.5"


def parse(items: list[str]) -> dict[str, dict[str, Any]]:
    """The `--policy` options as {policy: {path: value}}, policies in first-mention order; every
    unknown name or malformed setting is one problem."""
    chosen: dict[str, dict[str, Any]] = {}
    problems = []
    for item in items:
        name, colon, setting = item.partition(":")
        name = name.strip()
        if name not in POLICIES:
            problems.append(
                f"--policy: got {show(name)}{did_you_mean(name, POLICIES)}; expected one of "
                f"{', '.join(POLICIES)}"
            )
            continue
        settings = chosen.setdefault(name, {})
        if not colon:
            continue
        path, equals, text = (part.strip() for part in setting.partition("="))
        if not equals or not path:
            problems.append(f"--policy {name}: got {show(setting)}; expected {FORM}")
        elif path == "router.policy":
            problems.append(
                f"--policy {name}:router.policy: got a policy inside a policy's settings; "
                f"expected --policy P for each policy"
            )
        else:
            settings[path] = scenario_file.parse_value(text)
    if problems:
        raise BadInput(list(dict.fromkeys(problems)))
    return chosen


def check(
    file: Path, overrides: list[str], chosen: dict[str, dict[str, Any]], axes: list[str]
) -> None:
    """Every setting's path must name a field of the scenario (checked on the file with its
    `--set`s, once per setting) and must not be a `--grid` axis; one line per problem."""
    if not any(chosen.values()):
        return
    raw = scenario_file.read_toml(file)
    for item in overrides:
        scenario_file.apply_override(raw, item)
    problems = []
    for name, settings in chosen.items():
        for path, value in settings.items():
            if path in axes:
                problems.append(
                    f"--policy {name}:{path}: also a --grid axis; expected the field in one of "
                    "--grid or --policy, not both"
                )
                continue
            try:
                scenario_file.apply_override(
                    copy.deepcopy(raw), grid.as_overrides({path: value})[0]
                )
            except BadInput as bad:
                problems += [
                    line.replace("--set ", f"--policy {name}:", 1) for line in bad.problems
                ]
    if problems:
        raise BadInput(problems)
