"""The workshop notebooks: clean in git, a parameters cell of literals, and they execute on every
demo client shape."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest
from batch_fixtures import NOTEBOOK, BatchRun

NOTEBOOKS = sorted(NOTEBOOK.parent.glob("*.ipynb"))
DEMO_CLIENTS = ("northwind-demo-co", "contoso-analytics", "fabrikam-maschinenbau-gmbh")


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_in_git_carry_no_outputs_and_no_injected_parameters(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        assert "injected-parameters" not in tags(cell)
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
    assert "papermill" not in nb.metadata


def test_the_diagnostic_has_one_parameters_cell_of_plain_literals() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (params,) = [c for c in nb.cells if "parameters" in tags(c)]
    tree = ast.parse(params.source)
    names = []
    for node in tree.body:
        # only `name: type = literal`: anything computed from a parameter comes after this cell
        assert isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        ast.literal_eval(node.value)
        names.append(node.target.id)
    assert names[:3] == ["client", "export_path", "history_path"]
    assert {"session_path", "baseline", "official_stages", "currency", "period"} <= set(names)


def test_diagnostic_cells_stay_thin() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" not in tags(cell):
            statements = ast.parse(cell.source).body
            assert len(statements) <= 6, cell.source
            assert not any(
                isinstance(s, ast.FunctionDef | ast.ClassDef | ast.For) for s in statements
            )


@pytest.mark.notebook
@pytest.mark.parametrize("slug", DEMO_CLIENTS)
def test_the_diagnostic_executes_on_each_demo_client(slug: str, demo_batch: BatchRun) -> None:
    run = demo_batch
    nb = json.loads((run.out / slug / "diagnostic.ipynb").read_text("utf-8"))
    outputs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    html = " ".join(
        "".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})
    )
    for section in ("Data check", "Pipeline x-ray", "Why deals were lost", "Root-cause hypotheses"):
        assert section in html
    assert "Recommended plays" in html
    injected = [c for c in nb["cells"] if "injected-parameters" in tags(c)]
    assert len(injected) == 1 and "client = " in "".join(injected[0]["source"])
    results = json.loads((run.out / slug / "results.json").read_text("utf-8"))
    assert results["deals"]["won"] > 0 and results["deals"]["lost"] > 0
    assert results["top_categories"], "loss coding ranked no category"
