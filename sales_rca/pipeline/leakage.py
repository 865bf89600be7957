"""Attributes that are consequences of the outcome, not causes: kept out of the drivers.

A deal that ran long has more days in stage, more stage changes and more logged calls; a field
filled in when the deal closed knows how it closed. Ranked as drivers they "explain" winning by
the winning itself. An attribute is *outcome-derived* when

- its name says it is measured over the deal's life or at its end (days, durations, ages,
  counts of stage changes, ratios of days, last-activity dates, close/won/lost fields,
  probabilities and forecast categories, activity counts);
- or its values say so: a number that moves with the deal's length (Spearman's rho against
  created-to-close days, or against an attribute already flagged by name), or that grows with how
  far a lost deal got through the stages; a field filled in
  almost only once a deal closed, or only for won or only for lost deals; values that separate
  won from lost almost perfectly, as a field set at the close would.

Also kept out: identifiers and free text (a value per deal). Every exclusion carries a reason a
facilitator can read out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from sales_rca.display import phrase
from sales_rca.pipeline.stages import LOST, OPEN, WON, ColumnCodes, outcome_codes

#: Name patterns (on the lower-case snake name, ``extra_`` removed) and the reason they give.
_NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), why)
    for p, why in (
        (
            r"(^|_)(days?|duration|elapsed|hours|weeks|aging|velocity)(_|$)|(sales|deal)_cycle|cycle_(length|days|time)",
            "it is measured in time over the deal's life",
        ),
        (
            r"(^|_)(time|days?)_(in|to|since|until)(_|$)|(^|_)since(_|$)",
            "it is measured in time over the deal's life",
        ),
        (r"(^|_)(deal|opp|opportunity|stage)_?age(_|$)|^age$", "it is the deal's age"),
        (
            r"stage_?change|(^|_)changes?_count|(^|_)(pushes|push_count|slips?)(_|$)",
            "it counts changes made while the deal ran",
        ),
        (
            r"(^|_)ratio(_|$).*(day|time|stage)|(day|time|stage).*(_|^)ratio(_|$)",
            "it is a ratio of time spent over the deal's life",
        ),
        (
            r"(^|_)last_(activity|modified|contact|contacted|touch|stage|update)",
            "it records the deal's latest activity",
        ),
        (
            r"(^|_)(closed?|closing|won|lost|win|loss|outcome|result)(_|$)",
            "it is recorded when the deal closes",
        ),
        (
            r"(^|_)(probability|forecast|expected_revenue|fiscal)(_|$)",
            "it follows from the stage the deal reached",
        ),
    )
)
#: Numbers of these, counted over a deal's life, grow with its length.
_ACTIVITY = re.compile(
    r"(^|_)(emails?|calls?|meetings?|activities|activity|touches|touchpoints|tasks|notes|"
    r"engagements?|interactions?|logged|visits)(_|$)"
)
#: |Spearman's rho| with the deal's length (or a flagged attribute) that marks a consequence.
RHO_WITH_CYCLE = 0.5
RHO_WITH_FLAGGED = 0.8
#: Spearman's rho with the furthest stage a lost deal reached that marks a count kept as it ran.
RHO_WITH_STAGE = 0.6
#: A field filled for at least this share of closed deals but at most ``_FILLED_OPEN`` of open.
_FILLED_CLOSED, _FILLED_OPEN = 0.8, 0.05
#: Share of closed deals in groups that are all won or all lost that marks a field set at close.
SEPARATION_SHARE = 0.95
#: A text attribute with about one value per deal is an identifier or free text.
IDENTIFIER_SHARE = 0.5
_MIN_PAIRS = 30


def attribute_name(column: str) -> str:
    """The attribute's plain name in a sentence: ``extra_buying_group_size`` -> ``buying group
    size`` (:func:`sales_rca.display.phrase`, the one label of a column)."""
    return phrase(column)


def excluded_attributes(
    opportunities: pd.DataFrame,
    columns: list[str],
    *,
    numeric: set[str],
    cycle_days: pd.Series | None = None,
    stage_reached: pd.Series | None = None,
    codes: ColumnCodes | None = None,
) -> dict[str, tuple[str, str]]:
    """Attributes that must not be ranked as drivers: ``{column: (flag, reason)}``.

    ``flag`` is ``outcome_derived`` or ``identifier``; ``reason`` a sentence. ``numeric`` names
    the numeric columns; ``cycle_days`` (aligned with ``opportunities``) is created-to-close days,
    NaN where unknown; ``stage_reached`` the position of the furthest official stage each deal
    reached (NaN without history). ``codes`` factorizes the columns (pass the caller's, to
    share the work).
    """
    out: dict[str, tuple[str, str]] = {}
    codes = ColumnCodes(opportunities) if codes is None else codes
    outcome = outcome_codes(opportunities["outcome"])
    closed = (outcome == WON) | (outcome == LOST)
    won = outcome == WON
    is_open = outcome == OPEN
    for col in columns:
        name = re.sub(r"[^0-9a-z]+", "_", str(col).lower().removeprefix("extra_")).strip("_")
        why = next((w for p, w in _NAME_RULES if p.search(name)), None)
        if why is None and col in numeric and _ACTIVITY.search(name):
            why = "it counts activity logged while the deal ran"
        if why is not None:
            out[col] = (
                "outcome_derived",
                f"{attribute_name(col).capitalize()} is left out: {why}.",
            )
    numbers: dict[str, np.ndarray] = {}

    def number(col: str) -> np.ndarray:
        if col not in numbers:
            numbers[col] = pd.to_numeric(opportunities[col], errors="coerce").to_numpy(float)
        return numbers[col]

    flagged_numbers = [c for c in out if c in numeric]
    cycle = cycle_days.to_numpy(float) if cycle_days is not None else None
    reached = stage_reached.to_numpy(float) if stage_reached is not None else None
    for col in columns:
        if col in out:
            continue
        # one pass over the values: codes (-1 where blank) answer every count below
        values, uniques = codes(col)
        why = _value_rule(
            values,
            len(uniques),
            col if col in numeric else None,
            closed,
            won,
            is_open,
            cycle,
            number,
            flagged_numbers,
        )
        if why is None and col in numeric and reached is not None:
            rho = _spearman(number(col), reached, closed & ~won)
            if rho is not None and rho >= RHO_WITH_STAGE:
                why = "it grows with how far the deal got through the stages"
        if why is not None:
            out[col] = (
                "outcome_derived",
                f"{attribute_name(col).capitalize()} is left out: {why}.",
            )
            continue
        if col not in numeric:
            filled = values[closed]
            filled = filled[filled >= 0]
            distinct = np.count_nonzero(np.bincount(filled, minlength=len(uniques)))
            if len(filled) >= 50 and distinct > IDENTIFIER_SHARE * len(filled):
                out[col] = (
                    "identifier",
                    f"{attribute_name(col).capitalize()} is left out: it has a different value "
                    "for almost every deal (an identifier or free text), so it cannot be compared.",
                )
    return out


def _value_rule(
    codes: np.ndarray,
    levels: int,
    col: str | None,
    closed: np.ndarray,
    won: np.ndarray,
    is_open: np.ndarray,
    cycle_days: np.ndarray | None,
    number: Callable[[str], np.ndarray],
    flagged_numbers: list[str],
) -> str | None:
    """The value rules of one attribute, read from its codes (-1 where blank, ``levels``
    values); ``col`` names a numeric attribute (None for text), ``number`` gives a numeric
    column as floats."""
    filled = codes >= 0
    n_closed, n_open = int(closed.sum()), int(is_open.sum())

    def share(mask: np.ndarray, n: int) -> float:  # filled share of the deals in ``mask``
        return np.count_nonzero(filled & mask) / n if n else float("nan")

    if (
        n_closed >= _MIN_PAIRS
        and n_open >= 20
        and share(closed, n_closed) >= _FILLED_CLOSED
        and share(is_open, n_open) <= _FILLED_OPEN
    ):
        return "it is filled in almost only once a deal has closed"
    lost = closed & ~won
    n_won, n_lost = int(won.sum()), int(lost.sum())
    if n_won >= 20 and n_lost >= 20:
        fw, fl = share(won, n_won), share(lost, n_lost)
        if (fw >= _FILLED_CLOSED and fl <= _FILLED_OPEN) or (
            fl >= _FILLED_CLOSED and fw <= _FILLED_OPEN
        ):
            return "it is filled in only for won deals or only for lost ones"
    if col is not None:
        x = number(col)
        if cycle_days is not None:
            rho = _spearman(x, cycle_days, closed)
            if rho is not None and abs(rho) >= RHO_WITH_CYCLE:
                return "it rises and falls with how long the deal ran"
        for other in flagged_numbers:
            rho = _spearman(x, number(other), closed)
            if rho is not None and abs(rho) >= RHO_WITH_FLAGGED:
                return (
                    f"it moves with {attribute_name(other)}, which is measured over the deal's life"
                )
    # near-perfect separation of won from lost
    known = filled & closed
    if np.count_nonzero(known) >= 50:
        size = np.bincount(codes[known], minlength=levels)
        wins = np.bincount(codes[known & won], minlength=levels)
        pure = size[(size >= 5) & ((wins == 0) | (wins == size))].sum()
        if pure >= SEPARATION_SHARE * size.sum() and np.count_nonzero(size) >= 2:
            return (
                "its values tell won from lost almost perfectly, as a field set at the close would"
            )
    return None


def _spearman(x: np.ndarray, y: np.ndarray, mask: np.ndarray, cap: int = 200_000) -> float | None:
    ok = mask & np.isfinite(x) & np.isfinite(y)
    idx = np.flatnonzero(ok)
    if len(idx) < _MIN_PAIRS:
        return None
    if len(idx) > cap:  # a fixed-seed sample reads the same rho at a fraction of the cost
        idx = np.random.default_rng(0).choice(idx, cap, replace=False)
    a, b = x[idx], y[idx]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(stats.spearmanr(a, b).statistic)
