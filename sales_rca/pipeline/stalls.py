"""Stalled deals, pipeline hygiene and stage survival curves: how long deals sit, which open ones
sit too long, and which are no longer real pipeline.

The rule (see :func:`stall_rule` for the sentence the room reads):

- **Threshold.** Per stage and segment, the ``percentile`` (default p75) of the days won deals
  spent in the stage (each won deal's last visit), used when that stage and segment has at least
  ``min_won`` (default :data:`MIN_WON`) won deals; otherwise the same percentile over the whole
  stage, which needs ``min_won`` won deals too; otherwise the stage has no threshold and its open
  deals are not called stalled.
- **Stalled.** An open deal whose days in its current stage exceed its threshold.
- **Dead, not slow.** A stalled deal that has been in the pipeline (since its creation) longer than
  :data:`DEAD_CYCLE_PERCENTILE` of won deals took from creation to close, or has sat in its stage
  more than :data:`DEAD_STAGE_MULTIPLE` times its threshold. Deals this far out are a pipeline
  clean-up, not a forecast at risk.
- **Slow.** A stalled deal that is not dead. Only slow deals are value at risk.
- **Past due.** An open deal whose (forecast) close date is before the as-of date; a hygiene
  flag beside the status, reported even without stage history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sales_rca.jsonsafe import json_value
from sales_rca.pipeline.stages import DAY, ColumnCodes, factorize_text, km_fit, stage_durations

#: Won deals a stage and segment (or a whole stage) needs before its percentile is a threshold.
MIN_WON = 20
#: A stalled deal is dead when it has been in the pipeline longer than this percentile of won
#: deals' cycle (created to close) ...
DEAD_CYCLE_PERCENTILE = 0.90
#: ... or has sat in its stage more than this many times its threshold.
DEAD_STAGE_MULTIPLE = 3.0

STALL_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "stage",
    "entered_at",
    "days_in_stage",
    "threshold_days",
    "days_over",
    "amount",
)
#: Added after :data:`STALL_COLUMNS` (and ``segment`` when thresholds are per segment).
STALL_STATUS_COLUMNS: tuple[str, ...] = (
    "threshold_source",
    "status",
    "past_due",
    "days_in_pipeline",
)
THRESHOLD_COLUMNS: tuple[str, ...] = ("stage", "segment", "threshold_days", "won_deals", "source")
PAST_DUE_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "stage",
    "close_date",
    "days_past_due",
    "amount",
)
SURVIVAL_COLUMNS: tuple[str, ...] = (
    "stage",
    "days",
    "still_in_stage",
    "ci_low",
    "ci_high",
    "at_risk",
)


# --- thresholds -----------------------------------------------------------------------------


def _segments(
    opportunities: pd.DataFrame | None, segment: str | None, codes: ColumnCodes | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(code per opportunity row (-1 where missing), sorted segment names)``, or None when the
    column is absent or empty."""
    if opportunities is None or not segment or segment not in opportunities:
        return None
    values = opportunities[segment]
    try:
        found, names = (
            factorize_text(values, sort=True) if codes is None else codes.within(segment, sort=True)
        )
    except TypeError:  # values that do not sort together (text and numbers): first-seen order
        found, names = factorize_text(values) if codes is None else codes(segment)
    if not len(names):
        return None
    return found, np.asarray(names, dtype=object)


def _is(values: pd.Series, label: str) -> np.ndarray:
    """``values == label`` as a bool array (fast on categoricals)."""
    return np.asarray(values == label, dtype=bool)


