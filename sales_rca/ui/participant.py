"""The participant page (``sales_rca/workshops/participant.ipynb``): join from a phone, add causes, vote silently.

A participant opens the join URL shown on the projector, with ``?code=...`` or typing the code, and
joins anonymously (or with a name). Every change is written to the same session file as the
facilitator's, through a handle that records this participant as its author. Ballots are hidden
until the facilitator reveals them; the page polls the session and shows the results then.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

import ipywidgets as w

from sales_rca import render
from sales_rca.errors import SalesRcaError
from sales_rca.rootcause.fishbone import Cause
from sales_rca.rootcause.workshop import WorkshopState
from sales_rca.session import Session
from sales_rca.ui import components as c
from sales_rca.ui.context import Settings, guarded, log
from sales_rca.ui.inputs import on_enter, set_options, shorten

POLL_SECONDS = 1.5


def query_value(query: str, key: str) -> str | None:
    """One parameter of a URL query string (``"code=AB12&me=U3"``), or ``None``."""
    values = parse_qs(query.lstrip("?")).get(key)
    return values[0].strip() if values and values[0].strip() else None


def normalise_code(code: str) -> str:
    """A join code as typed on a phone: case, spaces and dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_matches(typed: str | None, expected: str) -> bool:
    """True if ``typed`` is the workshop's join code (compared in constant time)."""
    if not typed:
        return False
    return hmac.compare_digest(normalise_code(typed), normalise_code(expected))


def resume_token(participant_id: str, secret: str) -> str:
    """A personal token that lets one participant come back as themselves after a reload.

    Only the server knows ``secret`` (the session's random id and the join code), so a participant
    cannot make another's token from the (guessable) participant ids.
    """
    digest = hmac.new(secret.encode(), participant_id.encode(), hashlib.sha256).hexdigest()
    return f"{participant_id}-{digest[:12]}"


def resumed_participant(token: str | None, secret: str) -> str | None:
    """The participant id inside a valid :func:`resume_token`, else ``None``."""
    if not token or "-" not in token:
        return None
    pid = token.rsplit("-", 1)[0]
    return pid if hmac.compare_digest(resume_token(pid, secret), token) else None


class VoteRow:
    """One cause with the participant's dots on it: ``−  n  +``."""

    def __init__(self, cause: Cause, on_change: Callable[[str, int], None]) -> None:
        self.cause_id = cause.id
        self.cause_text = cause.text
        self.text = c.html("app.cause_text", cause.text)
        self.text.layout = w.Layout(flex="1 1 12em")
        self.count = w.HTML()
        self.minus = w.Button(
            description="−", tooltip="Take a dot back", layout=w.Layout(width="3em")
        )
        self.plus = w.Button(description="+", tooltip="Give a dot", layout=w.Layout(width="3em"))
        self.minus.add_class("srca-vote-minus")
        self.plus.add_class("srca-vote-plus")
        self.dots = 0
        self.minus.on_click(lambda _: on_change(self.cause_id, self.dots - 1))
        self.plus.on_click(lambda _: on_change(self.cause_id, self.dots + 1))
        self.widget = w.HBox(
            [self.text, w.HBox([self.minus, self.count, self.plus])],
            layout=w.Layout(width="100%", align_items="center", flex_flow="row wrap"),
        ).add_class("srca-vote-row")

    def show(self, dots: int, open_ballot: bool) -> None:
        self.dots = dots
        self.count.value = render.fragment("app.dots", dots)
        self.minus.disabled = not open_ballot or dots == 0
        self.plus.disabled = not open_ballot


