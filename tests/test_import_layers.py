"""The package's import graph runs one way: no package (or top-level module) of lit_align
imports one that imports it back, directly or through others. Lazy imports inside
functions count: they are dependencies too, only deferred."""

from __future__ import annotations

import ast
from collections import defaultdict

from tests.conftest import REPO

PACKAGE = REPO / "lit_align"


def _unit(module: str) -> str:
    """`lit_align.data.records` -> `data`; `lit_align.models` -> `models`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "lit_align"


def import_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        source = _unit(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lit_align":
                targets = [f"lit_align.{a.name}" for a in node.names] if node.module == "lit_align" else [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "lit_align"]
            else:
                continue
            edges[source] |= {_unit(t) for t in targets} - {source, "lit_align"}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_three_package_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}}) == []


def test_lit_align_imports_run_one_way():
    graph = import_graph()
    assert {"binding", "config", "data", "continual", "modules"} <= graph.keys()
    assert cycles(graph) == []
    # the ground floor (binding and the registry of component names) imports nothing else of
    # lit_align but errors; the settings sit right above it
    assert graph["binding"] <= {"errors", "registry"} and graph.get("registry", set()) <= {"errors"}
    assert graph["config"] <= {"binding", "errors", "io", "secrets"}
