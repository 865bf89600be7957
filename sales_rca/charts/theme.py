"""The one chart theme: large type, few colours, labelled values (readable on a projector)."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE_NAME = "sales_rca"
#: The output type a notebook, Voila and the summary render a plotly figure from.
PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: Semantic colours. Use these names, never raw hex codes, in chart builders.
COLORS: dict[str, str] = {
    "won": "#2e7d32",
    "lost": "#c62828",
    "open": "#1565c0",
    "neutral": "#607d8b",
    "highlight": "#ef6c00",
    "muted": "#cfd8dc",
    "text": "#212121",
}
#: Categorical sequence for series that carry no won/lost meaning.
SEQUENCE: list[str] = [
    "#1565c0",
    "#ef6c00",
    "#2e7d32",
    "#6a1b9a",
    "#c62828",
    "#00838f",
    "#5d4037",
    "#607d8b",
]

FONT_FAMILY = "Segoe UI, Helvetica Neue, Arial, sans-serif"


def _template() -> go.layout.Template:
    return go.layout.Template(
        layout=go.Layout(
            font={"family": FONT_FAMILY, "size": 16, "color": COLORS["text"]},
            title={"font": {"size": 22}, "x": 0.01, "xanchor": "left"},
            colorway=SEQUENCE,
            paper_bgcolor="white",
            plot_bgcolor="white",
            margin={"l": 60, "r": 30, "t": 70, "b": 50},
            xaxis={"gridcolor": "#eceff1", "zerolinecolor": "#b0bec5", "automargin": True},
            yaxis={"gridcolor": "#eceff1", "zerolinecolor": "#b0bec5", "automargin": True},
            legend={"orientation": "h", "y": -0.15, "font": {"size": 14}},
            hoverlabel={"font": {"size": 15}},
        )
    )


pio.templates[TEMPLATE_NAME] = _template()


def apply_theme(
    fig: go.Figure, *, title: str | None = None, height: int | None = None
) -> go.Figure:
    """Give ``fig`` the sales-rca template (and an optional title / height); returns the same figure."""
    fig.update_layout(template=TEMPLATE_NAME)
    if title is not None:
        fig.update_layout(title_text=title)
    if height is not None:
        fig.update_layout(height=height)
    return fig


def figure_json(fig: go.Figure) -> dict[str, Any]:
    """``fig`` as plotly's JSON (the data of a ``application/vnd.plotly.v1+json`` output)."""
    data: dict[str, Any] = json.loads(pio.to_json(fig, validate=False))
    return data
