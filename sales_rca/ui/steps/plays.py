"""Step 6, Plays and actions: proven plays for the causes the team ranked highest, and actions
with an owner, a due date and a target metric whose baseline comes from the x-ray."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import ipywidgets as w
import pandas as pd

from sales_rca import render
from sales_rca.findings import Finding
from sales_rca.rootcause import (
    Action,
    Indicator,
    Play,
    Priority,
    Recommendation,
    TargetMetric,
    WorkshopState,
    recommend,
)
from sales_rca.ui import components as c
from sales_rca.ui.context import guarded
from sales_rca.ui.inputs import set_options
from sales_rca.ui.steps.base import StepView

NONE = ""


# ---------------------------------------------------------------------- metrics (pure helpers)
def baseline_metrics(xray: Any, coding_findings: Iterable[Finding] = ()) -> list[Finding]:
    """Every number an action can target, measured now: win rate (overall and per group of each
    driver attribute), conversion, median days and deals lost at each stage, and the share of
    coded losses per loss category and code. Keys follow :func:`sales_rca.pipeline.findings`."""
    out: list[Finding] = []
    if xray is None:
        return out
    if not math.isnan(xray.win_rate):
        out.append(
            Finding("win_rate:overall", "Win rate (overall)", "win_rate", xray.win_rate, "share")
        )
    for _, row in xray.stage_table.iterrows():
        stage = str(row["stage"])
        for metric, label, unit in (
            ("conversion", f"Conversion at {stage}", "share"),
            ("median_days", f"Median days in {stage}", "days"),
            ("lost_here", f"Deals lost at {stage}", "deals"),
        ):
            value = row.get(metric)
            if value is not None and not _nan(value):
                out.append(
                    Finding(f"{metric}:{stage}", label, metric, float(value), unit, stage=stage)
                )
    groups = getattr(xray.drivers, "groups", None)
    if groups is not None and not groups.empty:
        from sales_rca.pipeline.leakage import attribute_name

        for _, g in groups.iterrows():
            # Only groups the x-ray tested (enough closed deals) make a target; attributes left
            # out of the drivers (outcome-derived, identifiers) have no groups at all.
            if _nan(g["win_rate"]) or not _flag(g.get("tested", True)):
                continue
            attr = str(g["attribute"])
            segment = f"{attr}={g['group']}"
            label = f"Win rate where {attribute_name(attr)} is {g['group']}"
            out.append(
                Finding(
                    f"win_rate:{segment}",
                    label,
                    "win_rate",
                    float(g["win_rate"]),
                    "share",
                    segment=segment,
                )
            )
    for f in coding_findings:
        if f.metric == "code_share":
            out.append(f)
    return out


def metric_label(f: Finding) -> str:
    """``"Conversion at Needs Analysis: 81%"`` for the metric dropdown (plain text)."""
    return f"{_short_title(f)}: {format_value(f.value, f.unit)}"


def _short_title(f: Finding) -> str:
    if f.source == "coding":  # "31% of coded lost deals cite price" -> a stable label
        what = f.details.get("code") or f.category or f.key
        return f"Share of coded losses: {what}"
    return f.title


def format_value(value: float | None, unit: str) -> str:
    """A metric value as the room reads it: 81% / 25 days / 439 deals."""
    if value is None or _nan(value):
        return "–"
    if unit == "share":
        return f"{value:.0%}" if abs(value * 100 - round(value * 100)) < 0.05 else f"{value:.1%}"
    if unit == "days":
        return f"{value:,.0f} days"
    if unit == "deals":
        return f"{value:,.0f} deals"
    return f"{value:,.4g} {unit}".strip()


def target_from_input(baseline: Finding, typed: float) -> TargetMetric:
    """The target metric for a value typed in the room (a share is typed in percent)."""
    value = typed / 100 if baseline.unit == "share" else typed
    return TargetMetric.from_finding(baseline, value)


def target_text(t: TargetMetric | None) -> str:
    """``"conversion at Needs Analysis: 81% → 85%"`` (plain text)."""
    if t is None:
        return ""
    where = f" at {t.stage}" if t.stage else f" ({t.segment})" if t.segment else ""
    where = where or (f" ({t.category})" if t.category else "")
    return (
        f"{t.metric.replace('_', ' ')}{where}: {format_value(t.baseline, t.unit)} → "
        f"{format_value(t.target, t.unit)}"
    )


def suggest_metric(indicator: Indicator, metrics: Sequence[Finding]) -> Finding | None:
    """The metric in ``metrics`` that best measures a play's leading indicator, or ``None``.

    ``indicator.at`` is a hint such as ``"discovery / needs analysis"``: a stage whose name matches
    one of its alternatives wins; otherwise the stage where the metric looks worst.
    """
    same = [f for f in metrics if f.metric == indicator.metric]
    if not same:
        return None
    at = (indicator.at or "").lower()
    if indicator.scope == "code":
        return next((f for f in same if f.details.get("code") == indicator.at), None)
    if indicator.scope == "overall":
        return next((f for f in same if f.stage is None and f.segment is None), None)
    if indicator.scope == "segment":
        words = set(re.findall(r"[a-z]+", at))
        hits = [f for f in same if f.segment and f.segment.split("=")[0].lower() in words]
        return min(hits, key=lambda f: f.value) if hits else None
    staged = [f for f in same if f.stage]
    alternatives = [a.strip() for a in re.split(r"[/()]", at) if a.strip()]
    for alt in alternatives:
        for f in staged:
            if alt in f.stage.lower() or f.stage.lower() in alt:
                return f
    if not staged:
        return None
    # "the stage where most deals die" and the like: the worst stage for that metric.
    worst = min if indicator.direction == "up" else max
    return worst(staged, key=lambda f: f.value)


def priorities_from_coding(coding: Any, top: int = 3) -> list[Priority]:
    """When the fishbone is still empty: the most frequent loss categories as priorities."""
    if coding is None:
        return []
    s = coding.summary()
    by_cat = sorted(s["by_category"].items(), key=lambda kv: -kv[1])[:top]
    total = sum(n for _, n in by_cat) or 1
    category_of = coding.codebook.category_of()
    codes = list(s["by_code"])
    return [
        Priority(
            f"coding:{cat}",
            cat,
            tuple(k for k in codes if category_of.get(k) == cat)[:3],
            n / total,
        )
        for cat, n in by_cat
        if n > 0
    ]


def play_reason(rec: Recommendation, coding: Any = None) -> str:
    """Why a play is recommended, in words: ``"Addresses buyer & buying group; loss codes: No
    decision made"`` (category and code labels instead of ids)."""
    from sales_rca.coding import CATEGORY_LABELS

    parts = []
    if rec.categories:
        parts.append(
            "Addresses " + ", ".join(CATEGORY_LABELS.get(k, k).lower() for k in rec.categories)
        )
    if rec.codes:
        book = coding.codebook if coding is not None else None
        labels = [book[k].label if book is not None and k in book else k for k in rec.codes]
        parts.append("loss codes: " + ", ".join(labels))
    return "; ".join(parts)


