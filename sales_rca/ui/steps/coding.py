"""The loss coding step: why deals were lost, by stage and category; the team reviews the deals the
rules could not code, and checks its coding against a second coder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from sales_rca import charts, render
from sales_rca.coding import (
    CATEGORIES,
    CATEGORY_LABELS,
    Codebook,
    CodingResult,
    agreement,
    export_coding_csv,
    over_attribution,
    read_coding_csv,
    stage_category_matrix,
    top_codes,
)
from sales_rca.coding.agreement import GOOD, MINIMUM, rating
from sales_rca.ui import components as c
from sales_rca.ui.steps.base import ProblemButtons, StepView
from sales_rca.ui.steps.data import save_upload

PAGE_SIZE = 8
#: Which deals the review queue lists.
QUEUES: tuple[tuple[str, str], ...] = (
    ("uncoded", "Not coded by the rules"),
    ("unsure", "Least sure first"),
    ("picklist", "Coded from the pick-list only"),
    ("reviewed", "Reviewed by the team"),
)


def code_options(book: Codebook) -> list[tuple[str, str]]:
    """Dropdown options ``("Category: code label", code id)``, in fishbone category order."""
    order = {cat: i for i, cat in enumerate(CATEGORIES)}
    codes = sorted(book.codes, key=lambda code: (order.get(code.category, len(order)),))
    return [(f"{CATEGORY_LABELS.get(k.category, k.category)}: {k.label}", k.id) for k in codes]


def codes_label(codes: Any, book: Codebook) -> str:
    """``"Price too high; Lost to a competitor"`` (plain text) or ``"no code"``."""
    labels = [book[k].label if k in book else str(k) for k in (codes or ())]
    return "; ".join(labels) if labels else "no code"


def queue_ids(auto: CodingResult, overridden: set[str], queue: str) -> list[str]:
    """The deals a review queue lists, in a stable order (so a reviewed deal stays in place).

    ``uncoded``: neither the rules nor the model could code the notes; ``unsure``:
    every deal, the ones that teach the most first (uncoded, then the model's, least sure first);
    ``picklist``: deals without notes coded from the pick-list; ``reviewed``: coded by hand.
    """
    d = auto.deals
    ids = d["opportunity_id"].astype(str)
    if queue == "uncoded":
        return ids[~d["coded"]].tolist()
    if queue == "unsure":
        return auto.review_order()["opportunity_id"].astype(str).tolist()
    if queue == "picklist":
        return ids[d["basis"] == "picklist"].tolist()
    return [i for i in ids if i in overridden]


def agreement_verdict(value: float) -> str:
    """What a kappa or alpha means for the room (thresholds 0.6 and 0.8)."""
    return {
        "good": f"good (≥ {GOOD:g}): safe to act on",
        "minimum": f"usable for tentative conclusions ({MINIMUM:g}–{GOOD:g})",
        "poor": f"too low (< {MINIMUM:g}): do not act on this coding yet",
        "n/a": "not enough deals in common",
    }[rating(value)]


@dataclass
class _Row:
    """One deal in the review queue: what it says, its codes, and the controls to change them."""

    opportunity_id: str
    info: w.HTML
    choose: w.Dropdown
    widget: w.Widget


class CodingView(StepView):
    id = "coding"

    def build(self) -> None:
        self.headline = w.HTML()
        self.problem_buttons = ProblemButtons(self)
        self.figure_tabs = c.LazyTabs()
        self.figures = self.figure_tabs.tab
        self.queue_pick = w.ToggleButtons(
            options=[(label, key) for key, label in QUEUES],
            value="uncoded",
            style={"button_width": "auto"},
        )
        self.queue_pick.observe(self.guard(lambda _: self._show_page(0)), names="value")
        self.queue_note = w.HTML()
        self.model_toggle = w.ToggleButtons(
            options=[("Rules + model", "on"), ("Rules only", "off")],
            value="on",
            tooltips=[
                "The model learns from labelled texts and from your codes; it fills gaps and "
                "says how sure it is",
                "Only the codebook's rules code the notes",
            ],
            style={"button_width": "auto"},
        )
        self.model_toggle.observe(self.guard(self._toggle_model), names="value")
        self.queue_rows = w.VBox()
        self.prev_button = c.button("◀ Previous")
        self.next_button = c.button("Next ▶")
        self.prev_button.on_click(self.guard(lambda _: self._show_page(self.page - 1)))
        self.next_button.on_click(self.guard(lambda _: self._show_page(self.page + 1)))
        self.page_label = w.Label(layout=w.Layout(margin="0 1em"))
        queue = w.VBox(
            [
                c.html(
                    "app.paragraph",
                    "Read each loss text out loud and agree on its codes. Your codes win over the rules and are kept in the session.",
                ),
                self.model_toggle,
                self.queue_pick,
                self.queue_note,
                self.queue_rows,
                w.HBox([self.prev_button, self.page_label, self.next_button]),
            ]
        ).add_class("srca-queue")
        self.second_upload = w.FileUpload(accept=".csv", multiple=False, description="Coding CSV")
        self.second_upload.observe(self.guard(self._import_second), names="value")
        self.export_button = c.button("Export our coding for a second coder")
        self.export_button.on_click(self.guard(self._export))
        self.export_note = w.HTML()
        self.agreement_box = w.HTML()
        second = w.VBox(
            [
                c.html("app.second_coder"),
                w.HBox([self.export_button, self.second_upload]),
                self.export_note,
                self.agreement_box,
            ]
        )
        self.sections = w.Tab(children=[queue, second])
        self.sections.set_title(0, "Review queue")
        self.sections.set_title(1, "Second coder")
        self.widget.children = [
            c.heading(
                self.label,
                sub="Why do we really lose? Not what the pick-list says: what the notes say.",
            ),
            self.headline,
            self.figures,
            c.heading("Findings: make one a problem to dig into", 3),
            self.problem_buttons.box,
            self.sections,
        ]
        self.page = 0
        self.rows: list[_Row] = []
        self._drawn_key: Any = None
        self._agreement_for: Any = None

    # ------------------------------------------------------------------ drawing
    def _auto(self) -> CodingResult | None:
        auto: CodingResult | None = self.bench.coding_auto
        return auto

    def _toggle_model(self, change: Any) -> None:
        self.session.set_setting("coding_model", str(change["new"]))
        self.ok(
            "The model helps the rules."
            if change["new"] == "on"
            else "Rules only: the model is switched off."
        )

    def refresh(self) -> None:
        coded = self.bench.coding
        if coded is None:
            self.headline.value = self.no_data().value
            self.figure_tabs.set_pages([])
            self.problem_buttons.clear()
            self.queue_rows.children = []
            return
        state = self.session.state()
        self.model_toggle.value = "on" if self.bench.coding_model_on else "off"
        # The queue is redrawn from its start only for another export or the model switched on
        # or off; the model learning from the team's codes changes the codes shown, not the
        # queue, so the room does not lose its place.
        source = (id(self.bench.crm), self.bench.coding_model_on)
        key = (source, id(self._auto()), state.code_overrides)
        if key != self._drawn_key:
            first = self._drawn_key is None or self._drawn_key[0] != source
            if first:
                self._queue_base = self._auto()
            self._drawn_key = key
            self._draw_headline(coded, len(state.code_overrides))
            self._draw_figures(coded)
            self.problem_buttons.draw(self.bench.coding_findings()[:12])
            if first:
                self._show_page(0)
        self._update_rows(coded)
        self.problem_buttons.mark_used()
        self._draw_agreement(coded)

    def _draw_headline(self, coded: CodingResult, reviewed: int) -> None:
        s = coded.summary()
        auto = self.bench.coding_rules
        uncoded_auto = int((~auto.deals["coded"]).sum()) if auto is not None else 0
        self.headline.value = render.kpis(
            [
                ("lost deals", render.number(s["rows"])),
                ("have a loss code", render.share(s["coverage"])),
                ("the rules could not code", render.number(uncoded_auto)),
                ("reviewed by the team", render.number(reviewed)),
            ],
            testid="coding-cards",
        )

    def _draw_figures(self, coded: CodingResult) -> None:
        x = self.bench.xray
        stages = list(x.order.stages) if x is not None else None
        by_cat = pd.Series(coded.summary()["by_category"])
        pages: list[tuple[str, w.Widget]] = [
            (
                "By stage and category",
                c.figure(
                    charts.stage_category_heatmap(stage_category_matrix(coded, stages=stages)),
                    height=560,
                ),
            ),
            ("Categories", c.figure(charts.category_bars(by_cat[by_cat > 0]), height=480)),
        ]
        over = over_attribution(coded)
        said = over[over["picklist"] > 0]
        if not said.empty:
            worst = said["over_attribution_rate"].idxmax()
            r = said.loc[worst]
            sentence = c.html(
                "app.over_attribution",
                CATEGORY_LABELS[str(worst)].lower(),
                render.number(r["picklist"]),
                render.number(r["confirmed"]),
                render.share(1 - r["over_attribution_rate"]),
            )
            pages.append(
                (
                    "Pick-list vs notes",
                    w.VBox(
                        [
                            sentence,
                            c.figure(charts.over_attribution_figure(over), height=460),
                        ]
                    ),
                )
            )
        top = top_codes(coded, n=12, examples=2)
        if not top.empty:
            top = top.assign(
                category=top["category"].map(CATEGORY_LABELS),
                examples=top["examples"].map(lambda ex: " · ".join(f"“{t}”" for t in ex)),
            )[["label", "category", "deals", "share", "examples"]]
            pages.append(
                (
                    "Top codes",
                    w.HTML(
                        render.frame_table(
                            top, formats={"share": render.share}, caption="Share of coded deals"
                        )
                    ),
                )
            )
        self.figure_tabs.set_pages(pages)

    # ------------------------------------------------------------------ findings

    # ------------------------------------------------------------------ review queue
    def _overridden(self) -> dict[str, Any]:
        return {o.opportunity_id: o for o in self.session.state().code_overrides}

    def _show_page(self, page: int) -> None:
        # "Not coded by the rules" and "pick-list only" are the rules' lists (the model's learning
        # never moves a deal out of them); "least sure first" keeps the order it was drawn in.
        unsure = self.queue_pick.value == "unsure"
        auto = (getattr(self, "_queue_base", None) if unsure else self.bench.coding_rules) or (
            self._auto()
        )
        coded = self.bench.coding
        if auto is None or coded is None:
            return
        ids = queue_ids(auto, set(self._overridden()), self.queue_pick.value)
        pages = max(1, -(-len(ids) // PAGE_SIZE))
        self.page = min(max(page, 0), pages - 1)
        chosen = ids[self.page * PAGE_SIZE : (self.page + 1) * PAGE_SIZE]
        self.rows = [self._row(oid, coded.codebook) for oid in chosen]
        self.queue_rows.children = [r.widget for r in self.rows] or [
            w.HTML(render.note("No deal in this list."))
        ]
        self.page_label.value = f"page {self.page + 1} of {pages}"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= pages - 1
        self._update_rows(coded)

    def _row(self, oid: str, book: Codebook) -> _Row:
        info = w.HTML(layout=w.Layout(width="100%"))
        choose = w.Dropdown(
            options=[("Choose a code…", ""), *code_options(book)],
            value="",
            layout=w.Layout(width="28em"),
            description="Code",
            style={"description_width": "initial"},
        )
        set_b = c.button(
            "Set as the code", style="primary", tooltip="Replace its codes by this one"
        )
        add_b = c.button("Add code", tooltip="Add this code to the deal's codes")
        accept_b = c.button("Accept as is", tooltip="The codes shown are right")
        clear_b = c.button("Back to the rules", tooltip="Forget the team's codes for this deal")
        set_b.on_click(self.guard(lambda _: self._set(oid, choose.value, add=False)))
        add_b.on_click(self.guard(lambda _: self._set(oid, choose.value, add=True)))
        accept_b.on_click(self.guard(lambda _: self._accept(oid)))
        clear_b.on_click(self.guard(lambda _: self._clear(oid)))
        controls = w.HBox(
            [choose, set_b, add_b, accept_b, clear_b],
            layout=w.Layout(flex_flow="row wrap", align_items="center"),
        )
        box = w.VBox([info, controls]).add_class("srca-card").add_class("srca-deal")
        return _Row(oid, info, choose, box)

    def _update_rows(self, coded: CodingResult) -> None:
        """Redraw what each listed deal says and its current codes (controls are left alone)."""
        if not self.rows:
            return
        deals = coded.deals.set_index(coded.deals["opportunity_id"].astype(str))
        overrides = self._overridden()
        book = coded.codebook
        for r in self.rows:
            if r.opportunity_id not in deals.index:
                continue
            d = deals.loc[r.opportunity_id]
            stage = d.get("loss_stage")
            amount = d.get("amount")
            text = str(d.get("loss_detail") or "").strip()
            o = overrides.get(r.opportunity_id)
            r.info.value = render.fragment(
                "app.deal",
                r.opportunity_id,
                stage="" if _blank(stage) else stage,
                amount="" if _blank(amount) else render.money(amount),
                picklist=d.get("loss_reason"),
                override=o,
                text=text,
                codes=codes_label(d["codes"], book)
                if len(d["codes"])
                else _categories_label(d["categories"]),
                primary=CATEGORY_LABELS.get(str(d.get("primary_category") or ""), ""),
                why=str(d.get("why") or ""),
                name=self._deal_name(r.opportunity_id),
            )

    def _deal_name(self, oid: str) -> str:
        """A deal as the room reads it: its opportunity name or account, never its CRM id."""
        from sales_rca.display import deal_names

        crm = self.bench.crm

        def build() -> dict[str, str]:
            if crm is None:
                return {}
            opps = crm.opportunities
            return dict(zip(opps["opportunity_id"].astype(str), deal_names(opps), strict=True))

        names: dict[str, str] = self.bench.cached("deal_names", build)
        return names.get(oid, "the deal")

    def _current_codes(self, oid: str) -> tuple[str, ...]:
        coded = self.bench.coding
        row = coded.deals.loc[coded.deals["opportunity_id"].astype(str) == oid, "codes"]
        return tuple(row.iloc[0]) if len(row) else ()

    def _set(self, oid: str, code: str, *, add: bool) -> None:
        if not code:
            self.show_message("Choose a code in the list next to the button first.", "error")
            return
        codes = [*self._current_codes(oid), code] if add else [code]
        codes = list(dict.fromkeys(codes))
        self.session.override_code(oid, codes)
        self.ok(f"{self._deal_name(oid)}: {codes_label(codes, self.bench.coding.codebook)}.")

    def _accept(self, oid: str) -> None:
        codes = self._current_codes(oid)
        # "Accept" keeps what is shown: the rules' codes (stored as an empty override), or the
        # team's earlier codes unchanged.
        self.session.override_code(oid, list(codes) if oid in self._overridden() else [])
        self.ok(
            f"{self._deal_name(oid)}: accepted as {codes_label(codes, self.bench.coding.codebook)}."
        )

    def _clear(self, oid: str) -> None:
        if oid not in self._overridden():
            self.show_message(
                f"{self._deal_name(oid)} has no codes from the team to forget.", "error"
            )
            return
        self.session.clear_override(oid)
        self.ok(f"{self._deal_name(oid)}: back to the codes from the rules.")

    # ------------------------------------------------------------------ second coder
    def _export(self, _: Any = None) -> None:
        coded = self.bench.coding
        if coded is None:
            return
        folder = self.bench.settings.summary_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = export_coding_csv(coded, folder / "loss_coding_for_second_coder.csv")
        c.set_notice(self.export_note, f"Written to {path.resolve()}", "ok")

    def _import_second(self, _: Any = None) -> None:
        path = save_upload(self.second_upload, self.bench.settings.upload_dir / "coding")
        if path is None:
            return
        coded = self.bench.coding
        read_coding_csv(path, coded.codebook)  # raises a clear error for a bad file
        self.session.set_setting("second_coder", str(path.resolve()))
        self.ok(f"Imported the second coder's file {path.name}.")

    def _draw_agreement(self, coded: CodingResult) -> None:
        path = self.session.state().settings.get("second_coder")
        key = (path, self._drawn_key)
        if key == self._agreement_for:
            return
        self._agreement_for = key
        if not path or not Path(path).is_file():
            self.agreement_box.value = "" if path else render.note("No second coder imported yet.")
            return
        other = read_coding_csv(path, coded.codebook)
        ours = coded.deals[["opportunity_id", "categories"]].assign(
            opportunity_id=lambda d: d["opportunity_id"].astype(str)
        )
        self.agreement_box.value = agreement_html(agreement(ours, other), Path(path).name)


def agreement_html(a: Any, name: str) -> str:
    """The agreement panel: kappa, alpha and percent agreement with their verdicts."""

    def tile(label: str, value: float) -> render.Tile:
        shown = render.MISSING if value is None or np.isnan(value) else f"{value:.2f}"
        return render.Tile(label, shown, agreement_verdict(value), rating(value))

    per = a.per_category.reset_index()
    per.iloc[:, 0] = per.iloc[:, 0].map(lambda k: CATEGORY_LABELS.get(k, k))
    per = per.rename(columns={"a": "ours", "b": "second coder"})
    diffs = a.disagreements.head(15).assign(
        a=lambda d: d["a"].map(lambda cs: ", ".join(cs) or "none"),
        b=lambda d: d["b"].map(lambda cs: ", ".join(cs) or "none"),
    )
    diffs = diffs.rename(columns={"a": "ours", "b": "second coder"})
    tiles = [
        tile("Cohen's kappa", a.kappa),
        tile("Krippendorff's alpha", a.alpha),
        ("percent agreement", render.share(a.percent_agreement), "deals coded the same"),
    ]
    parts = [
        render.heading(f"Agreement with {name} on {a.n:,} deals", 3),
        render.kpis(tiles, testid="agreement"),
        render.frame_table(per, formats={"kappa": lambda v: f"{v:.2f}"}, caption="Per category"),
    ]
    if len(a.disagreements):
        parts.append(render.heading(f"Where we disagree ({len(a.disagreements):,} deals)", 3))
        parts.append(render.frame_table(diffs))
    return render.join(parts)


def _categories_label(categories: Any) -> str:
    """Categories the model gave a deal without a code, in words (``"no code"`` when none)."""
    labels = [CATEGORY_LABELS.get(str(k), str(k)) for k in (categories or ())]
    return "; ".join(labels) if labels else "no code"


def _blank(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
