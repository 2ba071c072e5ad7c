"""The kernel's array layouts (sim/engine/kernels/layout.py): each a tuple of names, its constants a
permutation of 0..N-1 (no two names share a slot, which once silently added verifier costs into
the human column), every constant read by a kernel, and the frames' columns named by the same
tuples."""

import ast
import re
from pathlib import Path

import pytest

from sim import runner
from sim.analysis import metrics
from sim.engine.kernels import layout
from tests import builders

KERNELS = Path(layout.__file__).parent
LAYOUTS = {name: value for name, value in vars(layout).items() if isinstance(value, layout.Layout)}


def _constants() -> dict[str, dict[str, str]]:
    """{layout variable: {constant: name}} for every `CONSTANT = LAYOUT["name"]` in layout.py."""
    found: dict[str, dict[str, str]] = {name: {} for name in LAYOUTS}
    for node in ast.parse(Path(layout.__file__).read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Subscript)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id in LAYOUTS
        ):
            (target,) = node.targets
            assert isinstance(target, ast.Name) and isinstance(node.value.slice, ast.Constant)
            found[node.value.value.id][target.id] = node.value.slice.value
    return found


CONSTANTS = _constants()


NAMED = {name for name, value in LAYOUTS.items() if value in layout.NAMED_TUPLES}


def test_every_layout_is_listed_and_has_constants():
    assert set(LAYOUTS.values()) == set(layout.LAYOUTS)
    assert all(CONSTANTS[name] for name in LAYOUTS if name not in NAMED)
    assert not any(CONSTANTS[name] for name in NAMED), "a named tuple's fields are read by name"


def test_the_named_tuples_are_their_layouts():
    """ModelParams, Route and Draw have their layout's fields in its order, and a pending row is a
    Route then a Draw, so to_row and from_row (which copy by position) cannot drift apart."""
    assert layout.ModelParams._fields == layout.MODEL.names
    assert layout.Route._fields == layout.ROUTE.names
    assert layout.Draw._fields == layout.DRAW.names
    assert layout.CALL.names == (*layout.ROUTE.names, *layout.DRAW.names, "u_secondary")
    assert layout.R_READY == 0, "the pending heap is keyed on the ready time"


@pytest.mark.parametrize(
    "field",
    sorted({f"{lay.what}.{n}" for lay in layout.NAMED_TUPLES for n in lay.names}),
    ids=str,
)
def test_every_named_field_is_read_by_a_kernel(field):
    """Every field of ModelParams, Route and Draw is read as an attribute (m.deadline_s) by some
    kernel, or written by position into the pending row (Route and Draw)."""
    what, name = field.split(".")
    sources = "\n".join(p.read_text() for p in KERNELS.glob("*.py") if p.name != "layout.py")
    assert re.search(rf"\.{name}\b", sources), f"{what} field {name} is never read"


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_constants_are_a_permutation_of_the_slots(name):
    """Each constant is its name's slot; an array layout has one constant per name. The pending
    row (CALL) is copied by position and names only its heap key and its secondary latents."""
    lay = LAYOUTS[name]
    constants = CONSTANTS[name]
    for constant, field in constants.items():
        assert getattr(layout, constant) == lay.names.index(field)
    assert lay.size >= len(lay.names)
    if name in NAMED or name == "CALL":
        return
    assert sorted(constants.values()) == sorted(lay.names), "one constant per name, no other"
    slots = sorted(getattr(layout, c) for c in constants)
    assert slots == list(range(len(lay.names)))


@pytest.mark.parametrize(
    "constant", sorted(c for group in CONSTANTS.values() for c in group), ids=str
)
def test_every_constant_is_read_by_a_kernel(constant):
    sources = (p.read_text() for p in KERNELS.glob("*.py") if p.name != "layout.py")
    assert any(re.search(rf"\b{constant}\b", text) for text in sources)


def test_the_tick_reads_no_bare_column_numbers():
    """The tick and its helpers read every laid-out array by name, never `array[..., 3]`
    (free_at[0], the pool's earliest slot, the pair of pools and shapes in docstrings excepted)."""
    bare = re.compile(
        r"\b(?!free_at\b|pools\b|shape\b|float64\b|int64\b)\w+\[(?:[^\[\]]*,\s*)?\d+\]"
    )
    for module in ("tick", "routing", "queueing"):
        for line in (KERNELS / f"{module}.py").read_text().splitlines():
            assert not bare.search(line), f"{module}.py: {line.strip()}"


def test_the_frames_columns_come_from_the_layouts():
    result = runner.run(
        builders.scenario(scenario={"horizon_days": 0.02, "seed": 0, "tick_s": 600}),
        sample_fraction=0.5,
    )
    assert result.calls_sample is not None
    assert result.calls_sample.columns == ["replication", "tick", *layout.SAMPLE.names]
    raw = metrics.tick_frame(result.scenario, result.aggregates)
    timeseries_counts = [n for n in layout.COUNTS.names if n != "student_errors"]
    assert set(timeseries_counts) <= set(raw.columns)
    assert set(metrics.TICK_VALUES) <= set(layout.VALUES.names) & set(raw.columns)
    assert runner.SOURCES == layout.SOURCES