def _nan(value: Any) -> bool:
    """True for None, NaN and ``pd.NA`` (an unknown number: lost here without loss stages)."""
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _flag(value: Any) -> bool:
    """A True/False cell that may be missing (``pd.NA``): missing counts as False."""
    return False if _nan(value) else bool(value)


# ---------------------------------------------------------------------- the view
class PlaysView(StepView):
    id = "plays"
    title = "Plays and actions"
    live = True

    def build(self) -> None:
        self.basis = w.HTML()
        self.cards = w.VBox()
        # The action form: built once so a redraw never wipes what someone is typing.
        label = {"description_width": "9em"}
        self.a_title = w.Text(
            placeholder="What will we do? e.g. Buying-group map on every deal > 50k",
            description="Action",
            continuous_update=False,
            style=label,
            layout=w.Layout(width="100%"),
        )
        self.a_owner = w.Text(
            placeholder="Who owns it?",
            description="Owner",
            continuous_update=False,
            style=label,
            layout=w.Layout(width="30em"),
        )
        self.a_due = w.DatePicker(description="Due", style={"description_width": "4em"})
        wide = w.Layout(width="48em")
        self.a_cause = w.Dropdown(description="Cause it fixes", style=label, layout=wide)
        self.a_play = w.Dropdown(description="Play", style=label, layout=wide)
        self.a_metric = w.Dropdown(description="Target metric", style=label, layout=wide)
        self.a_target = w.FloatText(
            description="Target value", style=label, layout=w.Layout(width="18em")
        )
        self.a_baseline = w.HTML(layout=w.Layout(margin="0 0 0 2em"))
        self.a_unit = w.Label()
        self.a_save = c.button("Commit to this action", style="primary")
        self.a_cancel = c.button("Cancel editing")
        self.a_cancel.layout.display = "none"
        self.a_save.on_click(self.guard(self._save_action))
        self.a_cancel.on_click(self.guard(lambda _: self._reset_form()))
        # Observers fire when the form is reset too: report errors, but leave the message alone.
        quiet = guarded(lambda text: self.show_message(text, "error"))
        self.a_metric.observe(quiet(lambda _: self._show_baseline()), names="value")
        self.a_play.observe(quiet(self._play_chosen), names="value")
        self.editing: str | None = None
        form = (
            w.VBox(
                [
                    self.a_title,
                    w.HBox([self.a_owner, self.a_due], layout=w.Layout(flex_flow="row wrap")),
                    self.a_cause,
                    self.a_play,
                    self.a_metric,
                    w.HBox(
                        [self.a_target, self.a_unit, self.a_baseline],
                        layout=w.Layout(align_items="center", flex_flow="row wrap"),
                    ),
                    w.HBox([self.a_save, self.a_cancel]),
                ]
            )
            .add_class("srca-card")
            .add_class("srca-action-form")
        )
        self.actions_box = w.VBox()
        self.widget.children = [
            c.heading(
                "6. Plays and actions",
                sub="What has worked elsewhere for causes like ours, and who does what by when.",
            ),
            self.basis,
            self.cards,
            c.heading("Commit to an action", 3),
            form,
            c.heading("Our actions", 3),
            self.actions_box,
        ]
        self._drawn_for: Any = None
        self._metrics: dict[str, Finding] = {}

    # ------------------------------------------------------------------ data
    def _recommendations(self, state: WorkshopState) -> tuple[list[Recommendation], str]:
        playbook = self.bench.playbook
        if state.causes:
            recs = state.recommendations(playbook, top=3, limit=6)
            if state.results() is not None:
                return recs, ("Plays for the three causes the team ranked highest in the vote.")
            return recs, (
                "The vote is not revealed yet: these plays fit all the causes on the fishbone. "
                "Reveal the vote in step 5 to focus them on the top causes."
            )
        recs = recommend(playbook, priorities_from_coding(self.bench.coding), limit=6)
        return recs, (
            "No causes on the fishbone yet: these plays fit the loss categories the coding found "
            "most often. Place causes in step 5 to focus them."
        )

    def _metric_catalogue(self) -> dict[str, Finding]:
        x = self.bench.xray

        def build() -> dict[str, Finding]:
            return {f.key: f for f in baseline_metrics(x, self.bench.coding_findings())}

        return self.bench.cached("plays_metrics", build) if x is not None else {}

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        state = self.session.state()
        if self._drawn_for == state.event_count:
            return
        self._drawn_for = state.event_count
        recs, basis = self._recommendations(state)
        self.basis.value = render.fragment("app.muted", basis, "plays-basis")
        causes = {k.id: k for k in state.causes}
        selected = {s.play_id: s for s in state.selected_plays}
        cards = [self._card(r, causes, selected, open_=i == 0) for i, r in enumerate(recs)]
        shown = {r.play.id for r in recs}
        by_id = {p.id: p for p in self.bench.playbook}
        for play_id, s in selected.items():  # a picked play stays visible when the ranking moves
            if play_id not in shown and play_id in by_id:
                rec = Recommendation(by_id[play_id], 0.0, s.cause_ids, (), ())
                cards.append(self._card(rec, causes, selected))
        self.cards.children = cards or [w.HTML(render.note("No play matches yet."))]
        self._metrics = self._metric_catalogue()
        set_options(
            self.a_cause,
            [("(no particular cause)", NONE)] + [(k.text, k.id) for k in state.causes],
        )
        plays = [p for p in self.bench.playbook if p.id in selected]
        plays += [r.play for r in recs if r.play.id not in selected]
        plays += [p for p in self.bench.playbook if p not in plays]
        set_options(self.a_play, [("(no play)", NONE)] + [(p.title, p.id) for p in plays])
        set_options(
            self.a_metric,
            [("(no target metric)", NONE)]
            + [(metric_label(f), k) for k, f in self._metrics.items()],
        )
        self._show_baseline()
        self._draw_actions(state, by_id)

    def _card(
        self,
        rec: Recommendation,
        causes: dict[str, Any],
        selected: dict[str, Any],
        *,
        open_: bool = False,
    ) -> w.Widget:
        p: Play = rec.play
        chosen = p.id in selected
        cause_ids = selected[p.id].cause_ids if chosen else rec.cause_ids
        for_causes = [causes[i].text for i in cause_ids if i in causes]

        if for_causes:
            why = "For our causes: " + "; ".join(f"“{t}”" for t in for_causes)
        else:
            why = play_reason(rec, self.bench.coding)
        html = render.play_card(p, why, chosen=chosen, open_=open_)
        if chosen:
            b = c.button("Selected: unselect", tooltip=f"Drop the play {p.title}")
            b.on_click(self.guard(lambda _: self._unselect(p)))
        else:
            b = c.button("Select this play", style="success", tooltip=f"Pick the play {p.title}")
            b.on_click(self.guard(lambda _: self._select(p, rec.cause_ids)))
        box = w.VBox([w.HTML(html), w.HBox([b])]).add_class("srca-card")
        if chosen:
            box.add_class("srca-play-selected")
        return box

    def _select(self, play: Play, cause_ids: Sequence[str]) -> None:
        live = {k.id for k in self.session.state().causes}
        self.session.select_play(play.id, [i for i in cause_ids if i in live])
        self.ok(f"Selected the play “{play.title}”. Now commit to actions for it below.")
        self.a_play.value = play.id

    def _unselect(self, play: Play) -> None:
        self.session.unselect_play(play.id)
        self.ok(f"Dropped the play “{play.title}”.")

    # ------------------------------------------------------------------ the form
    def _play_chosen(self, _: Any = None) -> None:
        play = next((p for p in self.bench.playbook if p.id == self.a_play.value), None)
        if play is None or self.a_metric.value:
            return
        f = suggest_metric(play.indicator, list(self._metrics.values()))
        if f is not None:
            self.a_metric.value = f.key

    def _show_baseline(self) -> None:
        f = self._metrics.get(self.a_metric.value or "")
        if f is None:
            self.a_baseline.value = ""
            self.a_unit.value = ""
            return
        self.a_baseline.value = render.fragment("app.baseline", format_value(f.value, f.unit))
        self.a_unit.value = {"share": "%"}.get(f.unit, f.unit)

    def _reset_form(self) -> None:
        self.editing = None
        self.a_title.value = self.a_owner.value = ""
        self.a_due.value = None
        self.a_cause.value = self.a_play.value = self.a_metric.value = NONE
        self.a_target.value = 0.0
        self.a_save.description = "Commit to this action"
        self.a_cancel.layout.display = "none"

    def _form_target(self) -> TargetMetric | None:
        f = self._metrics.get(self.a_metric.value or "")
        if f is None:
            return None
        return target_from_input(f, float(self.a_target.value))

    def _save_action(self, _: Any = None) -> None:
        title, owner = self.a_title.value.strip(), self.a_owner.value.strip()
        if not title or not owner:
            self.show_message("An action needs a title and an owner.", "error")
            return
        if self.a_metric.value and not self.a_target.value:
            self.show_message(
                "Type the target value for the metric (or choose no metric).", "error"
            )
            return
        fields: dict[str, Any] = {
            "due": self.a_due.value.isoformat() if isinstance(self.a_due.value, dt.date) else None,
            "cause_id": self.a_cause.value or None,
            "play_id": self.a_play.value or None,
            "target": self._form_target(),
        }
        if self.editing:
            self.session.update_action(self.editing, title=title, owner=owner, **fields)
            self.ok(f"Saved the changes to “{title}”.")
        else:
            self.session.add_action(title, owner, **fields)
            self.ok(f"Committed: “{title}”, owned by {owner}.")
        self._reset_form()

    def _edit(self, a: Action) -> None:
        self.editing = a.id
        self.a_title.value, self.a_owner.value = a.title, a.owner
        self.a_due.value = a.due
        self.a_cause.value = (
            a.cause_id if a.cause_id in {v for _, v in self.a_cause.options} else NONE
        )
        self.a_play.value = a.play_id if a.play_id in {v for _, v in self.a_play.options} else NONE
        key = ""
        if a.target is not None:
            key = a.target.finding_key or ""
            if key in self._metrics:
                f = self._metrics[key]
                self.a_target.value = a.target.target * (100 if f.unit == "share" else 1)
        self.a_metric.value = key if key in self._metrics else NONE
        self.a_save.description = "Save changes"
        self.a_cancel.layout.display = None
        self.ok(f"Editing “{a.title}”: change the form and save.")

    # ------------------------------------------------------------------ committed actions
    def _draw_actions(self, state: WorkshopState, plays: dict[str, Play]) -> None:
        if not state.actions:
            self.actions_box.children = [w.HTML(render.note("No action committed yet."))]
            return
        causes = {k.id: k.text for k in (*state.causes, *state.removed_causes)}
        rows = []
        for a in state.actions:
            done = a.status.value == "done"
            info = c.html(
                "app.action",
                a,
                target=target_text(a.target),
                play=plays[a.play_id].title if a.play_id in plays else "",
                cause=causes.get(a.cause_id or "", ""),
            )
            info.layout = w.Layout(flex="1")
            toggle = c.button("Reopen" if done else "Mark done")
            toggle.on_click(
                self.guard(lambda _, a=a, done=done: self._status(a, "open" if done else "done"))
            )
            edit = c.button("Edit")
            edit.on_click(self.guard(lambda _, a=a: self._edit(a)))
            rows.append(
                w.HBox([info, edit, toggle], layout=w.Layout(align_items="center")).add_class(
                    "srca-card"
                )
            )
        self.actions_box.children = rows

    def _status(self, a: Action, status: str) -> None:
        self.session.update_action(a.id, status=status)
        self.ok(f"“{a.title}” is {status}.")
