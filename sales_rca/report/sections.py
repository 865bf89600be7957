"""One HTML block per step of the diagnostic: data check, x-ray, loss coding, hypotheses, plays, workshop.

The diagnostic notebook calls these with the library's results; each returns an
:class:`~sales_rca.report.blocks.Html`, or a list of plotly figures (:func:`xray_figures`,
:func:`coding_figures`, :func:`workshop_figures`, all built by :mod:`sales_rca.charts`) for
:func:`show`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from sales_rca.findings import Finding
from sales_rca.report.blocks import (
    Html,
    Markup,
    bar,
    bullets,
    esc,
    kpis,
    metric_value,
    money,
    note,
    number,
    section,
    share,
    table,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from sales_rca.coding import CodingResult
    from sales_rca.crm import CrmData
    from sales_rca.pipeline import XRay
    from sales_rca.rootcause import Category, Play, Recommendation, WorkshopState

#: The MIME type of a plotly figure in a notebook output (JupyterLab and the summary render it).
PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: The order in which findings become hypotheses (first metric first), and the question each asks.
_QUESTIONS: dict[str, str] = {
    "lost_here": "Why do so many deals die at {stage}?",
    "conversion": "Why do deals fail to move on from {stage}?",
    "median_days": "Why do deals sit so long at {stage}?",
    "code_share": "Why do so many lost deals cite {category}?",
    "over_attribution": "Why do reps blame {category} more often than their own notes do?",
    "stalled_value": "Why do open deals stall{at_stage}?",
    "win_rate": "Why is the win rate different where {segment}?",
    "path_share": "Why do won deals not follow the official sales process?",
}


def data_check(crm: CrmData) -> Html:
    """What the import read: rows in / accepted / quarantined, outcomes, columns used, warnings."""
    r = crm.report
    o = r.outcomes
    rows = [
        ("Detected shape", r.source + (f" ({r.delimiter}-separated)" if r.delimiter else "")),
        (
            "Rows",
            f"{r.rows_in:,} in, {r.rows_accepted:,} accepted, {r.rows_quarantined:,} quarantined",
        ),
        (
            "Outcomes",
            f"{o.get('won', 0):,} won, {o.get('lost', 0):,} lost, {o.get('open', 0):,} open",
        ),
        ("Amount missing", f"{r.amount_missing:,}"),
        (
            "Stage history",
            f"{r.history['events']:,} stage entries" if r.history else "none given",
        ),
    ]
    parts: list[Any] = [table(["", ""], rows, css="facts")]
    if r.quarantine_reasons:
        parts.append(
            table(
                ["Quarantined because", "rows"],
                r.quarantine_reasons.items(),
                numeric=[1],
            )
        )
    parts.append(
        Markup('<details class="columns"><summary>Columns used</summary>')
        + table(["canonical", "export column"], r.mapping.items())
        + Markup("</details>")
    )
    parts += [note(f"Warning: {w}") for w in r.warnings]
    parts += [note(n) for n in r.notes]
    return section("Data check", *parts, css="data-check")


def xray_overview(x: XRay, currency: str = "") -> Html:
    """Deal counts, win rate and the stage table: where deals go, die and wait."""
    lo, hi = x.win_rate_ci
    headline = kpis(
        [
            ("win rate", share(x.win_rate)),
            ("won", number(x.won)),
            ("lost", number(x.lost)),
            ("open", number(x.open)),
            ("stalled value", money(x.stalled_value, currency) if x.has_history else "–"),
        ]
    )
    rows = [
        (
            r["stage"],
            number(r["entered"]),
            share(r["conversion"]),
            number(r["lost_here"]),
            number(r["median_days"], 1),
            money(r["value_lost"], currency),
        )
        for r in x.stage_table.to_dict(orient="records")
    ]
    stages = table(
        ["stage", "entered", "conversion", "lost here", "median days", "value lost"],
        rows,
        numeric=[1, 2, 3, 4, 5],
    )
    parts: list[Any] = [
        headline,
        note(f"Win rate 95% interval {share(lo)}–{share(hi)}; as of {x.as_of_text}."),
        stages,
    ]
    parts += [note(n) for n in x.notes]
    return section("Pipeline x-ray", *parts, css="xray")


def xray_figures(x: XRay, *, top_stalls: int = 12) -> list[go.Figure]:
    """The x-ray's figures worth a page: funnel, time in stage and stalls (when there is history),
    and the win rate of the strongest driver."""
    from sales_rca.charts import (
        funnel_figure,
        stall_figure,
        time_in_stage_figure,
        win_rate_figure,
    )

    figures = [funnel_figure(x.stage_table)]
    if x.has_history and x.stage_table["median_days"].notna().any():
        figures.append(time_in_stage_figure(x.stage_table))
    if not x.stalls.empty:
        figures.append(stall_figure(x.stalls, top=top_stalls))
    ranking = x.drivers.ranking
    if not ranking.empty:
        attribute = ranking.iloc[0]["attribute"]
        groups = x.drivers.groups[x.drivers.groups["attribute"] == attribute]
        figures.append(win_rate_figure(groups, attribute, overall=x.drivers.overall_win_rate))
    return figures


def category_shares(losses: CodingResult) -> pd.Series:
    """Share of coded lost deals citing each fishbone category, largest first (a deal can cite
    several)."""
    by_category = losses.summary(examples=0)["by_category"]
    coded = max(int(losses.deals["coded"].sum()), 1)
    shares = pd.Series(by_category, dtype=float) / coded
    return shares[shares > 0].sort_values(ascending=False, kind="stable")


def loss_coding(losses: CodingResult, categories: Sequence[Category] = ()) -> Html:
    """Why deals were lost, in fishbone categories and codes, with the reps' own words."""
    from sales_rca.coding import top_codes

    labels = {c.id: c.label for c in categories}
    cats = category_shares(losses)
    codes = top_codes(losses, n=8, examples=2)
    lost, coded = len(losses.deals), int(losses.deals["coded"].sum())
    parts: list[Any] = [
        note(
            f"{lost:,} lost deals, {coded:,} coded ({share(losses.coverage)}) from their loss "
            "texts, or their pick-list reason when the text says nothing. Shares are of coded "
            "deals; a deal can cite several reasons."
        )
    ]
    if not cats.empty:
        parts.append(
            table(
                ["category", "share of coded lost deals"],
                [(labels.get(str(c), c), bar(v, share(v))) for c, v in cats.items()],
                css="bars",
            )
        )
    if not codes.empty:
        parts.append(
            table(
                ["loss code", "category", "deals", "share"],
                [
                    (
                        r.label,
                        labels.get(r.category, r.category),
                        number(r.deals),
                        bar(r.share, share(r.share)),
                    )
                    for r in codes.itertuples()
                ],
                numeric=[2],
                css="bars",
            )
        )
        quotes = [(r.label, q) for r in codes.head(3).itertuples() for q in r.examples]
        if quotes:
            parts.append(Markup("<h3>In the reps' own words</h3>"))
            parts.append(table(["loss code", "loss text"], quotes, css="quotes"))
    return section("Why deals were lost (loss coding)", *parts, css="coding")


