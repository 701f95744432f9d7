"""The project's import graph has no cycle and points one way: scenarios <- agents <- arena <-
analysis, with the entry points on top.

Every `import` and `from ... import` counts, inside functions too (a lazy import is still a
dependency); only imports under `if TYPE_CHECKING:` are left out, since they never run (they
name a type for the reader and the type checker).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scenarios", "agents", "arena", "analysis")  # each may import those before it
# the entry points sit on top of every package: the command line, the `demo` command (a run
# and its report) and the Python API (a run and its frames); worker processes import none of them
ENTRY_POINTS = ("arena.cli", "arena.cli_", "arena.demo", "arena.api", "analysis.cli")


def _modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:`."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skip.update(id(n) for n in ast.walk(inner))
    return skip


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Each project module -> the project modules it imports (anywhere in its body)."""
    modules = _modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skip = _type_checking_only(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                deps.update(filter(None, (resolve(a.name) for a in node.names)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's own package upwards
                    package = name.split(".") if path.name == "__init__.py" else \
                        name.split(".")[:-1]
                    package = package[:len(package) - node.level + 1]
                    base = ".".join(package + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    target = full if full in modules else resolve(base)
                    if target:
                        deps.add(target)
        deps.discard(name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def against_the_direction(graph: dict[str, set[str]]) -> list[str]:
    rank = {package: i for i, package in enumerate(PACKAGES)}
    wrong = []
    for module, deps in graph.items():
        if module.startswith(ENTRY_POINTS):
            continue
        for dep in deps:
            if rank[dep.split(".")[0]] > rank[module.split(".")[0]]:
                wrong.append(f"{module} -> {dep}")
    return sorted(wrong)


def test_the_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    assert "scenarios.loader" in graph and graph["agents.base"] is not None
    assert "analysis.summary" in graph["arena.cli"]  # imported inside a command's function


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_imports_point_one_way() -> None:
    assert against_the_direction(import_graph()) == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "arena" / "a.py").write_text("def f():\n    from arena import b\n")
    (tmp_path / "arena" / "b.py").write_text("import arena.a\n")
    (tmp_path / "scenarios" / "s.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import analysis.x\n"
        "def g():\n    from agents.m import thing\n")
    (tmp_path / "agents" / "m.py").write_text("thing = 1\n")
    (tmp_path / "analysis" / "x.py").write_text("")
    graph = import_graph(tmp_path)
    assert cycles(graph) == [["arena.a", "arena.b"]]
    assert against_the_direction(graph) == ["scenarios.s -> agents.m"]
