"""The workshop's state: an append-only event log in one SQLite file that never loses a change.

A session file holds every change the team made as an event (who, when, what as JSON). The state is
derived by replaying the events into a :class:`~sales_rca.rootcause.Workshop`; a handle keeps that
state in memory and applies only newer events on each read, and the file keeps a periodic snapshot
so opening a long session replays only its tail.

Every change is validated against the latest state and committed inside ``BEGIN IMMEDIATE`` (one
writer at a time, WAL mode so readers never wait) before the call returns, so several processes
(the facilitator's tab, each participant's device) can write the same file at once.

Example:
    >>> s = Session.create(tmp / "q3.session", "Q3 loss review")   # doctest: +SKIP
    >>> p = s.add_problem("38% of lost deals die at Needs Analysis", finding=finding)
    >>> w = s.add_why(p, "Reps pitch instead of diagnosing")
    >>> s.state().whys[0].text
    'Reps pitch instead of diagnosing'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError

from sales_rca.errors import ModelError, SessionError
from sales_rca.findings import Finding
from sales_rca.rootcause.workshop import OPERATIONS, Workshop, WorkshopState

#: Version of the file layout; a file with a higher number was written by a newer sales-rca.
SCHEMA_VERSION = 1
#: SQLite ``application_id`` of session files ("SRCA"), so other databases are recognised.
APPLICATION_ID = 0x53524341
#: Version of the replay rules; cached snapshots from another version are ignored and rebuilt.
FOLD_VERSION = 2
#: A snapshot of the derived state is stored after this many events since the last one.
SNAPSHOT_EVERY = 1000
#: Seconds a writer waits for another writer before giving up.
BUSY_TIMEOUT = 30.0
EXPORT_FORMAT = "sales-rca-session"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE events (
    seq  INTEGER PRIMARY KEY,
    at   TEXT NOT NULL,
    who  TEXT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL CHECK (json_valid(data))
);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'session events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'session events are append-only'); END;
CREATE TABLE snapshot (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    seq          INTEGER NOT NULL,
    fold_version INTEGER NOT NULL,
    state        BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class Event:
    """One stored change: its number, when, who, which operation and its arguments."""

    seq: int
    at: str
    who: str | None
    kind: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "seq": self.seq,
            "at": self.at,
            "who": self.who,
            "kind": self.kind,
            "data": self.data,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _json_default(value: Any) -> Any:
    if isinstance(value, Finding):
        return value.to_dict()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(type(value).__name__)


def _dumps(data: Any) -> str:
    try:
        return json.dumps(
            data, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"expected JSON-ready values (text, numbers, findings), found {exc}"
        ) from None


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    mode = "rwc" if create else "rw"
    uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
    conn = sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a change reported as done survives a power cut, not only a killed process.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")


def _check_session_file(conn: sqlite3.Connection, path: Path) -> int:
    """Return the schema version, or raise SessionError; reads only (never writes a foreign file)."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError:
        raise SessionError(
            f"expected a sales-rca session file at {path}, found a file that is not a database",
            expected="session file",
            found="not a database",
        ) from None
    if app_id != APPLICATION_ID:
        found = "an empty file" if path.stat().st_size == 0 else "another SQLite database"
        raise SessionError(
            f"expected a sales-rca session file at {path}, found {found}",
            expected="session file",
            found=found,
        )
    if version > SCHEMA_VERSION:
        raise SessionError(
            f"{path} uses session schema {version}, this sales-rca reads up to {SCHEMA_VERSION}: "
            "upgrade sales-rca to open it",
            expected=f"schema <= {SCHEMA_VERSION}",
            found=str(version),
        )
    if version < 1:
        raise SessionError(f"expected a session schema version >= 1 in {path}, found {version}")
    return version


def _link_new(tmp: Path, path: Path) -> None:
    """Move a finished file into place without ever replacing an existing one."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise SessionError(
            f"{path} already exists: choose another file name (sessions are never overwritten)",
            expected="a new file",
            found="existing file",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a fresh session database that appears at ``path`` only when complete."""
    if path.exists():
        raise SessionError(
            f"{path} already exists: choose another file name (sessions are never overwritten)"
        )
    if not path.parent.is_dir():
        raise SessionError(f"expected an existing folder for {path}, found none")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    conn = _connect(tmp, create=True)
    try:
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        yield conn
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
        _link_new(tmp, path)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


