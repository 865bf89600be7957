"""Root-cause figures: the five-whys tree, the sales fishbone (Ishikawa diagram) and the vote.

User text is HTML-escaped here, where it becomes figure markup, and nowhere earlier.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

from sales_rca.charts.theme import COLORS, apply_theme
from sales_rca.display import counted
from sales_rca.rootcause.fishbone import Category, Cause
from sales_rca.rootcause.voting import VoteResult
from sales_rca.rootcause.whys import Status, WhyTree

#: Node fill per why status.
STATUS_COLORS: dict[Status, str] = {
    Status.HYPOTHESIS: COLORS["muted"],
    Status.SUPPORTED: "#bbdefb",
    Status.VERIFIED: "#c8e6c9",
    Status.REJECTED: "#eeeeee",
}


def _label(text: str, width: int, lines: int) -> str:
    """Wrap to at most ``lines`` lines of ``width`` characters (ellipsis if cut), HTML-escaped."""
    wrapped = textwrap.wrap(" ".join(text.split()), width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip() + "…"
    return "<br>".join(html.escape(line) for line in wrapped)


def _tree_positions(tree: WhyTree) -> dict[str, tuple[float, float]]:
    """x = depth, y = slot: leaves take consecutive slots, a parent sits in the middle of its children."""
    positions: dict[str, tuple[float, float]] = {}
    next_slot = 0.0

    def place(node_id: str, depth: int) -> float:
        nonlocal next_slot
        children = [w for branch in tree.branches(node_id) for w in branch]
        if not children:
            y = next_slot
            next_slot += 1
        else:
            ys = [place(c.id, depth + 1) for c in children]
            y = (min(ys) + max(ys)) / 2
        positions[node_id] = (float(depth), y)
        return y

    place(tree.problem.id, 0)
    return positions


def why_tree_figure(tree: WhyTree, *, title: str | None = None, wrap: int = 26) -> go.Figure:
    """The five-whys tree, problem on the left, whys branching right.

    Fill shows status (hypothesis grey, supported blue, verified green, rejected faded), a thick
    orange border marks a root cause, and siblings that need each other are joined by an "AND" arc.
    Hover shows the full text and the evidence.
    """
    pos = _tree_positions(tree)
    leaves = max(1, len([w for w in tree.whys if not tree.children(w.id)]))
    fig = go.Figure()
    # Edges: one trace, segments separated by None.
    ex: list[float | None] = []
    ey: list[float | None] = []
    for why in tree.whys:
        (x0, y0), (x1, y1) = pos[why.parent_id], pos[why.id]
        xm = (x0 + x1) / 2
        ex += [x0, xm, xm, x1, None]
        ey += [y0, y0, y1, y1, None]
    fig.add_trace(
        go.Scatter(
            x=ex,
            y=ey,
            mode="lines",
            line={"color": COLORS["neutral"], "width": 2},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    annotations = [
        _node_annotation(
            pos[tree.problem.id], _label(tree.problem.text, wrap, 4), "white", COLORS["lost"], 3
        )
    ]
    hover_x, hover_y, hover_text = [pos[tree.problem.id][0]], [pos[tree.problem.id][1]], []
    hover_text.append(_hover(tree.problem.text, [e.label for e in tree.problem.evidence]))
    for why in tree.whys:
        border = COLORS["highlight"] if why.root_cause else COLORS["neutral"]
        text = _label(why.text, wrap, 3)
        if why.status is Status.REJECTED:
            text = f"<s>{text}</s>"
        if why.root_cause:
            text = f"<b>{text}</b>"
        annotations.append(
            _node_annotation(
                pos[why.id], text, STATUS_COLORS[why.status], border, 4 if why.root_cause else 1
            )
        )
        hover_x.append(pos[why.id][0])
        hover_y.append(pos[why.id][1])
        hover_text.append(
            _hover(why.text, [f"status: {why.status.value}"] + [e.label for e in why.evidence])
        )
    for node_id in [tree.problem.id, *(w.id for w in tree.whys)]:
        for branch in tree.branches(node_id):
            if len(branch) > 1:
                x0, _ = pos[node_id]
                ys = [pos[w.id][1] for w in branch]
                xm = x0 + 0.5
                fig.add_trace(
                    go.Scatter(
                        x=[xm, xm],
                        y=[min(ys), max(ys)],
                        mode="lines",
                        line={"color": COLORS["highlight"], "width": 5},
                        hoverinfo="skip",
                        showlegend=False,
                    )
                )
                annotations.append(
                    {
                        "x": xm,
                        "y": (min(ys) + max(ys)) / 2,
                        "text": "<b>AND</b>",
                        "showarrow": False,
                        "xshift": -22,
                        "font": {"color": COLORS["highlight"], "size": 14},
                        "bgcolor": "white",
                    }
                )
    fig.add_trace(
        go.Scatter(
            x=hover_x,
            y=hover_y,
            mode="markers",
            marker={"size": 40, "opacity": 0},
            hovertext=hover_text,
            hoverinfo="text",
            showlegend=False,
        )
    )
    for status, color in STATUS_COLORS.items():
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"size": 14, "color": color, "symbol": "square", "line": {"width": 1}},
                name=status.value,
            )
        )
    depth = max((p[0] for p in pos.values()), default=0)
    fig.update_layout(annotations=annotations)
    fig.update_xaxes(visible=False, range=[-0.6, depth + 0.6])
    fig.update_yaxes(visible=False, range=[leaves - 0.5, -0.5])
    return apply_theme(fig, title=title, height=max(360, 90 * leaves + 140))


def _node_annotation(
    xy: tuple[float, float], text: str, fill: str, border: str, width: int
) -> dict[str, object]:
    return {
        "x": xy[0],
        "y": xy[1],
        "text": text,
        "showarrow": False,
        "align": "left",
        "bgcolor": fill,
        "bordercolor": border,
        "borderwidth": width,
        "borderpad": 6,
        "font": {"size": 14},
    }


def _hover(text: str, lines: Sequence[str]) -> str:
    body = "<br>".join(html.escape(line) for line in lines)
    wrapped = "<br>".join(html.escape(x) for x in textwrap.wrap(text, 60))
    return f"<b>{wrapped}</b>" + (f"<br>{body}" if body else "")


# ------------------------------------------------------------------------------------ fishbone
FISH_FONT = 13
#: The name of the fishbone's colour key (an annotation), for views that leave it out.
FISH_KEY = "colour key"
#: Approximate width of one character at FISH_FONT px, for layout (a generous estimate).
CHAR_PX = 7.4
LABEL_CHARS = 28
ROW_PX = 38
LABEL_PX = LABEL_CHARS * CHAR_PX
BONE_SPACING = LABEL_PX + 40
SLANT = 0.35
HEAD_PX = 230
MARGIN = {"l": 20, "r": 20, "t": 80, "b": 60}


@dataclass(frozen=True)
class LabelBox:
    """Where a cause label sits, in pixels of the plot area (for layout checks)."""

    cause_id: str
    x0: float
    x1: float
    y0: float
    y1: float

    def overlaps(self, other: LabelBox) -> bool:
        """True if the two boxes share any area."""
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )


@dataclass(frozen=True)
class _FishLayout:
    width: float
    height: float
    half: float
    spine_x0: float
    spine_x1: float
    bones: dict[str, tuple[float, float, float, float]]  # x0, y0, x1, y1
    labels: dict[str, LabelBox]
    anchors: dict[str, tuple[float, float]]


def fishbone_layout(categories: Sequence[Category], causes: Iterable[Cause]) -> _FishLayout:
    """Pixel layout of the fishbone: bones alternate above and below the spine, causes in rows."""
    cats = list(categories)
    per_cat: dict[str, list[Cause]] = {c.id: [] for c in cats}
    for cause in causes:
        if not cause.removed and cause.category in per_cat:
            per_cat[cause.category].append(cause)
    rows = max(3, *(len(v) for v in per_cat.values())) if per_cat else 3
    half = (rows + 1) * ROW_PX + 30  # spine to bone tip
    columns = math.ceil(len(cats) / 2)
    spine_x0 = 30 + half * SLANT
    spine_x1 = spine_x0 + LABEL_PX + 60 + (columns - 1) * BONE_SPACING
    width = spine_x1 + HEAD_PX
    bones: dict[str, tuple[float, float, float, float]] = {}
    labels: dict[str, LabelBox] = {}
    anchors: dict[str, tuple[float, float]] = {}
    for i, cat in enumerate(cats):
        column, side = i // 2, (1 if i % 2 == 0 else -1)
        x_base = spine_x0 + LABEL_PX + 20 + column * BONE_SPACING
        tip = (x_base - half * SLANT, side * half)
        bones[cat.id] = (x_base, 0.0, tip[0], tip[1])
        for row, cause in enumerate(per_cat[cat.id]):
            y = side * (row + 1) * ROW_PX
            bone_x = x_base - abs(y) * SLANT
            anchors[cause.id] = (bone_x, y)
            labels[cause.id] = LabelBox(
                cause.id, bone_x - 8 - LABEL_PX, bone_x - 8, y - ROW_PX / 2 + 1, y + ROW_PX / 2 - 1
            )
    return _FishLayout(width, 2 * half + 60, half, spine_x0, spine_x1, bones, labels, anchors)


def fishbone_figure(
    categories: Sequence[Category],
    causes: Iterable[Cause],
    *,
    problem: str | None = None,
    points: Mapping[str, int] | None = None,
    highlight: Iterable[str] = (),
    title: str | None = None,
) -> go.Figure:
    """The sales fishbone: one bone per category, the team's causes along it, the problem at the head.

    Categories within the sales team's control are drawn in blue, others in grey. ``points`` (dot
    votes per cause id) are shown after each label; ``highlight`` causes are drawn in orange. Labels
    are cut to two lines (full text on hover); it stays readable with 8 categories x 8 causes.
    """
    causes = [c for c in causes if not c.removed]
    layout = fishbone_layout(categories, causes)
    points = points or {}
    highlight = set(highlight)
    fig = go.Figure()
    fig.add_shape(
        type="line",
        x0=layout.spine_x0 - 20,
        y0=0,
        x1=layout.spine_x1,
        y1=0,
        line={"color": COLORS["text"], "width": 4},
    )
    annotations: list[dict[str, object]] = [
        {
            "x": layout.spine_x1 + 10,
            "y": 0,
            "xanchor": "left",
            "text": _label(problem or "Problem", 24, 5),
            "showarrow": False,
            "bgcolor": "white",
            "bordercolor": COLORS["lost"],
            "borderwidth": 3,
            "borderpad": 8,
            "font": {"size": 15},
            "align": "left",
        }
    ]
    for cat in categories:
        x0, y0, x1, y1 = layout.bones[cat.id]
        color = COLORS["open"] if cat.within_control else COLORS["neutral"]
        fig.add_shape(type="line", x0=x0, y0=y0, x1=x1, y1=y1, line={"color": color, "width": 3})
        annotations.append(
            {
                "x": x1,
                "y": y1,
                "yanchor": "bottom" if y1 > 0 else "top",
                "text": f"<b>{html.escape(cat.label)}</b>",
                "showarrow": False,
                "font": {"size": 15, "color": color},
            }
        )
    hx, hy, htext = [], [], []
    for cause in causes:
        box = layout.labels[cause.id]
        ax, ay = layout.anchors[cause.id]
        fig.add_shape(
            type="line",
            x0=ax - 8,
            y0=ay,
            x1=ax,
            y1=ay,
            line={"color": COLORS["neutral"], "width": 1},
        )
        suffix = f" ({points[cause.id]})" if points.get(cause.id) else ""
        color = COLORS["highlight"] if cause.id in highlight else COLORS["text"]
        annotations.append(
            {
                "x": box.x1,
                "y": ay,
                "xanchor": "right",
                "align": "right",
                "text": _label(cause.text, LABEL_CHARS, 2) + html.escape(suffix),
                "showarrow": False,
                "font": {"size": FISH_FONT, "color": color},
            }
        )
        hx.append((box.x0 + box.x1) / 2)
        hy.append(ay)
        codes = f"<br>codes: {html.escape(', '.join(cause.codes))}" if cause.codes else ""
        htext.append(_hover(cause.text, []) + codes)
    fig.add_trace(
        go.Scatter(
            x=hx,
            y=hy,
            mode="markers",
            marker={"size": 24, "opacity": 0, "symbol": "square"},
            hovertext=htext,
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.add_annotation(
        name=FISH_KEY,
        x=0,
        y=-layout.half - 30,
        xanchor="left",
        showarrow=False,
        text=(
            f"<span style='color:{COLORS['open']}'>■</span> within the sales team's control   "
            f"<span style='color:{COLORS['neutral']}'>■</span> needs others (product, pricing, the buyer)"
        ),
        font={"size": 13},
    )
    for a in annotations:
        fig.add_annotation(a)
    fig.update_xaxes(visible=False, range=[0, layout.width], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-layout.half - 45, layout.half + 45], fixedrange=True)
    apply_theme(fig, title=title)
    fig.update_layout(
        width=int(layout.width + MARGIN["l"] + MARGIN["r"]),
        height=int(2 * layout.half + 90 + MARGIN["t"] + MARGIN["b"]),
        margin=MARGIN,
        showlegend=False,
    )
    return fig


def vote_results_figure(
    result: VoteResult,
    causes: Iterable[Cause],
    *,
    title: str = "The team's vote",
) -> go.Figure:
    """The revealed vote as bars, best cause on top, in the round's order (:attr:`VoteResult.rule`):
    the bar is what decided the order (dots, or ranking points), each labelled with the other.

    Causes no longer on the fishbone are left out; cause texts are escaped here.
    """
    from sales_rca.rootcause.voting import BY_POINTS

    text = {c.id: c.text for c in causes}
    rows = [r for r in result.causes if r.cause_id in text]
    by_points = result.order == BY_POINTS
    values = [r.borda if by_points else r.points for r in rows]
    labels = [f"{r.place}. {_label(text[r.cause_id], LABEL_CHARS, 2)}" for r in rows]
    annotations = [
        f"{counted(r.borda, 'point')} · {counted(r.points, 'dot')}"
        if by_points
        else f"{counted(r.points, 'dot')} · {counted(r.voters, 'voter')}"
        for r in rows
    ]
    fig = go.Figure(
        go.Bar(
            x=values[::-1],
            y=labels[::-1],
            orientation="h",
            marker_color=[
                COLORS["highlight"] if r.place <= 3 else COLORS["muted"] for r in rows[::-1]
            ],
            text=annotations[::-1],
            textposition="auto",
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(title_text="ranking points" if by_points else "dots", rangemode="tozero")
    if not rows:
        fig.add_annotation(
            text="No cause has a vote yet.", showarrow=False, xref="paper", yref="paper"
        )
    heading = f"{title}: {result.rule}" if title else result.rule
    return apply_theme(fig, title=heading, height=180 + 60 * max(len(rows), 1))
