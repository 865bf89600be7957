"""The pipeline over time: win rate per created quarter, stage conversion per quarter, the
quarter-end effect, cycle length and win rate by deal size.

A leadership team that reads only this quarter's number sees one point of a moving picture. These
views put the quarters side by side, and say which quarters cannot be read yet.

Definitions:

- **Created quarter** of a deal: the calendar quarter of its ``created_date`` (``2025Q3``).
  ``win_rate = won / (won + lost)`` with a Wilson 95% interval; NaN without closed deals.
- **Mature** (:func:`is_mature`, one rule for every view and for :mod:`.accounts`): at most
  :data:`MATURE_MAX_OPEN_SHARE` of the cohort's deals are still open. A young cohort's win rate
  is biased: the deals that close quickly (quick losses, easy wins) are the only ones read yet.
- **Stage conversion by quarter**: per official stage and quarter of the deal's last entry into
  it (one count per deal and stage, as in :func:`.stages.stage_table`): ``entered``,
  ``advanced``, ``lost`` (lost deals whose last official stage it was), ``open`` (open deals
  that have not moved past it), ``conversion = advanced / (advanced + lost)``; mature by the
  same rule with ``open / entered``.
- **Quarter-end effect**: the share of won deals whose close date falls in the last
  :data:`QUARTER_END_DAYS` calendar days of its quarter, against the share of the calendar
  those days cover. The calendar is the span the data observes closes in (first to last close
  date), quarter by quarter, so a partial first or last quarter does not tilt the baseline; the
  expected share is the average, over won deals, of the window's share of their quarter's
  observed days. Closing volume that grows or shrinks within a quarter tilts that baseline a
  little, so only a clear excess counts (:data:`QUARTER_END_MIN_RATIO`). The binomial test
  against that share is slightly conservative (the exact null is a Poisson-binomial with less
  spread). A close date is when someone recorded the close, not
  when the buyer decided: bunching can be discounting to hit the number, pushing dates to the
  quarter end, or both; the view shows *that* deals bunch, not why. The win rate of deals
  closed in the window against the rest is given too, but lost deals are often closed in bulk
  in a quarter-end clean-up, which lowers the window's win rate without any deal being lost
  there: read it with that in mind.
- **Cycle length**: created -> close days. ``won`` and ``lost`` rows are the median (with an
  order-statistic 95% interval, :func:`scipy.stats.quantile_test`) and p75 over *closed* deals
  only: conditional on having closed, and short-biased while long deals are still open. The
  ``all deals`` row is the Kaplan-Meier (:mod:`lifelines`) time to close of every deal with a
  created date, open deals censored at the as-of date (won and lost both count as a close):
  "half of all deals close within ... days". No competing-risk split of won vs lost is made.
- **Deal size**: amounts in at most :data:`SIZE_BANDS` quantile bands (edges over all deals with
  an amount, right-closed), plus an ``amount unknown`` row; deals, won, lost, open, win rate with
  interval. Skipped when every lost deal's amount is 0 (a booked value, not a deal size: the
  bands would only say that lost deals book nothing).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy import stats

from sales_rca.display import counted, money, number, share
from sales_rca.jsonsafe import json_value, records
from sales_rca.pipeline.drivers import BLANK, band_edges, group_codes, wilson_interval
from sales_rca.pipeline.stages import LOST, NO_DATES, OPEN, WON, outcome_codes

#: A cohort (created quarter, or quarter of stage entry) is *mature* -- its rate can be read --
#: when at most this share of its deals is still open.
MATURE_MAX_OPEN_SHARE = 0.20
#: The quarter-end window: the last this many calendar days of each quarter.
QUARTER_END_DAYS = 14
#: Won deals "bunch" at quarter end when the window holds significantly more of them than the
#: calendar gives, and at least this many times as many; "slightly bunched" from
#: ``QUARTER_END_SLIGHT_RATIO`` (and "spread" below its inverse). A smaller, if significant,
#: excess is not called an effect: volume that ramps up or down within a quarter (e.g. at the
#: start of the data) tilts the share that much on its own.
QUARTER_END_MIN_RATIO = 1.25
QUARTER_END_SLIGHT_RATIO = 1.1
#: At most this many deal-size bands (quantiles of the amount).
SIZE_BANDS = 5
#: The label of deals without an amount in the deal-size table.
UNKNOWN_AMOUNT = "amount unknown"

QUARTER_COLUMNS: tuple[str, ...] = (
    "period", "created", "won", "lost", "open", "win_rate", "ci_low", "ci_high", "mature",
)  # fmt: skip
STAGE_QUARTER_COLUMNS: tuple[str, ...] = (
    "stage", "stage_index", "period", "entered", "advanced", "lost", "open", "conversion",
    "ci_low", "ci_high", "mature",
)  # fmt: skip
CYCLE_COLUMNS: tuple[str, ...] = (
    "group", "deals", "closed", "censored", "median_days", "median_ci_low", "median_ci_high",
    "p75_days", "method",
)  # fmt: skip
SIZE_COLUMNS: tuple[str, ...] = (
    "band", "low", "high", "deals", "won", "lost", "open", "win_rate", "ci_low", "ci_high",
)  # fmt: skip
CLOSED_ONLY = "closed deals only"
KAPLAN_MEIER = "Kaplan-Meier, open deals censored at the as-of date"
_DAY = np.timedelta64(1, "D")


def is_mature(open_: Any, total: Any) -> np.ndarray:
    """True where a cohort can be read: it has deals and at most
    :data:`MATURE_MAX_OPEN_SHARE` of them are still open (element-wise)."""
    open_ = np.asarray(open_, dtype=float)
    total = np.asarray(total, dtype=float)
    return (total > 0) & (open_ <= MATURE_MAX_OPEN_SHARE * total)


def quarter_codes(dates: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, valid)``: calendar quarters since 1970Q1 (int) and where the date is known."""
    d = _naive(dates)
    valid = ~np.isnat(d)
    if not valid.any():
        return np.zeros(len(d), dtype=np.int64), valid
    # calendar arithmetic once per day in the range, then a lookup per date
    day = d.view(np.int64) // (86_400 * 10**9)
    lo, hi = day[valid].min(), day[valid].max()
    lookup = np.arange(lo, hi + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return np.where(valid, lookup[np.clip(day - lo, 0, hi - lo)] // 3, 0), valid


def quarter_label(code: int) -> str:
    """``222`` -> ``2025Q3``: the pandas quarterly period string of a quarter code."""
    code = int(code)
    return f"{1970 + code // 4}Q{code % 4 + 1}"


@dataclass(frozen=True)
class QuarterEnd:
    """Do won deals bunch in the last days of the quarter (see the module docstring)?

    ``share`` of the ``won`` deals closed in the window (``won_in_window``), its Wilson interval,
    ``expected_share`` (the calendar's), ``ratio`` (share / expected), the binomial ``p_value``,
    ``verdict`` (``bunched``, ``slightly bunched``, ``spread`` or ``no evidence``, see
    :data:`QUARTER_END_MIN_RATIO`) and ``text`` (a sentence); then the win rate of deals closed
    in the window against the rest, each with an interval, and Fisher's exact
    ``win_rate_p_value``.
    """

    window_days: int
    won: int
    won_in_window: int
    share: float
    ci_low: float
    ci_high: float
    expected_share: float
    ratio: float
    p_value: float
    verdict: str
    closed_in_window: int
    win_rate_in_window: float
    win_rate_in_window_ci: tuple[float, float]
    closed_rest: int
    win_rate_rest: float
    win_rate_rest_ci: tuple[float, float]
    win_rate_p_value: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return json_value(asdict(self))


@dataclass
class Trend:
    """The views over time (see the module docstring). Every table may be empty, with a note.

    Attributes:
        by_created_quarter: :data:`QUARTER_COLUMNS`, oldest quarter first.
        stage_by_quarter: :data:`STAGE_QUARTER_COLUMNS`, official order then quarter (empty
            without stage history).
        quarter_end: the quarter-end effect, or None without won deals with a close date.
        cycle: :data:`CYCLE_COLUMNS`, rows ``won``, ``lost`` (closed deals) and ``all deals``
            (Kaplan-Meier).
        by_size: :data:`SIZE_COLUMNS`, smallest band first, ``amount unknown`` last.
        as_of: the date open deals are censored at (None without dates).
        notes: sentences a facilitator can read out.
    """

    by_created_quarter: pd.DataFrame
    stage_by_quarter: pd.DataFrame
    quarter_end: QuarterEnd | None
    cycle: pd.DataFrame
    by_size: pd.DataFrame
    as_of: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when no view over time could be computed (no dates)."""
        return self.by_created_quarter.empty and self.stage_by_quarter.empty and self.cycle.empty

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None, tables become lists of dicts."""
        return {
            "as_of": self.as_of.isoformat() if self.as_of is not None else None,
            "mature_max_open_share": MATURE_MAX_OPEN_SHARE,
            "by_created_quarter": records(self.by_created_quarter),
            "stage_by_quarter": records(self.stage_by_quarter),
            "quarter_end": self.quarter_end.to_dict() if self.quarter_end else None,
            "cycle": records(self.cycle),
            "by_size": records(self.by_size),
            "notes": list(self.notes),
        }


def trend(
    opportunities: pd.DataFrame,
    visits: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
) -> Trend:
    """The pipeline over time: created-quarter win rates, stage conversion per quarter, the
    quarter-end effect, cycle length (won, lost, all deals) and win rate by deal size.

    Args:
        opportunities: the canonical opportunities table.
        visits: stage visits from :func:`sales_rca.pipeline.stages.build_visits` (optional;
            empty or None without stage history).
        as_of: the date open deals are censored at; default the latest created date, close date
            of a closed deal, or stage entry. ``NO_DATES`` counts as none.

    Example:
        >>> t = trend(crm.opportunities, visits, as_of="2025-09-30")
        >>> t.by_created_quarter[["period", "win_rate", "mature"]]
    """
    opps = opportunities
    notes: list[str] = []
    outcome = outcome_codes(opps["outcome"])
    created = _naive(opps["created_date"])
    close = _naive(opps["close_date"])
    # an open deal's close date is a forecast, not something that happened
    close = np.where(_closed(outcome), close, np.datetime64("NaT")).astype("datetime64[ns]")
    has_visits = visits is not None and not visits.empty
    as_of_ts = _as_of(as_of, created, close, visits if has_visits else None)

    by_size = _by_size(opps["amount"].to_numpy(dtype=float), outcome, notes)
    if as_of_ts is None:
        notes.insert(
            0,
            "No created or close dates: the win rate per quarter, the quarter-end effect and the "
            "cycle length need them and were not computed.",
        )
        return Trend(
            _empty(QUARTER_COLUMNS),
            _empty(STAGE_QUARTER_COLUMNS),
            None,
            _empty(CYCLE_COLUMNS),
            by_size,
            None,
            notes,
        )
    by_quarter = _by_created_quarter(created, outcome, notes)
    by_stage = _stage_by_quarter(visits, outcome) if has_visits else _empty(STAGE_QUARTER_COLUMNS)
    if has_visits and by_stage.empty:
        notes.append("No stage entries in official stages: no stage conversion per quarter.")
    quarter_end = _quarter_end(close, outcome, notes)
    cycle = _cycle(created, close, outcome, as_of_ts, notes)
    return Trend(by_quarter, by_stage, quarter_end, cycle, by_size, as_of_ts, notes)


# --- created quarters -------------------------------------------------------------------------


def _by_created_quarter(created: np.ndarray, outcome: np.ndarray, notes: list[str]) -> pd.DataFrame:
    code, valid = quarter_codes(created)
    if not valid.any():
        notes.append("No created dates: the win rate per created quarter was not computed.")
        return _empty(QUARTER_COLUMNS)
    if not valid.all():
        notes.append(
            f"{counted(int((~valid).sum()), 'deal')} without a created date "
            f"{_be(int((~valid).sum()))} left out of the quarters."
        )
    code = code[valid]
    low = int(code.min())
    idx = code - low
    size = int(idx.max()) + 1
    counts = _tally(idx, outcome[valid], size)
    created_n = np.bincount(idx, minlength=size)
    keep = created_n > 0
    table = pd.DataFrame(
        {
            "period": [quarter_label(int(low + i)) for i in np.flatnonzero(keep)],
            "created": created_n[keep],
            **{o: c[keep] for o, c in counts.items()},
        }
    )
    _rate(table, "won", "lost", "win_rate")
    table["mature"] = is_mature(table["open"], table["created"])
    _quarter_notes(table, notes)
    return table[list(QUARTER_COLUMNS)]


def _quarter_notes(table: pd.DataFrame, notes: list[str]) -> None:
    young = table.loc[~table["mature"] & (table["created"] > 0), "period"].tolist()
    if young:
        notes.append(
            f"Deals created in {_join(young)} cannot be read yet: more than "
            f"{share(MATURE_MAX_OPEN_SHARE)} of them are still open, and the deals that close "
            "first (quick losses, easy wins) bias the win rate."
        )
    ripe = table[table["mature"] & table["win_rate"].notna()]
    if len(ripe) >= 2:
        lo, hi = ripe.loc[ripe["win_rate"].idxmin()], ripe.loc[ripe["win_rate"].idxmax()]
        grid = np.column_stack([ripe["won"], ripe["lost"]]).astype(float)
        grid = grid[:, grid.sum(axis=0) > 0]
        p = (
            float(stats.chi2_contingency(grid, correction=False)[1])
            if grid.shape[1] == 2
            else float("nan")
        )
        verdict = (
            "more than chance would explain"
            if p < 0.05
            else "no more than chance would explain"
            if not math.isnan(p)
            else "with no test possible"
        )
        notes.append(
            f"Across the quarters that can be read, the win rate of deals by created quarter "
            f"ranged from {share(lo['win_rate'])} ({lo['period']}) to {share(hi['win_rate'])} "
            f"({hi['period']}): {verdict}" + (f" (p = {p:.2g})." if not math.isnan(p) else ".")
        )


# --- stage conversion per quarter -------------------------------------------------------------


def _stage_by_quarter(visits: pd.DataFrame, deal_outcome: np.ndarray) -> pd.DataFrame:
    stage_index = visits["stage_index"].to_numpy(dtype=np.int64)
    # one count per deal and official stage: its last visit there (as in the stage table)
    rows = np.flatnonzero((stage_index >= 0) & visits["last_visit"].to_numpy(dtype=bool))
    if "opp_row" in visits:
        deal = visits["opp_row"].to_numpy()[rows]
        outcome = deal_outcome[deal]
    else:
        deal = pd.factorize(visits["opportunity_id"])[0][rows]
        outcome = outcome_codes(visits["outcome"])[rows]
    # a lost deal dies at its last official stage: its last official visit, which is always
    # the last visit there, so the last of these rows per deal
    if len(deal) and np.all(deal[1:] >= deal[:-1]):  # visits come grouped by deal, in order
        last_official = np.r_[deal[1:] != deal[:-1], True]
    else:
        last_official = ~pd.Series(deal).duplicated(keep="last").to_numpy()
    q, dated = quarter_codes(visits["entered_at"].to_numpy()[rows])
    if not dated.any():
        return _empty(STAGE_QUARTER_COLUMNS)
    s = stage_index[rows]
    advanced = visits["advanced"].to_numpy(dtype=bool)[rows]
    q0 = int(q[dated].min())
    width = int(q[dated].max()) - q0 + 1
    key = np.where(dated, s * width + (q - q0), -1)
    size = int(key.max()) + 1
    entered = np.bincount(key[dated], minlength=size)
    present = np.flatnonzero(entered)
    # one name per stage index: the name of its first visit
    first = np.full(int(s.max()) + 1, -1, dtype=np.int64)
    first[s[::-1]] = rows[::-1]
    known = np.flatnonzero(first >= 0)
    names = pd.Series(visits["stage"].to_numpy()[first[known]], index=known)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(key[mask & dated], minlength=size)[present]

    table = pd.DataFrame(
        {
            "stage_index": present // width,
            "period": [quarter_label(q0 + int(i)) for i in present % width],
            "entered": entered[present],
            "advanced": count(advanced),
            "lost": count(last_official & (outcome == LOST)),
            "open": count((outcome == OPEN) & ~advanced),
        }
    )
    table["stage"] = names.reindex(table["stage_index"]).to_numpy()
    _rate(table, "advanced", "lost", "conversion")
    table["mature"] = is_mature(table["open"], table["entered"])
    return table[list(STAGE_QUARTER_COLUMNS)]


# --- quarter end ------------------------------------------------------------------------------


def _quarter_end(close: np.ndarray, outcome: np.ndarray, notes: list[str]) -> QuarterEnd | None:
    dated = ~np.isnat(close)
    won = dated & (outcome == WON)
    if not won.any():
        notes.append("No won deal has a close date: the quarter-end effect was not computed.")
        return None
    day = close.astype("datetime64[D]")
    q = np.where(dated, day.astype("datetime64[M]").astype(np.int64) // 3, 0)
    q_end = ((q + 1) * 3).astype("datetime64[M]").astype("datetime64[D]")  # next quarter's start
    in_window = (q_end - day) / _DAY <= QUARTER_END_DAYS

    # the calendar the data observes closes in, quarter by quarter
    first, last = day[dated].min(), day[dated].max() + np.timedelta64(1, "D")
    quarters = np.arange(q[dated].min(), q[dated].max() + 1)
    q_start = (quarters * 3).astype("datetime64[M]").astype("datetime64[D]")
    q_stop = ((quarters + 1) * 3).astype("datetime64[M]").astype("datetime64[D]")
    observed = _overlap(q_start, q_stop, first, last)
    window = _overlap(q_stop - np.timedelta64(QUARTER_END_DAYS, "D"), q_stop, first, last)
    calendar_share = window / np.where(observed > 0, observed, 1)
    expected = float(calendar_share[q[won] - quarters[0]].mean())
    if not 0 < expected < 1:
        where = "never reach" if expected == 0 else "all fall in"
        notes.append(
            f"The close dates {where} the last {QUARTER_END_DAYS} days of a quarter: the "
            "quarter-end effect was not computed."
        )
        return None

    n = int(won.sum())
    k = int((won & in_window).sum())
    low, high = (float(x[0]) for x in wilson_interval(np.array([k]), np.array([n])))
    p = float(stats.binomtest(k, n, expected).pvalue)
    observed_share = k / n
    ratio = observed_share / expected
    seen = (
        f"{share(observed_share, 1)} of won deals closed in the last {QUARTER_END_DAYS} days of "
        f"their quarter, which cover {share(expected, 1)} of the calendar"
    )
    clear_above, clear_below = low > expected, high < expected
    if clear_above and ratio >= QUARTER_END_MIN_RATIO:
        verdict, text = "bunched", f"Won deals bunch at quarter end: {seen}."
    elif clear_above and ratio >= QUARTER_END_SLIGHT_RATIO:
        verdict = "slightly bunched"
        text = (
            f"Won deals close at quarter end a little more often than the calendar gives: {seen}."
        )
    elif clear_below and ratio <= 1 / QUARTER_END_SLIGHT_RATIO:
        verdict = "spread"
        text = f"Fewer won deals close at quarter end than the calendar gives: {seen}."
    elif clear_above or clear_below:
        verdict = "no evidence"
        text = f"Won deals close at quarter end about as often as the calendar gives: {seen}."
    else:
        verdict, text = "no evidence", f"No quarter-end bunching the data can show: {seen}."
    notes.append(text + " A close date is when the close was recorded, not when the buyer decided.")

    closed_dated = dated & _closed(outcome)
    is_won = outcome == WON
    a, b = closed_dated & in_window, closed_dated & ~in_window
    wa, wb = int((a & is_won).sum()), int((b & is_won).sum())
    na, nb = int(a.sum()), int(b.sum())
    (la, lb), (ha, hb) = wilson_interval(np.array([wa, wb]), np.array([na, nb]))
    fisher = (
        float(stats.fisher_exact([[wa, na - wa], [wb, nb - wb]])[1]) if na and nb else float("nan")
    )
    rate_a = wa / na if na else float("nan")
    rate_b = wb / nb if nb else float("nan")
    if na and nb:
        notes.append(
            f"Deals closed in the last {QUARTER_END_DAYS} days of a quarter were won "
            f"{share(rate_a)} of the time, {share(rate_b)} at other times"
            + (f" (p = {fisher:.2g})" if not math.isnan(fisher) else "")
            + ": a quarter-end clean-up of lost deals would lower the first figure, discounts "
            "to close by the quarter end would raise it."
        )
    return QuarterEnd(
        window_days=QUARTER_END_DAYS,
        won=n,
        won_in_window=k,
        share=observed_share,
        ci_low=low,
        ci_high=high,
        expected_share=expected,
        ratio=ratio,
        p_value=p,
        verdict=verdict,
        closed_in_window=na,
        win_rate_in_window=rate_a,
        win_rate_in_window_ci=(float(la), float(ha)),
        closed_rest=nb,
        win_rate_rest=rate_b,
        win_rate_rest_ci=(float(lb), float(hb)),
        win_rate_p_value=fisher,
        text=text,
    )


def _overlap(
    start: np.ndarray, stop: np.ndarray, lo: np.datetime64, hi: np.datetime64
) -> np.ndarray:
    """Days of ``[start, stop)`` inside ``[lo, hi)``, element-wise."""
    days = (np.minimum(stop, hi) - np.maximum(start, lo)) / _DAY
    return np.maximum(days, 0.0)


# --- cycle length -----------------------------------------------------------------------------


def _cycle(
    created: np.ndarray,
    close: np.ndarray,
    outcome: np.ndarray,
    as_of: pd.Timestamp,
    notes: list[str],
) -> pd.DataFrame:
    # calendar days, as people count them (NaN where either date is missing)
    days = _calendar_days(created, close)
    negative = int((days < 0).sum())
    if negative:
        notes.append(
            f"{counted(negative, 'deal')} with a close date before the created date "
            f"{_be(negative)} left out of the cycle length."
        )
    rows = []
    medians: dict[str, float] = {}
    for group, code in (("won", WON), ("lost", LOST)):
        d = days[(outcome == code) & (days >= 0)]
        median, ci_low, ci_high, p75 = (float("nan"),) * 4
        if len(d):
            median, p75 = (float(x) for x in np.quantile(d, [0.5, 0.75]))
            ci = stats.quantile_test(d, q=median, p=0.5).confidence_interval(0.95)
            ci_low, ci_high = _finite(ci.low), _finite(ci.high)
        medians[group] = median
        rows.append((group, len(d), len(d), 0, median, ci_low, ci_high, p75, CLOSED_ONLY))

    open_ = outcome == OPEN
    stamp = np.full(len(created), np.datetime64(as_of.to_datetime64(), "ns"))
    duration = np.where(open_, _calendar_days(created, stamp), days)
    usable = ~np.isnan(duration) & (duration >= 0) & (open_ | _closed(outcome))
    event = ~open_[usable]
    duration = duration[usable]
    median, ci_low, ci_high, p75 = (float("nan"),) * 4
    if len(duration) and event.any():
        # identical (days, event) pairs collapse into weights: same estimate, far less work
        key = duration.astype(np.int64) * 2 + event
        pairs, n = np.unique(key, return_counts=True)
        kmf = KaplanMeierFitter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kmf.fit(pairs // 2, (pairs % 2).astype(bool), weights=n)
            median = _finite(kmf.median_survival_time_)
            ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
            ci_low, ci_high = _finite(ci[0]), _finite(ci[1])
            p75 = _finite(kmf.percentile(0.25))
    rows.append(
        (
            "all deals",
            len(duration),
            int(event.sum()),
            int((~event).sum()),
            median,
            ci_low,
            ci_high,
            p75,
            KAPLAN_MEIER,
        )
    )
    table = pd.DataFrame(rows, columns=list(CYCLE_COLUMNS))
    if not event.any():
        notes.append("No closed deal has both a created and a close date: no cycle length.")
        return table
    parts = []
    if not math.isnan(medians["won"]):
        parts.append(f"won deals took a median {number(medians['won'])} days from created to close")
    if not math.isnan(medians["lost"]):
        parts.append(f"lost deals {number(medians['lost'])} days")
    if parts:
        notes.append("Among closed deals, " + ", ".join(parts) + ".")
    censored = int((~event).sum())
    if censored and len(duration):
        tail = (
            f"half of all deals close within {number(median)} days"
            if not math.isnan(median)
            else "fewer than half of all deals have closed, so the median time to close is not "
            "known yet"
        )
        notes.append(
            f"Counting the {counted(censored, 'open deal')} as still running at "
            f"{as_of:%Y-%m-%d} (Kaplan-Meier), {tail}."
        )
    return table


# --- deal size --------------------------------------------------------------------------------


def _by_size(amount: np.ndarray, outcome: np.ndarray, notes: list[str]) -> pd.DataFrame:
    known = ~np.isnan(amount)
    if not known.any():
        notes.append("Win rate by deal size needs amounts; none were found.")
        return _empty(SIZE_COLUMNS)
    lost_amounts = amount[known & (outcome == LOST)]
    won_amounts = amount[known & (outcome == WON)]
    if len(lost_amounts) and (lost_amounts == 0).all() and (won_amounts > 0).any():
        notes.append(
            "Every lost deal has an amount of 0, so the amounts are booked values, not deal "
            "sizes: win rate by deal size was not computed."
        )
        return _empty(SIZE_COLUMNS)
    edges = band_edges(pd.Series(amount[known]), SIZE_BANDS)
    codes, labels = group_codes(pd.Series(amount), edges, fmt=money)
    if labels[-1] == BLANK:
        labels[-1] = UNKNOWN_AMOUNT
    k = len(labels)
    low = np.full(k, np.inf)
    high = np.full(k, -np.inf)
    np.minimum.at(low, codes[known], amount[known])
    np.maximum.at(high, codes[known], amount[known])
    table = pd.DataFrame(
        {
            "band": labels,
            "low": np.where(np.isfinite(low), low, np.nan),
            "high": np.where(np.isfinite(high), high, np.nan),
            "deals": np.bincount(codes, minlength=k),
            **_tally(codes, outcome, k),
        }
    )
    _rate(table, "won", "lost", "win_rate")
    return table[list(SIZE_COLUMNS)]


def _as_of(
    as_of: pd.Timestamp | str | None,
    created: np.ndarray,
    close: np.ndarray,
    visits: pd.DataFrame | None,
) -> pd.Timestamp | None:
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return None if ts == NO_DATES else ts
    dates = [created, close]
    if visits is not None:
        dates.append(_naive(visits["entered_at"]))
    found = [a[~np.isnat(a)].max() for a in dates if (~np.isnat(a)).any()]
    return pd.Timestamp(max(found)) if found else None


def _closed(outcome: np.ndarray) -> np.ndarray:
    return (outcome == WON) | (outcome == LOST)


def _tally(slot: np.ndarray, outcome: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Won, lost and open deals per slot (``0 .. size - 1``)."""
    return {
        name: np.bincount(slot[outcome == code], minlength=size)
        for name, code in (("won", WON), ("lost", LOST), ("open", OPEN))
    }


def _calendar_days(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Whole calendar days from ``start`` to ``stop`` (NaN where either is missing)."""
    days = (stop.astype("datetime64[D]") - start.astype("datetime64[D]")).astype(float)
    return np.where(np.isnat(start) | np.isnat(stop), np.nan, days)


def _naive(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dates as naive ``datetime64[ns]`` (time zones converted to UTC)."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[ns]")


def _rate(table: pd.DataFrame, yes: str, no: str, name: str) -> None:
    n = table[yes] + table[no]
    table[name] = table[yes] / n.where(n > 0)
    table["ci_low"], table["ci_high"] = wilson_interval(table[yes], n)


def _finite(value: Any) -> float:
    v = float(value)
    return v if math.isfinite(v) else float("nan")


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
