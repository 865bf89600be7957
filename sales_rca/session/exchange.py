"""A session as one JSON file (every event, plus the derived state for readers) and back.

:func:`read_export` checks an export's structure (format, version, a gap-free history starting
with ``create``, known kinds, undo targets, timestamps) before anything replays it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from sales_rca.errors import SessionError
from sales_rca.rootcause.operations import OPERATIONS
from sales_rca.session.store import SCHEMA_VERSION, Event, now

EXPORT_FORMAT = "sales-rca-session"
#: Event kinds of the session itself, besides the workshop's operations.
SESSION_KINDS = ("create", "undo")
#: The fields of the ``create`` event.
CREATE_FIELDS = ("title", "categories", "dots_per_person")


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


def write_export(
    out: Path, *, session_id: str, events: Sequence[Event], state: Mapping[str, Any]
) -> Path:
    """Write the export document to ``out`` atomically; returns ``out``."""
    document = {
        "format": EXPORT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "session_id": session_id,
        "exported_at": now(),
        "events": [e.to_dict() for e in events],
        "state": dict(state),
    }
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def read_export(json_path: Path) -> tuple[str, list[Event]]:
    """``(session_id, events)`` of an export; SessionError naming the first bad field or event."""
    try:
        raw = json.loads(json_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SessionError(f"cannot read {json_path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionError(f"expected a JSON session export in {json_path}, found {exc}") from None
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
    events = [Event(e.seq, e.at, e.who, e.kind, e.data) for e in export.events]
    check_events(events, json_path)
    return export.session_id, events


def check_events(events: Sequence[Event], source: Path) -> None:
    """Structural checks an export must pass before any replay."""
    if not events or events[0].kind != "create":
        raise SessionError(f"expected the first event in {source} to be 'create', found none")
    known = {*SESSION_KINDS, *OPERATIONS}
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
            missing = set(CREATE_FIELDS) - set(event.data)
            if missing:
                raise SessionError(
                    f"expected event 1 in {source} to have {', '.join(sorted(missing))}"
                )
            if not isinstance(event.data["categories"], list):
                raise SessionError(f"expected the categories of event 1 in {source} to be a list")
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
