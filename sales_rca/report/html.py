"""An executed diagnostic notebook to one self-contained HTML summary, through nbconvert.

The ``summary`` template (``sales_rca/resources/templates/summary``, styled by the one stylesheet
of :func:`sales_rca.render.stylesheet`) hides code and prompts, puts
the executive summary (the cell tagged ``summary``) first, embeds plotly.js once in the file and
draws each figure from its JSON, and loads nothing from the network (no CDN, no require.js, no
MathJax, no web fonts). It prints well: the executive summary is one page, charts never split.
"""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import nbformat

from sales_rca import render, resources
from sales_rca.report.sections import PLOTLY_MIME
from sales_rca.report.summary import RESULTS_MIME

#: Cells the summary never shows: parameters (as written and as injected), the results output, and
#: notes for whoever opens the notebook.
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "results", "notebook-only"})
SUMMARY_TAG = "summary"
TEMPLATE_NAME = "summary"
#: Output types in the order the summary prefers them.
DISPLAY_PRIORITY = [
    PLOTLY_MIME,
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/plain",
]


def templates_dir() -> Path:
    """The folder of sales-rca's nbconvert templates."""
    return resources.template_dir()


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def plotly_json(data: Any) -> str:
    """Figure JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` left."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _svg_base64(svg: str) -> str:
    return base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def arrange(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` as the summary shows it: hidden cells dropped, the summary cell first."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if not (_tags(c) & HIDDEN_TAGS)]
    first = [c for c in cells if SUMMARY_TAG in _tags(c)]
    nb.cells = first + [c for c in cells if SUMMARY_TAG not in _tags(c)]
    return nb


def _has_figures(nb: nbformat.NotebookNode) -> bool:
    return any(
        PLOTLY_MIME in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )


def _results_title(nb: nbformat.NotebookNode) -> str | None:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get(RESULTS_MIME)
            if isinstance(data, dict) and data.get("client"):
                return f"{data['client']} · sales diagnostic"
    return None


def render_html(
    notebook: str | Path | nbformat.NotebookNode,
    out: str | Path | None = None,
    *,
    title: str | None = None,
) -> str:
    """Render an executed diagnostic notebook as the offline HTML summary.

    Args:
        notebook: the executed notebook (a path or a notebook node).
        out: where to write the HTML (parent folders are created); ``None`` to only return it.
        title: the page title; default ``"<client> · sales diagnostic"`` from the notebook's results.
    Returns:
        The HTML text.
    """
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    nb = notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.read(notebook, 4)
    title = title or _results_title(nb) or "Sales diagnostic"
    shown = arrange(nb)
    config = Config()
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.NbConvertBase.display_data_priority = DISPLAY_PRIORITY
    exporter = HTMLExporter(
        config=config,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(templates_dir())],
    )
    exporter.register_filter("plotly_json", plotly_json)
    exporter.register_filter("svg_base64", _svg_base64)
    resources_: dict[str, Any] = {
        "metadata": {"name": title},
        "summary_title": title,
        "stylesheet": render.stylesheet(),
        "plotly_js": _plotly_js() if _has_figures(shown) else "",
    }
    body, _ = exporter.from_notebook_node(shown, resources=resources_)
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return body


def session_notebook(
    state: Any, *, client: str | None = None, currency: str = "", names: bool = False
) -> Any:
    """A notebook (never executed) holding a session-only summary: the executive summary, the
    workshop's decisions and its figures, as outputs the summary template renders (people
    described, not named, unless ``names``)."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from sales_rca.charts.theme import figure_json
    from sales_rca.report.sections import workshop, workshop_figures
    from sales_rca.report.summary import Summary

    summary = Summary.from_session(state, client=client, currency=currency, names=names)

    def cell(*outputs: Any, tags: tuple[str, ...] = ()) -> Any:
        c = new_code_cell("", outputs=list(outputs))
        c.metadata["tags"] = list(tags)
        return c

    def html_out(text: str) -> Any:
        return new_output("display_data", data={"text/html": text})

    figures = [
        new_output("display_data", data={PLOTLY_MIME: figure_json(f)})
        for f in workshop_figures(state)
    ]
    cells = [
        cell(html_out(summary.html()), tags=(SUMMARY_TAG,)),
        cell(html_out(workshop(state, currency=currency, names=names).html)),
        cell(*figures),
        cell(new_output("display_data", data={RESULTS_MIME: summary.to_dict()}), tags=("results",)),
    ]
    return new_notebook(cells=cells)
