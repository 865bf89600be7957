"""The room screen: what the projector shows, and nothing else.

The facilitator drives the workshop from the app (:mod:`sales_rca.ui.app`) on a laptop; the room
sees this view, served without a kernel by :mod:`sales_rca.ui.server` at ``/room/`` (facilitator
key required) and redrawn by a small page (``resources/room``) as the session changes: the open
step, its exercise timer, the join card and the current exercise's picture in large type:

- **five whys**: the tree of the problem the team is working on;
- **fishbone**: the fishbone, how many have voted (never how), then the revealed ranking as bars
  with the team's alignment in words;
- **plays and actions**: the plays picked and the actions committed;
- **other steps** (data, x-ray, loss coding, summary) need the analysis, which lives in the
  facilitator's kernel: the app *pushes* what to show ("Show on the room screen"), kept in the
  session file's meta table (it is not the team's work, so it is no event) and shown while that
  step is open.

:func:`screen_view` is a pure function of the session state, the pushed picture and the settings;
:class:`RoomScreen` caches it per session version.
"""

from __future__ import annotations

import json
import threading
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from markupsafe import Markup

from sales_rca import render
from sales_rca.agenda import app_steps, step_label, step_minutes
from sales_rca.rootcause.workshop import WorkshopState
from sales_rca.session import Session
from sales_rca.ui.context import Settings
from sales_rca.ui.timer import TimerState, timer_from

#: The smallest text a projected figure may use, in px at 1920 px wide.
MIN_FONT_PX = 18


def current_step(state: WorkshopState) -> str:
    steps = list(app_steps())
    step = state.settings.get("step") or steps[0]
    return step if step in steps else steps[0]


def current_problem(state: WorkshopState) -> Any:
    """The problem the team is digging into (chosen in the five-whys step), else the first."""
    chosen = state.settings.get("whys_problem")
    for p in state.problems:
        if p.id == chosen:
            return p
    return state.problems[0] if state.problems else None


def problem_text(state: WorkshopState) -> str:
    """What the fishbone's head says: the current problem, else the workshop's general one."""
    problem = current_problem(state)
    return problem.text if problem is not None else "Lost and stalled deals"


def vote_line(state: WorkshopState) -> str:
    """How the vote stands, for the room: how many have voted, never how."""
    joined, voted = len(state.participants), len(state.voters)
    if state.revealed:
        return f"{voted} voted · the results are in"
    if state.voting != "open":
        return f"{voted} of {joined} have voted · voting is closed" if voted else ""
    return (
        f"{voted} of {joined} have voted · {state.dots_per_person} dots each · ballots stay hidden"
    )


def projector_figure(fig: Any) -> dict[str, Any]:
    """``fig`` as plotly JSON for the room page, every text at least :data:`MIN_FONT_PX`."""
    from sales_rca.charts import apply_theme
    from sales_rca.charts.theme import figure_json

    apply_theme(fig)
    base = fig.layout.font.size or 14
    fig.update_layout(font={"size": max(base, MIN_FONT_PX)}, autosize=True, width=None)
    for ann in fig.layout.annotations or ():
        if ann.font is not None and ann.font.size is not None and ann.font.size < MIN_FONT_PX:
            ann.font.size = MIN_FONT_PX
    fig.update_xaxes(tickfont={"size": MIN_FONT_PX})
    fig.update_yaxes(tickfont={"size": MIN_FONT_PX})
    return figure_json(fig)


def alignment_words(w_value: float | None) -> str:
    """How aligned the ballots are, in the words a facilitator says to the room."""
    from sales_rca.render import AGREES, DISAGREES

    if w_value is None:
        return "Too few ballots to say how far the team agrees."
    if w_value >= AGREES:
        return "The team mostly agrees on the order."
    if w_value >= DISAGREES:
        return "The team partly agrees: talk through the top causes before choosing."
    return "Views are split: discuss before choosing."


def _tree_picture(state: WorkshopState) -> dict[str, Any]:
    problem = current_problem(state)
    if problem is None:
        return {"heading": "Five whys", "lead": "No problem chosen yet."}
    return {
        "heading": problem.text,
        "lead": "Why does this happen? Each answer needs evidence before it counts.",
        "html": render.why_tree(state.tree(problem.id)),
    }


