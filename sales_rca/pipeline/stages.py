"""Stage order, stage visits and the per-stage table: where deals enter, advance, die and wait.

Definitions (an opportunity counts once per stage; its last visit to the stage decides):

- ``entered``: opportunities with an entry into the stage.
- ``advanced``: those whose last visit was followed by an entry into a later official stage, or
  that were won.
- ``lost_here``: lost opportunities whose last official stage before the loss is this one.
- ``open_here``: open opportunities currently in the stage.
- ``conversion``: ``advanced / (advanced + lost_here)``.
- ``median_days`` / ``p75_days`` / ``p90_days``: days from the last entry into the stage to the next
  entry (any stage) or to the close, over visits that have ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from sales_rca.crm.data import CrmData
from sales_rca.crm.values import is_closed_stage_name
from sales_rca.errors import PipelineError

DAY = np.timedelta64(1, "D")
#: Quantiles reported for time in stage (p10 and p25 feed the box plot).
DAY_QUANTILES: dict[str, float] = {
    "p10_days": 0.10,
    "p25_days": 0.25,
    "median_days": 0.50,
    "p75_days": 0.75,
    "p90_days": 0.90,
}
_NUMBER_PREFIX = re.compile(r"^\s*(\d+(?:\.\d+)?)")

STAGE_TABLE_COLUMNS: tuple[str, ...] = (
    "stage",
    "entered",
    "advanced",
    "lost_here",
    "open_here",
    "conversion",
    *DAY_QUANTILES,
    "completed_visits",
    "value_lost",
    "value_open",
)


@dataclass(frozen=True)
class StageOrder:
    """The official stage order and where it came from.

    ``source`` is ``argument``, ``mapping``, ``history`` (most common order in the stage history)
    or ``stage values`` (a guess from the stage names).
    """

    stages: list[str]
    source: str


def is_closed_stage(name: object, crm: CrmData) -> bool:
    """True when ``name`` is a closing stage (``Closed Won``, a mapped won/lost stage ...)."""
    if not isinstance(name, str):
        return False
    if name in crm.won_stages or name in crm.lost_stages:
        return True
    # Same names as the import (Closed Won, closedlost, Lost, ...), one rule for both.
    return bool(is_closed_stage_name(name))


def official_order(crm: CrmData, stages: list[str] | None = None) -> StageOrder:
    """Decide the official stage order: the argument, else the mapping, else the history, else names.

    Closed stages are never part of it. From the history, the order is the one most deals agree
    with: stage A goes before B when more deals first enter A before B than the other way round
    (ties broken by the average position of the first entry).

    Example:
        >>> official_order(crm, ["Qualify", "Demo", "Proposal"]).source
        'argument'
    """
    if stages:
        cleaned = [s.strip() for s in stages if s and s.strip()]
        if len(set(cleaned)) != len(cleaned):
            dupes = sorted({s for s in cleaned if cleaned.count(s) > 1})
            raise PipelineError(
                f"The stage order names a stage twice ({', '.join(dupes)}); "
                "give each stage once, e.g. --stages 'Qualify,Demo,Proposal'."
            )
        return StageOrder([s for s in cleaned if not is_closed_stage(s, crm)], "argument")
    if crm.stages:
        return StageOrder([s for s in crm.stages if not is_closed_stage(s, crm)], "mapping")
    if crm.has_history:
        order = _order_from_history(crm)
        if order:
            return StageOrder(order, "history")
    names = _open_stage_names(crm)
    known = _known_pipeline_order(names)
    if known is not None:
        return StageOrder(known, "default pipeline")
    return StageOrder(_order_from_names(crm), "stage values")


def _order_from_history(crm: CrmData) -> list[str]:
    ev = crm.stage_events[["opportunity_id", "stage"]].dropna()
    names = pd.unique(ev["stage"])
    closed = {s for s in names if is_closed_stage(s, crm)}  # once per stage name, not per event
    ev = ev[~ev["stage"].isin(closed)]
    if ev.empty:
        return []
    opp, _ = pd.factorize(ev["opportunity_id"])
    code, names = pd.factorize(ev["stage"])
    pos = np.arange(len(ev)) - _group_starts(opp)
    first = ~pd.DataFrame({"o": opp, "c": code}).duplicated().to_numpy()
    k = len(names)
    # one row per opportunity, one column per stage: position of the first entry (inf = never)
    first_pos = np.full((opp.max() + 1, k), np.inf)
    first_pos[opp[first], code[first]] = pos[first]
    before = np.zeros((k, k))
    for a in range(k):
        for b in range(a + 1, k):
            before[a, b] = np.count_nonzero(first_pos[:, a] < first_pos[:, b])
            before[b, a] = np.count_nonzero(first_pos[:, b] < first_pos[:, a])
    wins = (before > before.T).sum(axis=1)
    seen = np.isfinite(first_pos)
    mean_pos = np.where(seen, first_pos, 0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
    order = sorted(range(k), key=lambda i: (-wins[i], mean_pos[i]))
    return [str(names[i]) for i in order]


@cache
def default_pipelines() -> dict[str, tuple[str, ...]]:
    """Known CRM default pipelines (``resources/pipelines.yaml``), in their official order."""
    text = resources.files("sales_rca.resources").joinpath("pipelines.yaml").read_text("utf-8")
    return {name: tuple(stages) for name, stages in yaml.safe_load(text).items()}


def _known_pipeline_order(names: list[str]) -> list[str] | None:
    """``names`` in the order of the one default pipeline that contains them all, if any."""
    key = {n: re.sub(r"[^0-9a-z]+", "", str(n).lower()) for n in names}
    for stages in default_pipelines().values():
        rank = {re.sub(r"[^0-9a-z]+", "", s.lower()): i for i, s in enumerate(stages)}
        if len(names) >= 2 and all(k in rank for k in key.values()):
            return sorted(names, key=lambda n: rank[key[n]])
    return None


def _open_stage_names(crm: CrmData) -> list[str]:
    opps = crm.opportunities
    values = pd.concat([opps["stage"], opps.get("loss_stage", pd.Series(dtype=object))])
    return [s for s in pd.unique(values.dropna()) if not is_closed_stage(s, crm)]


def _order_from_names(crm: CrmData) -> list[str]:
    names = _open_stage_names(crm)
    numbers = [_NUMBER_PREFIX.match(str(s)) for s in names]
    if names and all(numbers):
        return [s for _, s in sorted(zip((float(m[1]) for m in numbers), names, strict=True))]
    return [str(s) for s in names]


def _group_starts(codes: np.ndarray) -> np.ndarray:
    """For sorted group codes, the index of each row's group start (same length as ``codes``)."""
    starts = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, bool)
    return np.maximum.accumulate(np.where(starts, np.arange(len(codes)), 0))


