"""The five whys step: one tree per problem, built as the team talks, every answer backed by data.

The facilitator picks a node (the problem or any why) and works on it: ask "why?" below it (Enter
adds), reword it, set its status, flag a root cause, attach a finding from the x-ray or loss coding
or a note, link it with a sibling (AND / OR), remove it (soft) or undo. Every edit goes to the
session first; the tree figure and the outline are redrawn from the session.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from sales_rca import charts, render
from sales_rca.agenda import step_ref
from sales_rca.findings import Finding
from sales_rca.rootcause.whys import Status, WhyTree
from sales_rca.rootcause.workshop import WorkshopState
from sales_rca.ui import components as c
from sales_rca.ui.inputs import entry_box, on_enter, set_options, shorten
from sales_rca.ui.steps.base import StepView, describe_undo

#: What each status means, shown on its button's tooltip.
STATUS_HELP: dict[Status, str] = {
    Status.HYPOTHESIS: "A guess the team has not checked yet",
    Status.SUPPORTED: "Some data or experience points this way",
    Status.VERIFIED: "Proven by evidence attached to it (a finding or a note)",
    Status.REJECTED: "Checked and ruled out",
}
INDENT = "\u00a0\u00a0\u00a0\u00a0"


def node_choices(tree: WhyTree) -> list[tuple[str, str]]:
    """Dropdown options (label, id) for the problem and every why, indented in outline order.

    Example: ``[("Problem: Deals die at Needs Analysis", "P1"), ("Why 1 · Reps pitch", "W2")]``
    (outline numbers, never the internal ids).
    """
    options = [(f"Problem: {shorten(tree.problem.text)}", tree.problem.id)]
    numbers = tree.numbers()
    for depth, why in tree.walk():
        flag = " ★ root cause" if why.root_cause else ""
        lead = INDENT * (depth - 1) + ("↳ " if depth > 1 else "")
        label = f"{lead}Why {numbers[why.id]} · {shorten(why.text)} [{why.status.value}]{flag}"
        options.append((label, why.id))
    return options


class WhysView(StepView):
    id = "whys"
    #: Another tab's edits show up here too.
    live = True

    def build(self) -> None:
        self._lock = threading.RLock()
        self._syncing = False
        self._drawn: Any = None
        self._select_next: str | None = None
        self._known_problems: set[str] | None = None
        self._tree: WhyTree | None = None
        self._findings: dict[str, Finding] = {}
        self.notice = c.notice()
        self.show_message = self._show

        self.problem = w.Dropdown(description="Problem", layout=w.Layout(width="100%"))
        self.problem.style.description_width = "initial"
        self.problem.observe(self._problem_changed, "value")
        self.new_problem = entry_box(
            "Or type a new problem and press Enter, e.g. Deals stall after the demo"
        )
        on_enter(self.new_problem, self.guard(self._add_problem))
        self.add_problem_button = c.button("Add problem")
        self.add_problem_button.on_click(self.guard(self._add_problem))

        self.node = w.Dropdown(description="Work on", layout=w.Layout(width="100%"))
        self.node.style.description_width = "initial"
        self.node.observe(self._node_changed, "value")
        self.why_text = entry_box("Why does this happen? Type the answer and press Enter")
        on_enter(self.why_text, self.guard(self._add_why))
        self.add_why_button = c.button("Add why below", style="primary")
        self.add_why_button.on_click(self.guard(self._add_why))
        self.edit_text = entry_box(
            "New wording for the selected item (Enter saves)", keep_text=True
        )
        on_enter(self.edit_text, self.guard(self._save_text))
        self.save_button = c.button("Save wording")
        self.save_button.on_click(self.guard(self._save_text))

        self.status_buttons: dict[Status, w.Button] = {}
        for status in Status:
            b = c.button(status.value.capitalize(), tooltip=STATUS_HELP[status], width="auto")
            b.on_click(self.guard(lambda _, s=status: self._set_status(s)))
            self.status_buttons[status] = b
        self.root_button = c.button("Mark as root cause", tooltip="Flag the selected why")
        self.root_button.on_click(self.guard(self._toggle_root))

        self.finding = w.Dropdown(description="Evidence from the data", layout=w.Layout(flex="1"))
        self.finding.style.description_width = "initial"
        self.attach_button = c.button("Attach finding")
        self.attach_button.on_click(self.guard(self._attach_finding))
        self.note = entry_box("Or a note as evidence, e.g. 5 of 6 call recordings (Enter)")
        on_enter(self.note, self.guard(self._attach_note))
        self.note_button = c.button("Attach note")
        self.note_button.on_click(self.guard(self._attach_note))

        self.sibling = w.Dropdown(description="Sibling", layout=w.Layout(flex="1"))
        self.sibling.style.description_width = "initial"
        self.and_button = c.button("Need each other (AND)", tooltip="Only together they explain it")
        self.and_button.on_click(self.guard(lambda _: self._link("and")))
        self.or_button = c.button("Alternatives (OR)", tooltip="Each explains it on its own")
        self.or_button.on_click(self.guard(lambda _: self._link("or")))

        self.remove_button = c.button(
            "Remove why", tooltip="Remove the selected why and its branch"
        )
        self.remove_button.on_click(self.guard(self._remove))
        self.removed = w.Dropdown(description="Removed", layout=w.Layout(flex="1"))
        self.removed.style.description_width = "initial"
        self.restore_button = c.button("Bring back")
        self.restore_button.on_click(self.guard(self._restore))
        self.undo_button = c.button("Undo", tooltip="Undo my last change")
        self.undo_button.on_click(self.guard(self._undo))

        for box, basis in (
            (self.new_problem, "20em"),
            (self.why_text, "24em"),
            (self.edit_text, "16em"),
            (self.note, "14em"),
        ):
            box.layout = w.Layout(flex=f"1 1 {basis}")
        self.problem.layout = w.Layout(flex="1 1 24em")
        self.node.layout = w.Layout(flex="1 1 24em")
        self.finding.layout = w.Layout(flex="2 1 22em")
        self.sibling.layout = w.Layout(flex="1 1 14em")
        self.removed.layout = w.Layout(flex="1 1 12em")

        def row(*children: w.Widget) -> w.HBox:
            return w.HBox(
                list(children),
                layout=w.Layout(width="100%", align_items="center", flex_flow="row wrap"),
            )

        self.editor = w.VBox(
            [
                row(self.node),
                row(self.why_text, self.add_why_button),
                row(
                    w.Label("Status:"),
                    *self.status_buttons.values(),
                    self.root_button,
                    self.remove_button,
                    self.undo_button,
                ),
                row(self.finding, self.attach_button, self.note, self.note_button),
                row(
                    self.edit_text,
                    self.save_button,
                    self.sibling,
                    self.and_button,
                    self.or_button,
                ),
                row(self.removed, self.restore_button),
            ]
        ).add_class("srca-card")
        self.figure_box = w.Output(layout=w.Layout(width="100%"))
        self.outline = w.HTML()
        self.widget.children = [
            c.heading(
                self.label,
                sub="Ask “why?” until you reach something the team can act on; back each answer "
                "with the data.",
            ),
            row(self.problem, self.new_problem, self.add_problem_button),
            self.editor,
            self.notice,
            self.figure_box,
            self.outline,
        ]

    # ------------------------------------------------------------------ drawing
    def _show(self, text: str, kind: str = "error") -> None:
        """Messages next to the step's own controls (not at the top of the page)."""
        c.set_notice(self.notice, text, kind)

    def refresh(self) -> None:
        with self._lock:
            self.draw_until_current(self._draw)

    def _draw(self, state: WorkshopState) -> None:
        problems = [(shorten(p.text, 90), p.id) for p in state.problems]
        ids = [p.id for p in state.problems]
        fresh = [i for i in ids if i not in (self._known_problems or set())]
        chosen = state.settings.get("whys_problem")
        if not self._known_problems:
            target = chosen if chosen in ids else (ids[-1] if ids else None)
        elif fresh:  # "make this a problem" on the x-ray, or another tab: show the new one
            target = fresh[-1]
        else:
            target = None  # keep the current choice
        self._known_problems = set(ids)
        self._syncing = True
        try:
            set_options(self.problem, problems, target)
        finally:
            self._syncing = False
        pid = self.problem.value
        self.editor.layout.display = "" if pid else "none"
        if not pid:
            self._tree = None
            self.figure_box.outputs = ()
            self.outline.value = render.notice(
                f"No problem yet. On {step_ref('xray')} press “Make this a problem” next to a "
                "finding, or type a problem above.",
                "error",
            )
            return
        tree = state.tree(pid)
        self._tree = tree
        self._draw_controls(tree, state)
        if self._drawn != tree:
            self._drawn = tree
            c.show_figure(self.figure_box, charts.why_tree_figure(tree))
            self.outline.value = render.why_tree(tree)

    def _draw_controls(self, tree: WhyTree, state: Any) -> None:
        before = self.node.value
        wanted = self._select_next
        self._select_next = None
        self._syncing = True
        try:
            set_options(self.node, node_choices(tree), wanted)
            if not self._findings:
                self._findings = {f.key: f for f in self.bench.findings()}
                set_options(
                    self.finding, [(shorten(f.title, 90), k) for k, f in self._findings.items()]
                )
            removed = [
                (shorten(x.text, 60), x.id)
                for x in state.removed_whys
                if x.problem_id == tree.problem.id and x.removed_with == x.id
            ]
            set_options(self.removed, removed)
        finally:
            self._syncing = False
        if self.node.value != before:
            self.edit_text.value = self._selected_text()
        self.removed.layout.display = self.restore_button.layout.display = (
            "" if self.removed.options else "none"
        )
        self._draw_selection()

    def _draw_selection(self) -> None:
        """Enable what applies to the selected node; show its status and flag."""
        tree = self._tree
        if tree is None:
            return
        why = self._selected_why()
        is_why = why is not None
        for status, b in self.status_buttons.items():
            b.disabled = not is_why
            b.button_style = "info" if is_why and why.status is status else ""
        self.root_button.disabled = not is_why
        self.root_button.description = (
            "Not a root cause" if is_why and why.root_cause else "Mark as root cause"
        )
        self.remove_button.disabled = self.and_button.disabled = (
            self.or_button.disabled
        ) = not is_why
        numbers = tree.numbers()
        siblings = (
            [
                (
                    f"Why {numbers[s.id]} · {shorten(s.text, 50)}"
                    + (" (AND)" if s.and_group else ""),
                    s.id,
                )
                for s in tree.children(why.parent_id)
                if s.id != why.id
            ]
            if is_why
            else []
        )
        self._syncing = True
        try:
            set_options(self.sibling, siblings)
        finally:
            self._syncing = False
        has_sibling = bool(siblings)
        self.sibling.disabled = not has_sibling
        self.and_button.disabled = self.or_button.disabled = not has_sibling
        self.add_why_button.description = (
            f"Add a why below {tree.name(self.node.value)}" if self.node.value else "Add a why"
        )

    def _name(self, node_id: str) -> str:
        """``"why 1.2"`` / ``"the problem"`` in the tree on screen."""
        return self._tree.name(node_id) if self._tree is not None else "the why"

    def _selected_why(self) -> Any:
        tree = self._tree
        if tree is None or self.node.value in (None, tree.problem.id):
            return None
        return next((x for x in tree.whys if x.id == self.node.value), None)

    def _selected_text(self) -> str:
        tree = self._tree
        if tree is None:
            return ""
        why = self._selected_why()
        return why.text if why is not None else tree.problem.text

    # ------------------------------------------------------------------ events
    def _problem_changed(self, change: dict[str, Any]) -> None:
        if self._syncing or not change["new"]:
            return
        self.guard(lambda: self.session.set_setting("whys_problem", change["new"]))()

    def _node_changed(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self.edit_text.value = self._selected_text()
        self._draw_selection()

    def _require(self, value: str, what: str) -> str | None:
        text = value.strip()
        if not text:
            self.show_message(f"Type {what} first.", "error")
            return None
        return text

    def _add_problem(self, _: Any = None) -> None:
        text = self._require(self.new_problem.value, "a problem statement")
        if text is None:
            return
        pid = self.session.add_problem(text)
        self.session.set_setting("whys_problem", pid)
        self.new_problem.value = ""
        self.ok("Added the problem. Now ask: why does this happen?")

    def _add_why(self, _: Any = None) -> None:
        text = self._require(self.why_text.value, "the answer to “why?”")
        parent = self.node.value
        if text is None or parent is None:
            return
        wid = self.session.add_why(parent, text)
        self.why_text.value = ""
        # Stay on the parent: the team often has several answers to the same "why?".
        self._select_next = parent
        tree = self.session.state().tree(self._tree.problem.id) if self._tree else None
        name = tree.name(wid) if tree is not None else "the why"
        self.ok(
            f"Added {name}. Type another answer to the same question, or pick {name} in "
            "“Work on” to ask why again."
        )

    def _save_text(self, _: Any = None) -> None:
        text = self._require(self.edit_text.value, "the new wording")
        node = self.node.value
        if text is None or node is None or self._tree is None:
            return
        if node == self._tree.problem.id:
            self.session.update_problem(node, text)
        else:
            self.session.update_why(node, text=text)
        self.ok(f"Saved the new wording of {self._tree.name(node)}.")

    def _why_or_message(self) -> Any:
        why = self._selected_why()
        if why is None:
            self.show_message("Pick a why in “Work on” first (not the problem).", "error")
        return why

    def _set_status(self, status: Status) -> None:
        why = self._why_or_message()
        if why is None:
            return
        self.session.update_why(why.id, status=status.value)
        self.ok(f"{self._name(why.id).capitalize()} is now {status.value}.")

    def _toggle_root(self, _: Any = None) -> None:
        why = self._why_or_message()
        if why is None:
            return
        self.session.update_why(why.id, root_cause=not why.root_cause)
        self.ok(
            f"{self._name(why.id).capitalize()} is "
            f"{'no longer' if why.root_cause else 'now'} a root cause"
            + (
                "."
                if why.root_cause
                else f": it is proposed on the fishbone, {step_ref('fishbone')}."
            )
        )

    def _attach_finding(self, _: Any = None) -> None:
        finding = self._findings.get(self.finding.value or "")
        node = self.node.value
        if finding is None or node is None:
            self.show_message("Choose a finding from the data first.", "error")
            return
        self.session.attach_finding(node, finding)
        self.ok(f"Attached “{shorten(finding.title, 60)}” to {self._name(node)}.")

    def _attach_note(self, _: Any = None) -> None:
        text = self._require(self.note.value, "a note")
        node = self.node.value
        if text is None or node is None:
            return
        self.session.add_note(node, text)
        self.note.value = ""
        self.ok(f"Attached the note to {self._name(node)}.")

    def _link(self, relation: str) -> None:
        why = self._why_or_message()
        if why is None:
            return
        other = self.sibling.value
        if other is None:
            self.show_message(f"{self._name(why.id)} has no sibling to link with.", "error")
            return
        self.session.link_whys([why.id, other], relation)  # type: ignore[arg-type]
        words = "need each other (AND)" if relation == "and" else "are alternatives (OR)"
        self.ok(f"{self._name(why.id).capitalize()} and {self._name(other)} {words}.")

    def _remove(self, _: Any = None) -> None:
        why = self._why_or_message()
        if why is None:
            return
        self.session.remove_why(why.id)
        self.ok(f"Removed {self._name(why.id)} and its branch. “Bring back” or Undo restores it.")

    def _restore(self, _: Any = None) -> None:
        wid = self.removed.value
        if wid is None:
            return
        self.session.restore_why(wid)
        self.ok(f"Brought back “{shorten(self.removed.label or '', 60)}” and its branch.")

    def _undo(self, _: Any = None) -> None:
        self.ok(describe_undo(self.session.undo()))
