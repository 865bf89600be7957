"""Pipeline x-ray at scale: 1,000,000 opportunities with 5,000,000 stage events.

Prints the seconds and peak memory of the full x-ray, and how much faster the vectorised stage
table is than a straightforward per-opportunity loop on a 20,000-opportunity slice.
Target (issue 3): under 20 s and 4 GB on a 2-core machine.

    .venv/bin/python benchmarks/bench_pipeline.py [--opportunities N]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
import psutil

from sales_rca.crm.data import OPPORTUNITY_COLUMNS, CrmData, ImportReport
from sales_rca.pipeline import build_deals, build_visits, stage_table, xray

STAGES = ["Prospect", "Qualify", "Needs Analysis", "Proposal", "Negotiation", "Commit"]


def generate(n: int, seed: int = 7) -> CrmData:
    """``n`` opportunities with about 5 stage events each (skips, backward moves, open deals)."""
    rng = np.random.default_rng(seed)
    visits = rng.choice([2, 3, 4, 5, 6], size=n, p=[0.1, 0.2, 0.25, 0.25, 0.2])
    outcome = rng.choice(np.array(["won", "lost", "open"], dtype=object), size=n, p=[0.3, 0.5, 0.2])
    closed = outcome != "open"
    per_opp = visits + closed  # closed deals end in a Closed Won / Closed Lost event
    total = int(per_opp.sum())
    opp = np.repeat(np.arange(n), per_opp)
    starts = np.r_[0, np.cumsum(per_opp)[:-1]]
    step = np.arange(total) - np.repeat(starts, per_opp)
    # mostly forward by one, sometimes a skip or a step back
    move = rng.choice([1, 2, -1], size=total, p=[0.8, 0.12, 0.08])
    move[step == 0] = 0
    # cumulative stage index within each deal, clipped to the official range
    cum = np.cumsum(move)
    cum -= np.repeat(cum[starts], per_opp)
    idx = np.clip(cum, 0, len(STAGES) - 1)
    names = np.array([*STAGES, "Closed Won", "Closed Lost"], dtype=object)
    last = np.r_[starts[1:] - 1, total - 1]
    stage = names[idx]
    close_stage = np.where(outcome == "won", "Closed Won", "Closed Lost")
    stage[last[closed]] = close_stage[closed]
    created = np.datetime64("2022-01-01") + rng.integers(0, 700, n).astype("timedelta64[D]")
    gaps = rng.gamma(2.0, 6.0, total) * 86_400
    gaps[step == 0] = 0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[starts], per_opp)
    entered = np.repeat(created, per_opp) + offset.astype("timedelta64[s]")
    ids = np.array([f"OPP{i:07d}" for i in range(n)], dtype=object)
    close = np.where(closed, entered[last], np.datetime64("NaT"))
    current = np.where(closed, close_stage, stage[last])
    opps = pd.DataFrame(
        {
            "opportunity_id": ids,
            "stage": current,
            "outcome": pd.Categorical(outcome, categories=["won", "lost", "open"]),
            "amount": rng.lognormal(9, 1, n).round(0),
            "created_date": created.astype("datetime64[ns]"),
            "close_date": close.astype("datetime64[ns]"),
            "owner": rng.choice([f"Rep {i}" for i in range(200)], n),
            "manager": rng.choice([f"Manager {i}" for i in range(20)], n),
            "segment": rng.choice(["SMB", "Mid-market", "Enterprise"], n),
            "region": rng.choice(["EMEA", "NA", "APAC", "LATAM"], n),
            "source": rng.choice(["Inbound", "Outbound", "Partner", "Event"], n),
            "deal_type": rng.choice(["New", "Expansion", "Renewal"], n, p=[0.6, 0.25, 0.15]),
            "account": rng.choice([f"Account {i}" for i in range(50_000)], n),
            "extra_needs_def": rng.choice(["Yes", "No", "Info gathering"], n),
        }
    )
    for col in OPPORTUNITY_COLUMNS:
        if col not in opps:
            opps[col] = None
    events = pd.DataFrame(
        {"opportunity_id": ids[opp], "stage": stage, "entered_at": entered.astype("datetime64[ns]")}
    )
    return CrmData(
        opportunities=opps,
        stage_events=events,
        quarantine=pd.DataFrame(columns=["table", "source_row", "reason"]),
        report=ImportReport(source="benchmark", path="<generated>"),
        stages=list(STAGES),
        won_stages=["Closed Won"],
        lost_stages=["Closed Lost"],
    )


def slice_crm(crm: CrmData, n: int) -> CrmData:
    opps = crm.opportunities.iloc[:n].copy()
    events = crm.stage_events[crm.stage_events["opportunity_id"].isin(opps["opportunity_id"])]
    return CrmData(opps, events.reset_index(drop=True), crm.quarantine, crm.report,
                   crm.stages, crm.won_stages, crm.lost_stages)  # fmt: skip


def loop_stage_table(crm: CrmData) -> pd.DataFrame:
    """The stage table computed the straightforward way: one opportunity at a time."""
    order = {s: i for i, s in enumerate(crm.stages)}
    rows = {s: {"entered": 0, "advanced": 0, "lost_here": 0, "open_here": 0, "days": []}
            for s in crm.stages}  # fmt: skip
    opps = crm.opportunities.set_index("opportunity_id")
    for oid, ev in crm.stage_events.groupby("opportunity_id", sort=False):
        deal = opps.loc[oid]
        outcome, close = deal["outcome"], deal["close_date"]
        stages, times = [], []
        for s, t in zip(ev["stage"], ev["entered_at"], strict=True):
            if not stages or s != stages[-1]:  # re-entering the current stage continues the visit
                stages.append(s)
                times.append(t)
        seen = {}
        for i, s in enumerate(stages):
            if s in order:
                seen[s] = i
        for s, i in seen.items():
            r = rows[s]
            r["entered"] += 1
            later = [order[x] for x in stages[i + 1 :] if x in order]
            if outcome == "won" or (later and max(later) > order[s]):
                r["advanced"] += 1
            end = times[i + 1] if i + 1 < len(stages) else (close if outcome != "open" else None)
            if end is not None and not pd.isna(end):
                r["days"].append((end - times[i]).total_seconds() / 86_400)
        official = [s for s in stages if s in order]
        if outcome == "lost" and official:
            rows[official[-1]]["lost_here"] += 1
        if outcome == "open" and official and stages[-1] in order:
            rows[stages[-1]]["open_here"] += 1
    return pd.DataFrame(
        [{"stage": s, **{k: v for k, v in r.items() if k != "days"},
          "median_days": float(np.median(r["days"])) if r["days"] else np.nan}
         for s, r in rows.items()]
    )  # fmt: skip


def vector_stage_table(crm: CrmData) -> pd.DataFrame:
    as_of = crm.stage_events["entered_at"].max()
    visits, _ = build_visits(crm, crm.stages, as_of)
    deals = build_deals(crm, visits, as_of)
    return stage_table(visits, deals, crm.stages, has_history=True)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=20_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    crm = generate(args.opportunities)
    gen_s = time.perf_counter() - t0
    rss_before = psutil.Process().memory_info().rss / 1024**3
    print(f"generated {len(crm.opportunities):,} opportunities, {len(crm.stage_events):,} stage "
          f"events in {gen_s:.1f} s (RSS {rss_before:.2f} GB)")  # fmt: skip

    t0 = time.perf_counter()
    x = xray(crm)
    xray_s = time.perf_counter() - t0
    print(f"full x-ray: {xray_s:.1f} s, peak RSS {peak_rss_gb():.2f} GB "
          f"(target < 20 s, < 4 GB); {len(x.stalls):,} stalled, "
          f"{len(x.paths.variants):,} path variants, {len(x.drivers.ranking)} drivers ranked")  # fmt: skip

    part = slice_crm(crm, args.slice)
    t0 = time.perf_counter()
    looped = loop_stage_table(part)
    loop_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    vector = vector_stage_table(part)
    vector_s = time.perf_counter() - t0
    same = all(
        (looped[c].to_numpy() == vector[c].to_numpy().astype(float)).all()
        for c in ("entered", "advanced", "lost_here", "open_here")
    ) and np.allclose(looped["median_days"], vector["median_days"], equal_nan=True)
    per_opp_loop = loop_s / args.slice
    print(f"stage table on a {args.slice:,}-opportunity slice: loop {loop_s:.2f} s, vectorised "
          f"{vector_s:.3f} s, ratio {loop_s / vector_s:.0f}x (same numbers: {same})")  # fmt: skip
    print(f"loop extrapolated to {args.opportunities:,} opportunities: "
          f"{per_opp_loop * args.opportunities:.0f} s for the stage table alone, "
          f"{per_opp_loop * args.opportunities / xray_s:.0f}x the full vectorised x-ray")  # fmt: skip


if __name__ == "__main__":
    main()
