"""The participants' side of a live workshop, without a kernel: join, vote, rank, suggest causes.

A phone loads one small static page (``sales_rca/resources/join``) that talks JSON to the
handlers in :mod:`sales_rca.ui.server`; they call the :class:`Room` here, which reads and writes
the session file through the session store, like the facilitator's app. A participant is
remembered by a signed cookie (``resume_token``) made with a secret kept in the session file, so a
refresh or a server restart brings the same person back to the same ballot. What a phone sees is
:func:`participant_view`: plain words, no ids on screen, nobody's ballot but its own, and results
only once the facilitator reveals them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sales_rca.errors import SalesRcaError
from sales_rca.rootcause.workshop import WorkshopState
from sales_rca.session import Session
from sales_rca.ui.inputs import shorten

#: How many new participants one device (address) may create in :data:`JOIN_WINDOW` seconds.
JOINS_PER_WINDOW = 5
JOIN_WINDOW = 600.0
#: Wrong codes one address may type in :data:`JOIN_WINDOW` before it must wait.
WRONG_CODES_PER_WINDOW = 10
TEXT_LIMIT = 300
NAME_LIMIT = 60


#: Letters and digits that cannot be misread on a projector (no 0/O, 1/I/L).
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_join_code(length: int = 6) -> str:
    """A fresh join code for the projector, e.g. ``K7QX3M``."""
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(length))


class JoinError(SalesRcaError):
    """What a phone is told when it cannot do something; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def normalise_code(code: str) -> str:
    """A join code as typed on a phone: case, spaces and dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_matches(typed: str | None, expected: str) -> bool:
    """True if ``typed`` is the workshop's join code (compared in constant time)."""
    if not typed or not expected:
        return False
    return hmac.compare_digest(normalise_code(typed), normalise_code(expected))


def resume_token(participant_id: str, secret: str) -> str:
    """A personal token that brings one participant back as themselves after a reload.

    Only the server knows ``secret`` (kept in the session file), so nobody can make another
    participant's token from the (guessable) participant ids.
    """
    digest = hmac.new(secret.encode(), participant_id.encode(), hashlib.sha256).hexdigest()
    return f"{participant_id}-{digest[:24]}"


def resumed_participant(token: str | None, secret: str) -> str | None:
    """The participant id inside a valid :func:`resume_token`, else ``None``."""
    if not token or "-" not in token:
        return None
    pid = token.rsplit("-", 1)[0]
    return pid if hmac.compare_digest(resume_token(pid, secret), token) else None


@dataclass
class RateLimit:
    """At most ``limit`` events per ``window`` seconds for each key (a phone's address)."""

    limit: int
    window: float
    _seen: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def allow(self, key: str, now: float | None = None) -> bool:
        """Count one event for ``key``; False when it is over the limit (then not counted)."""
        now = time.monotonic() if now is None else now
        seen = self._seen[key]
        while seen and now - seen[0] > self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


def _status(state: WorkshopState, dots_left: int) -> str:
    if state.revealed:
        return f"Round {state.round}: the results are revealed. Voting is closed."
    if state.voting != "open":
        return (
            "Voting is not open yet: the facilitator opens it when the board is ready. "
            "You can suggest causes meanwhile."
        )
    return (
        f"Round {state.round}: you have {dots_left} of {state.dots_per_person} dots left. "
        "Tap + on the causes that matter most. Your votes are hidden until the facilitator "
        "reveals the results."
    )


def participant_view(state: WorkshopState, participant: str | None) -> dict[str, Any]:
    """What one phone shows, as JSON-ready data (texts are plain; the page never reads HTML)."""
    me = next((p for p in state.participants if p.id == participant), None)
    if me is None:
        return {"joined": False, "title": state.title}
    labels = {cat.id: cat.label for cat in state.categories}
    mine = {v.cause_id: v.dots for v in state.votes if v.participant == me.id}
    left = max(state.dots_per_person - sum(mine.values()), 0)
    groups = []
    for category, causes in state.fishbone().items():
        if causes:
            groups.append(
                {
                    "label": labels.get(category, category),
                    "causes": [
                        {"id": k.id, "text": k.text, "my_dots": mine.get(k.id, 0)} for k in causes
                    ],
                }
            )
    ranking = next((r for r in state.rankings if r.participant == me.id), None)
    results = []
    revealed = state.results()
    if revealed is not None:
        texts = {k.id: k.text for k in state.causes}
        for r in revealed.causes[:10]:
            if r.cause_id in texts:
                dots = f"{r.points} dot{'s' if r.points != 1 else ''}"
                results.append({"text": texts[r.cause_id], "summary": f"place {r.place}, {dots}"})
    return {
        "joined": True,
        "title": state.title,
        "me": me.label,
        "round": state.round,
        "voting": "revealed" if state.revealed else state.voting,
        "status": _status(state, left),
        "dots_per_person": state.dots_per_person,
        "dots_left": left,
        "fishbone": groups,
        "causes": [{"id": k.id, "label": shorten(k.text, 60)} for k in state.causes],
        "my_ranking": list(ranking.cause_ids) if ranking else [],
        "results": results,
        "categories": [{"id": cat.id, "label": cat.label} for cat in state.categories],
        "can_propose": not state.revealed,
    }


