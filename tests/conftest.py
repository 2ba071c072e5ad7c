"""Shared fixtures: the small scenarios and logs of `tests/builders.py`, handed to tests by name.

A test asks for `raw`, `scenario`, `write_logs` or `synthetic_logs` as an argument instead of
importing them; module-level code (parametrize lists, strategies) still imports `tests.builders`.
"""

from collections.abc import Callable
from typing import Any

import pytest

from sim.scenario.models import Scenario
from tests import builders


@pytest.fixture
def raw() -> Callable[..., dict[str, Any]]:
    """A copy of the base scenario dict with the given tables' keys updated."""
    return builders.raw


@pytest.fixture
def scenario() -> Callable[..., Scenario]:
    """A validated scenario from the base dict and the given table updates."""
    return builders.scenario


@pytest.fixture
def write_logs() -> Callable[..., Any]:
    """Write logged student outputs as CSV, Parquet or JSONL, by the path's extension."""
    return builders.write_logs


@pytest.fixture
def synthetic_logs() -> Callable[..., dict[str, list[Any]]]:
    """Rows of segment, confidence and correct drawn per segment at a given accuracy."""
    return builders.synthetic_logs
