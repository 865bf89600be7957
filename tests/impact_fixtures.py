"""Simulated funnels with known truth, for the impact and review tests."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from suite_paths import DEMO_DIR

from sales_rca.crm.data import OPPORTUNITY_COLUMNS, CrmData, ImportReport
from sales_rca.pipeline import XRay


@cache
def demo_xray() -> XRay:
    """The x-ray of the packaged demo export, taken once per test run (read, never changed)."""
    from sales_rca.crm import load_crm
    from sales_rca.pipeline import xray

    return xray(
        load_crm(
            DEMO_DIR / "salesforce_opportunities.csv",
            history=DEMO_DIR / "salesforce_opportunity_history.csv",
        )
    )


def simulated_funnel(
    rng: np.random.Generator,
    rate: float,
    c1: float,
    c2: float,
    *,
    start: str = "2025-01-01",
    days: float = 365.25,
    export_days: float | None = None,
    prefix: str = "D",
) -> CrmData:
    """Deals arriving at ``rate`` a year for ``days`` days from ``start`` through A (c1) then B
    (c2), exported ``export_days`` after ``start`` (default at the end: deals not closed by then
    are open), amounts log-normal with mean 1,000."""
    n = rng.poisson(rate * days / 365.25)
    begin = np.datetime64(f"{start}T00:00", "s")
    created = begin + (rng.uniform(0, days, n) * 86400).astype("timedelta64[s]")
    in_a = (rng.exponential(12, n) * 86400).astype("timedelta64[s]")
    in_b = (rng.exponential(12, n) * 86400).astype("timedelta64[s]")
    pass_a = rng.uniform(size=n) < c1
    win = pass_a & (rng.uniform(size=n) < c2)
    as_of = begin + np.timedelta64(int((export_days or days) * 86400), "s")
    enter_b = created + in_a
    close = np.where(pass_a, enter_b + in_b, enter_b)
    is_open = close > as_of
    sigma = 0.8
    amount = rng.lognormal(np.log(1000) - sigma**2 / 2, sigma, n)
    ids = np.array([f"{prefix}{i}" for i in range(n)], dtype=object)
    outcome = np.where(is_open, "open", np.where(win, "won", "lost"))
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "stage": np.where(pass_a, "B", "A"),
            "outcome": pd.Categorical(outcome, categories=["won", "lost", "open"]),
            "amount": amount,
            "created_date": created.astype("datetime64[ns]"),
            "close_date": np.where(is_open, np.datetime64("NaT"), close).astype("datetime64[ns]"),
        }
    )
    for col in OPPORTUNITY_COLUMNS:
        if col not in opps:
            opps[col] = None
    b_seen = pass_a & (enter_b <= as_of)
    closed = ~is_open
    ev_ids = np.r_[ids, ids[b_seen], ids[closed]]
    ev_stage = np.r_[
        np.full(n, "A", object),
        np.full(b_seen.sum(), "B", object),
        np.where(win[closed], "Closed Won", "Closed Lost").astype(object),
    ]
    ev_at = np.r_[created, enter_b[b_seen], close[closed]].astype("datetime64[ns]")
    events = pd.DataFrame({"opportunity_id": ev_ids, "stage": ev_stage, "entered_at": ev_at})
    events = events.sort_values(["opportunity_id", "entered_at"], kind="stable", ignore_index=True)
    return CrmData(
        opportunities=opps,
        stage_events=events,
        quarantine=pd.DataFrame(columns=["table", "source_row", "reason"]),
        report=ImportReport(source="test", path="<simulation>"),
        stages=["A", "B"],
        won_stages=["Closed Won"],
        lost_stages=["Closed Lost"],
    )


def combined(a: CrmData, b: CrmData) -> CrmData:
    """One export holding the deals of both (ids must differ)."""
    import dataclasses

    opps = pd.concat([a.opportunities, b.opportunities], ignore_index=True)
    opps["outcome"] = pd.Categorical(opps["outcome"], categories=["won", "lost", "open"])
    events = pd.concat([a.stage_events, b.stage_events], ignore_index=True)
    events = events.sort_values(["opportunity_id", "entered_at"], kind="stable", ignore_index=True)
    return dataclasses.replace(a, opportunities=opps, stage_events=events)
