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


def worth_panel(
    xray: Any,
    actions: Sequence[Action],
    currency: str = "",
    *,
    benchmark: Any = None,
    playbook: Sequence[Any] = (),
) -> Markup:
    """The panel's HTML (escaped by :mod:`sales_rca.render`); a note when it cannot be computed.

    With a ``benchmark`` (:class:`sales_rca.impact.benchmark.Benchmark` or its file), the panel
    adds where the team's conversion stands among other teams and which plays worked elsewhere.
    """
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
    if benchmark is not None:
        parts.append(_compared(xray, benchmark, playbook))
    return render.join(parts)


def _compared(xray: Any, benchmark: Any, playbook: Sequence[Any]) -> Markup:
    """The benchmark lines: stages against other teams, plays that worked at other clients."""
    from sales_rca.impact.benchmark import Benchmark, compare, load_benchmark

    try:
        bench = benchmark if isinstance(benchmark, Benchmark) else load_benchmark(benchmark)
    except SalesRcaError as exc:
        return render.note(str(exc))
    rows = xray.stage_table[["stage", "conversion"]].to_dict(orient="records")
    c = compare(bench, rows, playbook)
    lines = [*c.stages, *c.plays[:3]]
    if not lines:
        return render.note(f"The benchmark of {c.teams} teams knows none of these stages yet.")
    return render.join([render.heading(f"Other teams ({c.teams})", 4), render.bullets(lines)])
