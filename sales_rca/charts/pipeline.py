"""Figures of the pipeline x-ray: funnel, time in stage, survival, paths, win rates, stalls.

Each builder takes a table from :mod:`sales_rca.pipeline` (or the x-ray's attribute) and returns a
themed ``plotly.graph_objects.Figure``.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sales_rca.charts.theme import COLORS, SEQUENCE, apply_theme
from sales_rca.display import money

__all__ = [
    "funnel_figure",
    "path_sankey_figure",
    "stall_figure",
    "survival_figure",
    "time_in_stage_figure",
    "win_rate_figure",
]


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def funnel_figure(
    stage_table: pd.DataFrame, *, title: str = "Where deals go and where they die"
) -> go.Figure:
    """Deals entering each stage (with conversion) and, beside it, deals lost there (with value).

    Without history (``entered`` unknown) the left panel shows deals open in each stage instead.
    """
    stages = stage_table["stage"].tolist()
    has_entered = stage_table["entered"].notna().any()
    left = stage_table["entered"] if has_entered else stage_table["open_here"]
    left = left.fillna(0).astype(int)
    left_text = [
        f"{n}  ·  {c:.0%} convert" if pd.notna(c) else f"{n}"
        for n, c in zip(left, stage_table["conversion"], strict=True)
    ]
    lost = stage_table["lost_here"].fillna(0).astype(int)
    lost_text = [
        f"{n}  ·  {money(v)}" if v else f"{n}"
        for n, v in zip(lost, stage_table["value_lost"], strict=True)
    ]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.62, 0.38],
        horizontal_spacing=0.04,
        subplot_titles=("Entered" if has_entered else "Open now", "Lost here"),
    )
    fig.add_trace(
        go.Bar(
            y=stages,
            x=left,
            orientation="h",
            marker_color=COLORS["open"],
            text=left_text,
            textposition="auto",
            name="entered" if has_entered else "open",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            y=stages,
            x=lost,
            orientation="h",
            marker_color=COLORS["lost"],
            text=lost_text,
            textposition="auto",
            name="lost here",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_layout(showlegend=False, bargap=0.25)
    return apply_theme(fig, title=title, height=120 + 70 * max(len(stages), 1))


def time_in_stage_figure(
    stage_table: pd.DataFrame, *, title: str = "Days in each stage"
) -> go.Figure:
    """Box per stage from the stage table's quantiles: whiskers p10–p90, box p25–p75, median line."""
    fig = go.Figure()
    t = stage_table.dropna(subset=["median_days"])
    fig.add_trace(
        go.Box(
            x=t["stage"],
            lowerfence=t["p10_days"],
            q1=t["p25_days"],
            median=t["median_days"],
            q3=t["p75_days"],
            upperfence=t["p90_days"],
            marker_color=COLORS["open"],
            name="days in stage",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t["stage"],
            y=t["median_days"],
            mode="text",
            text=[f"median {d:.0f}" for d in t["median_days"]],
            textposition="top center",
            showlegend=False,
        )
    )
    fig.update_yaxes(title_text="days (p10 · p25 · median · p75 · p90)", rangemode="tozero")
    fig.update_layout(showlegend=False)
    return apply_theme(fig, title=title)


def survival_figure(
    survival: pd.DataFrame, *, title: str = "Share of deals still in the stage after N days"
) -> go.Figure:
    """Kaplan-Meier curve per stage with its 95% band."""
    fig = go.Figure()
    for i, (stage, g) in enumerate(survival.groupby("stage", sort=False)):
        colour = SEQUENCE[i % len(SEQUENCE)]
        fig.add_trace(
            go.Scatter(
                x=pd.concat([g["days"], g["days"][::-1]]),
                y=pd.concat([g["ci_high"], g["ci_low"][::-1]]),
                fill="toself",
                fillcolor=_rgba(colour, 0.15),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=str(stage),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=g["days"],
                y=g["still_in_stage"],
                mode="lines",
                line={"shape": "hv", "width": 3, "color": colour},
                name=str(stage),
                legendgroup=str(stage),
            )
        )
    fig.update_xaxes(title_text="days in stage")
    fig.update_yaxes(title_text="still in stage", tickformat=".0%", range=[0, 1.02])
    return apply_theme(fig, title=title)


