"""The fishbone and silent vote step: causes on the eight sales bones, then a vote nobody can sway.

Causes are placed by the facilitator here or by participants from their phones; root causes from the
five whys are proposed as candidates. Ballots stay hidden (only "how many have voted" shows, live)
until the facilitator reveals them; then the ranking by points and Borda count appears with the
team's alignment (Kendall's W) in plain words.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from sales_rca import charts, render
from sales_rca.rootcause.fishbone import Cause
from sales_rca.rootcause.workshop import WorkshopState
from sales_rca.ui import components as c
from sales_rca.ui.inputs import entry_box, on_enter, set_options, shorten
from sales_rca.ui.steps.base import StepView, describe_undo


def vote_status(state: WorkshopState) -> str:
    """One line for the room: round, dots each, how many have voted (never how)."""
    joined, voted = len(state.participants), len(state.voters)
    head = f"Round {state.round} · {state.dots_per_person} dots each · "
    if state.revealed:
        return head + f"{voted} voted · results revealed"
    text = head + f"{voted} of {joined} joined have voted · ballots stay hidden until you reveal"
    return text if state.voting == "open" else text + " · voting on the phones is closed"


class SuggestionRow:
    """One cause suggested from a phone: reword it, pick its bone, then add, merge or discard."""

    def __init__(self, view: FishboneView, cause: Cause, state: WorkshopState) -> None:
        self.cause_id = cause.id
        self.text = c.text_input("The cause as it will show")
        self.text.value = cause.text
        self.text.layout = w.Layout(flex="1 1 20em")
        self.bone = w.Dropdown(
            options=[(cat.label, cat.id) for cat in state.categories],
            value=cause.category,
            layout=w.Layout(width="14em"),
        )
        self.into = w.Dropdown(layout=w.Layout(width="16em"))
        add = c.button("Add to the fishbone", style="primary")
        add.on_click(view.guard(lambda _: view.approve(self)))
        merge = c.button("Merge", tooltip="Same as a cause already on the fishbone")
        merge.on_click(view.guard(lambda _: view.merge(self)))
        drop = c.button("Discard")
        drop.on_click(view.guard(lambda _: view.discard(self)))
        row = w.Layout(width="100%", align_items="center", flex_flow="row wrap")
        self.widget = w.HBox([self.text, self.bone, add, self.into, merge, drop], layout=row)

    def draw(self, state: WorkshopState) -> None:
        set_options(
            self.into, [("into…", "")] + [(shorten(k.text, 40), k.id) for k in state.causes]
        )


class FishboneView(StepView):
    id = "fishbone"
    #: Participants add causes and vote from their phones: redraw as they do.
    live = True

    def build(self) -> None:
        self._lock = threading.RLock()
        self._syncing = False
        self._drawn: Any = None
        self._ballot_for: tuple[str, ...] | None = None
        self.notice = c.notice()
        self.show_message = self._show

        state = self.session.state()
        self.cause_text = entry_box("A cause, e.g. Nobody maps the buying group (Enter places it)")
        on_enter(self.cause_text, self.guard(self._add_cause))
        self.category = w.Dropdown(
            options=[(cat.label, cat.id) for cat in state.categories],
            description="Bone",
            layout=w.Layout(width="22em"),
        )
        self.category.style.description_width = "initial"
        self.add_button = c.button("Place cause", style="primary")
        self.add_button.on_click(self.guard(self._add_cause))
        self.candidate = w.Dropdown(description="From the five whys", layout=w.Layout(width="100%"))
        self.candidate.style.description_width = "initial"
        self.candidate.observe(self._candidate_changed, "value")
        self.remove_choice = w.Dropdown(description="Cause", layout=w.Layout(flex="1 1 24em"))
        self.remove_choice.style.description_width = "initial"
        self.remove_button = c.button("Take off the fishbone")
        self.remove_button.on_click(self.guard(self._remove_cause))
        self.move_bone = w.Dropdown(
            options=[(cat.label, cat.id) for cat in state.categories],
            description="Move to",
            layout=w.Layout(width="20em"),
        )
        self.move_bone.style.description_width = "initial"
        self.move_button = c.button("Move", tooltip="Put the chosen cause on another bone")
        self.move_button.on_click(self.guard(self._move_cause))
        self.merge_into = w.Dropdown(description="Same as", layout=w.Layout(flex="1 1 18em"))
        self.merge_into.style.description_width = "initial"
        self.merge_button = c.button(
            "Merge", tooltip="The chosen cause repeats this one: one cause, the votes kept"
        )
        self.merge_button.on_click(self.guard(self._merge_causes))
        self.remove_choice.observe(self._cause_chosen, "value")
        self.undo_button = c.button("Undo", tooltip="Undo my last change")
        self.undo_button.on_click(self.guard(lambda _: self.ok(describe_undo(self.session.undo()))))

        self.status = w.HTML()
        self.reveal_button = c.button("Reveal results", style="warning")
        self.reveal_button.on_click(self.guard(self._reveal))
        self.round_button = c.button(
            "Start a new round", tooltip="Clear the ballots and vote again"
        )
        self.round_button.on_click(self.guard(self._new_round))
        self.ballot_rows = w.VBox()
        self.ballot_inputs: dict[str, w.BoundedIntText] = {}
        self.ballot_button = c.button("Record this ballot")
        self.ballot_button.on_click(self.guard(self._record_ballot))
        self.ballot = w.Accordion(
            children=[
                w.VBox(
                    [
                        w.HTML(
                            render.note(
                                "For someone voting on paper or without a phone: enter their "
                                "dots, then record. It counts as one anonymous ballot."
                            )
                        ),
                        self.ballot_rows,
                        self.ballot_button,
                    ]
                )
            ],
            titles=("Record a ballot for someone in the room",),
        )
        self.voting_button = c.button("Open voting on the phones", style="primary")
        self.voting_button.on_click(self.guard(self._toggle_voting))
        self.suggestions = w.VBox()
        self.suggestion_rows: dict[str, SuggestionRow] = {}
        self.suggestion_card = w.VBox(
            [
                c.heading("Suggested from the phones", 3),
                w.HTML(
                    render.note(
                        "Nothing typed on a phone reaches the screen before you add it: reword "
                        "it, merge it with a cause already there, or discard it."
                    )
                ),
                self.suggestions,
            ]
        ).add_class("srca-card")
        self.people = w.VBox()
        self.people_for: Any = None
        self.people_card = w.Accordion(
            children=[self.people], titles=("Who has joined (names: open it off the projector)",)
        )
        self.results = w.HTML()
        self.causes_table = w.HTML()
        self.figure_box = w.Output(layout=w.Layout(width="100%", overflow="auto"))

        self.cause_text.layout = w.Layout(flex="1 1 24em")
        row = w.Layout(width="100%", align_items="center", flex_flow="row wrap")
        self.widget.children = [
            c.heading(
                self.label,
                sub="Place the causes on the bones, then vote silently: nobody sees a ballot "
                "until the results are revealed.",
            ),
            w.VBox(
                [
                    w.HBox([self.category, self.cause_text, self.add_button], layout=row),
                    self.candidate,
                    w.HBox([self.remove_choice, self.remove_button, self.undo_button], layout=row),
                    w.HBox(
                        [self.move_bone, self.move_button, self.merge_into, self.merge_button],
                        layout=row,
                    ),
                ]
            ).add_class("srca-card"),
            self.notice,
            self.figure_box,
            w.VBox(
                [
                    c.heading("Silent vote", 3),
                    self.status,
                    w.HBox([self.voting_button, self.reveal_button, self.round_button], layout=row),
                    self.results,
                    self.ballot,
                    self.people_card,
                ]
            ).add_class("srca-card"),
            self.suggestion_card,
            self.causes_table,
        ]

    # ------------------------------------------------------------------ drawing
    def _show(self, text: str, kind: str = "error") -> None:
        """Messages next to the step's own controls (not at the top of the page)."""
        c.set_notice(self.notice, text, kind)

    def refresh(self) -> None:
        with self._lock:
            self.draw_until_current(self._draw)

    def _draw(self, state: WorkshopState) -> None:
        result = state.results()
        self.status.value = render.fragment("app.big_line", vote_status(state), "fishbone-votes")
        self.reveal_button.disabled = state.revealed or not state.causes
        self.voting_button.description = (
            "Close voting on the phones" if state.voting == "open" else "Open voting on the phones"
        )
        self.voting_button.disabled = state.revealed or not state.causes
        self._draw_suggestions(state)
        self._draw_people(state)
        self.round_button.layout.display = "" if state.revealed else "none"
        self.results.value = "" if result is None else render.ranking(state, result)
        self.ballot.layout.display = "none" if state.revealed or not state.causes else ""
        self._draw_choices(state)
        self._draw_ballot(state)
        points = {r.cause_id: r.points for r in result.causes} if result else {}
        top = result.top(3) if result else ()
        problem = self._problem_text(state)
        drawn = (state.categories, state.causes, tuple(points.items()), top, problem)
        if drawn != self._drawn:
            self._drawn = drawn
            fig = charts.fishbone_figure(
                state.categories, state.causes, problem=problem, points=points, highlight=top
            )
            c.show_figure(self.figure_box, fig)
            self.causes_table.value = self._causes_html(state)

    @staticmethod
    def _problem_text(state: WorkshopState) -> str:
        from sales_rca.ui.screen import problem_text

        return problem_text(state)

    def _draw_choices(self, state: WorkshopState) -> None:
        linked = {wid for cause in state.causes for wid in cause.why_ids}
        whys = sorted(
            (x for x in state.whys if x.id not in linked and x.status.value != "rejected"),
            key=lambda x: (not x.root_cause, x.problem_id, x.id),
        )
        candidates = [("(type your own cause above)", "")] + [
            (("★ root cause: " if x.root_cause else "") + shorten(x.text, 80), x.id) for x in whys
        ]
        labels = {cat.id: cat.label for cat in state.categories}
        causes = [
            (f"{labels.get(x.category, x.category)} · {shorten(x.text, 60)}", x.id)
            for x in state.causes
        ]
        self._syncing = True
        try:
            set_options(self.candidate, candidates)
            set_options(self.remove_choice, causes)
            chosen = self.remove_choice.value
            set_options(self.merge_into, [(t, i) for t, i in causes if i != chosen])
        finally:
            self._syncing = False
        roots = sum(1 for x in whys if x.root_cause)
        self.candidate.description = (
            f"From the five whys ({roots} root causes proposed)" if roots else "From the five whys"
        )
        self.remove_button.disabled = self.move_button.disabled = not causes
        self.merge_button.disabled = len(causes) < 2

    def _draw_ballot(self, state: WorkshopState) -> None:
        ids = tuple(x.id for x in state.causes)
        if ids == self._ballot_for and all(
            i.max == state.dots_per_person for i in self.ballot_inputs.values()
        ):
            return
        self._ballot_for = ids
        old = {k: v.value for k, v in self.ballot_inputs.items()}
        self.ballot_inputs = {}
        rows = []
        for cause in state.causes:
            box = w.BoundedIntText(
                value=min(old.get(cause.id, 0), state.dots_per_person),
                min=0,
                max=state.dots_per_person,
                layout=w.Layout(width="6em"),
            )
            self.ballot_inputs[cause.id] = box
            rows.append(w.HBox([box, w.Label(shorten(cause.text, 90))]))
        self.ballot_rows.children = rows

    def _draw_suggestions(self, state: WorkshopState) -> None:
        waiting = {k.id: k for k in state.proposed_causes}
        if tuple(waiting) != tuple(self.suggestion_rows):
            kept = {
                i: self.suggestion_rows.get(i) or SuggestionRow(self, k, state)
                for i, k in waiting.items()
            }
            self.suggestion_rows = kept
            self.suggestions.children = [r.widget for r in kept.values()]
        for row in self.suggestion_rows.values():
            row.draw(state)
        self.suggestion_card.layout.display = "" if waiting else "none"

    def _draw_people(self, state: WorkshopState) -> None:
        drawn = (state.participants, state.voters)
        if drawn == self.people_for:
            return
        self.people_for = drawn
        rows: list[w.Widget] = []
        for person in state.participants:
            voted = "has voted" if person.id in state.voters else "not voted yet"
            remove = c.button("Remove", tooltip="Their ballot in this round stops counting")
            remove.on_click(self.guard(lambda _, pid=person.id: self._remove_person(pid)))
            rows.append(w.HBox([w.Label(f"{person.label} · {voted}"), remove]))
        self.people.children = rows or [w.HTML(render.note("Nobody has joined yet."))]

    @staticmethod
    def _causes_html(state: WorkshopState) -> str:
        if not state.causes:
            return render.note("No cause on the fishbone yet: place the first one above.")
        labels = {cat.id: cat.label for cat in state.categories}
        rows = [
            (n, labels.get(x.category, x.category), x.text, "yes" if x.why_ids else "")
            for n, x in enumerate(state.causes, start=1)
        ]
        return render.heading("Causes on the fishbone", 3) + render.table(
            ["#", "Bone", "Cause", "From the five whys"], rows, testid="cause-table"
        )

    # ------------------------------------------------------------------ events
    def _cause_chosen(self, change: dict[str, Any]) -> None:
        """The other causes it may repeat; its own bone preselected for a move."""
        if self._syncing:
            return
        chosen = change["new"]
        self._syncing = True
        try:
            set_options(
                self.merge_into, [(t, i) for t, i in self.remove_choice.options if i != chosen]
            )
            bone = next((k.category for k in self.session.state().causes if k.id == chosen), None)
            if bone in {v for _, v in self.move_bone.options}:
                self.move_bone.value = bone
        finally:
            self._syncing = False

    def _candidate_changed(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        state = self.session.state()
        why = next((x for x in state.whys if x.id == change["new"]), None)
        if why is not None:
            self.cause_text.value = why.text

    def _add_cause(self, _: Any = None) -> None:
        text = self.cause_text.value.strip()
        if not text:
            self.show_message("Type the cause first, or pick one from the five whys.", "error")
            return
        why = self.candidate.value or None
        self.session.add_cause(text, self.category.value, why_ids=[why] if why else [])
        self.cause_text.value = ""
        self._syncing = True
        self.candidate.value = ""
        self._syncing = False
        self.ok(f"Placed “{shorten(text, 60)}” on “{self.category.label}”.")

    def _remove_cause(self, _: Any = None) -> None:
        cid = self.remove_choice.value
        if cid:
            text = self._cause_text(cid)
            self.session.remove_cause(cid)
            self.ok(f"Took “{text}” off the fishbone (Undo brings it back).")

    def _cause_text(self, cause_id: str) -> str:
        found = next((k for k in self.session.state().causes if k.id == cause_id), None)
        return shorten(found.text, 60) if found is not None else "the cause"

    def _move_cause(self, _: Any = None) -> None:
        cid = self.remove_choice.value
        if not cid:
            self.show_message("Pick the cause to move first.", "error")
            return
        self.session.update_cause(cid, category=self.move_bone.value)
        self.ok(f"Moved “{self._cause_text(cid)}” to “{self.move_bone.label}”.")

    def _merge_causes(self, _: Any = None) -> None:
        cid, into = self.remove_choice.value, self.merge_into.value
        if not cid or not into:
            self.show_message("Pick the cause and the one it repeats, then Merge.", "error")
            return
        text = self._cause_text(cid)
        self.session.merge_causes(into, [cid])
        self.ok(f"Merged “{text}” into “{self._cause_text(into)}”; its votes count there.")

    def _toggle_voting(self, _: Any = None) -> None:
        if self.session.state().voting == "open":
            self.session.close_voting()
            self.ok("Voting is closed on the phones.")
        else:
            self.session.open_voting()
            self.ok("Voting is open: participants can give their dots now.")

    def approve(self, row: SuggestionRow) -> None:
        self.session.approve_cause(row.cause_id, text=row.text.value, category=row.bone.value)
        self.ok("Added the suggestion to the fishbone.")

    def merge(self, row: SuggestionRow) -> None:
        if not row.into.value:
            self.show_message("Pick the cause it repeats, then Merge.", "error")
            return
        self.session.merge_causes(row.into.value, [row.cause_id])
        self.ok("Merged the suggestion into the cause already on the fishbone.")

    def discard(self, row: SuggestionRow) -> None:
        self.session.remove_cause(row.cause_id)
        self.ok("Discarded the suggestion (Undo brings it back).")

    def _remove_person(self, participant: str) -> None:
        self.session.remove_participant(participant)
        self.ok("Removed: their ballot in this round no longer counts.")

    def _reveal(self, _: Any = None) -> None:
        self.session.reveal()
        self.ok("Results revealed.")

    def _new_round(self, _: Any = None) -> None:
        self.session.start_round()
        self.ok("New round: ballots are cleared and hidden again. Everyone votes again.")

    def _record_ballot(self, _: Any = None) -> None:
        dots = {cid: box.value for cid, box in self.ballot_inputs.items() if box.value > 0}
        budget = self.session.state().dots_per_person
        if not dots:
            self.show_message("Enter at least one dot before recording the ballot.", "error")
            return
        if sum(dots.values()) > budget:
            self.show_message(
                f"A ballot has at most {budget} dots, found {sum(dots.values())}: take some back.",
                "error",
            )
            return
        voter = self.session.join(None)
        for cid, n in dots.items():
            self.session.vote(cid, n, participant=voter)
        for box in self.ballot_inputs.values():
            box.value = 0
        self.ok(f"Recorded an anonymous ballot with {sum(dots.values())} dots.")
