"""Workshop sessions: an append-only event log in one SQLite file that never loses a change.

:mod:`~sales_rca.session.store` keeps the file (schema, events, snapshot), :mod:`.session` replays
it into the workshop's state (:class:`Session`), :mod:`.exchange` moves it in and out of JSON.
"""

from __future__ import annotations

from sales_rca.session.session import Session, open_or_create
from sales_rca.session.store import SCHEMA_VERSION, Event

__all__ = ["SCHEMA_VERSION", "Event", "Session", "open_or_create"]
