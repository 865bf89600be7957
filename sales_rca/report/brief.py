"""The CEO brief: one printable page a CEO reads in two minutes.

The problem in numbers, the root cause the team agreed on and how aligned it was, the fix (the plays
with their named sources), what meeting the targets is worth, the number to watch for each action
with today's value, the target and the review date, and what the team will stop doing. Plain words:
no p-values, no statistic names. The same section opens the HTML summary
(:meth:`sales_rca.report.Summary.html`) and ``sales-rca export SESSION --brief OUT.html`` writes it
as a page of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from sales_rca import render
from sales_rca.display import MISSING, money, number, share
from sales_rca.errors import SalesRcaError

if TYPE_CHECKING:
    from sales_rca.pipeline import XRay
    from sales_rca.rootcause import Play, WorkshopState

#: Days from an action's start to its review when it has no due date.
REVIEW_DAYS = 90
#: Points of conversion the "stop" line compares at the root-cause stage and at the last stage.
COMPARE_POINTS = 5


@dataclass
class CeoBrief:
    """What the brief says, as plain text (the template escapes all of it)."""

    client: str
    subtitle: str
    problem: list[str] = field(default_factory=list)
    root_cause: str = ""
    alignment: str = ""
    plays: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    action_values: list[tuple[str, str]] = field(default_factory=list)
    indicators: list[tuple[str, str, str, str]] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)

    def section(self) -> Markup:
        """The brief as an HTML section (the summary's first; styled by the one stylesheet)."""
        return render.fragment("brief.section", self)

    def page(self) -> str:
        """The brief as a standalone HTML page that prints on one A4 or Letter page."""
        return str(render.fragment("brief.page", self, render.stylesheet()))

    def write(self, path: str | Path) -> Path:
        """Write :meth:`page` to ``path`` (folders created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.page(), encoding="utf-8")
        return path


def _problem(x: XRay, currency: str) -> list[str]:
    closed = x.won + x.lost
    lines = [
        f"{number(closed)} deals decided: {number(x.won)} won, {number(x.lost)} lost "
        f"({share(x.win_rate, blank=MISSING)} won)."
    ]
    table = x.stage_table.dropna(subset=["lost_here"])
    if not table.empty and table["lost_here"].sum() > 0:
        row = table.loc[table["lost_here"].astype(float).idxmax()]
        lost_value = money(row["value_lost"], currency)
        worth = f", worth {lost_value}," if lost_value else ""
        lines.append(
            f"Most deals die at {row['stage']}: {number(row['lost_here'])} lost there{worth} "
            f"{share(float(row['lost_here']) / max(x.lost, 1))} of all lost deals."
        )
    h = x.hygiene
    if h is not None and h.slow_deals:
        value = money(h.slow_value, currency)
        lines.append(
            f"{number(h.slow_deals)} open deals{' worth ' + value if value else ''} have sat "
            "longer than won deals usually do."
        )
    return lines


def _root(state: WorkshopState) -> tuple[str, str]:
    from sales_rca.rootcause.voting import alignment_label

    result = state.results()
    causes = {c.id: c for c in state.causes}
    if result is not None and result.causes and result.causes[0].cause_id in causes:
        top = causes[result.causes[0].cause_id].text
        people = f"{result.participants} people" if result.participants != 1 else "one person"
        words = alignment_label(result.alignment)
        return top, f"Chosen in a silent vote of {people}: {words}."
    roots = [w.text for w in state.whys if w.root_cause]
    if roots:
        return roots[0], "Named by the team in its five-whys; not voted on yet."
    return "", ""


def _sources(play: Play) -> str:
    named = [f"{s.source} ({s.year})" if s.year else str(s.source) for s in play.evidence]
    return "; ".join(dict.fromkeys(named))


def _review_date(action: Any) -> str:
    if action.due is not None:
        return action.due.isoformat()
    if action.at:
        try:
            start = dt.datetime.fromisoformat(action.at).date()
        except ValueError:
            return MISSING
        return (start + dt.timedelta(days=REVIEW_DAYS)).isoformat()
    return MISSING


def _value(state: WorkshopState, x: XRay, currency: str) -> tuple[str, list[tuple[str, str]]]:
    """All targets met together, and each action's worth (empty when it cannot be computed)."""
    from sales_rca.impact import Scenario, evaluate
    from sales_rca.impact.actions import action_values, target_scenario, worth_text

    targeted = [a for a in state.actions if a.target is not None and a.status.value != "dropped"]
    if not targeted:
        return "", []
    try:
        priced = action_values(targeted, x)
        changes = tuple(
            c
            for a in targeted
            if (s := target_scenario(a.target, x.stages)) is not None  # type: ignore[arg-type]
            for c in s.changes
            if x.has_history or c.stage is None
        )
        total = evaluate(x, [Scenario("all targets met", changes)])[0] if changes else None
    except SalesRcaError:
        return "", []
    per_action = [(p.action.title, worth_text(p.value, currency)) for p in priced]
    together = ""
    if total is not None and total.extra_revenue_per_year_ci is not None:
        lo, hi = total.extra_revenue_per_year_ci
        together = (
            f"All targets met: about {money(max(lo, 0.0), currency)} to {money(hi, currency)} "
            "more won revenue a year, from the team's own funnel."
        )
    return together, per_action


def _stop(state: WorkshopState, x: XRay | None, currency: str) -> list[str]:
    lines = [f"{a.title} (dropped)" for a in state.actions if a.status.value == "dropped"]
    if x is None or not x.has_history:
        return lines
    from sales_rca.impact import evaluate, last_stage, points

    stages = [a.target.stage for a in state.actions if a.target is not None and a.target.stage]
    stage = next((s for s in stages if s in x.stages), None)
    try:
        last = last_stage(x)
        if stage is None or stage == last:
            return lines
        here, end = evaluate(x, [points(stage, COMPARE_POINTS), points(last, COMPARE_POINTS)])
    except SalesRcaError:
        return lines
    if (
        here.extra_revenue_per_year is not None
        and end.extra_revenue_per_year is not None
        and end.extra_revenue_per_year < here.extra_revenue_per_year
    ):
        lines.append(
            f"Putting the first effort into late-stage fixes (such as negotiation training): "
            f"{COMPARE_POINTS} more points at {last} are worth about "
            f"{money(end.extra_revenue_per_year, currency)} a year, at {stage} about "
            f"{money(here.extra_revenue_per_year, currency)}."
        )
    return lines


def ceo_brief(
    state: WorkshopState,
    *,
    xray: XRay | None = None,
    playbook: Iterable[Play] = (),
    client: str | None = None,
    currency: str = "",
    findings: Sequence[Any] = (),
    names: bool = False,
) -> CeoBrief:
    """The CEO brief of a workshop (with ``xray``: the problem in numbers and the value).

    Without the data, the problem is told by the findings the team's problems cite (people
    described, not named, unless ``names``).
    """
    by_id = {p.id: p for p in playbook}
    plays = [
        (by_id[s.play_id].title, _sources(by_id[s.play_id]))
        for s in state.selected_plays
        if s.play_id in by_id
    ]
    problem = _problem(xray, currency) if xray is not None else []
    if not problem:
        from sales_rca.pipeline.evidence import without_names

        cited = findings or [f for p in state.problems for f in p.findings]
        problem = [str((f if names else without_names(f)).title) for f in list(cited)[:3]]
    cause, alignment = _root(state)
    value, per_action = _value(state, xray, currency) if xray is not None else ("", [])
    from sales_rca.rootcause.actions import target_text

    indicators = [
        (a.title, a.owner, target_text(a.target, currency), _review_date(a))
        for a in state.actions
        if a.target is not None and a.status.value != "dropped"
    ]
    when = (
        f"data as of {xray.as_of_text}"
        if xray is not None
        else f"workshop of {(state.created_at or '')[:10]}"
    )
    return CeoBrief(
        client=client or state.title,
        subtitle=f"One page for the CEO · {when}",
        problem=problem,
        root_cause=cause,
        alignment=alignment,
        plays=plays,
        value=value,
        action_values=per_action,
        indicators=indicators,
        stop=_stop(state, xray, currency),
    )


def write_brief(
    session: str | Path,
    out: str | Path,
    *,
    data: str | Path | None = None,
    history: str | Path | None = None,
    mapping: str | Path | None = None,
    client: str | None = None,
    currency: str = "",
) -> Path:
    """Write the CEO brief of the session at ``session`` to ``out`` (with ``data``: the problem in
    numbers and what the targets are worth, from the client's export)."""
    from sales_rca.report.sections import session_state
    from sales_rca.rootcause import load_playbook

    state = session_state(str(session))
    if state is None:
        raise SalesRcaError(f"expected a workshop session at {session}, found none")
    x = None
    if data is not None:
        from sales_rca.crm import load_crm
        from sales_rca.pipeline import xray

        crm = load_crm(data, history=history, mapping=mapping)
        x = xray(crm, stages=crm.stages or None)
    brief = ceo_brief(state, xray=x, playbook=load_playbook(), client=client, currency=currency)
    return brief.write(out)