class _ExportEvent(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    seq: int
    at: str
    who: str | None
    kind: str
    data: dict[str, Any]


class _Export(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    format: Literal["sales-rca-session"]
    schema_version: int
    session_id: str
    events: list[_ExportEvent]


class Session:
    """A workshop session stored in one SQLite file. Create with :meth:`create`, reopen with :meth:`open`.

    ``who`` is recorded on every change this handle makes: ``"facilitator"`` by default, or a
    participant id from :meth:`join` on a participant's device. Handles are thread-safe; use one per
    process (or per kernel) and as many processes as needed on the same file.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, *, who: str | None) -> None:
        self._path = path
        self._conn = conn
        self._who = who
        self._lock = threading.RLock()
        self._workshop: Workshop | None = None
        self._seq = 0
        self._undone: set[int] = set()
        self._skipped: list[tuple[int, str]] = []
        self._cache: tuple[int, WorkshopState] | None = None
        self._session_id = self._meta("session_id")

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
        at = _now()
        with _new_file(path) as conn:
            meta = {"app": "sales-rca", "session_id": uuid.uuid4().hex, "created_at": at}
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.execute(
                "INSERT INTO events VALUES (1, ?, ?, 'create', ?)", (at, who, _dumps(data))
            )
        return cls.open(path, who=who)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, who: str | None = "facilitator") -> Session:
        """Open an existing session file.

        Raises:
            SessionError: if the file is missing, not a session, or from a newer sales-rca.
        """
        path = Path(path)
        if not path.is_file():
            raise SessionError(
                f"expected a session file at {path}, found nothing: create one with "
                "`sales-rca session new`",
                expected="session file",
                found="missing",
            )
        conn = _connect(path, create=False)
        try:
            _check_session_file(conn, path)
            _configure(conn)
            session = cls(path, conn, who=who)
            session._load()
        except BaseException:
            conn.close()
            raise
        return session

    def close(self) -> None:
        """Close the file (changes are already committed)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Session({str(self._path)!r}, who={self._who!r}, events={self._seq})"

    @property
    def path(self) -> Path:
        """The session file."""
        return self._path

    @property
    def who(self) -> str | None:
        """The author recorded on this handle's changes."""
        return self._who

    @property
    def session_id(self) -> str:
        """A random id given at creation (kept by export / import)."""
        return self._session_id

    def _meta(self, key: str) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise SessionError(
                f"expected '{key}' in the session's meta table of {self._path}, found none"
            )
        return row[0]

    # ------------------------------------------------------------------ replaying
    @contextlib.contextmanager
    def _read(self) -> Iterator[None]:
        """A read transaction: everything read inside sees one consistent version of the file."""
        with self._lock:
            if self._conn.in_transaction:  # already inside a write or an outer read
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    def _rows(self, after: int) -> list[tuple[int, str, str | None, str, str]]:
        return self._conn.execute(
            "SELECT seq, at, who, kind, data FROM events WHERE seq > ? ORDER BY seq", (after,)
        ).fetchall()

    def _apply_row(self, workshop: Workshop | None, row: tuple, *, strict: bool) -> Workshop:
        seq, at, who, kind, text = row
        data = json.loads(text)
        if kind == "create":
            if workshop is not None or seq != 1:
                raise ModelError(f"expected 'create' only as event 1, found it at {seq}")
            workshop = Workshop(
                data["title"],
                categories=data["categories"],
                dots_per_person=data["dots_per_person"],
                created_at=at,
            )
        elif workshop is None:
            raise ModelError(f"expected event 1 to be 'create', found {kind!r}")
        elif kind != "undo" and seq not in self._undone:
            try:
                workshop.apply(kind, data, by=who, at=at)
            except ModelError as exc:
                if strict:
                    raise ModelError(f"event {seq} ({kind} by {who}): {exc}") from None
                self._skipped.append((seq, str(exc)))
        workshop.event_count = seq
        return workshop

    def _load(self) -> None:
        """Rebuild the state: from the stored snapshot when it is still valid, else from event 1."""
        with self._read():
            self._undone = {
                int(t)
                for (t,) in self._conn.execute(
                    "SELECT json_extract(data, '$.target') FROM events WHERE kind = 'undo'"
                )
            }
            self._skipped = []
            workshop, start = None, 0
            snap = self._conn.execute("SELECT seq, fold_version, state FROM snapshot").fetchone()
            if snap is not None and snap[1] == FOLD_VERSION:
                later_undo = self._conn.execute(
                    "SELECT 1 FROM events WHERE kind = 'undo' AND seq > ? "
                    "AND json_extract(data, '$.target') <= ? LIMIT 1",
                    (snap[0], snap[0]),
                ).fetchone()
                if later_undo is None:
                    with contextlib.suppress(ModelError):
                        workshop, start = (
                            Workshop.from_state(WorkshopState.from_json(snap[2])),
                            snap[0],
                        )
            for row in self._rows(start):
                workshop = self._apply_row(workshop, row, strict=False)
            if workshop is None:
                raise SessionError(
                    f"expected at least the 'create' event in {self._path}, found none"
                )
            self._workshop, self._seq, self._cache = workshop, workshop.event_count, None

    def _catch_up(self) -> None:
        """Apply events other handles wrote since this one last looked (call inside a transaction)."""
        rows = self._rows(self._seq)
        if not rows:
            return
        if self._workshop is None or any(r[3] == "undo" for r in rows):
            self._load()  # an undo can reach back before what this handle has folded
            return
        for row in rows:
            self._apply_row(self._workshop, row, strict=False)
        self._seq = rows[-1][0]
        self._cache = None

    def _replay_strict(self, undone: set[int]) -> Workshop:
        saved, self._undone = self._undone, undone
        try:
            workshop = None
            for row in self._rows(0):
                workshop = self._apply_row(workshop, row, strict=True)
            assert workshop is not None
            return workshop
        finally:
            self._undone = saved

    # ------------------------------------------------------------------ writing
    def _write(self, kind: str, data: dict[str, Any], id_prefix: str | None = None) -> Any:
        """Validate ``kind(**data)`` against the latest state and commit it as one event."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            applied = False
            try:
                self._catch_up()
                seq = self._seq + 1
                if id_prefix is not None:
                    data = {"id": f"{id_prefix}{seq}", **data}
                text = _dumps(data)
                at = _now()
                assert self._workshop is not None
                # Apply what replay will see (the stored JSON), so both give the same state.
                result = self._workshop.apply(kind, json.loads(text), by=self._who, at=at)
                applied = True
                self._workshop.event_count = seq
                self._conn.execute(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?)", (seq, at, self._who, kind, text)
                )
                self._maybe_snapshot(seq)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                if applied:  # memory is ahead of the file: rebuild on next read
                    self._workshop = None
                    self._seq = 0
                    self._cache = None
                raise
            self._seq = seq
            self._cache = None
            return result

    def _maybe_snapshot(self, seq: int, *, force: bool = False) -> None:
        row = self._conn.execute("SELECT seq, fold_version FROM snapshot").fetchone()
        stale = row is None or row[1] != FOLD_VERSION or seq - row[0] >= SNAPSHOT_EVERY
        if force or stale:
            assert self._workshop is not None
            self._conn.execute(
                "INSERT OR REPLACE INTO snapshot VALUES (1, ?, ?, ?)",
                (seq, FOLD_VERSION, self._workshop.snapshot().to_json()),
            )

    # ------------------------------------------------------------------ changes
    def join(self, name: str | None = None) -> str:
        """Add a participant (``name=None`` for anonymous); returns their id for ``who=``/votes."""
        return self._write("join", {"name": name}, "U")

    def rename(self, title: str) -> None:
        """Change the session's title."""
        self._write("rename", {"title": title})

    def add_problem(
        self, text: str, *, finding: Finding | None = None, note: str | None = None
    ) -> str:
        """Add a problem statement (a five-whys root); a finding's numbers become its evidence."""
        return self._write("add_problem", {"text": text, "finding": finding, "note": note}, "P")

    def update_problem(self, problem_id: str, text: str) -> None:
        """Reword a problem statement."""
        self._write("update_problem", {"id": problem_id, "text": text})

    def add_why(
        self,
        parent_id: str,
        text: str,
        *,
        status: str = "hypothesis",
        root_cause: bool = False,
        finding: Finding | None = None,
        note: str | None = None,
    ) -> str:
        """Add a why under a problem or a why; returns its id."""
        data = {
            "parent_id": parent_id,
            "text": text,
            "status": status,
            "root_cause": root_cause,
            "finding": finding,
            "note": note,
        }
        return self._write("add_why", data, "W")

    def update_why(
        self,
        why_id: str,
        *,
        text: str | None = None,
        status: str | None = None,
        root_cause: bool | None = None,
        parent_id: str | None = None,
    ) -> None:
        """Change a why's text, status, root-cause flag or parent (verified needs evidence)."""
        changes = {"text": text, "status": status, "root_cause": root_cause, "parent_id": parent_id}
        data = {k: v for k, v in changes.items() if v is not None}
        self._write("update_why", {"id": why_id, **data})

    def remove_why(self, why_id: str) -> None:
        """Hide a why and its branch (soft: :meth:`restore_why` or :meth:`undo` bring it back)."""
        self._write("remove_why", {"id": why_id})

    def restore_why(self, why_id: str) -> None:
        """Bring back a removed why and the branch removed with it."""
        self._write("restore_why", {"id": why_id})

    def attach_finding(self, node_id: str, finding: Finding) -> str:
        """Attach a finding (its numbers and deals) to a problem or why; returns the evidence id."""
        return self._write("attach_evidence", {"node_id": node_id, "finding": finding}, "E")

    def add_note(self, node_id: str, text: str) -> str:
        """Attach a note as evidence to a problem or why; returns the evidence id."""
        return self._write("attach_evidence", {"node_id": node_id, "note": text}, "E")

    def detach_evidence(self, node_id: str, evidence_id: str) -> None:
        """Remove one piece of evidence (a verified why keeps at least one)."""
        self._write("detach_evidence", {"node_id": node_id, "evidence_id": evidence_id})

    def link_whys(self, why_ids: Sequence[str], relation: Literal["and", "or"] = "and") -> None:
        """Mark sibling whys as needing each other (``"and"``) or as alternatives (``"or"``)."""
        self._write("link_whys", {"why_ids": list(why_ids), "relation": relation})

    def add_cause(
        self,
        text: str,
        category: str,
        *,
        why_ids: Sequence[str] = (),
        codes: Sequence[str] = (),
    ) -> str:
        """Place a cause on a fishbone category, linked to whys and loss codes; returns its id."""
        data = {"text": text, "category": category, "why_ids": list(why_ids), "codes": list(codes)}
        return self._write("add_cause", data, "C")

    def update_cause(
        self,
        cause_id: str,
        *,
        text: str | None = None,
        category: str | None = None,
        why_ids: Sequence[str] | None = None,
        codes: Sequence[str] | None = None,
    ) -> None:
        """Change a cause's text, category, linked whys or codes."""
        changes = {"text": text, "category": category, "why_ids": why_ids, "codes": codes}
        data = {k: v for k, v in changes.items() if v is not None}
        self._write("update_cause", {"id": cause_id, **data})

    def remove_cause(self, cause_id: str) -> None:
        """Take a cause off the fishbone (soft); its votes stop counting."""
        self._write("remove_cause", {"id": cause_id})

    def start_round(self, dots_per_person: int | None = None) -> None:
        """Start a new silent voting round (ballots cleared and hidden again)."""
        data = {} if dots_per_person is None else {"dots_per_person": dots_per_person}
        self._write("start_round", data)

    def vote(self, cause_id: str, dots: int = 1, *, participant: str | None = None) -> None:
        """Set the dots ``participant`` (default: this handle's ``who``) puts on a cause; 0 removes."""
        who = self._who if participant is None else participant
        self._write("vote", {"participant": who, "cause_id": cause_id, "dots": dots})

    def rank(self, cause_ids: Sequence[str], *, participant: str | None = None) -> None:
        """Record a ranking of causes, best first (replaces the participant's earlier one)."""
        who = self._who if participant is None else participant
        self._write("rank", {"participant": who, "cause_ids": list(cause_ids)})

    def reveal(self) -> None:
        """Reveal the current round's ballots and results to everyone."""
        self._write("reveal", {})

    def select_play(self, play_id: str, cause_ids: Sequence[str] = ()) -> None:
        """Pick a play for some causes."""
        self._write("select_play", {"play_id": play_id, "cause_ids": list(cause_ids)})

    def unselect_play(self, play_id: str) -> None:
        """Drop a picked play."""
        self._write("unselect_play", {"play_id": play_id})

    def add_action(
        self,
        title: str,
        owner: str,
        *,
        due: dt.date | str | None = None,
        cause_id: str | None = None,
        play_id: str | None = None,
        target: Any = None,
    ) -> str:
        """Commit to an action; ``target`` is a :class:`~sales_rca.rootcause.TargetMetric`."""
        data = {
            "title": title,
            "owner": owner,
            "due": due,
            "cause_id": cause_id,
            "play_id": play_id,
            "target": target,
        }
        return self._write("add_action", data, "A")

    def update_action(self, action_id: str, **changes: Any) -> None:
        """Change an action (``title``, ``owner``, ``due``, ``status``, ``cause_id``, ``play_id``,
        ``target``); ``None`` clears due / cause / play / target."""
        self._write("update_action", {"id": action_id, **changes})

    def override_code(
        self, opportunity_id: str, codes: Sequence[str], *, note: str | None = None
    ) -> None:
        """Store the team's loss codes for one deal; they win over the automatic coding."""
        data = {"opportunity_id": opportunity_id, "codes": list(codes), "note": note}
        self._write("override_code", data)

    def clear_override(self, opportunity_id: str) -> None:
        """Go back to the automatic codes for one deal."""
        self._write("clear_override", {"opportunity_id": opportunity_id})

    def set_setting(self, key: str, value: str | None) -> None:
        """Remember an app setting with the session (the open step, the chosen export...).

        Settings are not edits: :meth:`undo` skips them."""
        self._write("set_setting", {"key": key, "value": value})

    def undo(self) -> Event:
        """Undo this handle's (``who``'s) latest change that is not undone yet; returns it.

        Refused with :class:`ModelError` when a later change depends on it (e.g. a why added under
        the why being undone): undo that one first. Undo is itself an event; there is no redo.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._catch_up()
                rows = self._conn.execute(
                    "SELECT seq, at, who, kind, data FROM events WHERE who IS ? "
                    "AND kind NOT IN ('create', 'undo', 'set_setting') ORDER BY seq DESC",
                    (self._who,),
                )
                target = next((r for r in rows if r[0] not in self._undone), None)
                if target is None:
                    raise ModelError(f"expected a change by {self._who} to undo, found none")
                undone = self._undone | {target[0]}
                try:
                    workshop = self._replay_strict(undone)
                except ModelError as exc:
                    raise ModelError(
                        f"cannot undo event {target[0]} ({target[3]}): a later change depends on "
                        f"it ({exc})"
                    ) from None
                seq = self._seq + 1
                at = _now()
                self._conn.execute(
                    "INSERT INTO events VALUES (?, ?, ?, 'undo', ?)",
                    (seq, at, self._who, _dumps({"target": target[0]})),
                )
                workshop.event_count = seq
                self._workshop, self._undone, self._seq, self._cache = workshop, undone, seq, None
                self._maybe_snapshot(seq, force=True)
                self._conn.execute("COMMIT")
            except ModelError:
                self._conn.execute("ROLLBACK")
                raise
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._workshop, self._seq, self._cache = None, 0, None
                raise
            return Event(target[0], target[1], target[2], target[3], json.loads(target[4]))

    # ------------------------------------------------------------------ reading
    def state(self, viewer: str | None = None, *, include_hidden: bool = False) -> WorkshopState:
        """The current state as a typed, immutable snapshot.

        Before the facilitator reveals a round, ballots are hidden: the snapshot holds only
        ``viewer``'s own (default: this handle's ``who``) and ``voters`` says who has voted.
        ``include_hidden=True`` gives every ballot (for exports and tests, not for the room).
        """
        with self._read():
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
        with self._lock:
            return self._conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def events_since(self, seq: int = 0) -> list[Event]:
        """Events after number ``seq``, oldest first (a UI polls with its last seen number)."""
        with self._lock:
            return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in self._rows(seq)]

    @property
    def skipped(self) -> tuple[tuple[int, str], ...]:
        """Events that no longer applied when the state was rebuilt (number, reason); normally empty."""
        return tuple(self._skipped)

    def integrity_check(self) -> str:
        """SQLite's own check of the file: ``"ok"`` when sound."""
        with self._lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0]

    # ------------------------------------------------------------------ export / import
    def export_json(self, path: str | os.PathLike[str]) -> Path:
        """Write every event (and the derived state, for readers) to a UTF-8 JSON file.

        The file is written atomically; ``path`` must not be the session file itself.
        """
        out = Path(path)
        if out.exists() and out.resolve() == self._path.resolve():
            raise SessionError(f"expected an export path other than the session file, found {out}")
        with self._read():
            rows = self._rows(0)
        document = {
            "format": EXPORT_FORMAT,
            "schema_version": SCHEMA_VERSION,
            "session_id": self._session_id,
            "exported_at": _now(),
            "events": [
                {"seq": r[0], "at": r[1], "who": r[2], "kind": r[3], "data": json.loads(r[4])}
                for r in rows
            ],
            "state": self.state(include_hidden=True).to_dict(),
        }
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return out

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
        try:
            raw = json.loads(json_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SessionError(f"cannot read {json_path}: {exc.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SessionError(
                f"expected a JSON session export in {json_path}, found {exc}"
            ) from None
        try:
            export = _Export.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "top level"
            raise SessionError(
                f"expected a valid session export in {json_path}: {err['msg'].lower()} at {where}",
                expected="session export",
                found=where,
            ) from None
        if export.schema_version > SCHEMA_VERSION:
            raise SessionError(
                f"{json_path} uses session schema {export.schema_version}, this sales-rca reads up "
                f"to {SCHEMA_VERSION}: upgrade sales-rca to import it"
            )
        _check_events(export.events, json_path)
        with _new_file(path) as conn:
            created = export.events[0].at
            meta = {"app": "sales-rca", "session_id": export.session_id, "created_at": created}
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                [(e.seq, e.at, e.who, e.kind, _dumps(e.data)) for e in export.events],
            )
            conn.execute("COMMIT")
            probe = cls(path, conn, who=who)
            undone = {int(e.data["target"]) for e in export.events if e.kind == "undo"}
            try:
                probe._undone = undone
                probe._workshop = probe._replay_strict(undone)
            except (ModelError, KeyError, TypeError, ValueError) as exc:
                raise SessionError(f"expected valid events in {json_path}, found {exc}") from None
            conn.execute("BEGIN")
            probe._maybe_snapshot(export.events[-1].seq, force=True)
            conn.execute("COMMIT")
        return cls.open(path, who=who)