def _fishbone_picture(state: WorkshopState) -> dict[str, Any]:
    from sales_rca import charts

    result = state.results() if state.revealed else None
    picture: dict[str, Any] = {
        "heading": "What causes it?",
        "lead": vote_line(state),
        "figures": [],
    }
    if result is not None:
        # Revealed: the ranked bars are the picture, with the whole screen to themselves (the
        # fishbone squeezed under them would stack its labels at projector type); the app keeps
        # the fishbone with the top causes marked.
        picture["heading"] = "What the team voted"
        bars = charts.vote_results_figure(result, state.causes, title="")
        picture["figures"].append(projector_figure(bars))
        picture["html"] = render.fragment("room.alignment", alignment_words(result.alignment))
        return picture
    fish = charts.fishbone_figure(state.categories, state.causes, problem=problem_text(state))
    # The colour key would sit on the lower bones' labels at projector type: the bones' own
    # colours stay, the key is the facilitator's to explain.
    fish.layout.annotations = [a for a in fish.layout.annotations if a.name != charts.FISH_KEY]
    picture["figures"].append(projector_figure(fish))
    return picture


def _plays_picture(state: WorkshopState, playbook: Any) -> dict[str, Any]:
    return {
        "heading": "What we will do",
        "html": render.join([render.picked_plays(state, playbook), render.actions(state)]),
    }


def screen_view(
    state: WorkshopState,
    pushed: dict[str, Any] | None,
    settings: Settings,
    *,
    playbook: Any = (),
    now: float | None = None,
) -> dict[str, Any]:
    """Everything the room page draws, as JSON-ready data (HTML parts are escaped fragments)."""
    step = current_step(state)
    timer = timer_from(state.settings, step, step_minutes(step, settings.agenda) * 60)
    picture: dict[str, Any]
    if pushed and pushed.get("step") == step:
        picture = {k: pushed.get(k) for k in ("heading", "lead", "html", "figures")}
    elif step == "whys":
        picture = _tree_picture(state)
    elif step == "fishbone":
        picture = _fishbone_picture(state)
    elif step in ("plays", "summary"):
        picture = _plays_picture(state, playbook)
    else:
        picture = {"heading": app_steps()[step]}
    picture["html"] = str(Markup(picture.get("html") or ""))
    picture.setdefault("figures", [])
    picture["figures"] = picture["figures"] or []
    join = None
    if settings.join_url and settings.join_code:
        join = {"url": settings.join_url, "code": settings.join_code}
    return {
        "title": state.title,
        "step": step,
        "step_label": step_label(step),
        "timer": timer.public(now),
        "join": join,
        "joined": len(state.participants),
        "picture": picture,
    }


class RoomScreen:
    """The room view of one session file, recomputed only when the session or the push changed."""

    def __init__(self, path: str | Path, settings: Settings | None = None) -> None:
        self.path = Path(path)
        self.settings = settings or Settings.from_env()
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._key: tuple[int, str] | None = None
        self._view: dict[str, Any] | None = None
        self._timer: TimerState | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = Session.open(self.path, who=None)
        return self._session

    @cached_property
    def playbook(self) -> Any:
        from sales_rca.rootcause import load_playbook

        return load_playbook()

    def view(self) -> dict[str, Any]:
        with self._lock:
            session = self.session
            pushed_raw = session.screen_raw()
            key = (session.event_count, pushed_raw)
            if key != self._key or self._view is None or self._timer is None:
                pushed = json.loads(pushed_raw) if pushed_raw else None
                state = session.state()
                self._view = screen_view(state, pushed, self.settings, playbook=self.playbook)
                step = self._view["step"]
                self._timer = timer_from(
                    state.settings, step, step_minutes(step, self.settings.agenda) * 60
                )
                self._key = key
            view = dict(self._view)
            # The countdown moves between changes (its record does not): recompute the time left.
            view["timer"] = self._timer.public(time.time())
            view["version"] = f"{key[0]}:{hash(key[1]) & 0xFFFFFFFF:x}"
            return view
