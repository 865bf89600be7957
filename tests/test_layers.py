"""The packages of ``sales_rca`` import each other one way only (read from the source, every
import counted: top-level, inside functions and under ``TYPE_CHECKING``)."""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sales_rca"


def _unit(module: str) -> str:
    """``sales_rca.report.html`` -> ``report``; ``sales_rca`` itself -> ``sales_rca``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@cache
def import_graph() -> dict[str, set[str]]:
    """Which first-level module or package of ``sales_rca`` imports which other one."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        here = _unit(".".join(p for p in parts if p != "__init__"))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
                if node.module == "sales_rca":
                    names = [f"sales_rca.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("sales_rca.") and _unit(name) != here:
                    graph[here].add(_unit(name))
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_graph_sees_the_imports_it_should():
    graph = import_graph()
    assert {"report", "errors"} <= graph["batch"]
    assert "report" in graph["ui"]


def test_report_never_imports_batch_so_batch_can_import_report():
    graph = import_graph()
    assert "batch" not in reachable(graph, "report")


def test_no_import_cycle_runs_through_report_or_batch():
    graph = import_graph()
    for unit in ("report", "batch"):
        assert unit not in reachable(graph, unit), f"{unit} imports itself through another package"