def _check_events(events: Sequence[_ExportEvent], source: Path) -> None:
    """Structural checks an export must pass before any replay."""
    if not events or events[0].kind != "create":
        raise SessionError(f"expected the first event in {source} to be 'create', found none")
    known = {"create", "undo", *OPERATIONS}
    undone: set[int] = set()
    for n, event in enumerate(events, 1):
        if event.seq != n:
            raise SessionError(f"expected event {n} in {source} to have seq {n}, found {event.seq}")
        if event.kind not in known:
            raise SessionError(
                f"expected events[{n - 1}].kind in {source} to be a known operation, found {event.kind!r}"
            )
        if event.kind == "create" and n != 1:
            raise SessionError(f"expected 'create' only as event 1 in {source}, found it at {n}")
        if event.kind == "create":
            missing = {"title", "categories", "dots_per_person"} - set(event.data)
            if missing:
                raise SessionError(
                    f"expected event 1 in {source} to have {', '.join(sorted(missing))}"
                )
        if event.kind == "undo":
            target = event.data.get("target")
            if (
                not isinstance(target, int)
                or not 1 < target < n
                or target in undone
                or events[target - 1].kind == "undo"
            ):
                raise SessionError(
                    f"expected event {n} in {source} to undo an earlier change, found target {target!r}"
                )
            undone.add(target)
        try:
            dt.datetime.fromisoformat(event.at)
        except ValueError:
            raise SessionError(
                f"expected events[{n - 1}].at in {source} to be an ISO timestamp, found {event.at!r}"
            ) from None


def open_or_create(path: str | os.PathLike[str], title: str, **kwargs: Any) -> Session:
    """Open ``path`` if it exists, else create it (what the live app does on ``--session FILE``)."""
    try:
        return Session.create(path, title, **kwargs)
    except SessionError:
        if not Path(path).exists():
            raise
        return Session.open(path, who=kwargs.get("who", "facilitator"))


__all__ = ["SCHEMA_VERSION", "Event", "Session", "open_or_create"]
