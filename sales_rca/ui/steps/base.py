"""What every workshop step view has in common."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, ClassVar

import ipywidgets as w

from sales_rca import render
from sales_rca.agenda import app_steps, step_label, step_ref
from sales_rca.findings import Finding
from sales_rca.rootcause.operations import OPERATIONS
from sales_rca.session.store import Event
from sales_rca.ui.context import guarded
from sales_rca.ui.inputs import shorten
from sales_rca.ui.workbench import Workbench


def describe_undo(event: Event) -> str:
    """The notice after an undo, e.g. ``Undone: the new why “Reps pitch”.``"""
    model = OPERATIONS.get(event.kind)
    what = model.undo if model is not None and model.undo else event.kind.replace("_", " ")
    text = event.data.get("text") or event.data.get("note")
    return f"Undone: {what}" + (f" “{shorten(str(text), 60)}”." if text else ".")


class StepView:
    """One workshop step. Subclasses set ``id`` (its step in ``agenda.yaml``), build their widgets
    in :meth:`build` (inputs are built once, so a redraw never wipes what someone is typing) and
    redraw what they display in :meth:`refresh`, always from the session and the data."""

    id: ClassVar[str]
    #: Its name and its label (``"6. Plays and actions"``: its button and heading), from the agenda.
    title: ClassVar[str]
    label: ClassVar[str]
    #: Redraw when another tab or a participant changes the session.
    live: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "id" in cls.__dict__:
            cls.label = step_label(cls.id)  # an error for a step the agenda lacks
            cls.title = app_steps()[cls.id]

    def __init__(self, bench: Workbench, show_message: Callable[[str, str], None], app: Any = None):
        self.bench = bench
        self.session = bench.session
        self.show_message = show_message
        self.app = app
        self.widget = w.VBox(layout=w.Layout(width="100%"))
        self.build()
        self.refresh()

    def build(self) -> None:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def refresh(self) -> None:
        """Redraw from the current session state (default: nothing to redraw)."""

    def draw_until_current(self, draw: Callable[[Any], None], *, rounds: int = 3) -> None:
        """Call ``draw(state)`` until no change arrived meanwhile (drawing a figure can take a
        moment while participants keep voting), at most ``rounds`` times."""
        for _ in range(rounds):
            state = self.session.state()
            draw(state)
            if self.session.event_count == state.event_count:
                break

    def guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a callback: errors become a friendly message, and the view redraws after it."""

        @guarded(lambda text: self.show_message(text, "error"))
        def run(*args: Any, **kwargs: Any) -> Any:
            with getattr(self.app, "ui_lock", nullcontext()):
                self.show_message("", "ok")
                result = fn(*args, **kwargs)
                self.refresh()
                return result

        return run

    def ok(self, text: str) -> None:
        self.show_message(text, "ok")

    def push_screen(
        self, heading: str, *, lead: str = "", html: str = "", figures: Any = ()
    ) -> None:
        """Put a picture on the room screen while this step is open (:mod:`sales_rca.ui.screen`);
        ``figures`` are plotly figures, drawn in projector type."""
        from sales_rca.ui.screen import projector_figure

        self.session.push_screen(
            {
                "step": self.id,
                "heading": heading,
                "lead": lead,
                "html": str(html),
                "figures": [projector_figure(f) for f in figures],
            }
        )

    def on_show(self) -> None:
        """The step was opened: put its picture on the room screen (a step with findings shows
        their ranked short list; the tree, fishbone and plays are drawn by the room itself)."""
        buttons = getattr(self, "problem_buttons", None)
        if isinstance(buttons, ProblemButtons):
            buttons.show_list()

    def clear_messages(self) -> None:
        """Forget this step's messages (the app calls it when another step opens)."""
        notice = getattr(self, "notice", None)
        if notice is not None:
            notice.value = ""

    def no_data(self) -> w.Widget:
        return w.HTML(
            render.notice(
                f"No CRM export is loaded yet. Open {step_ref('data')} and choose or upload one.",
                "error",
            )
        )


