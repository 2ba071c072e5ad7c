"""docs/scenario.md is generated from the models: it must match them and name every field."""

import typing
from pathlib import Path

from pydantic import BaseModel
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario.field_reference import REGENERATE, scenario_reference
from sim.scenario.models import DIST_KINDS, Scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario.md"


def models(annotation: object = Scenario) -> set[type[BaseModel]]:
    """Every model reachable from an annotation (tables, entries, distributions)."""
    found: set[type[BaseModel]] = set()
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.add(annotation)
        for info in annotation.model_fields.values():
            found |= models(info.annotation)
    for arg in typing.get_args(annotation):
        found |= models(arg)
    return found


def test_docs_match_the_models():
    assert DOC.read_text(encoding="utf-8") == scenario_reference(), (
        f"docs/scenario.md is stale; regenerate it with `{REGENERATE}`"
    )


def test_every_field_of_every_model_is_documented():
    text = scenario_reference()
    reachable = models()
    assert len(reachable) >= 14  # 7 tables, outages, 6 distributions at least
    for model in reachable - {Scenario}:  # Scenario's fields are the tables: sections below
        for name in model.model_fields:
            assert f"`{name}`" in text, f"{model.__name__}.{name} is missing from the reference"


def test_every_table_and_distribution_has_a_section():
    text = scenario_reference()
    for name, info in Scenario.model_fields.items():
        is_list = typing.get_origin(info.annotation) is list
        header = f"[[{name}]]" if is_list else f"[{name}]"
        if name == "drift":  # one section per kind of drift event
            for kind in ("mix", "concept", "random_walk"):
                assert f'\n## {header} kind = "{kind}"\n' in text
            continue
        assert f"\n## {header}\n" in text
    for kind in DIST_KINDS:
        assert f'\n### dist = "{kind}"\n' in text
    assert "not supported yet" not in text.lower()  # every capability of the design landed


def test_schema_markdown_prints_the_reference():
    result = CliRunner().invoke(app, ["schema", "--markdown"])
    assert result.exit_code == 0, result.output
    assert result.stdout == scenario_reference()
