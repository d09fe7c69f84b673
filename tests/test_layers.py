"""The floors of the house, enforced: ``kgrec`` (domain) <- ``kg`` <- ``models`` <- ``server`` <-
``bench``. A module may import from its own floor or a lower one, never a higher one (the CLI
entry point, which dispatches to every floor, excepted), and files do not import each other
in a circle. Imports inside functions count too: a lazy import is still an arrow.

``KNOWN_CYCLES`` is where a circle that must land before it is untangled would be listed (it
is empty: there are none); a new circle fails the test.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from project_files import not_project_code

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {"kgrec": 0, "kg": 1, "models": 2, "server": 3, "bench": 4}
#: modules allowed to import from any floor
ENTRY_POINTS = frozenset({"kgrec.cli"})
#: import circles that predate the layering test (to be taken apart, never added to)
KNOWN_CYCLES: tuple[frozenset[str], ...] = ()


def _modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for top in FLOORS:
        for path in (root / top).rglob("*.py"):
            relative = path.relative_to(root)
            parts = list(relative.with_suffix("").parts)
            if "v1" in parts or not_project_code(relative):  # generated stubs, venvs, caches
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in the file)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                wanted = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                wanted = [f"{prefix}.{a.name}" for a in node.names]
                wanted = [w if w in modules else prefix for w in wanted]
            else:
                continue
            for target in wanted:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph)))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_module_imports_from_a_higher_floor() -> None:
    graph = import_graph()
    upward = sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        if a not in ENTRY_POINTS
        for b in targets
        if FLOORS[b.split(".")[0]] > FLOORS[a.split(".")[0]]
    )
    assert upward == [], "imports from a higher floor:\n" + "\n".join(upward)


def test_no_new_import_circles() -> None:
    new = [c for c in cycles(import_graph()) if not any(c <= known for known in KNOWN_CYCLES)]
    assert new == [], "import circles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in new)


def test_the_checks_see_an_upward_import_and_a_circle() -> None:
    """The analysis itself: a fake graph with one upward arrow and one circle."""
    graph = {"kg.a": {"server.b"}, "server.b": {"kg.a"}, "models.c": set()}
    assert cycles(graph) == [frozenset({"kg.a", "server.b"})]
    real = import_graph()
    assert "models.scoring.item_scorer" in real and "kgrec.domain" in real
    assert "models.scoring.item_scorer" in real["models.scoring.gnn_scorer"]


def test_the_export_writer_and_the_importers_do_not_import_each_other() -> None:
    """``kg.export`` used a module of ``kg.importers`` (whose package imports the registry)
    while the registry imported ``kg.export``: a circle through a package ``__init__``, which
    the file graph above does not follow. The format both need is in ``kg.export_format``."""
    graph = import_graph()
    importers = {m for m in graph if m == "kg.importers" or m.startswith("kg.importers.")}
    assert graph["kg.export"].isdisjoint(importers)
    assert [m for m in sorted(importers) if "kg.export" in graph[m]] == []
    assert "kg.export_format" in graph["kg.importers.export_file"]


def test_virtual_environments_are_not_project_modules(tmp_path: Path) -> None:
    (tmp_path / "bench" / ".venv-recbole" / "lib").mkdir(parents=True)
    (tmp_path / "bench" / ".venv-recbole" / "lib" / "dep.py").write_text("x = 1\n")
    (tmp_path / "bench" / "run.py").write_text("x = 1\n")
    assert list(_modules(tmp_path)) == ["bench.run"]
