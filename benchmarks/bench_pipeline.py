"""Pipeline x-ray at scale: 1,000,000 opportunities with about 5,000,000 stage events.

Prints the seconds (wall and CPU) and peak memory of the full x-ray (:func:`sales_rca.pipeline.xray`:
stage table with censoring-aware time in stage, stalls and hygiene, survival curves, paths,
drivers with bands, shrinkage, unit-level tests, Mantel-Haenszel strata and leakage checks,
velocity, accounts, trends), and how much faster the vectorised stage table is than a
straightforward per-opportunity loop on a 20,000-opportunity slice, with a check that both give
the same numbers. Target (issue 3): the full x-ray in under 15 s and 4 GB on a 2-core machine.

The data looks like the import's output (text as ``string`` columns, dates, an ``extra_`` column
per unmapped field) and exercises everything the x-ray does: a business growing over 30 months,
exported at :data:`AS_OF` (a deal that would close later is still open, with its history so far,
so open deals are of every age, a few of them long abandoned); win rates that depend on the
segment, the buying group's size (a number), whether needs were defined, the manager's coaching
(one value per manager: tested at the manager level) and the rep; a region that only looks like a
driver through the segment; forecast close dates (some past due); and fields the leakage checks
must leave out (stage changes, an effort score that grows with the deal's length, a debrief
filled in at the close, the opportunity name).

    .venv/bin/python benchmarks/bench_pipeline.py [--opportunities N] [--slice N]
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
#: The moment of the export: events after it have not happened yet.
AS_OF = np.datetime64("2025-06-30T18:00", "s")
SEGMENTS = np.array(["SMB", "Mid-market", "Enterprise"], dtype=object)
REGIONS = np.array(["EMEA", "NA", "APAC", "LATAM"], dtype=object)
SOURCES = np.array(["Inbound", "Outbound", "Partner", "Event"], dtype=object)
PRODUCTS = np.array(["Core", "Analytics", "Payments", "Platform"], dtype=object)
DEAL_TYPES = np.array(["New Business", "Expansion", "Renewal"], dtype=object)
NEEDS = np.array(["Yes", "No", "Info gathering"], dtype=object)
COACHING = np.array(["Formal", "Informal", "None"], dtype=object)
#: Share of deals nobody ever closed or cleaned up.
ABANDONED = 0.03


def _text(values: np.ndarray) -> pd.Series:
    """Text as the import delivers it (``string`` dtype, missing as ``<NA>``)."""
    return pd.Series(pd.array(values, dtype="string"))


def generate(n: int, seed: int = 7) -> CrmData:
    """``n`` opportunities with about 5 stage events each (skips, backward moves, repeated
    entries), exported at :data:`AS_OF` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    # --- who and what: the attributes the outcome depends on ---------------------------------
    seg = rng.choice(3, size=n, p=[0.55, 0.3, 0.15])
    # the region follows the segment (enterprise deals are mostly NA): a confounder
    region_p = np.array([[0.3, 0.3, 0.25, 0.15], [0.35, 0.4, 0.15, 0.1], [0.25, 0.65, 0.07, 0.03]])
    region = (rng.random(n)[:, None] > np.cumsum(region_p[seg], axis=1)).sum(axis=1)
    owner = rng.integers(0, 200, n)
    manager = owner // 10  # 10 reps per manager
    coaching = rng.choice(3, size=20, p=[0.35, 0.4, 0.25])[manager]  # the manager's way
    source = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    deal_type = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    product = rng.choice(4, size=n, p=[0.4, 0.25, 0.2, 0.15])
    needs = rng.choice(3, size=n, p=[0.45, 0.3, 0.25])
    group = 1 + rng.poisson(np.array([1.5, 3.0, 6.0])[seg])  # buying groups grow with the deal
    logit = (
        -0.5
        + np.array([0.25, 0.0, -0.35])[seg]
        + np.array([0.8, -0.9, 0.0])[needs]
        + np.array([0.35, 0.0, -0.25])[coaching]
        + np.array([0.0, -0.25, 0.35, 0.1])[source]
        + np.array([0.0, 0.3, 0.45])[deal_type]
        + np.where(group == 1, -0.5, np.where(group <= 4, 0.2, np.where(group <= 8, 0.0, -0.4)))
        + rng.normal(0, 0.25, 200)[owner]  # the rep
    )
    wins = rng.random(n) < 1 / (1 + np.exp(-logit))
    abandoned = rng.random(n) < ABANDONED

    # --- the path: visits to official stages, then a closing event ---------------------------
    visits = np.where(
        wins,
        rng.choice([3, 4, 5, 6, 7], size=n, p=[0.1, 0.2, 0.3, 0.25, 0.15]),
        rng.choice([1, 2, 3, 4, 5, 6, 7], size=n, p=[0.08, 0.15, 0.2, 0.2, 0.16, 0.12, 0.09]),
    )
    visits = np.where(abandoned, rng.integers(1, 6, n), visits)
    per_opp = visits + ~abandoned  # a deal that closes ends in a Closed Won / Closed Lost event
    total = int(per_opp.sum())
    opp = np.repeat(np.arange(n), per_opp)
    starts = np.r_[0, np.cumsum(per_opp)[:-1]]
    last = np.r_[starts[1:] - 1, total - 1]
    step = np.arange(total) - np.repeat(starts, per_opp)
    # mostly forward by one, sometimes a skip or a step back (or a repeat at the last stage)
    move = rng.choice([1, 2, -1], size=total, p=[0.8, 0.12, 0.08])
    move[step == 0] = 0
    cum = np.cumsum(move)
    cum -= np.repeat(cum[starts], per_opp)
    names = np.array([*STAGES, "Closed Won", "Closed Lost"], dtype=object)
    stage = names[np.clip(cum, 0, len(STAGES) - 1)]
    closing = np.where(wins, "Closed Won", "Closed Lost").astype(object)
    stage[last[~abandoned]] = closing[~abandoned]

    # --- when: created over 30 months, more deals lately; slower in bigger segments ----------
    age = 900 * rng.random(n) ** 1.5 + 1
    created = (AS_OF.astype("datetime64[D]") - age.astype("timedelta64[D]")).astype("datetime64[D]")
    first_at = created.astype("datetime64[s]") + rng.integers(8 * 3600, 18 * 3600, n).astype(
        "timedelta64[s]"
    )
    pace = np.array([0.8, 1.0, 1.6])[seg] * np.where(abandoned, 2.5, 1.0)
    gaps = rng.gamma(2.0, 6.0, total) * np.repeat(pace, per_opp) * 86_400
    gaps[step == 0] = 0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[starts], per_opp)
    entered = np.repeat(first_at, per_opp) + offset.astype("timedelta64[s]")
    # the export sees only what happened by AS_OF: a deal that would close later is still open
    seen = entered <= AS_OF
    closed = ~abandoned & seen[last]
    outcome = np.where(closed, np.where(wins, "won", "lost"), "open")
    current = np.where(
        closed, closing, stage[np.maximum.reduceat(np.where(seen, np.arange(total), -1), starts)]
    )
    # closed deals: the day of the closing event; open deals: a forecast (some past, a few none)
    forecast = created + rng.integers(30, 150, n).astype("timedelta64[D]")
    forecast[rng.random(n) < 0.1] = np.datetime64("NaT")
    close = np.where(closed, entered[last].astype("datetime64[D]"), forecast)

    # --- consequences of the outcome, which the driver analysis must leave out ---------------
    cycle_days = (np.where(closed, entered[last], AS_OF) - first_at) / np.timedelta64(1, "D")
    effort = np.round(cycle_days * rng.uniform(0.7, 1.3, n), 0)
    debrief = np.where(closed & (rng.random(n) < 0.9), "Done", None).astype(object)

    ids = np.char.add("OPP", np.char.zfill(np.arange(n).astype(str), 7)).astype(object)
    account_names = np.char.add("Account ", np.arange(100_000).astype(str)).astype(object)
    account = account_names[rng.integers(0, 100_000, n)]
    year = (created.astype("datetime64[Y]").astype(int) + 1970).astype(str).astype(object)
    opps = pd.DataFrame(
        {
            "opportunity_id": _text(ids),
            "stage": _text(current),
            "outcome": pd.Categorical(outcome, categories=["won", "lost", "open"]),
            "amount": rng.lognormal(np.array([8.5, 9.5, 10.8])[seg], 0.8).round(0),
            "created_date": created.astype("datetime64[ns]"),
            "close_date": close.astype("datetime64[ns]"),
            "account": _text(account),
            "owner": _text(np.array([f"Rep {i}" for i in range(200)], dtype=object)[owner]),
            "manager": _text(np.array([f"Manager {i}" for i in range(20)], dtype=object)[manager]),
            "segment": _text(SEGMENTS[seg]),
            "region": _text(REGIONS[region]),
            "product": _text(PRODUCTS[product]),
            "source": _text(SOURCES[source]),
            "deal_type": _text(DEAL_TYPES[deal_type]),
            "extra_opportunity_name": _text(account + " - " + PRODUCTS[product] + " " + year),
            "extra_needs_def": _text(NEEDS[needs]),
            "extra_manager_coaching": _text(COACHING[coaching]),
            "extra_buying_group_size": group.astype(float),
            "extra_stage_changes": (visits - 1).astype(float),
            "extra_effort_score": effort,
            "extra_debrief": _text(debrief),
        }
    )
    for col in OPPORTUNITY_COLUMNS:
        if col not in opps:
            opps[col] = pd.Series(pd.NA, index=opps.index, dtype="string")
    opps = opps[[*OPPORTUNITY_COLUMNS, *(c for c in opps if c.startswith("extra_"))]]
    events = pd.DataFrame(
        {
            "opportunity_id": _text(ids[opp[seen]]),
            "stage": _text(stage[seen]),
            "entered_at": entered[seen].astype("datetime64[ns]"),
        }
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


QUANTILES = {"p25_days": 0.25, "median_days": 0.5, "p75_days": 0.75}


def loop_stage_table(crm: CrmData, as_of: pd.Timestamp) -> pd.DataFrame:
    """The stage table computed the straightforward way: one opportunity at a time, time in
    stage by Kaplan-Meier (an open deal's current visit is censored at ``as_of``)."""
    order = {s: i for i, s in enumerate(crm.stages)}
    rows = {s: {"entered": 0, "advanced": 0, "lost_here": 0, "open_here": 0, "days": [],
                "left": []} for s in crm.stages}  # fmt: skip
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
            still_there = i + 1 == len(stages) and outcome == "open"
            end = as_of if still_there else times[i + 1] if i + 1 < len(stages) else close
            if not pd.isna(end) and end >= times[i]:
                r["days"].append((end - times[i]).total_seconds() / 86_400)
                r["left"].append(not still_there)
        official = [s for s in stages if s in order]
        if outcome == "lost" and official:
            rows[official[-1]]["lost_here"] += 1
        if outcome == "open" and official and stages[-1] in order:
            rows[stages[-1]]["open_here"] += 1
    table = []
    for s, r in rows.items():
        counts = {k: v for k, v in r.items() if k not in ("days", "left")}
        left = sum(r["left"])
        quantiles = {q: km_quantile(r["days"], r["left"], p) for q, p in QUANTILES.items()}
        table.append({"stage": s, **counts, "completed_visits": left,
                      "censored_visits": len(r["left"]) - left, **quantiles})  # fmt: skip
    return pd.DataFrame(table)


def km_quantile(days: list[float], left: list[bool], p: float) -> float:
    """The first day by which the product-limit curve says a share ``p`` had left (durations to
    the hour; NaN when the curve never gets that low)."""
    survival = 1.0
    pairs = sorted(zip((round(d * 24) / 24 for d in days), left, strict=True))
    at_risk, i = len(pairs), 0
    while i < len(pairs):
        t, gone, n = pairs[i][0], 0, 0
        while i < len(pairs) and pairs[i][0] == t:
            gone, n, i = gone + pairs[i][1], n + 1, i + 1
        survival *= 1 - gone / at_risk
        at_risk -= n
        if gone and survival <= 1 - p + 1e-9:
            return t
    return float("nan")


def vector_stage_table(crm: CrmData, as_of: pd.Timestamp) -> pd.DataFrame:
    visits, _ = build_visits(crm, crm.stages, as_of)
    deals = build_deals(crm, visits, as_of)
    return stage_table(visits, deals, crm.stages, has_history=True, as_of=as_of)


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
    outcomes = crm.opportunities["outcome"].value_counts()
    print(f"generated {len(crm.opportunities):,} opportunities ({outcomes['won']:,} won, "
          f"{outcomes['lost']:,} lost, {outcomes['open']:,} open), {len(crm.stage_events):,} "
          f"stage events in {gen_s:.1f} s (RSS {rss_before:.2f} GB)")  # fmt: skip

    t0, c0 = time.perf_counter(), time.process_time()
    x = xray(crm)
    xray_s, xray_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"full x-ray: {xray_s:.1f} s (CPU {xray_cpu:.1f} s), peak RSS {peak_rss_gb():.2f} GB "
          "(target < 15 s, < 4 GB)")  # fmt: skip
    status = x.stalls["status"].value_counts()
    h = x.hygiene
    print(f"  {len(x.stalls):,} stalled ({status.get('slow', 0):,} slow, "
          f"{status.get('dead', 0):,} dead), {h.past_due_deals or 0:,} past due; "
          f"{len(x.paths.variants):,} path variants; {len(x.drivers.ranking)} drivers ranked, "
          f"{len(x.drivers.excluded)} left out ({', '.join(x.drivers.excluded['attribute'])})")  # fmt: skip
    t0 = time.perf_counter()
    found = x.findings()
    print(f"  findings: {len(found)} in {time.perf_counter() - t0:.1f} s")

    part = slice_crm(crm, args.slice)
    as_of = part.stage_events["entered_at"].max()
    t0 = time.perf_counter()
    looped = loop_stage_table(part, as_of)
    loop_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    vector = vector_stage_table(part, as_of)
    vector_s = time.perf_counter() - t0
    counts = (
        "entered",
        "advanced",
        "lost_here",
        "open_here",
        "completed_visits",
        "censored_visits",
    )
    same = all(
        (looped[c].to_numpy() == vector[c].to_numpy().astype(float)).all() for c in counts
    ) and all(np.allclose(looped[q], vector[q], equal_nan=True) for q in QUANTILES)
    per_opp_loop = loop_s / args.slice
    print(f"stage table on a {args.slice:,}-opportunity slice: loop {loop_s:.2f} s, vectorised "
          f"{vector_s:.3f} s, ratio {loop_s / vector_s:.0f}x (same numbers: {same})")  # fmt: skip
    print(f"loop extrapolated to {args.opportunities:,} opportunities: "
          f"{per_opp_loop * args.opportunities:.0f} s for the stage table alone, "
          f"{per_opp_loop * args.opportunities / xray_s:.0f}x the full vectorised x-ray")  # fmt: skip


if __name__ == "__main__":
    main()
