"""Stage order, stage visits and the per-stage table: where deals enter, advance, die and wait.

Definitions (an opportunity counts once per stage; its last visit to the stage decides):

- ``entered``: opportunities with an entry into the stage.
- ``advanced``: those whose last visit was followed by an entry into a later official stage, or
  that were won.
- ``lost_here``: lost opportunities whose last official stage before the loss is this one.
- ``open_here``: open opportunities currently in the stage.
- ``conversion``: ``advanced / (advanced + lost_here)``, with a 95% Wilson interval
  (``conversion_ci_low`` / ``conversion_ci_high``); NaN when unknown.
- ``p10_days`` ... ``p90_days`` (``median_days`` is p50): Kaplan-Meier quantiles of the days from
  the last entry into the stage to the next entry (any stage) or the close. A visit that ended is
  an event (``completed_visits``); an open deal still in the stage is censored at the as-of date
  (``censored_visits``), so slow deals still sitting there count. The p-quantile is the first day
  by which the curve says a share p of deals had left; NaN when the curve never gets there (too
  many deals still in the stage to know). Durations are measured to the hour.
- ``value_lost`` / ``value_open``: amounts of the lost-here / open-here deals; NaN when none of
  those deals has an amount, 0 for a stage without such deals (NaN everywhere when the export
  has no amount at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import yaml
from lifelines import KaplanMeierFitter
from lifelines.utils import qth_survival_time

from sales_rca import resources
from sales_rca.crm.data import CrmData
from sales_rca.crm.values import is_closed_stage_name
from sales_rca.errors import PipelineError
from sales_rca.pipeline.stats import wilson_interval

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
#: Time in stage is measured to the hour; finer differences do not change a figure in days, and
#: identical (duration, event) pairs collapse into weights (same estimate, far less work).
RESOLUTION_DAYS = 1 / 24
#: A product-limit estimate that is exactly at a quantile (3/6 = 0.5) comes out of floating
#: point a hair above it; a quantile is read with this tolerance.
_KM_TOLERANCE = 1e-9
#: Durations are counted with one ``np.bincount`` up to this many bins (else sorted).
_BINCOUNT_MAX = 8_000_000

STAGE_TABLE_COLUMNS: tuple[str, ...] = (
    "stage",
    "entered",
    "advanced",
    "lost_here",
    "open_here",
    "conversion",
    "conversion_ci_low",
    "conversion_ci_high",
    *DAY_QUANTILES,
    "completed_visits",
    "censored_visits",
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
    text = resources.read_text("pipelines.yaml")
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
    numbers = [m[1] for s in names if (m := _NUMBER_PREFIX.match(str(s)))]
    if names and len(numbers) == len(names):
        return [s for _, s in sorted(zip(map(float, numbers), names, strict=True))]
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


#: Outcome codes (:func:`outcome_codes`).
WON, LOST, OPEN = 0, 1, 2


def outcome_codes(outcome: pd.Series) -> np.ndarray:
    """Outcomes as small ints: :data:`WON`, :data:`LOST`, :data:`OPEN` (-1 for anything else)."""
    return pd.Categorical(outcome, categories=["won", "lost", "open"]).codes.astype(np.int8)


def outcome_text(outcome: pd.Series) -> np.ndarray:
    """``outcome.astype(str)`` as an object array, converted once per distinct value."""
    codes, uniques = pd.factorize(outcome)  # the codes themselves on a categorical
    if (codes < 0).any():  # missing values: keep the exact text astype(str) gives them
        return outcome.astype(str).to_numpy()
    return np.asarray([str(u) for u in uniques], dtype=object)[codes]


def _objects(values: pd.Series) -> np.ndarray:
    """The values as an object array, without a copy for text columns (read it, never write)."""
    return np.asarray(values, dtype=object)


def _is_text(dtype: object) -> bool:
    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)


def _sorted_order(uniques: np.ndarray) -> np.ndarray | None:
    """The order that sorts distinct values as pandas does, when it is plain: strings compared
    as fixed-width text (Python's order, far fewer comparisons) or numbers; None otherwise."""
    if uniques.dtype.kind in "iuf":
        return np.argsort(uniques, kind="stable")
    if all(type(u) is str and "\x00" not in u for u in uniques):
        return np.argsort(uniques.astype(str), kind="stable")
    return None


def _reorder(
    codes: np.ndarray, uniques: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values renumbered so that the values come in ``order``."""
    rank = np.empty(len(order), dtype=codes.dtype)
    rank[order] = np.arange(len(order), dtype=codes.dtype)
    return np.where(codes >= 0, rank[codes], codes), uniques[order]


def factorize_text(values: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=sort)`` with the uniques as an array, faster on text.

    Text columns are factorized as object arrays (no copy), and sorted as fixed-width text when
    every distinct value is a string. Anything else goes to :func:`pandas.factorize` unchanged.
    Missing values get code -1.
    """
    if not _is_text(values.dtype):
        codes, uniques = pd.factorize(values, sort=sort)
        return codes, np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(_objects(values))
    if not sort or len(uniques) < 2:
        return codes, uniques
    order = _sorted_order(uniques)
    if order is None:  # mixed types: pandas' own order
        return pd.factorize(_objects(values), sort=True)
    return _reorder(codes, uniques, order)


class ColumnCodes:
    """The columns of one table, each factorized once (first-seen order, -1 where blank), and
    the factorization of any subset of rows read from those codes, not from the values again.

    Analyses that count the same columns (drivers, their leakage checks, accounts, stalls)
    share one instance instead of hashing a million strings each.

    Example:
        >>> codes = ColumnCodes(crm.opportunities)
        >>> seg, names = codes("segment")
        >>> closed_seg, closed_names = codes.within("segment", closed_mask, sort=True)
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._done: dict[object, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, column: object) -> tuple[np.ndarray, np.ndarray]:
        """``pd.factorize(frame[column])``: codes and the distinct values (an array)."""
        if column not in self._done:
            values = self.frame[column]
            codes, uniques = pd.factorize(_objects(values) if _is_text(values.dtype) else values)
            plain = _is_text(values.dtype) or uniques.dtype.kind in "iuf"
            # dates, categories ...: the values as pandas gives them (Timestamps, not datetime64)
            self._done[column] = (codes, np.asarray(uniques, dtype=None if plain else object))
        return self._done[column]

    def within(
        self, column: object, mask: np.ndarray | None = None, *, sort: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``pd.factorize(frame[column][mask], sort=sort)`` (codes, distinct values as an array)."""
        full, uniques = self(column)
        codes = full if mask is None else full[mask]
        if mask is not None:  # renumber in first-seen order within the subset
            codes, ids = pd.factorize(codes)
            blank = np.flatnonzero(ids < 0)
            if len(blank):
                j = int(blank[0])
                codes = np.where(codes == j, -1, codes - (codes > j))
                ids = np.delete(ids, j)
            uniques = uniques[ids]
        if not sort or len(uniques) < 2:
            return codes, uniques
        values = self.frame[column]
        order = (
            _sorted_order(uniques)
            if _is_text(values.dtype) or uniques.dtype.kind in "iuf"
            else None
        )
        if order is None:
            picked = values if mask is None else values[mask]
            codes, uniques = pd.factorize(picked, sort=True)
            return codes, np.asarray(uniques, dtype=object)
        return _reorder(codes, uniques, order)


def _event_rows(opp_ids: pd.Series, event_ids: pd.Series) -> np.ndarray:
    """Each event's row in the opportunities (-1 for an unknown id), looked up once per run of
    consecutive events of one opportunity (a history comes grouped by deal)."""
    ids = _objects(event_ids)
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        head = np.r_[True, ids[1:] != ids[:-1]]
    except TypeError:  # pd.NA does not compare: missing ids as None
        ids = event_ids.to_numpy(dtype=object, na_value=None)
        head = np.r_[True, ids[1:] != ids[:-1]]
    starts = np.flatnonzero(head)
    found = pd.Index(_objects(opp_ids), dtype=object).get_indexer(ids[starts])
    return np.repeat(found, np.diff(np.r_[starts, n]))


def build_visits(
    crm: CrmData, order: list[str], as_of: pd.Timestamp
) -> tuple[pd.DataFrame, list[str]]:
    """One row per visit to a (non-closing) stage, with how and when it ended.

    Returns ``(visits, notes)``. Columns: ``opp_row`` (row of the opportunity in
    ``crm.opportunities``), ``opportunity_id``, ``stage``, ``stage_index`` (position in the
    official order, -1 if not official), ``step`` (0-based position in the deal's history),
    ``entered_at``, ``left_at`` (next entry or the close; NaT while still there), ``days``
    (NaN while still there), ``last_visit``, ``advanced`` (meaningful on last visits),
    ``current`` (the stage an open deal is in now), ``outcome``. Rows come grouped by deal
    (``opp_row`` ascending), each deal's visits in order.

    A repeated entry into the stage a deal is already in continues the visit. Events of unknown
    opportunities or without a time are dropped, with a note.
    """
    notes: list[str] = []
    opps = crm.opportunities
    ev = crm.stage_events
    if ev.empty:
        return _empty_visits(), notes
    row = _event_rows(opps["opportunity_id"], ev["opportunity_id"])
    entered = ev["entered_at"].to_numpy(dtype="datetime64[ns]")
    stage_code, stage_names = pd.factorize(_objects(ev["stage"]))  # missing stage: -1
    stage_names = np.asarray(stage_names, dtype=object)
    keep = (row >= 0) & ~np.isnat(entered) & (stage_code >= 0)
    if not keep.all():
        notes.append(
            f"{int((~keep).sum())} stage events were ignored (unknown opportunity, no stage or no time)."
        )
        row, entered, stage_code = row[keep], entered[keep], stage_code[keep]
    if len(row) > 1 and not _is_sorted(row, entered):
        # the canonical table is ordered already; sort defensively, keeping ties in input order
        idx = np.lexsort((entered, row))
        row, entered, stage_code = row[idx], entered[idx], stage_code[idx]
    # a repeated entry into the stage the deal is already in is not a new visit
    same_prev = row[1:] == row[:-1]
    repeat = np.r_[False, same_prev & (stage_code[1:] == stage_code[:-1])]
    if repeat.any():
        row, entered, stage_code = row[~repeat], entered[~repeat], stage_code[~repeat]
        same_prev = row[1:] == row[:-1]

    official_index = {s: i for i, s in enumerate(order)}
    idx_of_code = np.array([official_index.get(s, -1) for s in stage_names], dtype=np.int64)
    closed_of_code = np.array([is_closed_stage(s, crm) for s in stage_names], dtype=bool)
    present = np.bincount(stage_code, minlength=len(stage_names)) > 0
    unofficial = sorted(
        str(s)
        for s, i, c, p in zip(stage_names, idx_of_code, closed_of_code, present, strict=True)
        if i < 0 and not c and p
    )
    if unofficial and order:
        notes.append(
            "Stages in the history that are not in the official order (kept in paths, left out of "
            f"the stage table): {', '.join(unofficial)}."
        )
    stage_index = idx_of_code[stage_code]
    closed = closed_of_code[stage_code]

    n = len(row)
    same_next = np.r_[same_prev, False]
    starts = np.flatnonzero(np.r_[True, ~same_prev]) if n else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, n])
    ends = starts + sizes - 1  # each deal's last event
    deal = np.repeat(np.arange(len(starts), dtype=np.int64), sizes)  # each event's deal
    position = np.arange(n)
    code = outcome_codes(opps["outcome"])[row]
    # a visit ends at the deal's next entry; the deal's last one at its close (if it closed)
    left_at = np.empty(n, dtype="datetime64[ns]")
    left_at[:-1] = entered[1:]
    close = opps["close_date"].to_numpy(dtype="datetime64[ns]")[row[ends]]
    left_at[ends] = np.where(code[ends] != OPEN, close, np.datetime64("NaT"))
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
    later = _later_max(stage_index, deal, len(starts))
    last_visit = _last_of_stage(stage_code, ends[deal] - position)
    step = position - starts[deal]
    advanced = (code == WON) | (later > stage_index)
    current = ~same_next & (code == OPEN)
    del later, deal, position, same_next
    columns = {
        "opp_row": row,
        "stage_code": stage_code,
        "stage_index": stage_index,
        "step": step,
        "entered_at": entered,
        "left_at": left_at,
        "days": days,
        "last_visit": last_visit,
        "advanced": advanced,
        "current": current,
    }
    if closed.any():  # closing stages are how a visit ends, not visits themselves
        visit = np.flatnonzero(~closed)
        columns = {k: v[visit] for k, v in columns.items()}
    row = columns.pop("opp_row")
    stage = stage_names[columns.pop("stage_code")]
    visits = pd.DataFrame(
        {
            "opp_row": row,
            "opportunity_id": _objects(opps["opportunity_id"])[row],
            "stage": stage,
            **columns,
            "outcome": outcome_text(opps["outcome"])[row],
        },
        copy=False,  # fresh arrays: no second copy of 5 million rows
    )
    stale = columns["current"] & (columns["entered_at"] > np.datetime64(pd.Timestamp(as_of), "ns"))
    if stale.any():
        notes.append(f"{int(stale.sum())} open deals entered their stage after the as-of date.")
    return visits, notes


