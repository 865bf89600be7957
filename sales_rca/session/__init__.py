"""Workshop sessions: an append-only event log in one SQLite file that never loses a change.

:mod:`~sales_rca.session.store` keeps the file (schema, events, snapshot),
:mod:`~sales_rca.session.session` replays it into the workshop's state (:class:`Session`), and
:mod:`~sales_rca.session.exchange` moves a session in and out of one JSON file.
"""

from __future__ import annotations

from sales_rca.session.exchange import EXPORT_FORMAT
from sales_rca.session.session import FOLD_VERSION, SNAPSHOT_EVERY, Session, open_or_create
from sales_rca.session.store import SCHEMA_VERSION, Event

__all__ = [
    "EXPORT_FORMAT",
    "FOLD_VERSION",
    "SCHEMA_VERSION",
    "SNAPSHOT_EVERY",
    "Event",
    "Session",
    "open_or_create",
]
