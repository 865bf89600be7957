"""Sales velocity: how much value the pipeline turns into per day.

``velocity = open deals × win rate × average won amount / average cycle days``, where the win rate
is won / (won + lost), the average won amount is over won deals with an amount, and the cycle is
created → close of won deals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DAY = np.timedelta64(1, "D")
VELOCITY_COLUMNS: tuple[str, ...] = (
    "group",
    "open_deals",
    "win_rate",
    "avg_won_amount",
    "avg_cycle_days",
    "per_day",
)


@dataclass
class Velocity:
    """Overall velocity, its parts, and the same per group of ``by`` (e.g. segment)."""

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


def _parts(frame: pd.DataFrame, keys: pd.Series | None) -> pd.DataFrame:
    outcome = frame["outcome"].astype(str)
    won = outcome == "won"
    cycle = (frame["close_date"] - frame["created_date"]) / pd.Timedelta(days=1)
    parts = pd.DataFrame(
        {
            "open": (outcome == "open").astype(int),
            "won": won.astype(int),
            "closed": outcome.isin(["won", "lost"]).astype(int),
            "won_amount": frame["amount"].where(won),
            "won_cycle": cycle.where(won & (cycle >= 0)),
        }
    )
    grouper = keys if keys is not None else np.zeros(len(frame), dtype=int)
    g = parts.groupby(grouper, sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "open_deals": g["open"].sum(),
            "win_rate": g["won"].sum() / g["closed"].sum().where(lambda s: s > 0),
            "avg_won_amount": g["won_amount"].mean(),
            "avg_cycle_days": g["won_cycle"].mean(),
        }
    )
    cycle_days = out["avg_cycle_days"].where(out["avg_cycle_days"] > 0)
    out["per_day"] = out["open_deals"] * out["win_rate"] * out["avg_won_amount"] / cycle_days
    return out


def velocity(opportunities: pd.DataFrame, by: str | None = "segment") -> Velocity:
    """Sales velocity overall and per group of column ``by`` (skipped when the column is empty).

    Returns a :class:`Velocity`; ``per_day`` is NaN when a part is unknown (no amounts, no dates,
    no closed deals), with a note saying which.
    """
    overall = _parts(opportunities, None).iloc[0]
    notes = []
    if overall["open_deals"] == 0:
        notes.append("No open deals: the pipeline's velocity is 0.")
    if pd.isna(overall["avg_won_amount"]):
        notes.append("Velocity needs amounts on won deals; none were found.")
    if pd.isna(overall["avg_cycle_days"]):
        notes.append("Velocity needs created and close dates on won deals; none were found.")
    by_group = pd.DataFrame(columns=list(VELOCITY_COLUMNS))
    if by and by in opportunities and opportunities[by].notna().any():
        keys = opportunities[by].astype(object).where(opportunities[by].notna(), "(blank)")
        by_group = _parts(opportunities, keys).rename_axis("group").reset_index()
        by_group = by_group.sort_values("per_day", ascending=False, kind="stable")
        by_group = by_group.reset_index(drop=True)[list(VELOCITY_COLUMNS)]
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
    )