def _is_sorted(row: np.ndarray, entered: np.ndarray) -> bool:
    same = row[1:] == row[:-1]
    return bool(np.all(row[1:] >= row[:-1]) and np.all(~same | (entered[1:] >= entered[:-1])))


def _later_max(stage_index: np.ndarray, deal: np.ndarray, deals: int) -> np.ndarray:
    """Per event, the highest official stage index entered later in the same deal (-1 if none).

    ``deal`` numbers each event's deal (``0 .. deals - 1``, grouped, in order). One suffix
    maximum over the whole array: each deal's values are lifted above those of the deals after
    it, so a maximum never crosses into an earlier deal.
    """
    n = len(stage_index)
    if n == 0:
        return np.zeros(0, np.int64)
    span = int(stage_index.max()) + 2  # values -1 .. max, lifted to 0 .. span - 1
    lift = (deals - 1 - deal) * span
    suffix = np.maximum.accumulate((stage_index + 1 + lift)[::-1])[::-1] - lift - 1
    # "later" excludes the event itself: the suffix maximum of the next event in the deal
    later = np.full(n, -1, dtype=np.int64)
    same_next = deal[1:] == deal[:-1]
    later[:-1][same_next] = suffix[1:][same_next]
    return later


def _last_of_stage(code: np.ndarray, remaining: np.ndarray) -> np.ndarray:
    """True for an event that is the deal's last entry into its stage (deals grouped, in order;
    ``remaining``: events after it in its deal).

    Compares each event with the ones after it in its deal, one offset at a time, and stops
    following an event once a later entry into its stage is found (deals are short).
    """
    last = np.ones(len(code), dtype=bool)
    idx = np.flatnonzero(remaining > 0)
    d = 1
    while len(idx):
        again = code[idx + d] == code[idx]
        last[idx[again]] = False
        d += 1
        idx = idx[~again & (remaining[idx] >= d)]
    return last


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
    outcome = outcome_text(opps["outcome"])
    code = outcome_codes(opps["outcome"])
    current_stage = np.where(code == OPEN, _objects(opps["stage"]), np.array(None))
    entered_current = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    opp_row = visits["opp_row"].to_numpy()
    stage = visits["stage"].to_numpy(dtype=object)
    cur = np.flatnonzero(visits["current"].to_numpy(dtype=bool))
    current_stage[opp_row[cur]] = stage[cur]
    entered_current[opp_row[cur]] = visits["entered_at"].to_numpy(dtype="datetime64[ns]")[cur]

    loss_col = _objects(opps["loss_stage"]) if "loss_stage" in opps else np.full(n, None, object)
    lost = code == LOST
    loss_stage = np.where(lost, loss_col, np.array(None))
    loss_from = np.where(pd.notna(loss_stage), "column", np.array(None)).astype(object)
    official = np.flatnonzero(visits["stage_index"].to_numpy() >= 0)
    rows = opp_row[official]
    if len(rows) and np.all(rows[1:] >= rows[:-1]):  # grouped by deal, as build_visits makes it
        last_official = official[np.r_[rows[1:] != rows[:-1], True]]
    else:
        last_official = official[~pd.Series(rows).duplicated(keep="last").to_numpy()]
    last_official = last_official[visits["outcome"].to_numpy()[last_official] == "lost"]
    rows = opp_row[last_official]
    loss_stage[rows] = stage[last_official]
    loss_from[rows] = "history"

    return pd.DataFrame(
        {
            "opportunity_id": _objects(opps["opportunity_id"]).copy(),
            "outcome": outcome,
            "amount": opps["amount"].to_numpy(dtype=float, copy=True),
            "current_stage": current_stage,
            "entered_current_at": entered_current,
            "days_in_current": (np.datetime64(as_of, "ns") - entered_current) / DAY,
            "loss_stage": loss_stage,
            "loss_stage_from": loss_from,
        },
        copy=False,
    )