class ParticipantApp:
    """The page one participant sees: ``ParticipantApp.from_env()`` in the participant notebook."""

    def __init__(self, settings: Settings, query: str = "") -> None:
        self.settings = settings
        self.query = query
        self.session: Session | None = None
        self.participant: str | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._seen = -1
        self._rows: dict[str, VoteRow] = {}
        self._rows_for: tuple[Cause, ...] | None = None
        self.message = c.notice()
        self.body = w.VBox(layout=w.Layout(width="100%"))
        self.widget = w.VBox([w.HTML(render.style()), self.body, self.message])
        self.widget.add_class("srca-app")
        self.widget.add_class("srca-participant")
        if not settings.join_code:
            self.body.children = [
                c.heading("Join the workshop", 1),
                w.HTML(
                    render.notice(
                        "Joining from a phone is not switched on for this workshop: ask the "
                        "facilitator.",
                        "error",
                    )
                ),
            ]
            return
        token = query_value(query, "me")
        if code_matches(query_value(query, "code"), settings.join_code) and token:
            self._try_resume(token)
        if self.participant is None:
            self._draw_join()

    @classmethod
    def from_env(cls) -> ParticipantApp:
        """Settings from ``SALES_RCA_*``; the code (and personal token) from Voila's query string."""
        return cls(Settings.from_env(), os.environ.get("QUERY_STRING", ""))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def show_message(self, text: str, kind: str = "error") -> None:
        c.set_notice(self.message, text, kind)

    def guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A callback whose errors become a friendly message (details in the server log)."""

        @guarded(self.show_message)
        def run(*args: Any, **kwargs: Any) -> Any:
            self.show_message("", "ok")
            return fn(*args, **kwargs)

        return run

    # ------------------------------------------------------------------ joining
    def _secret(self, session: Session) -> str:
        return f"{session.session_id}:{self.settings.join_code}"

    def _try_resume(self, token: str) -> None:
        try:
            probe = Session.open(self.settings.session, who=None)
        except SalesRcaError as exc:
            log.warning("participant could not open the session: %s", exc)
            return
        with probe:
            pid = resumed_participant(token, self._secret(probe))
            known = pid is not None and any(p.id == pid for p in probe.state().participants)
        if known and pid is not None:
            self._start(pid)

    def _draw_join(self) -> None:
        code_ok = code_matches(query_value(self.query, "code"), self.settings.join_code or "")
        self.code = w.Text(placeholder="Code shown on the screen", layout=w.Layout(width="100%"))
        self.code.add_class("srca-code-input")
        self.name = w.Text(
            placeholder="Your name (optional: leave empty to stay anonymous)",
            layout=w.Layout(width="100%"),
        )
        self.join_button = c.button("Join", style="primary", width="100%")
        self.join_button.on_click(self.guard(self._join))
        on_enter(self.code, self.guard(self._join))
        on_enter(self.name, self.guard(self._join))
        self.code.layout.display = "none" if code_ok else ""
        if code_ok:
            self.code.value = query_value(self.query, "code") or ""
        self.body.children = [
            c.html("app.join"),
            self.code,
            self.name,
            self.join_button,
        ]

    def _join(self, _: Any = None) -> None:
        if not code_matches(self.code.value, self.settings.join_code or ""):
            self.code.layout.display = ""
            self.show_message(
                "That code does not match the one on the screen: check it and try again."
            )
            return
        try:
            door = Session.open(self.settings.session, who=None)
        except SalesRcaError as exc:
            log.warning("participant could not open the session: %s", exc)
            self.show_message(
                "The workshop has not started yet: ask the facilitator to open it, then reload."
            )
            return
        with door:
            pid = door.join(self.name.value.strip() or None)
        self._start(pid)

    def _start(self, pid: str) -> None:
        self.participant = pid
        self.session = Session.open(self.settings.session, who=pid)
        self._build_main()
        self.refresh()
        threading.Thread(target=self._poll, daemon=True, name="srca-participant-poll").start()

    # ------------------------------------------------------------------ the page
    def _build_main(self) -> None:
        assert self.session is not None and self.participant is not None
        state = self.session.state()
        me = state.participant(self.participant)
        query = urlencode({"code": self.settings.join_code, "me": self._token()})
        self.header = c.html("app.participant_header", state.title, me.label, query)
        self.status = w.HTML()
        self.results = w.HTML()
        self.causes = w.VBox(layout=w.Layout(width="100%"))
        self.category = w.Dropdown(layout=w.Layout(width="100%"))
        set_options(self.category, [(cat.label, cat.id) for cat in state.categories])
        self.cause_text = w.Text(
            placeholder="A cause you see, e.g. No champion on the customer side",
            layout=w.Layout(width="100%"),
        )
        on_enter(self.cause_text, self.guard(self._add_cause))
        self.add_button = c.button("Add cause", width="100%")
        self.add_button.on_click(self.guard(self._add_cause))
        # Ranking is the other silent ballot: the top three, best first (the rest tie below).
        self.rank_boxes = [
            w.Dropdown(description=place, layout=w.Layout(width="100%"))
            for place in ("1st", "2nd", "3rd")
        ]
        self.rank_button = c.button("Save my ranking", width="100%")
        self.rank_button.on_click(self.guard(self._rank))
        self.rank_status = w.HTML()
        self._ranking_drawn: list[str] | None = None
        self.ranking_card = w.VBox(
            [
                c.heading("Or rank your top three", 3),
                *self.rank_boxes,
                self.rank_button,
                self.rank_status,
            ]
        ).add_class("srca-card")
        self.body.children = [
            self.header,
            self.status,
            self.results,
            self.causes,
            self.ranking_card,
            w.VBox(
                [
                    c.heading("Add a cause", 3),
                    self.category,
                    self.cause_text,
                    self.add_button,
                ]
            ).add_class("srca-card"),
        ]

    def _token(self) -> str:
        assert self.session is not None and self.participant is not None
        return resume_token(self.participant, self._secret(self.session))

    def refresh(self) -> None:
        """Redraw from the session: the causes, this participant's dots, results once revealed."""
        if self.session is None:
            return
        with self._lock:
            state = self.session.state()
            self._seen = state.event_count
            mine = {v.cause_id: v.dots for v in state.votes if v.participant == self.participant}
            used = sum(mine.values())
            open_ballot = not state.revealed
            self.status.value = render.fragment(
                "app.ballot_status",
                state.round,
                state.revealed,
                state.dots_per_person - used,
                state.dots_per_person,
            )
            result = state.results()
            self.results.value = "" if result is None else render.ranking(state, result)
            self._draw_causes(state)
            for cid, row in self._rows.items():
                row.show(mine.get(cid, 0), open_ballot)
            self._draw_ranking(state, open_ballot)

    def _draw_ranking(self, state: WorkshopState, open_ballot: bool) -> None:
        mine = next((r for r in state.rankings if r.participant == self.participant), None)
        choices = [("—", "")] + [(shorten(k.text, 60), k.id) for k in state.causes]
        saved = list(mine.cause_ids) if mine else []
        # Show the saved ranking once; later redraws keep what the person is choosing now.
        fresh = saved != self._ranking_drawn
        self._ranking_drawn = saved
        for i, box in enumerate(self.rank_boxes):
            set_options(box, choices, saved[i] if fresh and i < len(saved) else None)
            box.disabled = not open_ballot
        self.rank_button.disabled = not open_ballot or len(state.causes) < 2
        if mine:
            texts = {k.id: k.text for k in state.causes}
            order = " · ".join(
                f"{n}. {texts.get(cid, cid)}" for n, cid in enumerate(mine.cause_ids, 1)
            )
            self.rank_status.value = render.fragment(
                "app.muted", f"Your ranking is saved: {order}", "my-ranking"
            )
        else:
            self.rank_status.value = ""

    def _draw_causes(self, state: WorkshopState) -> None:
        if state.causes == self._rows_for:
            return
        self._rows_for = state.causes
        labels = {cat.id: cat.label for cat in state.categories}
        rows: list[w.Widget] = []
        kept: dict[str, VoteRow] = {}
        for category, causes in state.fishbone().items():
            if not causes:
                continue
            rows.append(c.heading(labels.get(category, category), 3))
            for cause in causes:
                row = self._rows.get(cause.id)
                if row is None or row.cause_text != cause.text:
                    row = VoteRow(cause, self.guard(self._vote))
                kept[cause.id] = row
                rows.append(row.widget)
        if not rows:
            rows = [
                w.HTML(
                    render.note(
                        "No causes yet: add the first one below, or wait for the facilitator."
                    )
                )
            ]
        self._rows = kept
        self.causes.children = rows

    def _vote(self, cause_id: str, dots: int) -> None:
        assert self.session is not None
        state = self.session.state()
        if state.revealed:
            self.show_message("The results are revealed: voting is closed for this round.")
            return
        mine = {v.cause_id: v.dots for v in state.votes if v.participant == self.participant}
        used = sum(mine.values()) - mine.get(cause_id, 0)
        if dots < 0:
            return
        if used + dots > state.dots_per_person:
            self.show_message(
                f"You have used all {state.dots_per_person} dots: take one back from another "
                "cause first."
            )
            return
        self.session.vote(cause_id, dots)
        self.refresh()

    def _rank(self, _: Any = None) -> None:
        assert self.session is not None
        picked = [box.value for box in self.rank_boxes if box.value]
        if not picked:
            self.show_message("Pick at least your first choice.")
            return
        if len(set(picked)) != len(picked):
            self.show_message("Pick a different cause for each place.")
            return
        self.session.rank(picked)
        self.show_message("Your ranking is saved. Nobody sees it before the reveal.", "ok")
        self.refresh()

    def _add_cause(self, _: Any = None) -> None:
        assert self.session is not None
        text = self.cause_text.value.strip()
        if not text:
            self.show_message("Type the cause first.")
            return
        self.session.add_cause(text, self.category.value)
        self.cause_text.value = ""
        self.show_message(f"Added your cause to “{self.category.label}”.", "ok")
        self.refresh()

    def _poll(self) -> None:
        """Show other people's causes, a new round and the revealed results without a reload."""
        while not self._stop.wait(POLL_SECONDS):
            try:
                assert self.session is not None
                if self.session.event_count != self._seen:
                    self.refresh()
            except Exception as exc:  # keep polling; tell the log, not the phone
                log.warning("participant update failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        if self.session is not None:
            self.session.close()
