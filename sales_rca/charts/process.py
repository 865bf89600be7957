"""The process won deals really follow, drawn on the official one (issue 16).

One figure: the official stages on a line, from the start to the win; every move won deals made
between them is a line whose width is the share of won deals making it, labelled with that share
and the median days it took. Moves the official process has run along the line; skips arc above
it, backward moves below. Stage names come from the CRM: they are escaped (:func:`_esc`) before
they become plotly label markup.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sales_rca.charts.pipeline import _esc
from sales_rca.charts.theme import COLORS, SEQUENCE, apply_theme
from sales_rca.display import missing, share

__all__ = ["won_process_figure"]

#: Label text size: readable from the back of a room.
LABEL_SIZE = 18
_BACK = SEQUENCE[3]


def _wrap(name: Any, width: int = 12) -> str:
    """A stage name on short lines, each escaped (``<br>`` is the only markup added)."""
    return "<br>".join(_esc(line) for line in textwrap.wrap(str(name), width) or [""])


def _arc(x0: float, x1: float, height: float, points: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A quadratic curve from ``(x0, 0)`` to ``(x1, 0)`` peaking at ``height``."""
    t = np.linspace(0, 1, points)
    return (1 - t) * x0 + t * x1, 4 * height * t * (1 - t)


def won_process_figure(
    won_graph: pd.DataFrame,
    stages: list[str],
    *,
    min_share: float = 0.02,
    top: int = 16,
    title: str = "How won deals really move, on the official process",
) -> go.Figure:
    """The won deals' directly-follows graph over the official process.

    Args:
        won_graph: :func:`sales_rca.pipeline.conformance.won_graph` (``source, target, kind,
            official, deals, share_of_won, median_days``).
        stages: the official stage order (the line the figure is drawn on).
        min_share: moves made by fewer won deals than this share are left out (said in a note),
            as are all but the ``top`` most made.
    """
    from sales_rca.pipeline.conformance import START_NODE, WON_NODE

    names = [START_NODE, *stages, WON_NODE]
    x_of = {n: float(i) for i, n in enumerate(names)}
    extra = [
        n for n in pd.unique(pd.concat([won_graph["source"], won_graph["target"]])) if n not in x_of
    ]
    # stages outside the official order sit below the line, spread along it
    for i, n in enumerate(extra):
        x_of[n] = (i + 1) * (len(names) - 1) / (len(extra) + 1)
    y_of = {n: (-1.6 if n in extra else 0.0) for n in x_of}
    edges = won_graph.sort_values("deals", ascending=False)
    shown = edges[edges["share_of_won"] >= min_share].head(top)
    fig = go.Figure()
    # the official process: a grey band the won deals' moves are drawn on
    fig.add_trace(
        go.Scatter(
            x=[0, len(names) - 1],
            y=[0, 0],
            mode="lines",
            line={"color": COLORS["muted"], "width": 26},
            hoverinfo="skip",
            name="official process",
        )
    )
    labels_x, labels_y, labels = [], [], []
    for r in shown.to_dict(orient="records"):
        a, b = r["source"], r["target"]
        x0, x1 = x_of[a], x_of[b]
        width = 2 + 16 * float(r["share_of_won"])
        days = "" if missing(r["median_days"]) else f" · {float(r['median_days']):.0f} d"
        text = f"{share(r['share_of_won'])}{days}"
        on_line = r["official"] and y_of[a] == 0 and y_of[b] == 0 and abs(x1 - x0) <= 1
        if on_line:
            xs, ys = np.array([x0, x1]), np.array([0.0, 0.0])
            colour, lx, ly = COLORS["won"], (x0 + x1) / 2, 0.32
        elif y_of[a] or y_of[b]:
            xs, ys = np.array([x0, x1]), np.array([y_of[a], y_of[b]])
            colour, lx, ly = COLORS["neutral"], (x0 + x1) / 2, (y_of[a] + y_of[b]) / 2 - 0.2
        else:
            forward = x1 > x0
            height = (0.45 + 0.28 * abs(x1 - x0)) * (1 if forward else -1)
            xs, ys = _arc(x0, x1, height)
            colour = COLORS["highlight"] if forward else _BACK
            lx, ly = (x0 + x1) / 2, height + (0.18 if forward else -0.18)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": colour, "width": width},
                opacity=0.85,
                hovertemplate=(
                    f"{_esc(a)} → {_esc(b)}<br>{int(r['deals']):,} won deals ({text})<extra></extra>"
                ),
                showlegend=False,
            )
        )
        labels_x.append(lx)
        labels_y.append(ly)
        labels.append(text)
    fig.add_trace(
        go.Scatter(
            x=labels_x,
            y=labels_y,
            mode="text",
            text=labels,
            textfont={"size": LABEL_SIZE, "color": COLORS["text"]},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    nodes = list(x_of)
    fig.add_trace(
        go.Scatter(
            x=[x_of[n] for n in nodes],
            y=[y_of[n] for n in nodes],
            mode="markers+text",
            marker={
                "size": 22,
                "color": [COLORS["won"] if n == WON_NODE else COLORS["neutral"] for n in nodes],
                "line": {"color": "white", "width": 2},
            },
            text=[_wrap(n) for n in nodes],
            textposition="bottom center",
            textfont={"size": LABEL_SIZE},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    left_out = len(edges) - len(shown)
    span = max(0.45 + 0.28 * (len(names) - 1), 1.0)
    fig.update_xaxes(visible=False, range=[-0.7, len(names) - 0.3])
    fig.update_yaxes(visible=False, range=[-span - (2.4 if extra else 1.1), span + 0.5])
    fig.update_layout(showlegend=False, margin={"l": 20, "r": 20, "t": 110, "b": 20})
    sub = (
        "Share of won deals making each move · median days it took. Along the line: the official "
        "order; above: skips; below: moves back."
    )
    if left_out:
        sub += f" {left_out} rarer moves not drawn."
    fig.add_annotation(
        text=_esc(sub),
        xref="paper",
        yref="paper",
        x=0,
        y=1.02,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        align="left",
        font={"size": LABEL_SIZE, "color": COLORS["neutral"]},
    )
    return apply_theme(fig, title=title, height=620)
