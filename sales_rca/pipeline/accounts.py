"""Account growth: do deals on existing accounts win, where do they die, does revenue grow?

A deal is on an *existing account* when its deal type says so (expansion, upsell, cross-sell,
renewal, existing ...) or when its account already had a won deal closed before it was created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sales_rca.pipeline.drivers import wilson_interval

_EXISTING_TYPE = re.compile(
    r"expan|up.?sell|cross.?sell|renew|existing|add.?on|extension", re.IGNORECASE
)
KIND_COLUMNS: tuple[str, ...] = (
    "kind",
    "deals",
    "won",
    "lost",
    "open",
    "win_rate",
    "ci_low",
    "ci_high",
)


@dataclass
class AccountAnalysis:
    """Existing-account deals against new business, and won revenue per account and period.

    Attributes:
        by_kind: ``kind`` (``new`` / ``existing``), deal counts, win rate with Wilson interval.
        lost_by_stage: ``stage, new, existing``: lost deals per loss stage.
        revenue: ``account, period, won_amount, won_deals`` (won deals with a close date).
        accounts: per account ``deals, won, lost, open, win_rate, won_amount, existing_deals,
            existing_win_rate, periods_with_revenue, first_period, last_period``; biggest first.
    """

    by_kind: pd.DataFrame
    lost_by_stage: pd.DataFrame
    revenue: pd.DataFrame
    accounts: pd.DataFrame
    period: str = "Q"
    notes: list[str] = field(default_factory=list)


def existing_account_deals(opportunities: pd.DataFrame) -> pd.Series:
    """True for deals on an existing account (deal type, or an earlier won deal on the account)."""
    flag = pd.Series(False, index=opportunities.index)
    if "deal_type" in opportunities:
        # match each distinct deal type once, not once per deal
        codes, types = pd.factorize(opportunities["deal_type"])
        hit = np.array([bool(_EXISTING_TYPE.search(str(t))) for t in types] + [False])
        flag = pd.Series(hit[codes], index=opportunities.index)
    if "account" in opportunities and opportunities["account"].notna().any():
        won = opportunities["outcome"].astype(str) == "won"
        first_win = opportunities.loc[won].groupby("account")["close_date"].min()
        earlier = opportunities["account"].map(first_win)
        flag |= (opportunities["created_date"] > earlier).fillna(False).astype(bool)
    return flag


def analyse_accounts(
    opportunities: pd.DataFrame, loss_stage: pd.Series, *, period: str = "Q"
) -> AccountAnalysis:
    """Win rate and loss stages of existing-account deals vs new ones, and revenue per account.

    Args:
        opportunities: the canonical opportunities table.
        loss_stage: loss stage per opportunity (aligned with ``opportunities``), e.g. from the
            x-ray's deals table.
        period: pandas period alias for the revenue table (``Q``, ``M``, ``Y``).
    """
    notes = []
    outcome = opportunities["outcome"].astype(str)
    existing = existing_account_deals(opportunities)
    kind = np.where(existing, "existing", "new")
    base = pd.DataFrame(
        {
            "kind": kind,
            "won": (outcome == "won").to_numpy(),
            "lost": (outcome == "lost").to_numpy(),
            "open": (outcome == "open").to_numpy(),
        }
    )
    by_kind = (
        base.groupby("kind")[["won", "lost", "open"]]
        .sum()
        .reindex(["new", "existing"], fill_value=0)
    )
    by_kind.insert(0, "deals", by_kind.sum(axis=1))
    closed = by_kind["won"] + by_kind["lost"]
    by_kind["win_rate"] = by_kind["won"] / closed.where(closed > 0)
    by_kind["ci_low"], by_kind["ci_high"] = wilson_interval(by_kind["won"], closed)
    by_kind = by_kind.rename_axis("kind").reset_index()[list(KIND_COLUMNS)]
    if not existing.any():
        notes.append(
            "No deals on existing accounts were recognised (no expansion/renewal deal type and "
            "no account with an earlier won deal)."
        )

    lost = outcome == "lost"
    lost_by_stage = (
        pd.crosstab(loss_stage[lost].fillna("(unknown)").to_numpy(), kind[lost.to_numpy()])
        .reindex(columns=["new", "existing"], fill_value=0)
        .rename_axis("stage")
        .rename_axis(None, axis=1)
        .reset_index()
        if lost.any()
        else pd.DataFrame(columns=["stage", "new", "existing"])
    )

    won_dated = opportunities[(outcome == "won") & opportunities["close_date"].notna()]
    if "account" in opportunities and won_dated["account"].notna().any():
        won_dated = won_dated[won_dated["account"].notna()]
        revenue = (
            won_dated.assign(period=won_dated["close_date"].dt.to_period(period).astype(str))
            .groupby(["account", "period"], sort=True)["amount"]
            .agg(won_amount="sum", won_deals="size")
            .reset_index()
        )
    else:
        revenue = pd.DataFrame(columns=["account", "period", "won_amount", "won_deals"])
        notes.append("Revenue per account needs an account and a close date on won deals.")
    accounts = _account_summary(opportunities, outcome, existing, revenue, period)
    return AccountAnalysis(by_kind, lost_by_stage, revenue, accounts, period, notes)


def _account_summary(
    opps: pd.DataFrame,
    outcome: pd.Series,
    existing: pd.Series,
    revenue: pd.DataFrame,
    period: str,
) -> pd.DataFrame:
    if "account" not in opps or opps["account"].isna().all():
        return pd.DataFrame()
    won, lost = outcome == "won", outcome == "lost"
    frame = pd.DataFrame(
        {
            "account": opps["account"],
            "won": won,
            "lost": lost,
            "open": outcome == "open",
            "won_amount": opps["amount"].where(won, 0.0).fillna(0.0),
            "existing_deals": existing,
            "existing_won": existing & won,
            "existing_lost": existing & lost,
        }
    ).dropna(subset=["account"])
    g = frame.groupby("account", sort=True)
    out = g[["won", "lost", "open", "existing_deals", "existing_won", "existing_lost"]].sum()
    out.insert(0, "deals", g.size())
    out["win_rate"] = out["won"] / (out["won"] + out["lost"]).where(lambda s: s > 0)
    out["won_amount"] = g["won_amount"].sum()
    closed_existing = out["existing_won"] + out["existing_lost"]
    out["existing_win_rate"] = out["existing_won"] / closed_existing.where(closed_existing > 0)
    if not revenue.empty:
        out["periods_with_revenue"] = (
            revenue.groupby("account").size().reindex(out.index, fill_value=0)
        )
        won_dates = opps.loc[won & opps["close_date"].notna()].groupby("account")["close_date"]
        for col, dates in (("first_period", won_dates.min()), ("last_period", won_dates.max())):
            periods = dates.dt.to_period(period).astype(str)
            out[col] = periods.reindex(out.index)
    else:
        out["periods_with_revenue"] = 0
        out["first_period"] = None
        out["last_period"] = None
    out = out.drop(columns=["existing_won", "existing_lost"])
    return out.sort_values(["won_amount", "deals"], ascending=False, kind="stable").reset_index()
