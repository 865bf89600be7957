"""The facilitator's app: a header (title, step buttons, exercise timer, participants), a notice
line, and one view per workshop step. The open step is kept in the session so a refresh or a
restart resumes where the team was.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from sales_rca import render
from sales_rca.agenda import step_minutes
from sales_rca.ui import components as c
from sales_rca.ui.context import Settings, guarded, log, report_error
from sales_rca.ui.steps import STEPS, StepView
from sales_rca.ui.timer import SETTING as TIMER_SETTING
from sales_rca.ui.timer import TimerState, clock, timer_from
from sales_rca.ui.workbench import Workbench

POLL_SECONDS = 1.5
#: Seconds a success message stays on screen.
OK_SECONDS = 6.0


class Timer:
    """The exercise countdown; turns red when the time is up. Its state lives in the session
    (:mod:`sales_rca.ui.timer`): a refresh, another tab and the room screen show the same time."""

    def __init__(self, session: Any, agenda: str) -> None:
        self.session = session
        self.agenda = agenda
        self.label = w.HTML(layout=w.Layout(min_width="7em"))
        self.toggle = c.button("Start timer", tooltip="Start or pause the exercise timer")
        self.reset_button = c.button("Reset", tooltip="Back to the full time for this step")
        self.toggle.on_click(lambda _: self.start_or_pause())
        self.reset_button.on_click(lambda _: self.reset())
        self.state = TimerState(step="", total=0.0, left=0.0)
        self._stop = threading.Event()
        self.widget = w.HBox([self.label, self.toggle, self.reset_button])
        threading.Thread(target=self._tick, daemon=True, name="srca-timer").start()

    def follow(self, step: str, settings: dict[str, Any] | None = None) -> None:
        """Show the timer of ``step``: where it was left, else its full agenda time."""
        if settings is None:
            settings = self.session.state().settings
        self.state = timer_from(settings, step, step_minutes(step, self.agenda) * 60)
        self._draw()

    def _save(self, state: TimerState) -> None:
        self.session.set_setting(TIMER_SETTING, state.to_json())
        self.state = state
        self._draw()

    def reset(self) -> None:
        self._save(self.state.reset())

    def start_or_pause(self) -> None:
        self._save(self.state.pause() if self.state.running else self.state.start())

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            if self.state.running:
                self._draw()

    def _draw(self) -> None:
        left = self.state.remaining()
        self.toggle.description = "Pause timer" if self.state.running else "Start timer"
        self.label.value = render.fragment("app.timer", clock(left), left < 0)

    def close(self) -> None:
        self._stop.set()


class WorkshopApp:
    """The live workshop: ``WorkshopApp.from_env()`` in ``sales_rca/workshops/workshop.ipynb``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: Set once someone clicks a step here; until then this page follows the session's step
        #: (a pre-heated page was built before anyone opened it).
        self.touched = False
        #: Serialises redraws: widget callbacks and the live-update thread never draw at once.
        self.ui_lock = threading.RLock()
        #: Messages float at the bottom of the screen, where the eye is after a click.
        self.message = c.notice()
        self.message.add_class("srca-toast")
        self._message_seq = 0
        self.bench = Workbench(settings)
        self.views: dict[str, StepView] = {}
        self.body = w.Box(layout=w.Layout(width="100%"))
        self.timer = Timer(self.bench.session, settings.agenda)
        self.nav_buttons: dict[str, w.Button] = {}
        for step_id, cls in STEPS.items():
            b = c.button(cls.label, tooltip=cls.title)
            b.on_click(self._go_to(step_id))
            self.nav_buttons[step_id] = b
        self.participants = w.HTML()
        state = self.bench.session.state()
        self.header = w.VBox(
            [
                w.HBox(
                    [
                        w.HTML(render.heading(state.title, 1), layout=w.Layout(flex="1")),
                        c.html("app.room_link"),
                        self.timer.widget,
                    ],
                    layout=w.Layout(align_items="center", width="100%"),
                ),
                w.HBox(
                    list(self.nav_buttons.values()), layout=w.Layout(flex_flow="row wrap")
                ).add_class("srca-nav"),
                self.participants,
            ]
        )
        # The message comes last: it sticks to the bottom of the window while the page scrolls.
        app = w.VBox([w.HTML(render.style()), self.header, self.body, self.message])
        app.add_class("srca-app")
        self.warmer = c.ChartWarmer()  # outside the app: no part of what the room reads
        self.widget = w.VBox([app, self.warmer.widget], layout=w.Layout(width="100%"))
        self._seen = state.event_count
        self.current = state.settings.get("step") or next(iter(STEPS))
        if self.current not in STEPS:
            self.current = next(iter(STEPS))
        self.show(self.current, record=False)
        self._draw_participants(state)
        self._stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True, name="srca-poll").start()
        threading.Thread(target=self._warm, daemon=True, name="srca-warm").start()

    @classmethod
    def from_env(cls) -> WorkshopApp:
        return cls(Settings.from_env())

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------- navigation
    def show_message(self, text: str, kind: str = "error") -> None:
        """A message at the bottom of the screen; a success fades after a few seconds, an error
        stays until the next action or step."""
        self._message_seq += 1
        seq = self._message_seq
        c.set_notice(self.message, text, kind)
        if text and kind == "ok":
            threading.Timer(OK_SECONDS, self._fade, args=(seq,)).start()

    def _fade(self, seq: int) -> None:
        if seq == self._message_seq:
            c.set_notice(self.message, "")

    def _go_to(self, step_id: str) -> Any:
        @guarded(self.show_message)
        def handler(_: Any) -> None:
            self.touched = True
            with self.ui_lock:
                self.show(step_id)

        return handler

    def show(self, step_id: str, *, record: bool = True) -> None:
        """Open a step (building its view on first use) and remember it in the session."""
        self.show_message("")
        for other in self.views.values():
            other.clear_messages()
        if record:
            self.bench.session.set_setting("step", step_id)
        self.current = step_id
        for sid, b in self.nav_buttons.items():
            b.button_style = "primary" if sid == step_id else ""
        view = self.views.get(step_id)
        try:
            if view is None:
                view = STEPS[step_id](self.bench, self.show_message, self)
                self.views[step_id] = view
            else:
                view.refresh()
            self.body.children = [view.widget]
            if record or not self.touched:
                view.on_show()
        except Exception as exc:
            report_error(exc, self.show_message)
            self.body.children = [c.heading(STEPS[step_id].title)]
        self.timer.follow(step_id)

    # ------------------------------------------------------------- live updates
    def _draw_participants(self, state: Any) -> None:
        self.participants.value = render.fragment(
            "app.participants",
            self.settings.join_url or "",
            self.settings.join_code,
            len(state.participants),
            len(state.voters),
        )

    def _poll(self) -> None:
        """Redraw when another tab or a participant's device changed the session."""
        while not self._stop.wait(POLL_SECONDS):
            try:
                count = self.bench.session.event_count
                if count == self._seen:
                    continue
                view = self.views.get(self.current)
                if view is None:
                    continue  # the step is still being built; it reads the latest state itself
                with self.ui_lock:
                    self._seen = count
                    state = self.bench.session.state()
                    step = state.settings.get("step")
                    if not self.touched and step in STEPS and step != self.current:
                        self.show(step, record=False)
                        continue
                    self._draw_participants(state)
                    self.timer.follow(self.current, state.settings)
                    # A page nobody has clicked yet (pre-heated before it was opened) catches up
                    # with every change; an open page redraws its live steps.
                    if view.live or not self.touched:
                        view.refresh()
            except Exception as exc:  # keep polling; tell the log, not the room
                log.warning("live update failed: %s", exc)

    def _warm(self) -> None:
        """Compute the analyses and build every step's view in the background, in agenda
        order, so a later step opens at once (a click meanwhile waits for at most one view)."""
        try:
            bench = self.bench
            _ = bench.xray, bench.findings(), bench.coding, bench.playbook
            for step_id, cls in STEPS.items():
                if self._stop.is_set():
                    return
                with self.ui_lock:
                    if step_id not in self.views:
                        self.views[step_id] = cls(self.bench, self.show_message, self)
        except Exception as exc:  # a view that cannot be built says so when it is opened
            log.warning("warming the workshop failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        self.timer.close()