#: The as-of date of an export with no date at all (nothing is measured in days then).
NO_DATES = pd.Timestamp("1970-01-01")


def default_as_of(crm: CrmData) -> pd.Timestamp:
    """The date the x-ray is taken at: the latest date something happened in the data (not
    today's date). An open deal's close date is a forecast, not something that happened."""
    opps = crm.opportunities
    closed = opps["outcome"] != "open"
    candidates = [opps.loc[closed, "close_date"].max(), opps["created_date"].max()]
    if crm.has_history:
        candidates.append(crm.stage_events["entered_at"].max())
    found = [c for c in candidates if pd.notna(c)]
    return max(found) if found else NO_DATES


def build_visits(
    crm: CrmData, order: list[str], as_of: pd.Timestamp
) -> tuple[pd.DataFrame, list[str]]:
    """One row per visit to a (non-closing) stage, with how and when it ended.

    Returns ``(visits, notes)``. Columns: ``opp_row`` (row of the opportunity in
    ``crm.opportunities``), ``opportunity_id``, ``stage``, ``stage_index`` (position in the
    official order, -1 if not official), ``step`` (0-based position in the deal's history),
    ``entered_at``, ``left_at`` (next entry or the close; NaT while still there), ``days``
    (NaN while still there), ``last_visit``, ``advanced`` (meaningful on last visits),
    ``current`` (the stage an open deal is in now), ``outcome``.

    A repeated entry into the stage a deal is already in continues the visit. Events of unknown
    opportunities or without a time are dropped, with a note.
    """
    notes: list[str] = []
    opps = crm.opportunities
    ev = crm.stage_events
    if ev.empty:
        return _empty_visits(), notes
    row = pd.Index(opps["opportunity_id"]).get_indexer(ev["opportunity_id"])
    entered = ev["entered_at"].to_numpy(dtype="datetime64[ns]")
    keep = (row >= 0) & ~np.isnat(entered) & ev["stage"].notna().to_numpy()
    if not keep.all():
        notes.append(
            f"{int((~keep).sum())} stage events were ignored (unknown opportunity, no stage or no time)."
        )
    row, entered = row[keep], entered[keep]
    stage_code, stage_names = pd.factorize(ev["stage"].to_numpy()[keep])
    stage_names = np.asarray(stage_names, dtype=object)
    if len(row) > 1 and not _is_sorted(row, entered):
        # the canonical table is ordered already; sort defensively, keeping ties in input order
        idx = np.lexsort((entered, row))
        row, entered, stage_code = row[idx], entered[idx], stage_code[idx]
    # a repeated entry into the stage the deal is already in is not a new visit
    repeat = np.r_[False, (row[1:] == row[:-1]) & (stage_code[1:] == stage_code[:-1])]
    row, entered, stage_code = row[~repeat], entered[~repeat], stage_code[~repeat]

    official_index = {s: i for i, s in enumerate(order)}
    idx_of_code = np.array([official_index.get(s, -1) for s in stage_names], dtype=np.int64)
    closed_of_code = np.array([is_closed_stage(s, crm) for s in stage_names], dtype=bool)
    unofficial = sorted(
        str(s)
        for s, i, c in zip(stage_names, idx_of_code, closed_of_code, strict=True)
        if i < 0 and not c
    )
    if unofficial and order:
        notes.append(
            "Stages in the history that are not in the official order (kept in paths, left out of "
            f"the stage table): {', '.join(unofficial)}."
        )
    stage_index = idx_of_code[stage_code]
    closed = closed_of_code[stage_code]

    n = len(row)
    same_next = np.r_[row[1:] == row[:-1], False]
    next_entry = np.r_[entered[1:], np.datetime64("NaT")].astype("datetime64[ns]")
    outcome = opps["outcome"].astype(str).to_numpy()[row]
    close = opps["close_date"].to_numpy(dtype="datetime64[ns]")[row]
    is_closed_deal = outcome != "open"
    left_at = np.where(
        same_next, next_entry, np.where(is_closed_deal, close, np.datetime64("NaT"))
    ).astype("datetime64[ns]")
    days = (left_at - entered) / DAY
    # A closing event is how a visit ends, not a visit: its own "duration" (close date at midnight
    # vs an event time later that day) means nothing and is not reported.
    negative = (days < 0) & ~closed
    if negative.any():
        notes.append(
            f"{int(negative.sum())} visits end before they start (dates out of order) and were "
            "left out of the time in stage."
        )
        days[negative] = np.nan

    # latest official stage entered *after* each event (suffix maximum within the deal)
    later = _later_max(row, stage_index)
    won = outcome == "won"
    key = row.astype(np.int64) * (len(stage_names) + 1) + stage_code
    last_visit = ~pd.Series(key).duplicated(keep="last").to_numpy()
    last_event = ~same_next

    visits = pd.DataFrame(
        {
            "opp_row": row,
            "opportunity_id": opps["opportunity_id"].to_numpy()[row],
            "stage": stage_names[stage_code],
            "stage_index": stage_index,
            "step": np.arange(n) - _group_starts(row),
            "entered_at": entered,
            "left_at": left_at,
            "days": days,
            "last_visit": last_visit,
            "advanced": won | (later > stage_index),
            "current": last_event & (outcome == "open"),
            "outcome": outcome,
        }
    )
    # closing stages are how a visit ends, not visits themselves
    visits = visits[~closed].reset_index(drop=True)
    stale = visits["current"] & (visits["entered_at"] > as_of)
    if stale.any():
        notes.append(f"{int(stale.sum())} open deals entered their stage after the as-of date.")
    return visits, notes


