"""What a change is worth, at speed: 1,000 bootstrap draws on the demo and on 1,000,000 deals.

Prints the seconds of :func:`sales_rca.impact.evaluate` (a scenario at a stage and the same at the
last stage, 1,000 resamples of the opportunities) on the packaged demo and on the synthetic
1,000,000-opportunity pipeline of ``bench_pipeline.py``, and, as the baseline in the same process,
a straightforward bootstrap that draws every resample's opportunities one by one (timed on a
few draws and scaled to 1,000), with the ratio; and every stage's scenarios at once. Target (issue 14): 1,000 draws in under 2 s on
the demo.

    .venv/bin/python benchmarks/bench_impact.py [--opportunities N] [--draws N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_pipeline import generate

from sales_rca import resources
from sales_rca.crm import load_crm
from sales_rca.impact import FunnelData, days_cut, evaluate, last_stage, points
from sales_rca.pipeline import xray


def naive_draws(data: FunnelData, stage: str, draws: int, seed: int = 0) -> np.ndarray:
    """Extra won deals a year of +5 points at ``stage``, resampling opportunities row by row."""
    rng = np.random.default_rng(seed)
    col = data.stage_columns(stage)
    won, lost = data.won, data.lost
    adv, lost_here, through = col["advanced"], col["lost_here"], col["through"]
    n = len(won)
    out = np.empty(draws)
    for b in range(draws):
        i = rng.integers(0, n, n)
        conv = adv[i].sum() / (adv[i].sum() + lost_here[i].sum())
        won_through = n / data.years * (won[i] & through[i]).sum() / (won[i].sum() + lost[i].sum())
        out[b] = won_through * (min(conv + 0.05, 1.0) / conv - 1)
    return out


def run(label: str, x: object, draws: int, naive: int) -> None:
    data = FunnelData.from_xray(x)  # type: ignore[arg-type]
    stage = data.stages[len(data.stages) // 2]
    scenarios = [points(stage, 5), points(last_stage(data), 5)]
    start = time.perf_counter()
    main, last = evaluate(data, scenarios, draws=draws)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    naive_draws(data, stage, naive)
    slow = (time.perf_counter() - start) * draws / naive
    print(
        f"{label}: {len(data.won):,} opportunities, {draws:,} draws, 2 scenarios: {fast:.2f} s "
        f"(naive bootstrap, scaled from {naive} draws: {slow:.2f} s; ratio {slow / fast:.1f})"
    )
    start = time.perf_counter()
    evaluate(data, [points(s, 5) for s in data.stages] + [days_cut(s, 20) for s in data.stages])
    every = time.perf_counter() - start
    print(
        f"  every stage, +5 points and -20% days ({2 * len(data.stages)} scenarios): {every:.2f} s"
    )
    print(
        f"  {main.scenario.label}: +{main.extra_won_deals_per_year:,.1f} won a year "
        f"({main.extra_won_deals_per_year_ci[0]:,.1f} to {main.extra_won_deals_per_year_ci[1]:,.1f}); "
        f"{last.scenario.label}: +{last.extra_won_deals_per_year:,.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--draws", type=int, default=1_000)
    args = parser.parse_args()
    demo = resources.demo_dir()
    crm = load_crm(
        demo / "salesforce_opportunities.csv",
        history=demo / "salesforce_opportunity_history.csv",
    )
    run("demo", xray(crm), args.draws, naive=100)
    start = time.perf_counter()
    big = xray(generate(args.opportunities))
    print(f"(x-ray of {args.opportunities:,} opportunities: {time.perf_counter() - start:.1f} s)")
    run("large", big, args.draws, naive=3)


if __name__ == "__main__":
    main()
