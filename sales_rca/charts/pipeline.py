"""Figures of the pipeline x-ray: funnel, time in stage, survival, paths, win rates, stalls, trend.

Each builder takes a table from :mod:`sales_rca.pipeline` (or the x-ray's attribute) and returns a
themed ``plotly.graph_objects.Figure``. Stage names, group values and deal ids come from the CRM:
they are HTML-escaped here (:func:`_esc`), where they become plotly label markup, and nowhere earlier.
Deals are labelled by their names, never by CRM ids; people only when ``names`` is on.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sales_rca import display, people
from sales_rca.charts.theme import COLORS, SEQUENCE, apply_theme
from sales_rca.display import deal_names, distinct, missing, money, share

__all__ = [
    "funnel_figure",
    "path_sankey_figure",
    "stall_figure",
    "survival_figure",
    "time_in_stage_figure",
    "trend_figure",
    "win_rate_figure",
]

#: The quantile columns of the stage table, lowest first, and what each draws.
_QUANTILES = ("p10_days", "p25_days", "median_days", "p75_days", "p90_days")


def _esc(value: Any) -> str:
    """CRM text as plotly label markup: ``<``, ``>``, ``&`` and quotes escaped."""
    return html.escape(str(value), quote=True)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def funnel_figure(
    stage_table: pd.DataFrame, *, title: str = "Where deals go and where they die"
) -> go.Figure:
    """Deals entering each stage (with conversion) and, beside it, deals lost there (with value).

    Without history (``entered`` unknown) the left panel shows deals open in each stage instead;
    where nobody knows at which stage deals were lost (``lost_here`` unknown) the right panel
    says so instead of drawing zeros.
    """
    stages = [_esc(s) for s in stage_table["stage"]]
    has_entered = stage_table["entered"].notna().any()
    left = stage_table["entered"] if has_entered else stage_table["open_here"]
    left = left.fillna(0).astype(int)
    left_text = [
        f"{n}  ·  {c:.0%} convert" if pd.notna(c) else f"{n}"
        for n, c in zip(left, stage_table["conversion"], strict=True)
    ]
    lost_known = stage_table["lost_here"].notna().any()
    lost = stage_table["lost_here"].fillna(0).astype(int)
    lost_text = [
        f"{n}  ·  {money(v)}" if not missing(v) and v else f"{n}"
        for n, v in zip(lost, stage_table["value_lost"], strict=True)
    ]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.62, 0.38],
        horizontal_spacing=0.04,
        subplot_titles=(
            "Entered" if has_entered else "Open now",
            "Lost here" if lost_known else "Lost here: not known (no loss stage)",
        ),
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
            x=lost if lost_known else [None] * len(stages),
            orientation="h",
            marker_color=COLORS["lost"],
            text=lost_text if lost_known else None,
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
    """Box per stage from the stage table's quantiles: whiskers p10–p90, box p25–p75, median line.

    The quantiles are censoring-aware (open visits count as still running), so an upper one is
    unknown (NaN) when too many deals are still in the stage: the box or whisker then stops at
    the highest known quantile and an open triangle above it says "not known yet". Stages whose
    median is unknown are left out.
    """
    fig = go.Figure()
    t = stage_table.dropna(subset=["median_days"])
    known = t[list(_QUANTILES)].astype(float)
    filled = known.ffill(axis=1)  # an unknown upper quantile stops at the one below it
    stages = [_esc(s) for s in t["stage"]]
    open_ended = known["p90_days"].isna().to_numpy()
    missing_names = [
        ", ".join(
            {"p75_days": "3 in 4", "p90_days": "9 in 10"}[c]
            for c in ("p75_days", "p90_days")
            if pd.isna(row[c])
        )
        for _, row in known.iterrows()
    ]
    fig.add_trace(
        go.Box(
            x=stages,
            lowerfence=filled["p10_days"],
            q1=filled["p25_days"],
            median=filled["median_days"],
            q3=filled["p75_days"],
            upperfence=filled["p90_days"],
            marker_color=COLORS["open"],
            name="days in stage",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=stages,
            y=t["median_days"],
            mode="text",
            text=[f"median {d:.0f}" for d in t["median_days"]],
            textposition="top center",
            showlegend=False,
        )
    )
    if open_ended.any():
        top = filled["p90_days"].to_numpy()[open_ended]
        fig.add_trace(
            go.Scatter(
                x=[s for s, o in zip(stages, open_ended, strict=True) if o],
                y=top,
                mode="markers+text",
                marker={"symbol": "triangle-up-open", "size": 14, "color": COLORS["neutral"]},
                text=["not known yet"] * int(open_ended.sum()),
                textposition="top center",
                customdata=[m for m, o in zip(missing_names, open_ended, strict=True) if o],
                hovertemplate=(
                    "%{x}: too many deals are still in the stage to know how long "
                    "%{customdata} take<extra></extra>"
                ),
                name="not known yet",
                showlegend=False,
            )
        )
    fig.update_yaxes(
        title_text="days (middle half of deals in the box, 8 in 10 within the whiskers)",
        rangemode="tozero",
    )
    fig.update_layout(showlegend=False)
    return apply_theme(fig, title=title)


def survival_figure(
    survival: pd.DataFrame, *, title: str = "Share of deals still in the stage after N days"
) -> go.Figure:
    """Kaplan-Meier curve per stage with its 95% band."""
    fig = go.Figure()
    for i, (stage, g) in enumerate(survival.groupby("stage", sort=False)):
        colour = SEQUENCE[i % len(SEQUENCE)]
        name = _esc(stage)
        fig.add_trace(
            go.Scatter(
                x=pd.concat([g["days"], g["days"][::-1]]),
                y=pd.concat([g["ci_high"], g["ci_low"][::-1]]),
                fill="toself",
                fillcolor=_rgba(colour, 0.15),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=name,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=g["days"],
                y=g["still_in_stage"],
                mode="lines",
                line={"shape": "hv", "width": 3, "color": colour},
                name=name,
                legendgroup=name,
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
            node={
                "label": [_esc(n) for n in names],
                "color": node_colour,
                "pad": 24,
                "thickness": 22,
            },
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
    kind: str | None = None,
    title: str | None = None,
    names: bool = False,
) -> go.Figure:
    """Win rate per group of one attribute with its Wilson 95% interval (``DriverAnalysis.groups``).

    Groups read as plain words (``not recorded``, ``yes`` / ``no``); the groups of a people
    attribute (owners, managers: :func:`sales_rca.people.is_people`) are ``Rep A``, ``Rep B``...
    unless ``names`` is True.

    Numeric attributes (``kind="numeric"``) keep the table's order (bands in ascending order,
    read top to bottom); text attributes are sorted by win rate. Groups too small for the test
    are drawn in a muted colour; an open diamond marks the estimate allowing for group size
    (``win_rate_adjusted``: small groups pulled towards the average) when the table has it; a
    dashed line marks ``overall``.
    """
    g = groups[groups["attribute"] == attribute]
    if kind != "numeric":
        g = g.sort_values("win_rate", kind="stable")
    colours = [COLORS["open"] if tested else COLORS["muted"] for tested in g["tested"]]
    shown = _group_names(attribute, g["group"], names)
    labels = [
        f"{_esc(shown[grp])} ({n} deals)" for grp, n in zip(g["group"], g["deals"], strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=g["win_rate"],
            y=labels,
            mode="markers+text",
            marker={"size": 16, "color": colours},
            text=[share(r, blank="–") for r in g["win_rate"]],
            textposition="top center",
            cliponaxis=False,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (g["ci_high"] - g["win_rate"]).tolist(),
                "arrayminus": (g["win_rate"] - g["ci_low"]).tolist(),
                "color": COLORS["neutral"],
                "thickness": 2,
            },
            name="win rate (95% range)",
            hovertemplate="%{y}: won %{x:.0%} of closed deals<extra></extra>",
        )
    )
    if "win_rate_adjusted" in g and g["win_rate_adjusted"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=g["win_rate_adjusted"],
                y=labels,
                mode="markers",
                marker={
                    "symbol": "diamond-open",
                    "size": 13,
                    "line": {"width": 2},
                    "color": COLORS["highlight"],
                },
                name="allowing for group size",
                hovertemplate=(
                    "%{y}: about %{x:.0%} allowing for group size (small groups are pulled "
                    "towards the average)<extra></extra>"
                ),
            )
        )
    if overall is not None and pd.notna(overall):
        fig.add_vline(
            x=overall,
            line_dash="dash",
            line_color=COLORS["highlight"],
            annotation_text=f"overall {overall:.0%}",
        )
    fig.update_xaxes(title_text="win rate (95% range)", tickformat=".0%", range=[0, 1])
    if kind == "numeric":
        fig.update_yaxes(autorange="reversed")
    _legend_below_axis_title(fig)
    who = people.noun(attribute) if people.hidden(attribute, names) else None
    label = _esc(who or display.phrase(attribute))
    return apply_theme(fig, title=title or f"Win rate by {label}", height=200 + 55 * max(len(g), 1))


def _group_names(attribute: str, groups: pd.Series, names: bool) -> dict[Any, str]:
    """Each driver group's label: its value in words, a person's alias with names off."""
    from sales_rca.pipeline.drivers import BLANK

    if people.hidden(attribute, names):
        known = [g for g in groups if g != BLANK]
        return {**people.aliases(attribute, known), BLANK: display.NOT_RECORDED}
    return {g: display.value_text(None if g == BLANK else g) for g in groups}


def _legend_below_axis_title(fig: go.Figure) -> None:
    """With several traces, the legend below the x-axis ticks says what the axis shows (the axis
    title would sit under it); with one trace, the axis title stays and no legend is drawn."""
    several = len(fig.data) > 1
    fig.update_layout(showlegend=several)
    if several:
        fig.update_xaxes(title_text=None)
        fig.update_layout(legend={"y": -0.18, "yanchor": "top"}, margin={"b": 90})


def stall_figure(
    stalls: pd.DataFrame,
    *,
    top: int = 15,
    title: str = "Slow deals: days in their stage vs the stall threshold",
) -> go.Figure:
    """The ``top`` slow deals (longest over threshold): days in stage, threshold marker, amount.

    Each deal is labelled by its ``name`` column (:func:`sales_rca.display.deal_names`: the
    opportunity's name, else its account), never by its CRM id.

    Only deals with ``status == "slow"`` are drawn: dead deals (far past any normal time) are
    pipeline hygiene, not value at risk, and would squash the scale. Without a ``status`` column
    every row counts as slow.
    """
    if "status" in stalls:
        stalls = stalls[stalls["status"] == "slow"]
    s = stalls.head(top).iloc[::-1]
    # a deal is labelled by its name (or account), never by its CRM id
    names = s["name"] if "name" in s else deal_names(s, apart=False)
    labels = distinct(f"{_esc(n)} · {_esc(st)}" for n, st in zip(names, s["stage"], strict=True))
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
    fig.update_xaxes(title_text="days in current stage (slow deals only; dead deals not shown)")
    if s.empty:
        fig.add_annotation(
            text="No slow deal: no open deal is past its stage's threshold without being dead.",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
    return apply_theme(fig, title=title, height=160 + 45 * max(len(s), 1))


def trend_figure(
    by_created_quarter: pd.DataFrame,
    *,
    title: str = "Win rate of deals by the quarter they were created",
) -> go.Figure:
    """Win rate per created quarter (``Trend.by_created_quarter``) with its 95% range.

    Quarters that can be read (``mature``) are solid dots joined by a line; quarters with too
    many deals still open are hollow, faded and labelled "too early to read": their early
    closes (quick losses, easy wins) bias the rate.
    """
    q = by_created_quarter[by_created_quarter["win_rate"].notna()]
    fig = go.Figure()
    for ripe in (True, False):
        part = q[q["mature"].astype(bool) == ripe]
        if part.empty:
            continue
        colour = COLORS["open"] if ripe else COLORS["neutral"]
        fig.add_trace(
            go.Scatter(
                x=part["period"].astype(str),
                y=part["win_rate"],
                mode="lines+markers+text" if ripe else "markers+text",
                line={"color": colour, "width": 2},
                marker={
                    "size": 14,
                    "symbol": "circle" if ripe else "circle-open",
                    "color": colour,
                    "line": {"width": 2, "color": colour},
                },
                opacity=1.0 if ripe else 0.55,
                text=[
                    share(r) if ripe else f"{share(r)}<br>too early to read"
                    for r in part["win_rate"]
                ],
                textposition="top center",
                cliponaxis=False,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (part["ci_high"] - part["win_rate"]).tolist(),
                    "arrayminus": (part["win_rate"] - part["ci_low"]).tolist(),
                    "color": _rgba(colour, 0.6),
                    "thickness": 1.5,
                },
                customdata=part[["won", "lost", "open"]].to_numpy(),
                hovertemplate=(
                    "%{x}: %{y:.0%} won (%{customdata[0]} won, %{customdata[1]} lost, "
                    "%{customdata[2]} still open)<extra></extra>"
                ),
                name="can be read" if ripe else "too early to read (many deals still open)",
            )
        )
    fig.update_xaxes(
        title_text="quarter the deals were created",
        type="category",
        categoryorder="array",
        categoryarray=q["period"].astype(str).tolist(),
    )
    fig.update_yaxes(title_text="win rate (95% range)", tickformat=".0%", range=[0, 1])
    _legend_below_axis_title(fig)
    fig.update_layout(margin={"r": 90})  # room for the last quarter's label
    if q.empty:
        fig.add_annotation(
            text="No quarter with closed deals yet.",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )
    return apply_theme(fig, title=title, height=440)
