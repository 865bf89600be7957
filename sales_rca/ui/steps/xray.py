"""The pipeline x-ray step: where deals stall and die; any finding can become a five-whys problem.

The tables and sentences are the summary's (:mod:`sales_rca.report.sections`), so the room and
the e-mailed summary read the same words and numbers.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pandas as pd

from sales_rca import charts, display, people, render
from sales_rca.display import MISSING, deal_names, missing
from sales_rca.findings import Finding, by_strength
from sales_rca.report import sections as s
from sales_rca.ui import components as c
from sales_rca.ui.steps.base import ProblemButtons, StepView
from sales_rca.ui.steps.process_view import process_page

#: At most this many findings are listed.
MAX_FINDINGS = 20
#: The stalled-deals table's columns (headed by their plain labels, :func:`display.phrase`): a
#: deal by its name (never its CRM id); the owner only when the session shows names.
_STALL_COLUMNS = (
    "name",
    "stage",
    "status",
    "days_in_stage",
    "threshold_days",
    "past_due",
    "amount",
    "owner",
    "account",
)
_STATUS = {"slow": "slow (value at risk)", "dead": "dead (clean up)"}


def ranked_findings(findings: list[Finding], limit: int = MAX_FINDINGS) -> list[Finding]:
    """The x-ray's findings for the buttons: strong evidence, then leads, then background, each in
    the x-ray's ranked order, at most ``limit`` of them."""
    return by_strength(f for f in findings if f.source == "xray")[:limit]


def stalled_deals_frame(x: Any, *, names: bool = False) -> pd.DataFrame:
    """Slow and dead open deals as the room reads them (plain words, "–" when unknown): each deal
    by its name or account, never its CRM id; the owner only with ``names``."""
    stalls = x.stalls
    if "name" not in stalls:
        stalls = stalls.assign(name=deal_names(stalls, apart=False))
    cols = [k for k in _STALL_COLUMNS if k in stalls and not people.hidden(k, names)]
    out = stalls[cols].copy()
    if "status" in out:
        out["status"] = out["status"].map(lambda v: _STATUS.get(v, v))
    for col in ("days_in_stage", "threshold_days"):
        if col in out:
            out[col] = out[col].map(render.number)
    if "amount" in out:
        out["amount"] = out["amount"].map(render.money)
    if "past_due" in out:
        out["past_due"] = out["past_due"].map(
            lambda v: MISSING if missing(v) else display.value_text(bool(v))
        )
    return out.rename(columns=display.phrase)


def _html(markup: str) -> w.HTML:
    return w.HTML(render.fragment("blocks.scroll", markup))


class XRayView(StepView):
    id = "xray"

    def build(self) -> None:
        self.headline = w.HTML()
        self.pages = c.LazyTabs()
        self.tabs = self.pages.tab
        self.problem_buttons = ProblemButtons(self)
        self.show_chart = c.button(
            "Show this chart on the room screen",
            tooltip="Put the open tab's chart on the projector",
        )
        self.show_chart.on_click(self.guard(self._show_chart))
        self.widget.children = [
            c.heading(
                self.label,
                sub="Where do our deals stall and die? Pick a finding to dig into.",
            ),
            self.headline,
            c.heading(
                "Findings: make one a problem to dig into",
                3,
                sub="Strongest evidence and most at stake first. A lead, not proof, rests on too "
                "few deals, managers or territories to prove it.",
            ),
            self.problem_buttons.box,
            self.tabs,
            self.show_chart,
        ]
        self._drawn_for: Any = None
        self._drawn_names = False

    def refresh(self) -> None:
        x = self.bench.xray
        if x is None:
            self.headline.value = self.no_data().value
            self.problem_buttons.clear()
            self.pages.set_pages([])
            return
        names = self.names  # switching names on or off redraws the tables and charts
        if self._drawn_for is x and self._drawn_names == names:
            self.problem_buttons.mark_used()
            return
        self._drawn_for, self._drawn_names = x, names
        self.headline.value = render.fragment("app.xray_headline", x, [s.plain(n) for n in x.notes])
        self.problem_buttons.draw(ranked_findings(self.bench.findings()))
        self.pages.set_pages(self._pages(x))

    def _pages(self, x: Any) -> list[tuple[str, w.Widget]]:
        pages: list[tuple[str, w.Widget]] = []
        table = x.stage_table
        if not table.empty:
            pages.append(("Funnel", c.figure(charts.funnel_figure(table), height=520)))
            pages.append(("Stage table", _html(s.stage_table_block(x))))
            if x.has_history and table["median_days"].notna().any():
                pages.append(
                    ("Time in stage", c.figure(charts.time_in_stage_figure(table), height=480))
                )
        if x.has_history and not x.survival.empty:
            pages.append(("Survival", c.figure(charts.survival_figure(x.survival), height=480)))
        pages.append(("Stalled deals", self._stalled(x)))
        if x.has_history and not x.paths.transitions.empty:
            pages.append(
                (
                    "Paths",
                    c.figure(
                        charts.path_sankey_figure(x.paths.transitions, x.order.stages), height=560
                    ),
                )
            )
        pages += [p for p in [process_page(x)] if p is not None]
        pages.append(("What goes with losing", self._drivers(x)))
        trend = getattr(x, "trend", None)
        if trend is not None and not trend.empty:
            parts: list[w.Widget] = []
            if trend.by_created_quarter["win_rate"].notna().sum() >= 2:
                parts.append(c.figure(charts.trend_figure(trend.by_created_quarter), height=440))
            parts.append(_html(s.trend_block(x)))
            pages.append(("Over time", w.VBox(parts)))
        return pages

    def _show_chart(self, _: Any = None) -> None:
        import plotly.graph_objects as go

        index = self.pages.selected
        fig = c.figure_in(self.pages.page(index)) if index is not None else None
        if fig is None:
            self.show_message("This tab has no chart: open a tab with one.", "error")
            return
        title = self.tabs.get_title(index)
        self.push_screen(title, figures=[go.Figure(fig)])
        self.ok(f"The room screen shows the {title.lower()} chart.")

    @property
    def names(self) -> bool:
        """Whether the session shows people's names (:func:`sales_rca.people.show_names`)."""
        return people.show_names(self.session.state().settings)

    def _stalled(self, x: Any) -> w.Widget:
        parts: list[w.Widget] = [_html(s.hygiene_block(x))]
        stalls = x.stalls
        slow = stalls[stalls["status"] == "slow"] if "status" in stalls else stalls
        if not slow.empty:
            parts.append(c.figure(charts.stall_figure(slow), height=520))
        if not stalls.empty:
            parts.append(
                w.HTML(
                    render.frame_table(
                        stalled_deals_frame(x, names=self.names),
                        numeric=["days in stage", "normal up to (days)", "amount"],
                        max_rows=25,
                        caption="Slow and dead open deals, longest over their stage's normal first",
                    )
                )
            )
        return w.VBox(parts)

    def _drivers(self, x: Any) -> w.Widget:
        parts: list[w.Widget] = [_html(s.drivers_block(x, names=self.names))]
        top = s.top_driver(x)
        if top is not None:
            attribute, kind = top
            parts.append(
                c.figure(
                    charts.win_rate_figure(
                        x.drivers.groups, attribute, overall=x.win_rate, kind=kind, names=self.names
                    ),
                    height=480,
                )
            )
        return w.VBox(parts)
