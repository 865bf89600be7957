"""Figures for loss coding: stage x category heatmap, category bars, pick-list over-attribution."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from sales_rca.charts.theme import COLORS, apply_theme


def _label(category: str) -> str:
    from sales_rca.coding.codebook import CATEGORY_LABELS

    return CATEGORY_LABELS.get(category, category)


def stage_category_heatmap(
    matrix: pd.DataFrame,
    *,
    title: str = "Where deals are lost, and why",
    value_label: str = "deals",
) -> go.Figure:
    """Heatmap of :func:`sales_rca.coding.stage_category_matrix` (stages down, categories across)."""
    z = matrix.to_numpy(dtype=float)
    text = [[f"{v:,.0f}" if v else "" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[html.escape(_label(c)) for c in matrix.columns],
            y=[html.escape(str(s)) for s in matrix.index],
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, "white"], [1, COLORS["lost"]]],
            colorbar={"title": {"text": html.escape(value_label)}},
            hovertemplate="%{y} · %{x}: %{z:,.0f} " + html.escape(value_label) + "<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return apply_theme(fig, title=title, height=max(380, 60 * len(matrix.index) + 160))


def category_bars(
    counts: pd.Series | dict[str, int], *, title: str = "Why deals are lost (coded)"
) -> go.Figure:
    """Horizontal bars of deals per category (e.g. ``result.summary()["by_category"]``)."""
    s = pd.Series(counts, dtype=float).sort_values()
    fig = go.Figure(
        go.Bar(
            x=s.to_numpy(),
            y=[html.escape(_label(c)) for c in s.index],
            orientation="h",
            marker_color=COLORS["lost"],
            text=[f"{v:,.0f}" for v in s.to_numpy()],
            textposition="outside",
            hovertemplate="%{y}: %{x:,.0f} deals<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="lost deals")
    return apply_theme(fig, title=title, height=max(360, 45 * len(s) + 140))


def over_attribution_figure(
    table: pd.DataFrame, *, title: str = "What reps pick vs what the notes say"
) -> go.Figure:
    """Grouped bars from :func:`sales_rca.coding.over_attribution`: per category, deals where the
    pick-list names it, split into confirmed by the notes and not."""
    t = table[table["picklist"] > 0]
    labels = [html.escape(_label(c)) for c in t.index]
    fig = go.Figure(
        [
            go.Bar(
                name="notes agree",
                x=labels,
                y=t["confirmed"],
                marker_color=COLORS["neutral"],
                text=t["confirmed"],
                textposition="inside",
            ),
            go.Bar(
                name="notes say something else",
                x=labels,
                y=t["over_attributed"],
                marker_color=COLORS["highlight"],
                text=[f"{r:.0%}" for r in t["over_attribution_rate"]],
                textposition="outside",
            ),
        ]
    )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="deals (pick-list)")
    return apply_theme(fig, title=title)
