"""The plays and actions step: proven plays for the causes the team ranked highest, and actions
with an owner, a due date and a target metric whose baseline comes from the x-ray."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ipywidgets as w

from sales_rca import render
from sales_rca.agenda import step_ref
from sales_rca.findings import Finding
from sales_rca.report.sections import recommend_plays
from sales_rca.rootcause import (
    Action,
    Play,
    Recommendation,
    TargetMetric,
    WorkshopState,
)
from sales_rca.rootcause.actions import (
    baseline_metrics,
    check_commitment,
    metric_label,
    suggest_metric,
    target_from_input,
    target_text,
)
from sales_rca.ui import components as c
from sales_rca.ui.context import guarded
from sales_rca.ui.inputs import set_options
from sales_rca.ui.steps.base import StepView, describe_undo

NONE = ""


# ---------------------------------------------------------------------- wording
def play_reason(rec: Recommendation, coding: Any = None) -> str:
    """Why a play is recommended (:meth:`Recommendation.why`), codes by the codebook's labels."""
    return rec.why({c.id: c.label for c in coding.codebook.codes} if coding is not None else None)


# ---------------------------------------------------------------------- the view
class PlaysView(StepView):
    id = "plays"
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
        self.undo = c.button("Undo", tooltip="Undo my last change")
        self.undo.on_click(self.guard(lambda _: self._undo()))
        self.undo.layout.display = "none"
        self.worth = w.HTML()
        self.widget.children = [
            c.heading(
                self.label,
                sub="What has worked elsewhere for causes like ours, and who does what by when.",
            ),
            self.basis,
            self.cards,
            c.heading("Commit to an action", 3),
            form,
            c.heading("Our actions", 3),
            self.actions_box,
            self.undo,
            self.worth,
        ]
        self._drawn_for: Any = None
        self._metrics: dict[str, Finding] = {}

    # ------------------------------------------------------------------ data
    def _recommendations(self, state: WorkshopState) -> tuple[list[Recommendation], str]:
        playbook, coding = self.bench.playbook, self.bench.coding
        recs, _ = recommend_plays(playbook, losses=coding, state=state, limit=6)  # the summary's
        if not state.causes:
            return recs, (
                "No causes on the fishbone yet: these plays fit the loss categories the coding "
                f"found most often. Place causes in {step_ref('fishbone')} to focus them."
            )
        if state.results() is not None:
            return recs, "Plays for the three causes the team ranked highest in the vote."
        return recs, (
            "The vote is not revealed yet: these plays fit all the causes on the fishbone. "
            f"Reveal the vote in {step_ref('fishbone')} to focus them on the top causes."
        )

    def _metric_catalogue(self) -> dict[str, Finding]:
        x = self.bench.xray

        names = self.bench.names

        def build() -> dict[str, Finding]:
            metrics = baseline_metrics(x, self.bench.coding_findings(), names=names)
            return {f.key: f for f in metrics}

        return self.bench.cached(("plays_metrics", names), build) if x is not None else {}

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
        self._draw_worth(state)

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
        self.a_baseline.value = render.fragment(
            "app.baseline", render.metric_value(f.value, f.unit)
        )
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
        due = self.a_due.value if isinstance(self.a_due.value, dt.date) else None
        target = self._form_target()
        check_commitment(due, target)  # a due date ahead, a target that improves on today
        fields: dict[str, Any] = {
            "due": due.isoformat() if due else None,
            "cause_id": self.a_cause.value or None,
            "play_id": self.a_play.value or None,
            "target": target,
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
            delete = c.button("Delete", tooltip="Delete this action (Undo brings it back)")
            delete.on_click(self.guard(lambda _, a=a: self._delete(a)))
            rows.append(
                w.HBox(
                    [info, edit, toggle, delete], layout=w.Layout(align_items="center")
                ).add_class("srca-card")
            )
        self.actions_box.children = rows

    def _delete(self, a: Action) -> None:
        self.session.remove_action(a.id)
        if self.editing == a.id:
            self._reset_form()
        self.undo.layout.display = ""
        self.ok(f"Deleted “{a.title}” (Undo brings it back).")

    def _undo(self) -> None:
        self.ok(describe_undo(self.session.undo()))

    def _draw_worth(self, state: WorkshopState) -> None:
        """The "what fixing it is worth" panel (:mod:`sales_rca.ui.steps.worth`), computed once
        per set of targets."""
        from sales_rca.ui.steps.worth import worth_panel

        key = ("worth", tuple((a.id, a.title, a.target) for a in state.actions))
        x, b = self.bench.xray, self.bench
        self.worth.value = self.bench.cached(
            key,
            lambda: worth_panel(
                x, state.actions, benchmark=b.settings.benchmark, playbook=b.playbook
            ),
        )

    def _status(self, a: Action, status: str) -> None:
        self.session.update_action(a.id, status=status)
        self.ok(f"“{a.title}” is {status}.")