def stage_durations(visits: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Time-to-leave data per official stage, grouped: ``stage, stage_index, days, event, n``.

    One definition for the time in stage (stage table quantiles and survival curves): each deal's
    last visit to the stage; a visit that ended is an event after ``days``; an open deal's current
    visit is censored at ``as_of`` (``event`` False, ``days = as_of - entered_at``). Visits without
    a usable duration (no close date, dates out of order, entered after ``as_of``) are left out.
    Durations are rounded to the hour and identical ``(stage, days, event)`` rows counted in
    ``n``; rows are sorted by stage index, event, days.
    """
    stage_index = visits["stage_index"].to_numpy()
    last = visits["last_visit"].to_numpy(dtype=bool) & (stage_index >= 0)
    stage_index = stage_index[last]
    current = visits["current"].to_numpy(dtype=bool)[last]
    entered = visits["entered_at"].to_numpy(dtype="datetime64[ns]")[last]
    censored_days = (np.datetime64(as_of, "ns") - entered) / DAY
    days = np.where(current, censored_days, visits["days"].to_numpy(dtype=float)[last])
    ok = np.isfinite(days) & (days >= 0)
    per_day = round(1 / RESOLUTION_DAYS)
    steps = np.round(days[ok] * per_day).astype(np.int64)
    event = (~current[ok]).astype(np.int64)
    span = int(steps.max()) + 1 if len(steps) else 1
    # one integer key per (stage, event, duration): counting keys is the grouping
    keys = (stage_index[ok] * 2 + event) * span + steps
    size = (int(stage_index.max()) + 1) * 2 * span if len(keys) else 0
    if size <= _BINCOUNT_MAX:
        counts = np.bincount(keys, minlength=size)
        key = np.flatnonzero(counts)
        n = counts[key]
    else:
        found = np.unique(keys, return_counts=True)
        key, n = found[0], found[1]
    code = key // span
    # each stage's name, from its first last-visit row (a few stages: one pass each)
    present = np.flatnonzero(np.bincount(stage_index)) if len(stage_index) else stage_index
    first = np.array([np.argmax(stage_index == i) for i in present], dtype=np.int64)
    names = pd.Series(
        visits["stage"].to_numpy(dtype=object)[np.flatnonzero(last)[first]], index=present
    )
    return pd.DataFrame(
        {
            "stage": names.reindex(code // 2).to_numpy(dtype=object),
            "stage_index": code // 2,
            "days": (key % span) / per_day,
            "event": (code % 2).astype(bool),
            "n": n,
        }
    )


def km_fit(durations: pd.DataFrame, timeline: np.ndarray | None = None) -> KaplanMeierFitter:
    """The Kaplan-Meier fit of grouped ``days, event, n`` rows (one stage of
    :func:`stage_durations`), optionally read on ``timeline``."""
    kmf = KaplanMeierFitter()
    return kmf.fit(
        durations["days"],
        durations["event"],
        weights=durations["n"],
        timeline=timeline,
        label="still_in_stage",
    )


def km_quantiles(kmf: KaplanMeierFitter, probs: list[float]) -> list[float]:
    """For each share ``p`` in ``probs``: the first time by which the curve says a share ``p`` had
    left (the first ``t`` with ``S(t) <= 1 - p``). NaN when the curve never gets that low."""
    curve = kmf.survival_function_.iloc[:, 0]
    out = []
    for p in probs:
        t = qth_survival_time(min(1.0, 1.0 - p + _KM_TOLERANCE), curve)
        out.append(float(t) if np.isfinite(t) else float("nan"))
    return out


def _latest_date(visits: pd.DataFrame) -> pd.Timestamp:
    """The latest entry or exit in the visits (the as-of date when none is given)."""
    found = [visits["entered_at"].max(), visits["left_at"].max()]
    found = [t for t in found if pd.notna(t)]
    return max(found) if found else NO_DATES


def _per_stage(labels: np.ndarray, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Stage codes of ``labels`` in ``index`` (-1 outside it) and the count per stage."""
    code = index.get_indexer(pd.Index(labels, dtype=object))
    return code, np.bincount(code[code >= 0], minlength=len(index))


def _stage_value(code: np.ndarray, amount: np.ndarray, k: int, *, any_amount: bool) -> np.ndarray:
    """Sum of ``amount`` per stage code: NaN where the stage's deals have no amount at all, 0 for a
    stage without deals (NaN too when the export has no amount at all)."""
    inside = code >= 0
    known = inside & ~np.isnan(amount)
    deals_n = np.bincount(code[inside], minlength=k)
    known_n = np.bincount(code[known], minlength=k)
    total = np.bincount(code[known], weights=amount[known], minlength=k)
    value = np.where(known_n > 0, total, np.nan)
    return np.where(deals_n == 0, 0.0 if any_amount else np.nan, value)


def stage_table(
    visits: pd.DataFrame,
    deals: pd.DataFrame,
    order: list[str],
    *,
    has_history: bool,
    as_of: pd.Timestamp | None = None,
    durations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The per-stage table in official order (see the module docstring for the definitions).

    ``as_of`` is the date open deals are censored at (the x-ray's as-of date); when not given it
    is the latest entry or exit in the visits. ``durations`` is :func:`stage_durations` of the
    same visits and as-of date, when the caller has it already (the survival curves use it too). Without history, ``entered``, ``advanced``,
    ``conversion`` and the day columns are missing (``<NA>`` / NaN); ``lost_here`` and
    ``open_here`` come from the loss-stage and stage columns.
    """
    index = pd.Index(order, name="stage")
    k = len(index)
    table = pd.DataFrame(index=index)
    outcome = deals["outcome"].to_numpy()
    lost, open_ = outcome == "lost", outcome == "open"
    amount = deals["amount"].to_numpy(dtype=float)
    lost_code, lost_n = _per_stage(deals["loss_stage"].to_numpy()[lost], index)
    open_code, open_n = _per_stage(deals["current_stage"].to_numpy()[open_], index)
    if has_history:
        last = visits["last_visit"].to_numpy() & (visits["stage_index"].to_numpy() >= 0)
        code = visits["stage_index"].to_numpy()[last]
        table["entered"] = np.bincount(code, minlength=k)[:k]
        table["advanced"] = np.bincount(
            code, weights=visits["advanced"].to_numpy()[last], minlength=k
        )[:k].astype(np.int64)
    else:
        table["entered"] = pd.NA
        table["advanced"] = pd.NA
    table["lost_here"] = lost_n
    table["open_here"] = open_n
    for col in ("entered", "advanced", "lost_here", "open_here"):
        table[col] = table[col].astype("Int64")
    decided = table["advanced"] + table["lost_here"]
    table["conversion"] = (table["advanced"] / decided.where(decided > 0)).astype("Float64")
    table["conversion"] = table["conversion"].astype(float)
    lost_unknown = bool(lost.any()) and deals.loc[lost, "loss_stage"].isna().all()
    if lost_unknown:
        # Nobody knows where these deals died: unknown, not zero.
        table["lost_here"] = pd.Series(pd.NA, index=index, dtype="Int64")
        table["conversion"] = np.nan
    known = table["conversion"].notna().to_numpy()
    ci_low, ci_high = wilson_interval(
        np.where(known, table["advanced"].fillna(0).to_numpy(dtype=float), 0.0),
        np.where(known, decided.fillna(0).to_numpy(dtype=float), 0.0),
    )
    table["conversion_ci_low"], table["conversion_ci_high"] = ci_low, ci_high
    _time_in_stage(table, visits, has_history, as_of, durations)
    any_amount = bool(np.isfinite(amount).any())
    table["value_lost"] = _stage_value(lost_code, amount[lost], k, any_amount=any_amount)
    table["value_open"] = _stage_value(open_code, amount[open_], k, any_amount=any_amount)
    if lost_unknown:
        table["value_lost"] = np.nan
    return table.reset_index()[list(STAGE_TABLE_COLUMNS)]


def _time_in_stage(
    table: pd.DataFrame,
    visits: pd.DataFrame,
    has_history: bool,
    as_of: pd.Timestamp | None,
    durations: pd.DataFrame | None,
) -> None:
    """Fill the Kaplan-Meier day quantiles and the completed / censored visit counts."""
    for col in DAY_QUANTILES:
        table[col] = np.nan
    if not has_history:
        table["completed_visits"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
        table["censored_visits"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
        return
    k = len(table)
    if durations is None:
        durations = stage_durations(visits, _latest_date(visits) if as_of is None else as_of)
    code = durations["stage_index"].to_numpy()
    n = durations["n"].to_numpy()
    event = durations["event"].to_numpy(dtype=bool)
    table["completed_visits"] = np.bincount(code[event], weights=n[event], minlength=k)[:k]
    table["censored_visits"] = np.bincount(code[~event], weights=n[~event], minlength=k)[:k]
    for col in ("completed_visits", "censored_visits"):
        table[col] = table[col].astype(np.int64).astype("Int64")
    probs = list(DAY_QUANTILES.values())
    for i, g in durations.groupby("stage_index", sort=True):
        if 0 <= i < k and g["event"].any():
            table.iloc[i, [table.columns.get_loc(c) for c in DAY_QUANTILES]] = km_quantiles(
                km_fit(g), probs
            )