def path_sankey_figure(
    transitions: pd.DataFrame,
    stages: list[str] | None = None,
    *,
    include_open: bool = False,
    title: str = "How won and lost deals really move",
) -> go.Figure:
    """Sankey of stage-to-stage moves, won deals in green and lost deals in red.

    Args:
        transitions: ``PathAnalysis.transitions`` (``source, target, outcome, kind, moves``).
        stages: node order (official stages first); other stages and Won / Lost follow.
        include_open: also draw the moves of open deals (grey).
    """
    t = transitions if include_open else transitions[transitions["outcome"] != "open"]
    names = list(stages or [])
    for n in pd.unique(pd.concat([t["source"], t["target"]])):
        if n not in names and n not in ("Won", "Lost"):
            names.append(n)
    names += ["Won", "Lost"]
    index = {n: i for i, n in enumerate(names)}
    colour = {"won": COLORS["won"], "lost": COLORS["lost"], "open": COLORS["neutral"]}
    node_colour = [
        COLORS["won"] if n == "Won" else COLORS["lost"] if n == "Lost" else COLORS["neutral"]
        for n in names
    ]
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": names, "color": node_colour, "pad": 24, "thickness": 22},
            link={
                "source": [index[s] for s in t["source"]],
                "target": [index[s] for s in t["target"]],
                "value": t["moves"].tolist(),
                "color": [_rgba(colour[o], 0.45) for o in t["outcome"]],
                "customdata": [f"{o} · {k}" for o, k in zip(t["outcome"], t["kind"], strict=True)],
                "hovertemplate": "%{source.label} → %{target.label}<br>%{value} moves (%{customdata})<extra></extra>",
            },
        )
    )
    return apply_theme(fig, title=title, height=520)


def win_rate_figure(
    groups: pd.DataFrame,
    attribute: str,
    *,
    overall: float | None = None,
    title: str | None = None,
) -> go.Figure:
    """Win rate per group of one attribute with its Wilson 95% interval (``DriverAnalysis.groups``).

    Groups too small for the test are drawn in a muted colour; a dashed line marks ``overall``.
    """
    g = groups[groups["attribute"] == attribute].sort_values("win_rate")
    colours = [COLORS["open"] if tested else COLORS["muted"] for tested in g["tested"]]
    fig = go.Figure(
        go.Scatter(
            x=g["win_rate"],
            y=[f"{grp} (n={n})" for grp, n in zip(g["group"], g["deals"], strict=True)],
            mode="markers+text",
            marker={"size": 16, "color": colours},
            text=[f"{r:.0%}" for r in g["win_rate"]],
            textposition="top center",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (g["ci_high"] - g["win_rate"]).tolist(),
                "arrayminus": (g["win_rate"] - g["ci_low"]).tolist(),
                "color": COLORS["neutral"],
                "thickness": 2,
            },
            showlegend=False,
        )
    )
    if overall is not None and pd.notna(overall):
        fig.add_vline(
            x=overall,
            line_dash="dash",
            line_color=COLORS["highlight"],
            annotation_text=f"overall {overall:.0%}",
        )
    fig.update_xaxes(title_text="win rate (95% interval)", tickformat=".0%", range=[0, 1])
    label = attribute.removeprefix("extra_").replace("_", " ")
    return apply_theme(fig, title=title or f"Win rate by {label}", height=160 + 55 * max(len(g), 1))


def stall_figure(
    stalls: pd.DataFrame, *, top: int = 15, title: str = "Stalled deals: days in stage vs normal"
) -> go.Figure:
    """The ``top`` stalled deals (longest over threshold): days in stage, threshold marker, amount."""
    s = stalls.head(top).iloc[::-1]
    labels = [f"{i} · {st}" for i, st in zip(s["opportunity_id"], s["stage"], strict=True)]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=labels,
            x=s["days_in_stage"],
            orientation="h",
            marker_color=COLORS["highlight"],
            text=[
                f"{d:.0f} d · {money(a)}" if pd.notna(a) else f"{d:.0f} d"
                for d, a in zip(s["days_in_stage"], s["amount"], strict=True)
            ],
            textposition="auto",
            name="days in stage",
        )
    )
    fig.add_trace(
        go.Scatter(
            y=labels,
            x=s["threshold_days"],
            mode="markers",
            marker={"symbol": "line-ns", "size": 26, "line": {"width": 4, "color": COLORS["text"]}},
            name="stall threshold",
        )
    )
    fig.update_xaxes(title_text="days in current stage")
    return apply_theme(fig, title=title, height=160 + 45 * max(len(s), 1))
