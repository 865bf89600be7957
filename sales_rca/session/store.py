"""One session file: an append-only event log in SQLite, a meta table and one cached snapshot.

The store knows nothing of what events mean. Writes run inside ``BEGIN IMMEDIATE`` (one writer at
a time, WAL mode so readers never wait) and are durable once committed; a new file appears at its
path only when complete, and an existing file is never replaced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import os
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sales_rca.errors import ModelError, SessionError

#: Version of the file layout; a file with a higher number was written by a newer sales-rca.
SCHEMA_VERSION = 1
#: SQLite ``application_id`` of session files ("SRCA"), so other databases are recognised.
APPLICATION_ID = 0x53524341
#: Seconds a writer waits for another writer before giving up.
BUSY_TIMEOUT = 30.0

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
_EVENT = "SELECT seq, at, who, kind, data FROM events"


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
        return asdict(self)


def now() -> str:
    """The current UTC time as ISO text with milliseconds (every event's ``at``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        own = getattr(value, "to_dict", None)  # a Finding leaves out fields at their new defaults
        return own() if callable(own) else asdict(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(type(value).__name__)


def dumps(data: Any) -> str:
    """Compact JSON of an event's data (dates, enums, dataclasses become JSON); no NaN."""
    try:
        return json.dumps(
            data, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_default
        )
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"expected JSON-ready values (text, numbers, findings), found {exc}"
        ) from None


def _connect(path: Path, *, create: bool) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode={'rwc' if create else 'rw'}"
    return sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
    )


def _check_session_file(conn: sqlite3.Connection, path: Path) -> None:
    """Raise SessionError unless ``path`` is a session this version reads; never writes to it."""
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


def _exists(path: Path) -> SessionError:
    return SessionError(
        f"{path} already exists: choose another file name (sessions are never overwritten)",
        expected="a new file",
        found="existing file",
    )


class Store:
    """An open session file; thread-safe (every use of the connection holds :attr:`lock`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path, self._conn, self.lock = path, conn, threading.RLock()

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open an existing session file; SessionError if missing, foreign or from a newer version."""
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
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a change reported as done survives a power cut, not only a killed process.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        except BaseException:
            conn.close()
            raise
        return cls(path, conn)

    @classmethod
    @contextlib.contextmanager
    def create(cls, path: Path, meta: Mapping[str, str]) -> Iterator[Store]:
        """A new session file with ``meta``; it appears at ``path`` only if the block succeeds."""
        if path.exists():
            raise _exists(path)
        if not path.parent.is_dir():
            raise SessionError(f"expected an existing folder for {path}, found none")
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        conn = _connect(tmp, create=True)
        try:
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            yield cls(path, conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
            try:  # a hard link never replaces an existing file, unlike a rename
                os.link(tmp, path)
            except FileExistsError:
                raise _exists(path) from None
        finally:
            conn.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file (changes are already committed)."""
        with self.lock:
            self._conn.close()

    def meta(self, key: str) -> str:
        """A value of the meta table (``session_id``, ``created_at``...)."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise SessionError(f"expected '{key}' in the meta table of {self.path}, found none")
        return row[0]

    def secret(self, key: str, make: Callable[[], str] | None = None) -> str:
        """A random secret kept in the meta table under ``key``, made on first use by ``make``
        (default: 32 random URL-safe characters); the join code and the participants' token key
        survive a restart this way."""
        with self.lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return row[0]
            value = make() if make is not None else secrets.token_urlsafe(24)
            with self.write():
                self._conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            return self.meta(key)

    def get_meta(self, key: str) -> str | None:
        """A value of the meta table, ``None`` when it was never set."""
        with self.lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

    def put_meta(self, key: str, value: str) -> None:
        """Set a value of the meta table (display state such as the room screen: not an edit)."""
        with self.write():
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        """A read transaction: everything read inside sees one consistent version of the file."""
        with self.lock:
            if self._conn.in_transaction:  # already inside a write or an outer read
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction, committed when the block ends and rolled back on any error."""
        with self.lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full, read-only) may already have ended the transaction.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def events(self, after: int = 0, *, kind: str | None = None) -> list[Event]:
        """Events after number ``after`` (only those of ``kind`` if given), oldest first."""
        where = "" if kind is None else " AND kind = ?"
        args = (after,) if kind is None else (after, kind)
        return self._events(f"{_EVENT} WHERE seq > ?{where} ORDER BY seq", args)

    def latest_by(self, who: str | None, *, skip: Sequence[str]) -> list[Event]:
        """Events written by ``who``, newest first, except those of the kinds in ``skip``."""
        marks = ", ".join("?" * len(skip))
        sql = f"{_EVENT} WHERE who IS ? AND kind NOT IN ({marks}) ORDER BY seq DESC"
        return self._events(sql, (who, *skip))

    def _events(self, sql: str, args: Sequence[Any]) -> list[Event]:
        rows = self._conn.execute(sql, args).fetchall()
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def append(self, seq: int, at: str, who: str | None, kind: str, data: str) -> None:
        """Add one event whose data is JSON text (see :func:`dumps`), inside a write."""
        self._conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?)", (seq, at, who, kind, data))

    def event_count(self) -> int:
        """The number of the last event (0 for none)."""
        with self.lock:
            return self._conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def snapshot(self, *, with_state: bool = True) -> tuple[int, int, bytes] | None:
        """The cached ``(seq, fold_version, state)``, if any (``state`` empty unless asked for)."""
        state = "state" if with_state else "x''"
        return self._conn.execute(f"SELECT seq, fold_version, {state} FROM snapshot").fetchone()

    def save_snapshot(self, seq: int, fold_version: int, state: bytes) -> None:
        """Replace the cached snapshot (inside a write)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO snapshot VALUES (1, ?, ?, ?)", (seq, fold_version, state)
        )

    def integrity_check(self) -> str:
        """SQLite's own check of the file: ``"ok"`` when sound."""
        with self.lock:
            return self._conn.execute("PRAGMA integrity_check").fetchone()[0]
