"""The "what fixing it is worth" panel of the plays and actions step: the stage where most deals
die, +5 points there next to the same at the last stage, and each committed action's value if its
target is met (:mod:`sales_rca.impact`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from sales_rca import render
from sales_rca.display import MISSING, money, number
from sales_rca.errors import SalesRcaError
from sales_rca.rootcause import Action

#: The points the panel shows for "conversion up at a stage".
POINTS = 5


def worth_panel(xray: Any, actions: Sequence[Action], currency: str = "") -> Markup:
    """The panel's HTML (escaped by :mod:`sales_rca.render`); a note when it cannot be computed."""
    from sales_rca.impact import FunnelData, evaluate, last_stage, points
    from sales_rca.impact.actions import action_values, worth_text

    if xray is None or not xray.has_history:
        return render.note("What fixing it is worth needs the stage history of the export.")
    try:
        data = FunnelData.from_xray(xray)
    except SalesRcaError as exc:
        return render.note(str(exc))
    table = xray.stage_table.dropna(subset=["conversion"])
    if table.empty:
        return render.note("No stage has a known conversion yet.")
    worst = str(table.loc[table["conversion"].idxmin(), "stage"])
    last = last_stage(data)
    values = evaluate(data, [points(worst, POINTS), points(last, POINTS)])

    def row(v: Any) -> list[str]:
        ci = v.extra_revenue_per_year_ci
        span = f"{money(ci[0], currency)} to {money(ci[1], currency)}" if ci else MISSING
        return [
            v.scenario.label,
            number(v.extra_won_deals_per_year, blank=MISSING),
            money(v.extra_revenue_per_year, currency, blank=MISSING),
            span,
        ]

    parts = [
        render.heading(
            "What fixing it is worth", 3, sub="A year, from the team's own funnel; 95% ranges."
        ),
        render.table(
            ["change", "more won deals a year", "more revenue a year", "range"],
            [row(v) for v in values],
            numeric=[1, 2],
            testid="worth-stages",
        ),
    ]
    with_target = [a for a in actions if a.target is not None]
    if with_target:
        priced = action_values(with_target, data)
        parts.append(
            render.table(
                ["action", "if its target is met"],
                [[p.action.title, worth_text(p.value, currency)] for p in priced],
                testid="worth-actions",
            )
        )
    return render.join(parts)