def coding_figures(losses: CodingResult, stages: Sequence[str] = ()) -> list[go.Figure]:
    """Where deals are lost and why (when loss stages are known), and what reps pick on the
    pick-list against what their notes say."""
    from sales_rca.charts.coding import over_attribution_figure, stage_category_heatmap
    from sales_rca.coding import over_attribution, stage_category_matrix

    figures = []
    has_stage = "loss_stage" in losses.deals and losses.deals["loss_stage"].notna().any()
    if has_stage and losses.deals["coded"].any():
        figures.append(stage_category_heatmap(stage_category_matrix(losses, stages=list(stages))))
    over = over_attribution(losses)
    if not over.empty and (over["picklist"] > 0).any():
        figures.append(over_attribution_figure(over))
    return figures


def top_findings(findings: Iterable[Finding], n: int = 5) -> list[Finding]:
    """The ``n`` findings most worth a five-whys: one per metric in :data:`_QUESTIONS` order, the
    largest first (most deals lost, lowest conversion, longest wait, most value stalled, ...), then
    the next of each metric."""
    by_metric: dict[str, list[Finding]] = {m: [] for m in _QUESTIONS}
    for f in findings:
        if f.metric not in by_metric or f.key == "win_rate:overall":
            continue
        if f.metric == "win_rate" and f.details.get("rank") == "best":
            continue
        by_metric[f.metric].append(f)
    ascending = {"conversion", "win_rate", "path_share"}
    for metric, items in by_metric.items():
        items.sort(key=lambda f: f.value if metric in ascending else -f.value)
    chosen: list[Finding] = []
    depth = 0
    while len(chosen) < n and any(len(v) > depth for v in by_metric.values()):
        for items in by_metric.values():
            if len(items) > depth and len(chosen) < n:
                chosen.append(items[depth])
        depth += 1
    return chosen


