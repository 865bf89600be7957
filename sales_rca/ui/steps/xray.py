"""Step 2, Pipeline x-ray: where deals stall and die; any finding can become a five-whys problem."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from sales_rca import charts
from sales_rca.ui import components as c
from sales_rca.ui.steps.base import ProblemButtons, StepView


class XRayView(StepView):
    id = "xray"
    title = "Pipeline x-ray"

    def build(self) -> None:
        self.headline = w.HTML()
        self.tabs = w.Tab()
        self.problem_buttons = ProblemButtons(self)
        self.widget.children = [
            c.heading(
                "2. Pipeline x-ray",
                sub="Where do our deals stall and die? Pick a finding to dig into.",
            ),
            self.headline,
            w.HTML("<h3>Findings: make one a problem to dig into</h3>"),
            self.problem_buttons.box,
            self.tabs,
        ]
        self._drawn_for: Any = None

    def refresh(self) -> None:
        x = self.bench.xray
        if x is None:
            self.headline.value = self.no_data().value
            self.problem_buttons.clear()
            self.tabs.children = []
            return
        if self._drawn_for is x:
            self.problem_buttons.mark_used()
            return
        self._drawn_for = x
        lo, hi = x.win_rate_ci
        self.headline.value = (
            f"<p class='srca-big'>{x.won:,} won · {x.lost:,} lost · {x.open:,} open · "
            f"win rate {c.pct(x.win_rate)} <span class='srca-muted' style='font-size:1rem'>"
            f"(95% {c.pct(lo)}–{c.pct(hi)})</span></p>"
            + "".join(f"<p class='srca-muted'>{c.esc(n)}</p>" for n in x.notes)
        )
        self.problem_buttons.draw(self.bench.findings()[:20])
        pages: list[tuple[str, w.Widget]] = []
        table = x.stage_table
        if not table.empty:
            pages.append(("Funnel", c.figure(charts.funnel_figure(table), height=520)))
            cols = [
                k
                for k in (
                    "stage",
                    "entered",
                    "advanced",
                    "lost_here",
                    "open_here",
                    "conversion",
                    "median_days",
                    "p75_days",
                    "value_lost",
                )
                if k in table
            ]
            pages.append(
                (
                    "Stage table",
                    w.HTML(
                        c.html_table(
                            table[cols],
                            formats={
                                "conversion": c.pct,
                                "median_days": c.num,
                                "p75_days": c.num,
                                "value_lost": c.money,
                            },
                        )
                    ),
                )
            )
            if x.has_history:
                pages.append(
                    ("Time in stage", c.figure(charts.time_in_stage_figure(table), height=480))
                )
        if x.has_history and not x.survival.empty:
            pages.append(("Survival", c.figure(charts.survival_figure(x.survival), height=480)))
        if not x.stalls.empty:
            stall_cols = [
                k
                for k in (
                    "opportunity_id",
                    "stage",
                    "days_in_stage",
                    "threshold_days",
                    "amount",
                    "owner",
                    "account",
                )
                if k in x.stalls
            ]
            pages.append(
                (
                    "Stalled deals",
                    w.VBox(
                        [
                            c.figure(charts.stall_figure(x.stalls), height=520),
                            w.HTML(
                                c.html_table(
                                    x.stalls[stall_cols],
                                    formats={
                                        "days_in_stage": c.num,
                                        "threshold_days": c.num,
                                        "amount": c.money,
                                    },
                                    max_rows=25,
                                )
                            ),
                        ]
                    ),
                )
            )
        if x.has_history and not x.paths.transitions.empty:
            pages.append(
                (
                    "Paths",
                    c.figure(
                        charts.path_sankey_figure(x.paths.transitions, x.order.stages), height=560
                    ),
                )
            )
        ranking = x.drivers.ranking
        if not ranking.empty:
            top = ranking.iloc[0]["attribute"]
            cols = [
                k
                for k in (
                    "attribute",
                    "groups",
                    "deals",
                    "p_adjusted",
                    "significant",
                    "best_group",
                    "best_win_rate",
                    "worst_group",
                    "worst_win_rate",
                )
                if k in ranking
            ]
            pages.append(
                (
                    "What goes with losing",
                    w.VBox(
                        [
                            w.HTML(
                                c.html_table(
                                    ranking[cols],
                                    formats={
                                        "best_win_rate": c.pct,
                                        "worst_win_rate": c.pct,
                                        "p_adjusted": lambda v: f"{v:.3g}",
                                    },
                                    max_rows=15,
                                )
                            ),
                            c.figure(
                                charts.win_rate_figure(x.drivers.groups, top, overall=x.win_rate),
                                height=480,
                            ),
                        ]
                    ),
                )
            )
        self.tabs.children = [p[1] for p in pages]
        for i, (label, _) in enumerate(pages):
            self.tabs.set_title(i, label)
