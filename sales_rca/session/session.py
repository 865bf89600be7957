"""A session: the workshop's state as the replay of the events in one session file.

A :class:`Session` folds the events of its :class:`~sales_rca.session.store.Store` into a
:class:`~sales_rca.rootcause.Workshop`, keeps that in memory and applies only newer events on each
read; the file keeps a periodic snapshot so opening a long session replays only its tail. Every
change is validated against the latest state and committed before the call returns, so several
processes (the facilitator's tab, each participant's device) can write the same file. The change
methods are derived from the operation models (:mod:`sales_rca.rootcause.operations`).

Example:
    >>> s = Session.create(tmp / "q3.session", "Q3 loss review")   # doctest: +SKIP
    >>> p = s.add_problem("38% of lost deals die at Needs Analysis", finding=finding)
    >>> w = s.add_why(p, "Reps pitch instead of diagnosing")
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sales_rca.errors import ModelError, SessionError
from sales_rca.findings import Finding
from sales_rca.rootcause import operations as ops
from sales_rca.rootcause.operations import OPERATIONS, Operation, operation
from sales_rca.rootcause.workshop import Workshop, WorkshopState
from sales_rca.session import exchange
from sales_rca.session.store import Event, Store, dumps, now

#: Version of the replay rules; cached snapshots from another version are ignored and rebuilt.
FOLD_VERSION = 4
#: A snapshot of the derived state is stored after this many events since the last one.
SNAPSHOT_EVERY = 1000
#: The meta-table key of the picture pushed to the room screen.
SCREEN_META = "room_screen"
#: Kinds that undo never takes back: the session's own, and changes that are not edits.
_NOT_UNDONE = (*exchange.SESSION_KINDS, *(k for k, m in OPERATIONS.items() if m.undo is None))


class Session:
    """A workshop session stored in one SQLite file. Create with :meth:`create`, reopen with :meth:`open`.

    ``who`` is recorded on every change this handle makes: ``"facilitator"`` by default, or a
    participant id from :meth:`join` on a participant's device. Handles are thread-safe; use one per
    process (or per kernel) and as many processes as needed on the same file.
    """

    def __init__(self, store: Store, *, who: str | None) -> None:
        self._store = store
        self._who = who
        self._workshop: Workshop | None = None
        self._seq = 0
        self._undone: set[int] = set()
        self._skipped: list[tuple[int, str]] = []
        self._cache: tuple[int, WorkshopState] | None = None
        self._session_id = store.meta("session_id")

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        title: str,
        *,
        categories: Sequence[Any] | None = None,
        dots_per_person: int = 3,
        who: str | None = "facilitator",
    ) -> Session:
        """Create a new session file (never overwrites) and return it open.

        Args:
            path: the new file, e.g. ``out/acme-2025-q3.session``.
            title: shown on every screen and in the summary.
            categories: fishbone categories (default: the packaged eight).
            dots_per_person: dots each participant may place in a voting round.
            who: recorded as the author of this handle's changes.

        Raises:
            SessionError: if the file exists. ModelError: for a blank title or bad categories.
        """
        path = Path(path)
        workshop = Workshop(title, categories=categories, dots_per_person=dots_per_person)
        data = {
            "title": workshop.title,
            "categories": [asdict(c) for c in workshop.categories.values()],
            "dots_per_person": workshop.dots_per_person,
        }
        at = now()
        meta = {"app": "sales-rca", "session_id": uuid.uuid4().hex, "created_at": at}
        with Store.create(path, meta) as store:
            store.append(1, at, who, "create", dumps(data))
        return cls.open(path, who=who)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, who: str | None = "facilitator") -> Session:
        """Open an existing session file.

        Raises:
            SessionError: if the file is missing, not a session, or from a newer sales-rca.
        """
        store = Store.open(Path(path))
        try:
            session = cls(store, who=who)
            session._load()
        except BaseException:
            store.close()
            raise
        return session

    def close(self) -> None:
        """Close the file (changes are already committed)."""
        self._store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Session({str(self.path)!r}, who={self._who!r}, events={self._seq})"

    @property
    def path(self) -> Path:
        """The session file."""
        return self._store.path

    @property
    def who(self) -> str | None:
        """The author recorded on this handle's changes."""
        return self._who

    @property
    def session_id(self) -> str:
        """A random id given at creation (kept by export / import)."""
        return self._session_id

    # ------------------------------------------------------------------ replaying
    def _apply(self, workshop: Workshop | None, event: Event, *, strict: bool) -> Workshop:
        if event.kind == "create":
            if workshop is not None or event.seq != 1:
                raise ModelError(f"expected 'create' only as event 1, found it at {event.seq}")
            data = event.data
            workshop = Workshop(
                data["title"],
                categories=data["categories"],
                dots_per_person=data["dots_per_person"],
                created_at=event.at,
            )
        elif workshop is None:
            raise ModelError(f"expected event 1 to be 'create', found {event.kind!r}")
        elif event.kind != "undo" and event.seq not in self._undone:
            try:
                workshop.apply(event.kind, event.data, by=event.who, at=event.at)
            except ModelError as exc:
                if strict:
                    raise ModelError(
                        f"event {event.seq} ({event.kind} by {event.who}): {exc}"
                    ) from None
                self._skipped.append((event.seq, str(exc)))
        workshop.event_count = event.seq
        return workshop

    def _load(self) -> None:
        """Rebuild the state: from the stored snapshot when it is still valid, else from event 1."""
        store = self._store
        with store.read():
            undos = store.events(kind="undo")
            self._undone = {int(e.data["target"]) for e in undos}
            self._skipped = []
            workshop, start = None, 0
            snap = store.snapshot()
            # An undo written after the snapshot that reaches back before it makes it stale.
            if (
                snap is not None
                and snap[1] == FOLD_VERSION
                and not any(e.seq > snap[0] >= int(e.data["target"]) for e in undos)
            ):
                with contextlib.suppress(ModelError):
                    workshop = Workshop.from_state(WorkshopState.from_json(snap[2]))
                    start = snap[0]
            for event in store.events(start):
                workshop = self._apply(workshop, event, strict=False)
            if workshop is None:
                raise SessionError(
                    f"expected at least the 'create' event in {self.path}, found none"
                )
            self._workshop, self._seq, self._cache = workshop, workshop.event_count, None

    def _catch_up(self) -> None:
        """Apply events other handles wrote since this one last looked (call inside a transaction)."""
        events = self._store.events(self._seq)
        if not events:
            return
        if self._workshop is None or any(e.kind == "undo" for e in events):
            self._load()  # an undo can reach back before what this handle has folded
            return
        for event in events:
            self._apply(self._workshop, event, strict=False)
        self._seq = events[-1].seq
        self._cache = None

    def _replay_strict(self, undone: set[int]) -> Workshop:
        saved, self._undone = self._undone, undone
        try:
            workshop = None
            for event in self._store.events():
                workshop = self._apply(workshop, event, strict=True)
            assert workshop is not None
            return workshop
        finally:
            self._undone = saved

    # ------------------------------------------------------------------ writing
    def _perform(self, op: Operation[Any]) -> Any:
        """Validate one operation against the latest state and commit it as one event."""
        data = op.to_data()
        for name in op.by_author:  # a participant's own ballot, by default
            data[name] = self._who if data[name] is None else data[name]
        given = data.pop("id", None)  # stored first, allocated from the event number if not given
        applied = False
        try:
            with self._store.write():
                self._catch_up()
                seq = self._seq + 1
                if given is not None or op.new_id:
                    data = {"id": f"{op.new_id}{seq}" if given is None else given, **data}
                text, at = dumps(data), now()
                assert self._workshop is not None
                # Apply what replay will see (the stored JSON), so both give the same state.
                result = self._workshop.apply(op.kind, json.loads(text), by=self._who, at=at)
                applied = True
                self._workshop.event_count = seq
                self._store.append(seq, at, self._who, op.kind, text)
                self._maybe_snapshot(seq)
        except sqlite3.Error as exc:  # disk full, read-only, locked for too long
            self._forget(applied)
            raise SessionError(
                f"expected to save the change in {self.path}, found the file could not be "
                f"written ({exc}); nothing was changed: free disk space or check the folder, "
                "then try again",
                expected="a writable session file",
                found=str(exc),
            ) from exc
        except BaseException:
            self._forget(applied)
            raise
        self._seq, self._cache = seq, None
        return result

    def _forget(self, applied: bool) -> None:
        """After a failed write: memory may be ahead of the file, so rebuild on the next read."""
        if applied:
            self._workshop, self._seq, self._cache = None, 0, None

    def secret(self, name: str, make: Callable[[], str] | None = None) -> str:
        """A random secret kept in this session file (made on first use, by ``make`` if given):
        the join code and the participants' token key survive a restart with the session."""
        return self._store.secret(name, make)

    def push_screen(self, picture: dict[str, Any]) -> None:
        """Show ``picture`` on the room screen (:mod:`sales_rca.ui.screen`): display state kept
        in the file, not an edit (no event, nothing to undo)."""
        self._store.put_meta(SCREEN_META, dumps(picture))

    def screen_raw(self) -> str:
        """The picture last pushed to the room screen, as JSON text ("" when none)."""
        return self._store.get_meta(SCREEN_META) or ""

    @contextlib.contextmanager
    def acting(self, who: str | None) -> Iterator[Session]:
        """Record the changes made inside the block as ``who``'s (a participant's own ballot,
        written through a shared handle); the handle's author comes back afterwards."""
        with self._store.lock:
            saved, self._who = self._who, who
            try:
                yield self
            finally:
                self._who = saved

    def _maybe_snapshot(self, seq: int, *, force: bool = False) -> None:
        mark = self._store.snapshot(with_state=False)
        if force or mark is None or mark[1] != FOLD_VERSION or seq - mark[0] >= SNAPSHOT_EVERY:
            assert self._workshop is not None
            self._store.save_snapshot(seq, FOLD_VERSION, self._workshop.snapshot().to_json())

    # ------------------------------------------------------------------ changes
    # One per operation, with the model's arguments; add_* / join return the new id.
    join = operation(ops.Join)
    rename = operation(ops.Rename)
    add_problem = operation(ops.AddProblem)
    update_problem = operation(ops.UpdateProblem)
    add_why = operation(ops.AddWhy)
    update_why = operation(ops.UpdateWhy)
    remove_why = operation(ops.RemoveWhy)
    restore_why = operation(ops.RestoreWhy)
    attach_evidence = operation(ops.AttachEvidence)
    detach_evidence = operation(ops.DetachEvidence)
    link_whys = operation(ops.LinkWhys)
    add_cause = operation(ops.AddCause)
    update_cause = operation(ops.UpdateCause)
    remove_cause = operation(ops.RemoveCause)
    propose_cause = operation(ops.ProposeCause)
    approve_cause = operation(ops.ApproveCause)
    merge_causes = operation(ops.MergeCauses)
    remove_participant = operation(ops.RemoveParticipant)
    open_voting = operation(ops.OpenVoting)
    close_voting = operation(ops.CloseVoting)
    start_round = operation(ops.StartRound)
    vote = operation(ops.Vote)
    rank = operation(ops.Rank)
    reveal = operation(ops.Reveal)
    select_play = operation(ops.SelectPlay)
    unselect_play = operation(ops.UnselectPlay)
    add_action = operation(ops.AddAction)
    update_action = operation(ops.UpdateAction)
    remove_action = operation(ops.RemoveAction)
    override_code = operation(ops.OverrideCode)
    clear_override = operation(ops.ClearOverride)
    set_setting = operation(ops.SetSetting)

    def attach_finding(self, node_id: str, finding: Finding) -> str:
        """Attach a finding (its numbers and deals) to a problem or why; returns the evidence id."""
        return self.attach_evidence(node_id, finding=finding)

    def add_note(self, node_id: str, text: str) -> str:
        """Attach a note as evidence to a problem or why; returns the evidence id."""
        return self.attach_evidence(node_id, note=text)

    def undo(self) -> Event:
        """Undo this handle's (``who``'s) latest change that is not undone yet; returns it.

        Refused with :class:`ModelError` when a later change depends on it (e.g. a why added under
        the why being undone): undo that one first. Undo is itself an event; there is no redo.
        Settings are not edits, so undo skips them.
        """
        with self._store.write():
            try:
                self._catch_up()
                events = self._store.latest_by(self._who, skip=_NOT_UNDONE)
                target = next((e for e in events if e.seq not in self._undone), None)
                if target is None:
                    raise ModelError(f"expected a change by {self._who} to undo, found none")
                undone = self._undone | {target.seq}
                try:
                    workshop = self._replay_strict(undone)
                except ModelError as exc:
                    raise ModelError(
                        f"cannot undo event {target.seq} ({target.kind}): a later change depends "
                        f"on it ({exc})"
                    ) from None
                seq = self._seq + 1
                self._store.append(seq, now(), self._who, "undo", dumps({"target": target.seq}))
                workshop.event_count = seq
                self._workshop, self._undone, self._seq, self._cache = workshop, undone, seq, None
                self._maybe_snapshot(seq, force=True)
            except BaseException as exc:
                if not isinstance(exc, ModelError):  # memory may be ahead of the file
                    self._workshop, self._seq, self._cache = None, 0, None
                raise
        return target

    # ------------------------------------------------------------------ reading
    def state(self, viewer: str | None = None, *, include_hidden: bool = False) -> WorkshopState:
        """The current state as a typed, immutable snapshot.

        Before the facilitator reveals a round, ballots are hidden: the snapshot holds only
        ``viewer``'s own (default: this handle's ``who``) and ``voters`` says who has voted.
        ``include_hidden=True`` gives every ballot (for exports and tests, not for the room).
        """
        with self._store.read():
            if self._workshop is None:
                self._load()
            else:
                self._catch_up()
            if self._cache is None or self._cache[0] != self._seq:
                assert self._workshop is not None
                self._cache = (self._seq, self._workshop.snapshot())
            full = self._cache[1]
        return full if include_hidden else full.redacted(self._who if viewer is None else viewer)

    @property
    def event_count(self) -> int:
        """How many events the file holds (grows by one per change; cheap to poll)."""
        return self._store.event_count()

    def events_since(self, seq: int = 0) -> list[Event]:
        """Events after number ``seq``, oldest first (a UI polls with its last seen number)."""
        with self._store.lock:
            return self._store.events(seq)

    @property
    def skipped(self) -> tuple[tuple[int, str], ...]:
        """Events that no longer applied when the state was rebuilt (number, reason); normally empty."""
        return tuple(self._skipped)

    def integrity_check(self) -> str:
        """SQLite's own check of the file: ``"ok"`` when sound."""
        return self._store.integrity_check()

    # ------------------------------------------------------------------ export / import
    def export_json(self, path: str | os.PathLike[str]) -> Path:
        """Write every event (and the derived state, for readers) to a UTF-8 JSON file.

        The file is written atomically; ``path`` must not be the session file itself.
        """
        out = Path(path)
        if out.exists() and out.resolve() == self.path.resolve():
            raise SessionError(f"expected an export path other than the session file, found {out}")
        with self._store.read():
            events = self._store.events()
            state = self.state(include_hidden=True).to_dict()
        return exchange.write_export(out, session_id=self._session_id, events=events, state=state)

    @classmethod
    def import_json(
        cls,
        json_path: str | os.PathLike[str],
        path: str | os.PathLike[str],
        *,
        who: str | None = "facilitator",
    ) -> Session:
        """Create a session file at ``path`` from an export; returns it open.

        Every event is checked by replaying it; nothing is written at ``path`` unless all pass.

        Raises:
            SessionError: naming the first bad field or event, or if ``path`` exists.
        """
        json_path, path = Path(json_path), Path(path)
        session_id, events = exchange.read_export(json_path)
        meta = {"app": "sales-rca", "session_id": session_id, "created_at": events[0].at}
        with Store.create(path, meta) as store:
            with store.write():
                for e in events:
                    store.append(e.seq, e.at, e.who, e.kind, dumps(e.data))
            probe = cls(store, who=who)
            undone = {int(e.data["target"]) for e in events if e.kind == "undo"}
            try:
                probe._undone = undone
                probe._workshop = probe._replay_strict(undone)
            except ModelError as exc:
                raise SessionError(f"expected valid events in {json_path}, found {exc}") from None
            with store.write():
                probe._maybe_snapshot(events[-1].seq, force=True)
        return cls.open(path, who=who)


def open_or_create(path: str | os.PathLike[str], title: str, **kwargs: Any) -> Session:
    """Open ``path`` if it exists, else create it (what the live app does on ``--session FILE``)."""
    try:
        return Session.create(path, title, **kwargs)
    except SessionError:
        if not Path(path).exists():
            raise
        return Session.open(path, who=kwargs.get("who", "facilitator"))