def question(finding: Finding) -> str:
    """The five-whys question a finding raises (plain text)."""
    from sales_rca.coding.codebook import CATEGORY_LABELS

    category = CATEGORY_LABELS.get(finding.category or "", finding.category or "").lower()
    return _QUESTIONS.get(finding.metric, "Why: {title}?").format(
        stage=finding.stage or "this stage",
        at_stage=f" at {finding.stage}" if finding.stage else "",
        segment=(finding.segment or "").removeprefix("extra_").replace("=", " is "),
        category=category,
        title=finding.title,
    )


def hypotheses(findings: Sequence[Finding], currency: str = "") -> Html:
    """Top findings as root-cause hypotheses: the question to ask, and the numbers behind it."""
    rows = [
        (
            i,
            question(f),
            f.title,
            metric_value(f.value, f.unit, currency),
            number(f.details.get("deals", len(f.opportunity_ids)) or None),
        )
        for i, f in enumerate(findings, 1)
    ]
    if not rows:
        return section("Root-cause hypotheses", note("The data gave no finding to start from."))
    return section(
        "Root-cause hypotheses",
        note("Each is a problem to put on a five-whys board, with the evidence already attached."),
        table(["#", "question", "evidence", "value", "deals"], rows, numeric=[0, 3, 4]),
        css="hypotheses",
    )


def plays_section(recommendations: Sequence[Recommendation], basis: str) -> Html:
    """Recommended proven plays, what each addresses and its 30/60/90-day steps."""
    if not recommendations:
        return section("Recommended plays", note(f"No play matches {basis}."))
    items = []
    for r in recommendations:
        p = r.play
        steps = bullets(
            [f"30 days: {s}" for s in p.days_30[:1]] + [f"90 days: {s}" for s in p.days_90[:1]]
        )
        sources = "; ".join(f"{s.source}" + (f" ({s.year})" if s.year else "") for s in p.evidence)
        items.append(
            Markup('<div class="play">')
            + Markup(f"<h3>{esc(p.title)}</h3><p>{esc(p.summary)}</p>")
            + note(
                f"Why: {r.reason or 'matches the priorities'}. Watch: {p.indicator.label}. "
                f"Effort {p.effort}, first effect in about {p.time_to_impact_days} days."
            )
            + steps
            + (note(f"Evidence: {sources}") if sources else Markup(""))
            + Markup("</div>")
        )
    return section("Recommended plays", note(f"Ranked for {basis}."), *items, css="plays")


def recommend_plays(
    playbook: Sequence[Play],
    *,
    losses: CodingResult | None = None,
    state: WorkshopState | None = None,
    limit: int = 3,
) -> tuple[list[Recommendation], str]:
    """Plays for the team's voted causes when a session has causes, else for the loss categories.

    Returns the recommendations and a phrase saying what they were ranked for.
    """
    from sales_rca.rootcause import Priority, recommend

    if state is not None and state.causes:
        basis = "the causes the team prioritised" if state.results() else "the team's causes"
        return state.recommendations(playbook, limit=limit), basis
    wanted = []
    if losses is not None:
        from sales_rca.coding import top_codes

        codes = top_codes(losses, n=20, examples=0)
        for category, weight in category_shares(losses).head(3).items():
            cat_codes = tuple(codes.loc[codes["category"] == category, "code"].head(3))
            wanted.append(Priority(f"coding:{category}", str(category), cat_codes, float(weight)))
    return recommend(playbook, wanted, limit=limit), "the most common loss categories"


# --- workshop ---------------------------------------------------------------------------------------


def _status(text: Any) -> Markup:
    return Markup(f'<span class="status status-{esc(text)}">{esc(text)}</span>')


def workshop(state: WorkshopState | None, currency: str = "") -> Html:
    """The workshop's decisions: five-whys trees as outlines, fishbone causes, ranking and actions."""
    if state is None:
        return section(
            "Workshop",
            note("No workshop session given: run the live workshop and pass its session file."),
        )
    parts: list[Any] = [Markup(f"<h3>{esc(state.title)}</h3>")]
    for problem in state.problems:
        tree = state.tree(problem.id)
        lines = [
            Markup(f'<li class="problem"><strong>{esc(problem.text)}</strong>')
            + _evidence(problem.evidence)
            + Markup("</li>")
        ]
        for depth, why in tree.walk():
            mark = " ★ root cause" if why.root_cause else ""
            lines.append(
                Markup(f'<li class="why" style="margin-left:{1.5 * depth:.1f}em">')
                + Markup(f"{esc(why.text)} ")
                + _status(why.status.value)
                + esc(mark)
                + _evidence(why.evidence)
                + Markup("</li>")
            )
        parts.append(Markup('<ul class="tree">' + "".join(lines) + "</ul>"))
    parts.append(ranking(state))
    parts.append(actions(state, currency=currency))
    return section("Workshop: five whys, causes and actions", *parts, css="workshop")


