"""Every plotly figure sales-rca draws, in one theme readable on a projector.

Each builder is one function: data in, a few named arguments, a ``plotly.graph_objects.Figure`` out.
Builders live in a module per subject (``charts.pipeline``, ``charts.coding``, ``charts.rootcause``)
and are re-exported here.
"""

from __future__ import annotations

from sales_rca.charts.theme import COLORS, TEMPLATE_NAME, apply_theme

__all__ = ["COLORS", "TEMPLATE_NAME", "apply_theme"]
