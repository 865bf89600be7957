"""The client summary: HTML blocks for the diagnostic notebook, the executive summary, and the
offline HTML file nbconvert makes of an executed notebook.

Example (in ``sales_rca/workshops/diagnostic.ipynb``)::

    from sales_rca import report
    report.data_check(crm)                      # an HTML block
    summary = report.Summary.build(client=client, xray=x, findings=evidence, top_findings=top)
    summary                                     # the executive summary (first in the HTML file)

and after execution: ``report.render_html("out/acme/diagnostic.ipynb", "out/acme/summary.html")``.
Only :func:`render_html` imports nbconvert, and only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sales_rca.coding.findings import category_shares
from sales_rca.findings import top_findings
from sales_rca.render import Html
from sales_rca.report.sections import (
    PLOTLY_MIME,
    coding_figures,
    data_check,
    hypotheses,
    loss_coding,
    plays_section,
    process_figures,
    process_section,
    question,
    recommend_plays,
    session_state,
    show,
    workshop,
    workshop_figures,
    xray_figures,
    xray_overview,
)
from sales_rca.report.summary import (
    RESULTS_FILE,
    RESULTS_MIME,
    Results,
    Summary,
    load_baseline,
    results_from_notebook,
)

if TYPE_CHECKING:
    from pathlib import Path

    import nbformat

__all__ = [
    "PLOTLY_MIME",
    "RESULTS_FILE",
    "RESULTS_MIME",
    "Html",
    "Results",
    "Summary",
    "category_shares",
    "coding_figures",
    "data_check",
    "hypotheses",
    "load_baseline",
    "loss_coding",
    "plays_section",
    "process_figures",
    "process_section",
    "question",
    "recommend_plays",
    "render_html",
    "results_from_notebook",
    "session_state",
    "show",
    "top_findings",
    "workshop",
    "workshop_figures",
    "xray_figures",
    "xray_overview",
]


def render_html(
    notebook: str | Path | nbformat.NotebookNode, out: str | Path | None = None, **kwargs: Any
) -> str:
    """Render an executed diagnostic notebook as the offline HTML summary (see :mod:`.html`)."""
    from sales_rca.report.html import render_html as _render

    return _render(notebook, out, **kwargs)