def _evidence(evidence: Iterable[Any]) -> Markup:
    labels = [e.label for e in evidence]
    if not labels:
        return Markup("")
    return Markup('<div class="evidence">Evidence: ') + esc("; ".join(labels)) + Markup("</div>")


def ranking(state: WorkshopState) -> Markup:
    """The causes on the fishbone with their vote result (before a reveal: causes only)."""
    labels = {c.id: c.label for c in state.categories}
    result = state.results()
    if result is None:
        rows = [(c.text, labels.get(c.category, c.category), "–", "–") for c in state.causes]
        head = Markup("<h3>Causes on the fishbone</h3>")
        return head + table(["cause", "category", "dots", "place"], rows, numeric=[2, 3])
    causes = {c.id: c for c in state.causes}
    rows = [
        (causes[r.cause_id].text, labels.get(causes[r.cause_id].category, ""), r.points, r.place)
        for r in result.causes
        if r.cause_id in causes
    ]
    align = (
        f"Alignment (Kendall's W) {result.alignment:.2f}: {result.alignment_label}."
        if result.alignment is not None
        else ""
    )
    return (
        Markup("<h3>Ranking of causes</h3>")
        + table(["cause", "category", "dots", "place"], rows, numeric=[2, 3])
        + (note(f"{result.participants} participants voted. {align}"))
    )


def actions(
    state: WorkshopState,
    *,
    progress: dict[str, tuple[float | None, float | None]] | None = None,
    currency: str = "",
    heading: str = "<h3>Actions</h3>",
) -> Markup:
    """Committed actions: owner, due date, target metric (with before / after from a baseline).

    ``heading`` is trusted HTML put above the table.
    """
    head = Markup(heading)
    if not state.actions:
        return head + note("No action committed yet.")
    headers = ["action", "owner", "due", "status", "target"]
    if progress is not None:
        headers += ["before", "after"]
    rows = []
    for a in state.actions:
        t = a.target
        target = (
            f"{t.metric.replace('_', ' ')}{' at ' + t.stage if t.stage else ''}: "
            f"{metric_value(t.baseline, t.unit, currency)} → {metric_value(t.target, t.unit, currency)}"
            if t is not None
            else "–"
        )
        row: list[Any] = [
            a.title,
            a.owner,
            a.due.isoformat() if a.due else "–",
            a.status.value,
            target,
        ]
        if progress is not None:
            before, after = progress.get(a.id, (None, None))
            unit = t.unit if t is not None else ""
            row += [metric_value(before, unit, currency), metric_value(after, unit, currency)]
        rows.append(row)
    return head + table(headers, rows)


def workshop_figures(state: WorkshopState | None) -> list[go.Figure]:
    """The five-whys tree of each problem and the fishbone, as figures (none without a session)."""
    if state is None or not (state.problems or state.causes):
        return []
    from sales_rca.charts.rootcause import fishbone_figure, why_tree_figure

    figures = [why_tree_figure(state.tree(p.id)) for p in state.problems]
    result = state.results()
    points = {r.cause_id: r.points for r in result.causes} if result else None
    top = result.top(3) if result else ()
    figures.append(fishbone_figure(state.categories, state.causes, points=points, highlight=top))
    return figures


def show(*figures: go.Figure) -> None:
    """Display plotly figures as plotly JSON (rendered by JupyterLab, and by the summary template)."""
    import plotly.io as pio
    from IPython.display import display

    for fig in figures:
        data = json.loads(pio.to_json(fig, validate=False))
        display({PLOTLY_MIME: data, "text/plain": f"<figure: {_fig_title(fig)}>"}, raw=True)


def _fig_title(fig: go.Figure) -> str:
    title = fig.layout.title.text if fig.layout.title else None
    return str(title or "chart")


def session_state(path: str | None) -> WorkshopState | None:
    """The state of the workshop session at ``path`` (``None`` when no session is given)."""
    if not path:
        return None
    from sales_rca.session import Session

    with Session.open(path, who=None) as session:
        return session.state()
