"""The architecture's layers, read from the source with `ast`: the engine never imports analysis,
batch or report; the kernels never load pydantic, not even through another module; and sim's
modules import no cycle. Lazy imports inside functions count: they are dependencies too."""

import ast
from collections import deque
from pathlib import Path

SIM = Path(__file__).resolve().parents[1] / "sim"
FORBIDDEN_FOR_ENGINE = ("sim.analysis", "sim.batch", "sim.report")

# Known violations, each with its reason; the test fails when one disappears, so the list only
# shrinks. Empty: the layering holds.
PENDING: dict[str, str] = {}


def module_name(path: Path) -> str:
    """`sim/engine/control.py` -> `sim.engine.control`; a package's `__init__.py` is the package."""
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """Every dotted name a file imports, at the top or in a function (from a import b: a.b too)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """sim module -> the sim modules it imports; sim module -> the outside packages it imports."""
    files = {module_name(p): p for p in SIM.rglob("*.py") if "__pycache__" not in p.parts}
    inside: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for name, path in files.items():
        names = imported_names(path)
        inside[name] = {n for n in names if n in files and n != name}
        outside[name] = {n.split(".")[0] for n in names if n.split(".")[0] != "sim"}
    return inside, outside


def with_parents(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first: add those edges."""
    out = {name: set(targets) for name, targets in graph.items()}
    for name, targets in graph.items():
        for target in targets:
            parts = target.split(".")
            out[name] |= {
                ".".join(parts[:i]) for i in range(2, len(parts)) if ".".join(parts[:i]) in graph
            }
    return out


def chains(graph: dict[str, set[str]], starts: list[str]) -> dict[str, list[str]]:
    """Each module reachable from `starts`, with one shortest import chain leading to it."""
    seen = {start: [start] for start in starts}
    queue = deque(sorted(starts))
    while queue:
        here = queue.popleft()
        for there in sorted(graph[here]):
            if there not in seen:
                seen[there] = [*seen[here], there]
                queue.append(there)
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: strongly connected groups of two or more modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def check(rule: str, found: dict[str, str]) -> None:
    """Fail on a violation not pending, and on a pending one of this rule that no longer happens."""
    new = {key: why for key, why in found.items() if key not in PENDING}
    assert not new, "layering broken:\n" + "\n".join(f"{k}  ({v})" for k, v in sorted(new.items()))
    fixed = [key for key in PENDING if key.startswith(rule + ":") and key not in found]
    assert not fixed, f"no longer happens, delete from PENDING: {fixed}"


def test_engine_never_imports_analysis_batch_or_report():
    inside, _ = import_graph()
    engine = [name for name in inside if name.startswith("sim.engine")]
    reach = chains(inside, engine)
    found = {
        f"engine: {a} -> {b}": " -> ".join(reach[a] + [b])
        for a in reach
        for b in inside[a]
        if b.startswith(FORBIDDEN_FOR_ENGINE)
    }
    check("engine", found)


def test_kernels_never_load_pydantic():
    inside, outside = import_graph()
    kernels = [name for name in inside if name.startswith("sim.engine.kernels")]
    assert kernels, "no kernels found under sim/engine/kernels"
    reach = chains(with_parents(inside), kernels)
    found = {
        f"kernels: {name} imports pydantic": " -> ".join(chain)
        for name, chain in reach.items()
        if "pydantic" in outside[name]
    }
    check("kernels", found)


def test_no_import_cycles():
    inside, _ = import_graph()
    found = {"cycle: " + " <-> ".join(group): "these import each other" for group in cycles(inside)}
    check("cycle", found)
