"""The import graph: no cycles among sim modules, and the kernels stay free of pydantic.

Imports are read with `ast`, not by importing, so the test sees every module whatever it loads.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sim.engine.reference import AFTER_STUDENT
from sim.scenario.policies import POLICY_TABLE

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"


def _module_name(path: Path) -> str:
    """sim/engine/kernels/tick.py -> sim.engine.kernels.tick; a package's __init__ is the
    package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """(module, names) per import statement; function bodies only when not top_level_only."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # never runs
            if top_level_only and isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            ):
                continue  # runs when called, not when imported
            if isinstance(child, ast.Import):
                found.extend((alias.name, []) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, [alias.name for alias in child.names]))
            visit(child)

    visit(tree)
    return found


def import_graph(top_level_only: bool) -> dict[str, set[str]]:
    """Every sim module and the modules it imports (sim modules and third-party roots)."""
    modules = {_module_name(p): p for p in SIM.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for module, names in _imports(ast.parse(path.read_text()), top_level_only):
            if not module.startswith("sim"):
                edges.add(module.split(".")[0])
                continue
            # `from sim import samples` imports the module sim.data.samples
            subs = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules]
            edges.update(subs or [module])
        edges.discard(name)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among sim modules, if any (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _reaches(graph: dict[str, set[str]], start: str, target: str) -> list[str] | None:
    """The import chain from start to target, if one exists."""
    seen, todo = {start}, [[start]]
    while todo:
        chain = todo.pop()
        for nxt in sorted(graph.get(chain[-1], ())):
            if nxt == target:
                return chain + [nxt]
            if nxt in graph and nxt not in seen:
                seen.add(nxt)
                todo.append(chain + [nxt])
    return None


def test_no_import_cycles() -> None:
    """Not even through an import inside a function (sim.scenario.models and
    sim.scenario.distributions had one)."""
    assert _cycle(import_graph(top_level_only=False)) is None


def test_kernels_never_import_pydantic() -> None:
    graph = import_graph(top_level_only=True)
    kernels = [m for m in graph if m.startswith("sim.engine.kernels")]
    assert kernels
    for module in kernels:
        assert _reaches(graph, module, "pydantic") is None, module


def test_the_graph_sees_known_edges() -> None:
    """The reader is not blind: edges that exist are found (a guard for the tests above)."""
    graph = import_graph(top_level_only=True)
    assert "pydantic" in graph["sim.scenario.models"]
    assert "sim.scenario.policies" in graph["sim.scenario.models"]
    assert _reaches(graph, "sim.scenario.field_reference", "pydantic") is not None


def test_every_policy_that_uses_the_student_has_a_reference_twin() -> None:
    assert {p.name for p in POLICY_TABLE if p.uses_student} == set(AFTER_STUDENT)