def _is_sorted(row: np.ndarray, entered: np.ndarray) -> bool:
    same = row[1:] == row[:-1]
    return bool(np.all(row[1:] >= row[:-1]) and np.all(~same | (entered[1:] >= entered[:-1])))


def _later_max(row: np.ndarray, stage_index: np.ndarray) -> np.ndarray:
    """Per event, the highest official stage index entered later in the same deal (-1 if none)."""
    n = len(row)
    if n == 0:
        return np.zeros(0, np.int64)
    rev = pd.Series(stage_index[::-1]).groupby(row[::-1]).cummax().to_numpy()[::-1]
    # shift by one within the deal: "later" excludes the event itself
    nxt = np.r_[rev[1:], -1]
    same_next = np.r_[row[1:] == row[:-1], False]
    return np.where(same_next, nxt, -1)


def _empty_visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opp_row": pd.Series(dtype=np.int64),
            "opportunity_id": pd.Series(dtype=object),
            "stage": pd.Series(dtype=object),
            "stage_index": pd.Series(dtype=np.int64),
            "step": pd.Series(dtype=np.int64),
            "entered_at": pd.Series(dtype="datetime64[ns]"),
            "left_at": pd.Series(dtype="datetime64[ns]"),
            "days": pd.Series(dtype=float),
            "last_visit": pd.Series(dtype=bool),
            "advanced": pd.Series(dtype=bool),
            "current": pd.Series(dtype=bool),
            "outcome": pd.Series(dtype=object),
        }
    )


