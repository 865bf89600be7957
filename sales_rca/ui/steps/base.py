"""What every workshop step view has in common."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, ClassVar

import ipywidgets as w

from sales_rca import render
from sales_rca.agenda import app_steps, step_label, step_ref
from sales_rca.findings import Finding
from sales_rca.ui.context import guarded
from sales_rca.ui.workbench import Workbench


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

    def no_data(self) -> w.Widget:
        return w.HTML(
            render.notice(
                f"No CRM export is loaded yet. Open {step_ref('data')} and choose or upload one.",
                "error",
            )
        )


class ProblemButtons:
    """Findings listed with a "Make this a problem" button each (x-ray and loss-coding steps).

    A click starts a five-whys tree with the finding as its root and its numbers as evidence;
    findings already turned into a problem show "Already a problem".
    """

    def __init__(self, view: StepView) -> None:
        self.view = view
        self.box = w.VBox()
        self._rows: dict[str, w.Button] = {}

    def draw(self, findings: list[Finding]) -> None:
        from sales_rca.ui import components as c

        self._rows = {}
        rows = []
        for f in findings:
            b = c.button("Make this a problem", tooltip=f"Start a five-whys tree on: {f.title}")
            b.on_click(self.view.guard(lambda _, f=f: self._make_problem(f)))
            self._rows[f.key] = b
            rows.append(w.HBox([b, w.Label(f.title)], layout=w.Layout(align_items="center")))
        self.box.children = rows
        self.mark_used()

    def clear(self) -> None:
        self._rows = {}
        self.box.children = []

    def mark_used(self) -> None:
        used = {f.key for p in self.view.session.state().problems for f in p.findings}
        for key, b in self._rows.items():
            b.disabled = key in used
            b.description = "Already a problem" if key in used else "Make this a problem"

    def _make_problem(self, finding: Finding) -> None:
        self.view.session.add_problem(finding.title, finding=finding)
        self.view.ok(
            f"Added the problem “{finding.title}”. Open {step_ref('whys')} to dig into it."
        )
