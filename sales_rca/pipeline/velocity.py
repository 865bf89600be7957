"""Sales velocity: how much value the pipeline turns into per day.

``velocity = open deals × win rate × average won amount / average cycle days``, where the win rate
is won / (won + lost), the average won amount is over won deals with an amount, and the cycle is
created → close of won deals.

Unknown is not zero: with no open deals (nothing in the pipeline to turn into revenue) or no won
deals (no won amount, no cycle) velocity is NaN, with a note saying why. A figure resting on
fewer than :data:`MIN_CLOSED_DEALS` closed deals is kept but marked: ``Velocity.caution`` and a
note overall, a ``caution`` column per group (groups with caution are listed after the others).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sales_rca.pipeline.trend import LOST, OPEN, WON, outcome_codes

DAY = np.timedelta64(1, "D")
#: Below this many closed deals, velocity (overall or of a group) carries a caution.
MIN_CLOSED_DEALS = 30
VELOCITY_COLUMNS: tuple[str, ...] = (
    "group",
    "open_deals",
    "closed_deals",
    "win_rate",
    "avg_won_amount",
    "avg_cycle_days",
    "per_day",
    "caution",
)


@dataclass
class Velocity:
    """Overall velocity, its parts, and the same per group of ``by`` (e.g. segment).

    ``per_day`` is NaN when it cannot be computed (see the notes); ``caution`` is True when it
    rests on fewer than :data:`MIN_CLOSED_DEALS` closed deals.
    """

    open_deals: int
    win_rate: float
    avg_won_amount: float
    avg_cycle_days: float
    per_day: float
    by: str | None = None
    by_group: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(VELOCITY_COLUMNS))
    )
    notes: list[str] = field(default_factory=list)
    closed_deals: int = 0
    caution: bool = False


def _parts(frame: pd.DataFrame, codes: np.ndarray | None, size: int = 1) -> pd.DataFrame:
    outcome = outcome_codes(frame["outcome"])
    won = outcome == WON
    cycle = (frame["close_date"] - frame["created_date"]).to_numpy() / DAY
    amount = frame["amount"].to_numpy(dtype=float)
    group = codes if codes is not None else np.zeros(len(frame), dtype=np.int64)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(group[mask], minlength=size)

    def mean(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        n = count(mask)
        total = np.bincount(group[mask], weights=values[mask], minlength=size)
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)

    won_amount = won & ~np.isnan(amount)
    won_cycle = won & (cycle >= 0)  # NaN compares False: dates missing
    n_won = count(won)
    closed = n_won + count(outcome == LOST)
    out = pd.DataFrame(
        {
            "open_deals": count(outcome == OPEN),
            "closed_deals": closed,
            "won_deals": n_won,
            "win_rate": np.where(closed > 0, n_won / np.maximum(closed, 1), np.nan),
            "avg_won_amount": mean(won_amount, amount),
            "avg_cycle_days": mean(won_cycle, cycle),
        }
    )
    cycle_days = out["avg_cycle_days"].where(out["avg_cycle_days"] > 0)
    per_day = out["open_deals"] * out["win_rate"] * out["avg_won_amount"] / cycle_days
    # no open pipeline, or no won deal to measure it by: unknown, not 0
    known = (out["open_deals"] > 0) & (out["won_deals"] > 0)
    out["per_day"] = per_day.where(known)
    out["caution"] = out["closed_deals"] < MIN_CLOSED_DEALS
    return out


def velocity(opportunities: pd.DataFrame, by: str | None = "segment") -> Velocity:
    """Sales velocity overall and per group of column ``by`` (skipped when the column is empty).

    Returns a :class:`Velocity`; ``per_day`` is NaN when a part is unknown (no open deals, no won
    deals, no amounts, no dates), with a note saying which.
    """
    overall = _parts(opportunities, None).iloc[0]
    notes = _notes(overall)
    by_group = pd.DataFrame(columns=list(VELOCITY_COLUMNS))
    if by and by in opportunities and opportunities[by].notna().any():
        keys = opportunities[by].astype(object).where(opportunities[by].notna(), "(blank)")
        try:
            codes, names = pd.factorize(keys, sort=True)
        except TypeError:  # values that do not sort together (numbers and text)
            codes, names = pd.factorize(keys)
        by_group = _parts(opportunities, codes, len(names))
        by_group.insert(0, "group", np.asarray(names, dtype=object))
        by_group = by_group.sort_values(
            ["caution", "per_day"], ascending=[True, False], kind="stable", na_position="last"
        )
        by_group = by_group.reset_index(drop=True)[list(VELOCITY_COLUMNS)]
        thin = int(by_group["caution"].sum())
        if thin and not overall["caution"]:
            notes.append(
                f"{thin} of the {len(by_group)} {by} groups have fewer than {MIN_CLOSED_DEALS} "
                "closed deals: their velocity is marked with caution and listed last."
            )
    elif by:
        notes.append(f"No '{by}' values: velocity is given overall only.")
    return Velocity(
        open_deals=int(overall["open_deals"]),
        win_rate=float(overall["win_rate"]),
        avg_won_amount=float(overall["avg_won_amount"]),
        avg_cycle_days=float(overall["avg_cycle_days"]),
        per_day=float(overall["per_day"]),
        by=by if len(by_group) else None,
        by_group=by_group,
        notes=notes,
        closed_deals=int(overall["closed_deals"]),
        caution=bool(overall["caution"]),
    )


def _notes(overall: pd.Series) -> list[str]:
    notes = []
    closed, won = int(overall["closed_deals"]), int(overall["won_deals"])
    if overall["open_deals"] == 0:
        notes.append(
            "No open deals: velocity says how fast the open pipeline turns into revenue, so "
            "with no open deal in the export it cannot be computed (it is unknown, not 0)."
        )
    if closed == 0:
        notes.append(
            "No closed deals: the win rate, the average won amount and the cycle are unknown, "
            "so velocity cannot be computed."
        )
    elif won == 0:
        notes.append(
            f"None of the {closed} closed deals was won: the average won amount and the cycle "
            "are unknown, so velocity cannot be computed."
        )
    else:
        if pd.isna(overall["avg_won_amount"]):
            notes.append("Velocity needs amounts on won deals; none were found.")
        if pd.isna(overall["avg_cycle_days"]):
            notes.append("Velocity needs created and close dates on won deals; none were found.")
        elif not overall["avg_cycle_days"] > 0:
            notes.append(
                "Won deals closed the day they were created: with no cycle to divide by, "
                "velocity cannot be computed."
            )
    if 0 < closed < MIN_CLOSED_DEALS:
        notes.append(
            f"Velocity rests on only {closed} closed deal{'' if closed == 1 else 's'} (fewer "
            f"than {MIN_CLOSED_DEALS}): "
            "read it as a rough indication, not a figure to plan on."
        )
    return notes