class ProblemButtons:
    """The step's findings as one ranked short list with one "Make this a problem" control.

    Strong evidence first, then leads (marked "lead, not proof"), then background numbers under
    their own heading; one menu picks a finding, one button starts a five-whys tree with it as the
    root and its numbers as evidence, another puts it on the room screen. A finding already turned
    into a problem is marked in the list and cannot be picked twice.
    """

    LEAD_TIP = (
        "This rests on too few deals, or on too few managers or territories, to prove it: a "
        "lead to discuss, not proof."
    )

    def __init__(self, view: StepView) -> None:
        from sales_rca.ui import components as c

        self.view = view
        self.findings: dict[str, Finding] = {}
        self.listing = w.HTML()
        self.choice = w.Dropdown(layout=w.Layout(flex="1 1 30em", max_width="60em"))
        self.choice.add_class("srca-finding-choice")
        self.make = c.button("Make this a problem", style="primary")
        self.make.on_click(self.view.guard(lambda _: self._make_problem()))
        self.show = c.button("Show on the room screen", tooltip="Put this finding on the projector")
        self.show.on_click(self.view.guard(lambda _: self._show_finding()))
        self.controls = w.HBox(
            [self.choice, self.make, self.show],
            layout=w.Layout(align_items="center", flex_flow="row wrap", width="100%"),
        ).add_class("srca-card")
        self.box = w.VBox([self.listing, self.controls])

    def draw(self, findings: list[Finding]) -> None:
        self.findings = {f.key: f for f in findings}
        self.controls.layout.display = "" if findings else "none"
        self.mark_used()
        if self.view.app is None or getattr(self.view.app, "current", None) == self.view.id:
            self.show_list()

    def clear(self) -> None:
        self.draw([])

    def _used(self) -> set[str]:
        return {f.key for p in self.view.session.state().problems for f in p.findings}

    def mark_used(self) -> None:
        from sales_rca.report.sections import strength_mark
        from sales_rca.ui.inputs import set_options

        used = self._used()
        findings = list(self.findings.values())
        first = [f for f in findings if f.strength != "context"]
        background = [f for f in findings if f.strength == "context"]
        number = {f.key: i for i, f in enumerate(first + background, start=1)}
        # The words on the list; the statistics behind them (p-values, ranges) one hover away.
        items = [
            (number[f.key], f.title, strength_mark(f), f.key in used, f.figures) for f in first
        ]
        extra = [
            (number[f.key], f.title, strength_mark(f), f.key in used, f.figures) for f in background
        ]
        self.listing.value = (
            render.fragment("app.findings_list", items, extra, self.LEAD_TIP) if findings else ""
        )
        choices = [
            (f"{number[f.key]}. {f.title}", f.key) for f in first + background if f.key not in used
        ]
        set_options(self.choice, choices)
        self.make.disabled = not choices

    def _picked(self) -> Finding:
        from sales_rca.errors import SalesRcaError

        finding = self.findings.get(self.choice.value or "")
        if finding is None:
            raise SalesRcaError("Pick a finding in the list first.")
        return finding

    def _make_problem(self) -> None:
        finding = self._picked()
        self.view.session.add_problem(finding.title, finding=finding)
        self.view.ok(
            f"Added the problem “{finding.title}”. Open {step_ref('whys')} to dig into it."
        )

    def show_list(self) -> None:
        """The ranked short list on the room screen (strong evidence and leads only)."""
        from sales_rca.report.sections import strength_mark

        top = [f for f in self.findings.values() if f.strength != "context"][:8]
        if not top:
            return
        lines = [f.title + (f" ({m})" if (m := strength_mark(f)) else "") for f in top]
        self.view.push_screen(
            "What the data says", html=render.fragment("room.ranked", lines), lead=""
        )

    def _show_finding(self) -> None:
        from sales_rca.display import money
        from sales_rca.report.sections import strength_mark

        f = self._picked()
        lines = []
        if f.deals is not None:
            lines.append(f"Rests on {f.deals:,} deals")
        if f.value_at_stake is not None:
            lines.append(f"{money(f.value_at_stake)} at stake")
        if mark := strength_mark(f):
            lines.append(f"{mark[0].upper()}{mark[1:]}: {self.LEAD_TIP}")
        self.view.push_screen(f.title, html=render.fragment("room.finding", f.title, lines))
        self.view.ok("The room screen shows this finding.")
