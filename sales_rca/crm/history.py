"""Stage history: one row per entry into a stage, in time order (``stage_events``).

Accepts Salesforce's OpportunityHistory (report or API export), its field history (``Field`` =
StageName with old / new values) and any file with opportunity id, stage and date columns.
Repeated rows for the same stage (history exports log amount and date edits too) collapse into
the first entry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from sales_rca.crm.data import STAGE_EVENT_COLUMNS
from sales_rca.crm.read import header_excerpt, read_table, table_warnings
from sales_rca.crm.values import parse_dates
from sales_rca.crm.vendors import (
    HISTORY_MAPPABLE,
    Mapping,
    header_score,
    history_shapes,
    map_columns,
    normalise,
    resolve_user_columns,
)
from sales_rca.errors import CrmImportError

REASON_MISSING_ID = "missing opportunity id"
REASON_MISSING_STAGE = "missing stage"
REASON_BAD_DATE = "missing or unreadable date"
REASON_UNKNOWN_OPP = "opportunity not in the export"
STAGE_FIELDS = {"stagename", "stage", "opportunity stage", "stage name", "deal stage"}


#: A column holding the date deals entered one stage, e.g. HubSpot's
#: ``Date entered "Appointment Scheduled (Sales Pipeline)"``.
STAGE_DATE_HEADER = re.compile(
    r"^\s*date\s+entered\s*[:\-]?\s*[\"'“”‘’]?(.+?)[\"'“”‘’]?\s*$", re.IGNORECASE
)
PIPELINE_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")


def stage_date_columns(headers: list[str]) -> dict[str, str]:
    """Header -> stage for columns that give the date deals entered a stage (two or more needed)."""
    found = {}
    for h in headers:
        m = STAGE_DATE_HEADER.match(str(h))
        if m:
            stage = PIPELINE_SUFFIX.sub("", m.group(1)).strip()
            if stage:
                found[h] = stage
    return found if len(found) >= 2 else {}


def events_from_stage_dates(
    frame: pd.DataFrame,
    columns: dict[str, str],
    *,
    opportunity_ids: pd.Series,
    created: pd.Series,
    dayfirst: bool | None = None,
    dayfirst_default: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Stage events from "date entered <stage>" columns of the accepted rows (one row per deal,
    aligned with ``opportunity_ids``). Returns ``(stage_events, report)``."""
    parts = []
    unreadable = 0
    for header, stage in columns.items():
        dates = parse_dates(frame[header], dayfirst=dayfirst, default_dayfirst=dayfirst_default)
        unreadable += dates.unparseable
        parts.append(
            pd.DataFrame(
                {
                    "opportunity_id": opportunity_ids.astype(str).to_numpy(),
                    "stage": stage,
                    "from_stage": "",
                    "entered_at": dates.values.to_numpy(),
                }
            )
        )
    long = pd.concat(parts, ignore_index=True).dropna(subset=["entered_at"])
    long["_order"] = range(len(long))
    events = _order_and_collapse(long, created)
    report = {
        "source": "stage date columns",
        "path": None,
        "columns": dict(columns),
        "rows_in": len(frame),
        "rows_accepted": len(frame),
        "rows_quarantined": 0,
        "rows_ignored": 0,
        "unreadable_dates": unreadable,
        "events": len(events),
        "opportunities_with_history": int(events["opportunity_id"].nunique()),
        "mapping": {},
        "quarantine_reasons": {},
        "footer_lines_removed": 0,
    }
    return events, report


def empty_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": pd.Series(dtype="string"),
            "stage": pd.Series(dtype="string"),
            "entered_at": pd.Series(dtype="datetime64[ns]"),
        }
    )