def _is_local(client: str) -> bool:
    return client in ("127.0.0.1", "::1") or client.startswith("127.")


def _text(value: Any, what: str, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise JoinError(f"Keep the {what} under {limit} characters ({len(text)} typed).")
    return text


class Room:
    """The participants' door to one session file, shared by every phone (thread-safe)."""

    def __init__(self, session_path: str | Path) -> None:
        self.path = Path(session_path)
        self._lock = threading.Lock()
        self._session: Session | None = None
        self.joins = RateLimit(JOINS_PER_WINDOW, JOIN_WINDOW)
        self.wrong_codes = RateLimit(WRONG_CODES_PER_WINDOW, JOIN_WINDOW)

    def _open(self) -> Session:
        if self._session is None:
            try:
                self._session = Session.open(self.path, who=None)
            except SalesRcaError:
                raise JoinError(
                    "The workshop has not started yet: ask the facilitator, then reload.", 503
                ) from None
        return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    @property
    def join_code(self) -> str:
        with self._lock:
            return self._open().secret("join_code", make=new_join_code)

    def _secret(self, session: Session) -> str:
        return session.secret("participant_token")

    def who(self, token: str | None) -> str | None:
        """The live participant a cookie names, else None."""
        with self._lock:
            session = self._open()
            pid = resumed_participant(token, self._secret(session))
            if pid is None:
                return None
            return pid if any(p.id == pid for p in session.state().participants) else None

    def view(self, token: str | None) -> dict[str, Any]:
        pid = self.who(token)
        with self._lock:
            return participant_view(self._open().state(viewer=pid), pid)

    def join(
        self, code: str | None, name: str | None, token: str | None, client: str
    ) -> tuple[str, dict[str, Any]]:
        """Join (or come back): returns the participant's cookie token and their view."""
        existing = self.who(token)
        with self._lock:
            session = self._open()
            if existing is not None:  # one person, one ballot: a refresh is the same person
                return token or "", participant_view(session.state(viewer=existing), existing)
            expected = session.secret("join_code", make=new_join_code)
            if not code_matches(code, expected):
                if not self.wrong_codes.allow(client):
                    raise JoinError(
                        "Too many wrong codes: wait a few minutes, then try again.", 429
                    )
                raise JoinError(
                    "That code does not match the one on the screen: check it and try again.", 403
                )
            # The laptop itself (loopback) already holds the facilitator's powers: not limited.
            if not _is_local(client) and not self.joins.allow(client):
                raise JoinError(
                    "This phone has joined several times already: ask the facilitator.", 429
                )
            label = _text(name, "name", NAME_LIMIT) or None
            pid = session.join(label)
            new_token = resume_token(pid, self._secret(session))
            return new_token, participant_view(session.state(viewer=pid), pid)

    def _act(self, token: str | None) -> tuple[Session, str]:
        pid = self.who(token)
        if pid is None:
            raise JoinError("Join the workshop first (reload the page).", 401)
        return self._open(), pid

    def vote(self, token: str | None, cause: str, dots: int) -> dict[str, Any]:
        session, pid = self._act(token)
        with self._lock:
            state = session.state(viewer=pid)
            if state.voting != "open" or state.revealed:
                raise JoinError("Voting is closed right now: the facilitator opens it.", 409)
            with session.acting(pid):
                session.vote(cause, max(int(dots), 0), participant=pid)
            return participant_view(session.state(viewer=pid), pid)

    def rank(self, token: str | None, causes: list[str]) -> dict[str, Any]:
        session, pid = self._act(token)
        picked = [str(c) for c in causes if c]
        if not picked:
            raise JoinError("Pick at least your first choice.")
        if len(set(picked)) != len(picked):
            raise JoinError("Pick a different cause for each place.")
        with self._lock:
            state = session.state(viewer=pid)
            if state.voting != "open" or state.revealed:
                raise JoinError("Voting is closed right now: the facilitator opens it.", 409)
            with session.acting(pid):
                session.rank(picked, participant=pid)
            return participant_view(session.state(viewer=pid), pid)

    def propose(self, token: str | None, category: str, text: str) -> dict[str, Any]:
        session, pid = self._act(token)
        text = _text(text, "cause", TEXT_LIMIT)
        if not text:
            raise JoinError("Type the cause first.")
        with self._lock:
            if session.state(viewer=pid).revealed:
                raise JoinError("The results are revealed: suggest it in the next round.", 409)
            with session.acting(pid):
                session.propose_cause(text, category)
            return participant_view(session.state(viewer=pid), pid)