def _won_visits(
    visits: pd.DataFrame, opportunities: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(stage_index, days, opp_row)`` of won deals' last, completed visits to official stages."""
    days = visits["days"].to_numpy(dtype=float)
    stage_index = visits["stage_index"].to_numpy()
    keep = visits["last_visit"].to_numpy(dtype=bool) & (stage_index >= 0) & ~np.isnan(days)
    rows = np.flatnonzero(keep)
    opp_row = visits["opp_row"].to_numpy()[rows]
    if opportunities is not None:  # the deal's outcome, read once per deal (categorical)
        won = _is(opportunities["outcome"], "won")[opp_row]
    else:
        won = _is(visits["outcome"].iloc[rows], "won")
    return stage_index[rows[won]], days[rows[won]], opp_row[won]


def _quantile_by(key: np.ndarray, values: np.ndarray, size: int, q: float) -> np.ndarray:
    """The ``q`` quantile (linear interpolation) of ``values`` per integer ``key`` in
    ``range(size)`` (NaN where a key has none)."""
    return pd.Series(values).groupby(key).quantile(q).reindex(range(size)).to_numpy(dtype=float)


def threshold_table(
    visits: pd.DataFrame,
    order: list[str],
    percentile: float = 0.75,
    *,
    opportunities: pd.DataFrame | None = None,
    segment: str | None = "segment",
    min_won: int = MIN_WON,
    codes: ColumnCodes | None = None,
) -> pd.DataFrame:
    """Stall thresholds per official stage and segment.

    Args:
        visits: stage visits (:func:`sales_rca.pipeline.stages.build_visits`).
        order: the official stage order.
        percentile: share of won deals that had left the stage by the threshold.
        opportunities: the canonical opportunities (for the segment); without them, or without a
            filled ``segment`` column, thresholds are per stage only.
        segment: the column that splits thresholds (default ``segment``).
        min_won: won deals a stage and segment, or a stage, needs for its own threshold.
        codes: the opportunities' columns factorized (:class:`.stages.ColumnCodes`), when the
            caller shares them with other analyses.

    Returns:
        ``stage, segment, threshold_days, won_deals, source``. Per stage, first the stage-wide row
        (``segment`` None: the fallback, and the threshold of deals without a segment), then one
        row per segment value in the data. ``won_deals`` counts the won deals of that row's own
        stage and segment; ``source`` says where ``threshold_days`` comes from (``segment`` or
        ``stage``; None when there is no threshold).
    """
    k = len(order)
    code, days, opp_row = _won_visits(visits, opportunities)
    stage_n = np.bincount(code, minlength=k)[:k]
    stage_t = np.where(stage_n >= min_won, _quantile_by(code, days, k, percentile), np.nan)
    stage_source = np.where(np.isnan(stage_t), np.array(None), "stage")
    found = _segments(opportunities, segment, codes)
    if found is None:
        table = pd.DataFrame(
            {
                "stage": pd.Series(order, dtype=object),
                "segment": None,
                "threshold_days": stage_t,
                "won_deals": stage_n.astype(np.int64),
                "source": stage_source,
            }
        )
        return table[list(THRESHOLD_COLUMNS)]
    seg_codes, names = found
    m = len(names)
    seg = seg_codes[opp_row]
    has = seg >= 0
    cell = code[has] * m + seg[has]
    cell_n = np.bincount(cell, minlength=k * m)[: k * m].reshape(k, m)
    cell_q = _quantile_by(cell, days[has], k * m, percentile).reshape(k, m)
    own = cell_n >= min_won
    # per stage: the stage-wide row first, then one row per segment
    table = pd.DataFrame(
        {
            "stage": np.repeat(np.asarray(order, dtype=object), m + 1),
            "segment": np.tile(np.r_[np.array([None], dtype=object), names], k),
            "threshold_days": np.c_[stage_t, np.where(own, cell_q, stage_t[:, None])].ravel(),
            "won_deals": np.c_[stage_n, cell_n].ravel().astype(np.int64),
            "source": np.c_[
                stage_source, np.where(own, "segment", stage_source[:, None]).astype(object)
            ].ravel(),
        }
    )
    return table[list(THRESHOLD_COLUMNS)]


def stall_thresholds(
    visits: pd.DataFrame, order: list[str], percentile: float = 0.75, *, min_won: int = 1
) -> pd.Series:
    """Per official stage, the ``percentile`` of days won deals spent in it (NaN with fewer than
    ``min_won`` won deals; by default, NaN only with none).

    The stage-wide rows of :func:`threshold_table`: each won deal's last, completed visit.
    """
    table = threshold_table(visits, order, percentile, min_won=min_won)
    return pd.Series(
        table["threshold_days"].to_numpy(dtype=float), index=pd.Index(order, name="stage")
    )


def dead_cycle_days(
    opportunities: pd.DataFrame,
    percentile: float = DEAD_CYCLE_PERCENTILE,
    *,
    min_won: int = MIN_WON,
) -> tuple[float, int]:
    """``(days, won deals)``: the ``percentile`` of won deals' days from creation to close, and
    how many won deals it rests on (NaN with fewer than ``min_won``)."""
    won = _is(opportunities["outcome"], "won")
    close = opportunities["close_date"].to_numpy(dtype="datetime64[ns]")[won]
    created = opportunities["created_date"].to_numpy(dtype="datetime64[ns]")[won]
    cycle = (close - created) / DAY
    cycle = cycle[np.isfinite(cycle) & (cycle >= 0)]
    if len(cycle) < max(min_won, 1):
        return float("nan"), len(cycle)
    return float(np.quantile(cycle, percentile)), len(cycle)


# --- stalled deals --------------------------------------------------------------------------


def _deal_thresholds(
    stage: np.ndarray, labels: np.ndarray | None, thresholds: pd.Series | pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Threshold days and their source for deals in ``stage`` (segment ``labels``)."""
    if isinstance(thresholds, pd.Series):
        limit = pd.Series(stage).map(thresholds).to_numpy(dtype=float)
        return limit, np.where(np.isnan(limit), np.array(None), "stage")
    stage_rows = thresholds[thresholds["segment"].isna()].set_index("stage")
    codes = stage_rows.index.get_indexer(pd.Index(stage, dtype=object))
    found = codes >= 0
    limit = np.where(found, stage_rows["threshold_days"].to_numpy(float)[codes], np.nan)
    source = np.where(found, stage_rows["source"].to_numpy(object)[codes], np.array(None))
    seg_rows = thresholds[thresholds["segment"].notna()]
    if labels is not None and len(seg_rows):
        key = pd.MultiIndex.from_arrays([seg_rows["stage"], seg_rows["segment"]])
        codes = key.get_indexer(pd.MultiIndex.from_arrays([stage, labels]))
        found = codes >= 0
        limit = np.where(found, seg_rows["threshold_days"].to_numpy(float)[codes], limit)
        source = np.where(found, seg_rows["source"].to_numpy(object)[codes], source)
    return limit, source.astype(object)


def _open_deal_thresholds(
    deals: pd.DataFrame,
    thresholds: pd.Series | pd.DataFrame,
    opportunities: pd.DataFrame | None,
    segment: str | None,
    codes: ColumnCodes | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Open deals with a current stage entry: ``(rows, stage, segment, threshold, source)``."""
    entered = deals["entered_current_at"].to_numpy(dtype="datetime64[ns]")
    outcome = deals["outcome"] if opportunities is None else opportunities["outcome"]
    rows = np.flatnonzero(_is(outcome, "open") & ~np.isnat(entered))
    seg: np.ndarray | None = None
    if isinstance(thresholds, pd.DataFrame) and thresholds["segment"].notna().any():
        found = _segments(opportunities, segment, codes)
        if found is not None:
            seg_codes, names = found[0][rows], found[1]
            seg = np.where(seg_codes >= 0, names[np.maximum(seg_codes, 0)], np.array(None))
    stage = deals["current_stage"].to_numpy(dtype=object)[rows]
    limit, source = _deal_thresholds(stage, seg, thresholds)
    return rows, stage, seg, limit, source


def stalls(
    deals: pd.DataFrame,
    thresholds: pd.Series | pd.DataFrame,
    *,
    extra: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
    segment: str | None = "segment",
    dead_after_days: float | None = None,
) -> pd.DataFrame:
    """Open deals whose days in their current stage exceed their threshold, slow or dead.

    Args:
        deals: the per-opportunity table (:func:`sales_rca.pipeline.stages.build_deals`).
        thresholds: days per stage (:func:`stall_thresholds`), or per stage and segment
            (:func:`threshold_table`); deals without a threshold never stall.
        extra: optional columns to carry along (e.g. owner, account), aligned with ``deals``.
        opportunities: the canonical opportunities, aligned with ``deals`` (segment, created and
            close dates); with them ``as_of`` is required.
        as_of: the x-ray's as-of date (for past-due close dates and days in the pipeline).
        segment: the column thresholds are split by (used with a :func:`threshold_table`).
        dead_after_days: days in the pipeline after which a stalled deal is dead
            (:func:`dead_cycle_days`); None or NaN: dead on days in stage alone.

    Returns:
        One row per stalled deal, longest over its threshold first: :data:`STALL_COLUMNS`, then
        ``segment`` (when thresholds are per segment) and :data:`STALL_STATUS_COLUMNS`.
        ``status`` is ``slow`` or ``dead`` (see the module docstring); ``past_due`` is True when
        the deal's close date is before ``as_of`` (``<NA>`` without a close date or without
        ``opportunities``); ``days_in_pipeline`` runs from its creation to ``as_of``.
    """
    if opportunities is not None and as_of is None:
        raise ValueError("stalls() needs as_of together with opportunities.")
    found = _open_deal_thresholds(deals, thresholds, opportunities, segment)
    return _stalled(deals, found, extra, opportunities, as_of, dead_after_days)


def _stalled(
    deals: pd.DataFrame,
    found: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray],
    extra: pd.DataFrame | None,
    opportunities: pd.DataFrame | None,
    as_of: pd.Timestamp | None,
    dead_after_days: float | None,
) -> pd.DataFrame:
    """:func:`stalls` of the open deals and thresholds :func:`_open_deal_thresholds` found."""
    rows, stage, seg, limit, source = found
    in_stage = deals["days_in_current"].to_numpy(dtype=float)[rows]
    over = in_stage > limit  # False where there is no threshold
    rows, stage, limit, source, in_stage = (
        rows[over],
        stage[over],
        limit[over],
        source[over],
        in_stage[over],
    )
    seg = seg[over] if seg is not None else None
    entered = deals["entered_current_at"].to_numpy(dtype="datetime64[ns]")

    age = np.full(len(rows), np.nan)
    past_due = pd.array([pd.NA] * len(rows), dtype="boolean")
    if opportunities is not None:
        ts = np.datetime64(pd.Timestamp(as_of), "ns")
        created = opportunities["created_date"].to_numpy(dtype="datetime64[ns]")[rows]
        age = (ts - created) / DAY
        close = opportunities["close_date"].to_numpy(dtype="datetime64[ns]")[rows]
        past_due = pd.array(close < ts, dtype="boolean")
        past_due[np.isnat(close)] = pd.NA
    dead = in_stage > DEAD_STAGE_MULTIPLE * limit
    if dead_after_days is not None and np.isfinite(dead_after_days):
        dead |= age > dead_after_days  # NaN age (no creation date) is not evidence
    out = pd.DataFrame(
        {
            "opportunity_id": deals["opportunity_id"].to_numpy()[rows],
            "stage": stage,
            "entered_at": entered[rows],
            "days_in_stage": in_stage,
            "threshold_days": limit,
            "days_over": in_stage - limit,
            "amount": deals["amount"].to_numpy(dtype=float)[rows],
        },
        index=deals.index[rows],
    )
    if seg is not None:
        out["segment"] = seg
    out["threshold_source"] = source
    out["status"] = np.where(dead, "dead", "slow").astype(object)
    out["past_due"] = past_due
    out["days_in_pipeline"] = age
    if extra is not None:
        out = out.join(extra.loc[out.index])
    out = out.sort_values(["days_over", "amount"], ascending=[False, False], kind="stable")
    return out.reset_index(drop=True)


def past_due_deals(opportunities: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Open deals whose (forecast) close date is before ``as_of``, most overdue first.

    Needs no stage history. Columns: ``opportunity_id, stage, close_date, days_past_due, amount``.
    """
    opps = opportunities
    ts = np.datetime64(pd.Timestamp(as_of), "ns")
    close = opps["close_date"].to_numpy(dtype="datetime64[ns]")
    due = _is(opps["outcome"], "open") & ~np.isnat(close) & (close < ts)
    picked = opps[due]
    out = pd.DataFrame(
        {
            "opportunity_id": picked["opportunity_id"].to_numpy(),
            "stage": picked["stage"].to_numpy(dtype=object),
            "close_date": close[due],
            "days_past_due": (ts - close[due]) / DAY,
            "amount": picked["amount"].to_numpy(dtype=float),
        }
    )
    out = out.sort_values(["days_past_due", "amount"], ascending=[False, False], kind="stable")
    return out.reset_index(drop=True)


# --- hygiene --------------------------------------------------------------------------------


@dataclass
class Hygiene:
    """How much of the open pipeline is real: slow, dead and past-due deals, and value at risk.

    Counts are None and values NaN when unknown (slow and dead need stage history, past due a
    close date, values an amount). ``at_risk_value`` is the value of slow deals only: dead and
    past-due deals are hygiene (clean the CRM), not risk (a forecast that may slip), and a deal
    can be past due and slow at once. ``at_risk_share`` is ``at_risk_value / open_value``.
    ``unjudged_deals``: open deals that could not be judged slow or dead (no stage history for
    the deal, or a stage with too few won deals for a threshold); slow and dead are unknown (None)
    when no open deal could be judged. ``rule`` is the sentence that defines it all
    (:func:`stall_rule`).
    """

    open_deals: int
    open_value: float
    slow_deals: int | None
    slow_value: float
    dead_deals: int | None
    dead_value: float
    past_due_deals: int | None
    past_due_value: float
    at_risk_value: float
    at_risk_share: float
    unjudged_deals: int
    rule: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: unknown numbers become None."""
        return json_value(asdict(self))


def _value(amount: np.ndarray, *, any_amount: bool) -> float:
    """Sum of the known amounts: 0 for no deals, NaN when none is known (or none in the data)."""
    if not any_amount:
        return float("nan")
    if len(amount) == 0:
        return 0.0
    known = amount[~np.isnan(amount)]
    return float(known.sum()) if len(known) else float("nan")


def stall_rule(
    percentile: float = 0.75,
    min_won: int = MIN_WON,
    *,
    by_segment: bool = True,
    dead_after_days: float | None = None,
) -> str:
    """The at-risk rule as one plain sentence (what :class:`Hygiene` figures mean).

    ``dead_after_days`` is the won deals' cycle percentile (:func:`dead_cycle_days`): stated in
    days when known, NaN when too few won deals have dates, None to state the rule in general.
    """
    pct = f"{percentile:.0%}"
    won = f"{min_won} won deal" + ("" if min_won == 1 else "s")
    where = " in the same segment" if by_segment else ""
    basis = (
        f"at least {won} in that stage and segment, else the whole stage with at least {min_won}"
        if by_segment
        else f"at least {won}"
    )
    stage_rule = f"in its stage more than {DEAD_STAGE_MULTIPLE:g} times the threshold"
    age_rule = (
        f"in the pipeline longer than {DEAD_CYCLE_PERCENTILE:.0%} of won deals took from "
        "creation to close"
    )
    if dead_after_days is None:
        dead = f"{age_rule}, or {stage_rule}"
    elif np.isfinite(dead_after_days):
        dead = f"{age_rule} ({dead_after_days:.0f} days), or {stage_rule}"
    else:
        dead = f"{stage_rule}; too few won deals have dates to judge its age"
    return (
        f"An open deal is at risk when it has sat in its stage longer than {pct} of won deals "
        f"did{where} ({basis}; stages with fewer have no threshold), and is not yet dead "
        f"({dead}). "
        "Dead deals and past-due close dates are pipeline hygiene, not value at risk."
    )


def hygiene(
    opportunities: pd.DataFrame,
    as_of: pd.Timestamp,
    stalled: pd.DataFrame | None = None,
    *,
    rule: str | None = None,
    past_due: pd.DataFrame | None = None,
    unjudged_deals: int | None = None,
) -> Hygiene:
    """The hygiene summary of the open pipeline.

    Args:
        opportunities: the canonical opportunities.
        as_of: the x-ray's as-of date.
        stalled: the stalls table (:func:`stalls`); None without stage history, and then slow
            and dead deals are unknown while past-due deals are still counted.
        rule: the sentence that defines the figures (default :func:`stall_rule`).
        past_due: :func:`past_due_deals` of the same data, when the caller has it already.
        unjudged_deals: open deals ``stalled`` could not judge (default: all when ``stalled`` is
            None, else none).
    """
    opps = opportunities
    open_mask = _is(opps["outcome"], "open")
    amount = opps["amount"].to_numpy(dtype=float)[open_mask]
    any_amount = bool(np.isfinite(amount).any())
    notes: list[str] = []
    due = past_due_deals(opps, as_of) if past_due is None else past_due
    has_close = (~np.isnat(opps["close_date"].to_numpy(dtype="datetime64[ns]")[open_mask])).any()
    if open_mask.any() and not has_close:
        past_n, past_value = None, float("nan")
        notes.append("No open deal has a close date: past-due deals are unknown.")
    else:
        past_n = len(due)
        past_value = _value(due["amount"].to_numpy(dtype=float), any_amount=any_amount)
    if stalled is None:
        slow_n = dead_n = None
        slow_value = dead_value = float("nan")
    else:
        status = stalled["status"].to_numpy()
        stalled_amount = stalled["amount"].to_numpy(dtype=float)
        slow_n, dead_n = int((status == "slow").sum()), int((status == "dead").sum())
        slow_value = _value(stalled_amount[status == "slow"], any_amount=any_amount)
        dead_value = _value(stalled_amount[status == "dead"], any_amount=any_amount)
    open_value = _value(amount, any_amount=any_amount)
    share = slow_value / open_value if open_value > 0 else float("nan")
    return Hygiene(
        open_deals=int(open_mask.sum()),
        open_value=open_value,
        slow_deals=slow_n,
        slow_value=slow_value,
        dead_deals=dead_n,
        dead_value=dead_value,
        past_due_deals=past_n,
        past_due_value=past_value,
        at_risk_value=slow_value,
        at_risk_share=float(share),
        unjudged_deals=(
            unjudged_deals
            if unjudged_deals is not None
            else (int(open_mask.sum()) if stalled is None else 0)
        ),
        rule=rule if rule is not None else stall_rule(),
        notes=notes,
    )


@dataclass
class StallAnalysis:
    """Thresholds, stalled deals, past-due deals and the hygiene summary, from one rule.

    ``dead_after_days`` is the won deals' p90 cycle (NaN when too few won deals have dates);
    ``notes`` say what could not be judged, in sentences a facilitator can read out.
    """

    thresholds: pd.DataFrame
    stalls: pd.DataFrame
    past_due: pd.DataFrame
    hygiene: Hygiene
    dead_after_days: float
    notes: list[str] = field(default_factory=list)


def analyse_stalls(
    visits: pd.DataFrame,
    deals: pd.DataFrame,
    opportunities: pd.DataFrame,
    order: list[str],
    as_of: pd.Timestamp,
    percentile: float = 0.75,
    *,
    segment: str | None = "segment",
    min_won: int = MIN_WON,
    extra: pd.DataFrame | None = None,
    codes: ColumnCodes | None = None,
) -> StallAnalysis:
    """Stall thresholds per stage and segment, stalled deals (slow or dead), past-due deals and
    the hygiene summary (see the module docstring for the rule).

    ``deals`` and ``extra`` are aligned with ``opportunities`` (as
    :func:`sales_rca.pipeline.stages.build_deals` makes them). Without stage history, slow and
    dead are unknown and only past-due deals are reported. ``codes``: the opportunities'
    columns factorized (:class:`.stages.ColumnCodes`), when the caller shares them.
    """
    has_history = not visits.empty
    table = threshold_table(
        visits,
        order,
        percentile,
        opportunities=opportunities,
        segment=segment,
        min_won=min_won,
        codes=codes,
    )
    by_segment = bool(table["segment"].notna().any())
    dead_days, won_with_dates = dead_cycle_days(opportunities, min_won=min_won)
    notes: list[str] = []
    open_deals = int(_is(opportunities["outcome"], "open").sum())
    unjudged = open_deals
    if has_history:
        found = _open_deal_thresholds(deals, table, opportunities, segment, codes)
        unjudged = open_deals - int(np.isfinite(found[3]).sum())
        stalled = _stalled(deals, found, extra, opportunities, as_of, dead_days)
        stage_rows = table[table["segment"].isna()]
        missing = stage_rows.loc[stage_rows["threshold_days"].isna(), "stage"].tolist()
        if missing:
            notes.append(
                f"Fewer than {min_won} won deals have left these stages, so their open deals are "
                f"not called stalled: {', '.join(map(str, missing))}."
            )
        fallback = table[
            table["segment"].notna() & (table["source"] == "stage") & (table["won_deals"] > 0)
        ]
        if by_segment and len(fallback):
            notes.append(
                f"{len(fallback)} stage and segment pairs have fewer than {min_won} won deals and "
                "use the whole stage's threshold."
            )
        if np.isnan(dead_days):
            notes.append(
                f"Only {won_with_dates} won deals have a creation and a close date (fewer than "
                f"{min_won}): dead deals are those in their stage more than "
                f"{DEAD_STAGE_MULTIPLE:g} times the threshold."
            )
        if unjudged and unjudged < open_deals:
            notes.append(
                f"{unjudged} open deals could not be judged slow or dead (no stage history for "
                "them, or a stage without a threshold)."
            )
    else:
        stalled = None
        notes.append(
            "No stage history: slow and dead deals are unknown; past-due close dates are "
            "reported from the close dates alone."
        )
    rule = stall_rule(percentile, min_won, by_segment=by_segment, dead_after_days=dead_days)
    due = past_due_deals(opportunities, as_of)
    judged = stalled if unjudged < open_deals or not open_deals else None  # none: unknown
    summary = hygiene(
        opportunities, as_of, judged, rule=rule, past_due=due, unjudged_deals=unjudged
    )
    empty = stalls(deals.iloc[0:0], table.iloc[0:0]) if stalled is None else stalled
    return StallAnalysis(
        thresholds=table,
        stalls=empty,
        past_due=due,
        hygiene=summary,
        dead_after_days=dead_days,
        notes=notes + summary.notes,
    )


# --- survival -------------------------------------------------------------------------------


def survival_curves(
    visits: pd.DataFrame,
    order: list[str],
    as_of: pd.Timestamp,
    *,
    max_points: int = 400,
    durations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier curves of the time to leave each official stage.

    A visit that ended (next stage or close) is an event; an open deal still in the stage is
    censored at ``as_of``. Each deal's last visit to the stage is used
    (:func:`sales_rca.pipeline.stages.stage_durations`, the same data as the stage table's
    quantiles). The curve is read on a grid of whole days (at most ``max_points`` points per
    stage) with a 95% confidence band. ``durations``: :func:`stage_durations` of the same visits
    and as-of date, when the caller has it already.

    Returns:
        Long table ``stage, days, still_in_stage, ci_low, ci_high, at_risk``.
    """
    grouped = stage_durations(visits, as_of) if durations is None else durations
    by_stage = dict(tuple(grouped.groupby("stage_index", sort=True)))
    parts = []
    for i, stage in enumerate(order):
        g = by_stage.get(i)
        if g is None or g.empty:
            continue
        top = float(np.ceil(g["days"].max()))
        step = max(1.0, np.ceil(top / max_points))
        grid = np.arange(0.0, top + step, step)
        kmf = km_fit(g, timeline=grid)
        ci = kmf.confidence_interval_survival_function_
        # deals still in the stage at each grid day (left or censored later than that day)
        d = g["days"].to_numpy()
        order_d = np.argsort(d)
        tail = np.r_[np.cumsum(g["n"].to_numpy()[order_d][::-1])[::-1], 0]
        at_risk = tail[np.searchsorted(d[order_d], grid, side="left")]
        parts.append(
            pd.DataFrame(
                {
                    "stage": stage,
                    "days": grid,
                    "still_in_stage": kmf.survival_function_.iloc[:, 0].to_numpy(),
                    "ci_low": ci.iloc[:, 0].to_numpy(),
                    "ci_high": ci.iloc[:, 1].to_numpy(),
                    "at_risk": at_risk,
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in SURVIVAL_COLUMNS}).astype(
            {"stage": object}
        )
    return pd.concat(parts, ignore_index=True)[list(SURVIVAL_COLUMNS)]