def build_deals(crm: CrmData, visits: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per opportunity with where it is (open) or where it died (lost).

    Columns: ``opportunity_id, outcome, amount, current_stage, entered_current_at,
    days_in_current, loss_stage, loss_stage_from`` (``history``, ``column`` or missing).
    With history, the current stage of an open deal is the stage of its last visit and the loss
    stage of a lost deal is its last official stage; deals without usable history fall back on
    the ``stage`` and ``loss_stage`` columns.
    """
    opps = crm.opportunities
    n = len(opps)
    outcome = opps["outcome"].astype(str).to_numpy()
    current_stage = np.where(outcome == "open", opps["stage"].to_numpy(dtype=object), None)
    entered_current = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    cur = visits[visits["current"]]
    current_stage[cur["opp_row"].to_numpy()] = cur["stage"].to_numpy()
    entered_current[cur["opp_row"].to_numpy()] = cur["entered_at"].to_numpy()

    loss_col = (
        opps["loss_stage"].to_numpy(dtype=object)
        if "loss_stage" in opps
        else np.full(n, None, dtype=object)
    )
    loss_stage = np.where(outcome == "lost", loss_col, None)
    loss_from = np.where(pd.notna(loss_stage), "column", None).astype(object)
    official = visits[visits["stage_index"] >= 0]
    last_official = official.drop_duplicates("opp_row", keep="last")
    last_official = last_official[last_official["outcome"] == "lost"]
    rows = last_official["opp_row"].to_numpy()
    loss_stage[rows] = last_official["stage"].to_numpy()
    loss_from[rows] = "history"

    deals = pd.DataFrame(
        {
            "opportunity_id": opps["opportunity_id"].to_numpy(),
            "outcome": outcome,
            "amount": opps["amount"].to_numpy(dtype=float),
            "current_stage": current_stage,
            "entered_current_at": entered_current,
            "days_in_current": (np.datetime64(as_of, "ns") - entered_current) / DAY,
            "loss_stage": loss_stage,
            "loss_stage_from": loss_from,
        }
    )
    return deals


def stage_table(
    visits: pd.DataFrame, deals: pd.DataFrame, order: list[str], *, has_history: bool
) -> pd.DataFrame:
    """The per-stage table in official order (see the module docstring for the definitions).

    Without history, ``entered``, ``advanced``, ``conversion`` and the day columns are missing
    (``<NA>`` / NaN); ``lost_here`` and ``open_here`` come from the loss-stage and stage columns.
    """
    index = pd.Index(order, name="stage")
    lost = deals[deals["outcome"] == "lost"]
    open_ = deals[deals["outcome"] == "open"]
    table = pd.DataFrame(index=index)
    last = visits[visits["last_visit"] & (visits["stage_index"] >= 0)]
    if has_history:
        table["entered"] = last.groupby("stage").size().reindex(index, fill_value=0)
        table["advanced"] = last.groupby("stage")["advanced"].sum().reindex(index, fill_value=0)
    else:
        table["entered"] = pd.NA
        table["advanced"] = pd.NA
    table["lost_here"] = lost.groupby("loss_stage").size().reindex(index, fill_value=0)
    table["open_here"] = open_.groupby("current_stage").size().reindex(index, fill_value=0)
    for col in ("entered", "advanced", "lost_here", "open_here"):
        table[col] = table[col].astype("Int64")
    decided = table["advanced"] + table["lost_here"]
    table["conversion"] = (table["advanced"] / decided.where(decided > 0)).astype("Float64")
    table["conversion"] = table["conversion"].astype(float)
    done = last.dropna(subset=["days"])
    if has_history and not done.empty:
        q = done.groupby("stage")["days"].quantile(list(DAY_QUANTILES.values())).unstack()
        q.columns = list(DAY_QUANTILES)
        table = table.join(q.reindex(index))
    else:
        for col in DAY_QUANTILES:
            table[col] = np.nan
    if has_history:
        table["completed_visits"] = (
            done.groupby("stage").size().reindex(index, fill_value=0).astype("Int64")
        )
    else:
        table["completed_visits"] = pd.Series(pd.NA, index=index, dtype="Int64")
    table["value_lost"] = lost.groupby("loss_stage")["amount"].sum().reindex(index, fill_value=0.0)
    table["value_open"] = (
        open_.groupby("current_stage")["amount"].sum().reindex(index, fill_value=0.0)
    )
    if len(lost) and lost["loss_stage"].isna().all():
        # Nobody knows where these deals died: unknown, not zero.
        table["lost_here"] = pd.Series(pd.NA, index=index, dtype="Int64")
        table["value_lost"] = np.nan
        table["conversion"] = np.nan
    return table.reset_index()[list(STAGE_TABLE_COLUMNS)]
