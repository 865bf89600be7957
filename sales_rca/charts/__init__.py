"""Every plotly figure sales-rca draws, in one theme readable on a projector.

Each builder is one function: data in, a few named arguments, a ``plotly.graph_objects.Figure`` out.
Builders live in a module per subject (``charts.pipeline``, ``charts.process``, ``charts.coding``, ``charts.rootcause``)
and are re-exported here.
"""

from __future__ import annotations

from sales_rca.charts.coding import (
    category_bars,
    over_attribution_figure,
    stage_category_heatmap,
)
from sales_rca.charts.pipeline import (
    funnel_figure,
    path_sankey_figure,
    stall_figure,
    survival_figure,
    time_in_stage_figure,
    trend_figure,
    win_rate_figure,
)
from sales_rca.charts.process import won_process_figure
from sales_rca.charts.rootcause import (
    FISH_KEY,
    fishbone_figure,
    vote_results_figure,
    why_tree_figure,
)
from sales_rca.charts.theme import COLORS, TEMPLATE_NAME, apply_theme

__all__ = [
    "COLORS",
    "FISH_KEY",
    "TEMPLATE_NAME",
    "apply_theme",
    "category_bars",
    "fishbone_figure",
    "funnel_figure",
    "over_attribution_figure",
    "path_sankey_figure",
    "stage_category_heatmap",
    "stall_figure",
    "survival_figure",
    "time_in_stage_figure",
    "trend_figure",
    "vote_results_figure",
    "why_tree_figure",
    "win_rate_figure",
    "won_process_figure",
]