def load_history(
    path: str | Path,
    user: Mapping,
    *,
    opportunity_ids: pd.Series,
    created: pd.Series,
    dayfirst_default: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Read a stage-history export.

    Returns ``(stage_events, quarantine, report)``; the report holds ``rows_in``, ``events``,
    ``rows_quarantined``, ``rows_ignored`` (other fields in a field history) and ``source``.
    """
    path = Path(path)
    raw = read_table(path, is_header=header_score)
    headers = list(raw.frame.columns)
    if raw.frame.empty:
        raise CrmImportError(
            f"{path.name}: expected stage history rows under the header, found a header only."
        )
    user_cols = resolve_user_columns(user.history, headers, path.name)
    shapes = history_shapes()
    best_name, best_cols = "generic_history", dict[str, str]()
    for name, shape in shapes.items():
        cols = map_columns(headers, shape, None, user_cols, wanted=HISTORY_MAPPABLE)
        if name == "salesforce_field_history" and "field" not in cols:
            continue
        if len(cols) > len(best_cols):
            best_name, best_cols = name, cols
    cols = best_cols
    missing = [c for c in ("opportunity_id", "stage", "entered_at") if c not in cols]
    if missing:
        raise CrmImportError(
            f"{path.name}: expected stage history with an opportunity id, a stage and a date column, "
            f"found no {', '.join(missing)} among: {header_excerpt(headers)}; name them under `history:` "
            "in a mapping file."
        )
    frame = raw.frame
    rows_in = len(frame)
    ignored = pd.Series(False, index=frame.index)
    if "field" in cols:
        field = frame[cols["field"]].astype(str).map(normalise)
        ignored = ~field.isin(STAGE_FIELDS)
    ids = frame[cols["opportunity_id"]].astype(str).str.strip()
    stage = frame[cols["stage"]].astype(str).str.strip()
    from_stage = (
        frame[cols["from_stage"]].astype(str).str.strip()
        if "from_stage" in cols
        else pd.Series("", index=frame.index)
    )
    dates = parse_dates(
        frame[cols["entered_at"]], dayfirst=user.dayfirst, default_dayfirst=dayfirst_default
    )
    reason = pd.Series(None, index=frame.index, dtype=object)
    known = set(opportunity_ids.astype(str))
    reason[(ids == "").to_numpy()] = REASON_MISSING_ID
    reason[(reason.isna() & (stage == "")).to_numpy()] = REASON_MISSING_STAGE
    reason[(reason.isna() & dates.values.isna()).to_numpy()] = REASON_BAD_DATE
    reason[(reason.isna() & ~ids.isin(known)).to_numpy()] = REASON_UNKNOWN_OPP
    reason[ignored.to_numpy()] = None
    bad = reason.notna() & ~ignored
    quarantine = pd.DataFrame(
        {
            "table": "stage_events",
            "source_row": raw.source_rows[bad.to_numpy()].to_numpy(),
            "reason": reason[bad].to_numpy(),
        }
    )
    quarantine = pd.concat(
        [quarantine, frame[bad.to_numpy()].astype(str).reset_index(drop=True)], axis=1
    )
    good = ~bad & ~ignored
    events = pd.DataFrame(
        {
            "opportunity_id": ids[good].to_numpy(),
            "stage": stage[good].to_numpy(),
            "from_stage": from_stage[good].to_numpy(),
            "entered_at": dates.values[good].to_numpy(),
            "_order": range(int(good.sum())),
        }
    )
    events = _order_and_collapse(events, created)
    report = {
        "source": best_name,
        "path": str(path),
        "rows_in": rows_in,
        "rows_accepted": int(good.sum()),
        "rows_quarantined": int(bad.sum()),
        "rows_ignored": int(ignored.sum()),
        "events": len(events),
        "opportunities_with_history": int(events["opportunity_id"].nunique()),
        "mapping": cols,
        "quarantine_reasons": {k: int(v) for k, v in quarantine["reason"].value_counts().items()},
        "footer_lines_removed": raw.footer_lines_removed,
        "warnings": table_warnings(raw),
    }
    return events, quarantine, report


def _order_and_collapse(events: pd.DataFrame, created: pd.Series) -> pd.DataFrame:
    if events.empty:
        return empty_events()
    events = events.sort_values(["opportunity_id", "entered_at", "_order"], kind="stable")
    # The stage a deal was created in appears only as the first change's "from" stage: add it,
    # entered at the deal's creation date (or at the first change when that is unknown).
    first = events.groupby("opportunity_id", sort=False).head(1)
    seed = first[(first["from_stage"] != "") & (first["from_stage"] != first["stage"])]
    if len(seed):
        created_at = seed["opportunity_id"].map(created.groupby(level=0).first())
        entered = created_at.where(
            created_at.notna() & (created_at <= seed["entered_at"]), seed["entered_at"]
        )
        initial = pd.DataFrame(
            {
                "opportunity_id": seed["opportunity_id"].to_numpy(),
                "stage": seed["from_stage"].to_numpy(),
                "from_stage": "",
                "entered_at": pd.to_datetime(entered).to_numpy(),
                "_order": -1,
            }
        )
        events = pd.concat([initial, events], ignore_index=True).sort_values(
            ["opportunity_id", "entered_at", "_order"], kind="stable"
        )
    same_opp = events["opportunity_id"].eq(events["opportunity_id"].shift())
    repeat = same_opp & events["stage"].eq(events["stage"].shift())
    events = events[~repeat.to_numpy()]
    out = events[list(STAGE_EVENT_COLUMNS)].reset_index(drop=True)
    out["opportunity_id"] = out["opportunity_id"].astype("string")
    out["stage"] = out["stage"].astype("string")
    out["entered_at"] = out["entered_at"].astype("datetime64[ns]")
    return out
