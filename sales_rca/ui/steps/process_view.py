"""The x-ray's "How customers buy" tab: conformance with the official process, whether following
it pays (compared fairly), the won deals' moves drawn on the official process, and the buyer
jobs. The words and tables are the summary's (:func:`sales_rca.report.sections.process_block`)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from sales_rca import render
from sales_rca.report import sections as s
from sales_rca.ui import components as c

#: The tab's title in the x-ray step.
TAB_TITLE = "How customers buy"


def process_page(x: Any) -> tuple[str, w.Widget] | None:
    """The tab (title and widget) for an x-ray with stage history, else None."""
    if not x.has_history or getattr(x, "process", None) is None:
        return None
    parts: list[w.Widget] = [w.HTML(render.fragment("blocks.scroll", s.process_block(x)))]
    parts[:0] = [c.figure(fig, height=620) for fig in s.process_figures(x)]
    return TAB_TITLE, w.VBox(parts)
