"""``sales-rca xray``: where deals stall and die, as a readable report or one JSON object."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from sales_rca.cli import check as check_cli
from sales_rca.cli.check import DataPath, HistoryOpt, JsonOpt, MappingOpt, SourceOpt

if TYPE_CHECKING:
    from sales_rca.pipeline import XRay

StagesOpt = Annotated[
    str | None,
    typer.Option(
        "--stages", help='Official stage order, comma-separated: "Qualify,Demo,Proposal".'
    ),
]
PercentileOpt = Annotated[
    float,
    typer.Option(
        "--stall-percentile",
        help="Open deals past this percentile of won deals' days in their stage are stalled.",
    ),
]
BuyerJobsOpt = Annotated[
    str | None,
    typer.Option(
        "--buyer-jobs",
        help="YAML file mapping each stage to the buyer job it serves and its exit criterion "
        "(a buyer_jobs: block; default the mapping file's). Example: "
        "sales_rca/resources/buyer_jobs.example.yaml.",
    ),
]
TOP = 10


def _num(value: object, fmt: str = "{:,.0f}") -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return fmt.format(value)


def _range(low: object, high: object) -> str:
    if _num(low) == "–" or _num(high) == "–":
        return ""
    return f" ({_num(low, '{:.0%}')}-{_num(high, '{:.0%}')})"


def format_xray(x: XRay) -> str:
    """A readable x-ray for a terminal: outcomes, ranked findings, stages, hygiene, drivers,
    time, velocity and notes. Unknown figures print as "–"."""
    rate = _num(x.win_rate, "{:.0%}")
    lo, hi = (_num(v, "{:.0%}") for v in x.win_rate_ci)
    lines = [
        f"Pipeline x-ray as of {x.as_of_text}",
        f"  Deals     : {x.won:,} won, {x.lost:,} lost, {x.open:,} open; "
        f"win rate {rate} (95% {lo}–{hi})",
        f"  Stages    : {' → '.join(x.stages) or '(none)'}  [{x.order.source}]",
    ]
    ranked = [f for f in x.findings() if f.strength != "context"]
    if ranked:
        lines += ["", "  Findings (strongest evidence and most at stake first):"]
        for f in ranked[:TOP]:
            mark = "  (a lead, not proof)" if f.strength == "caution" else ""
            lines.append(f"    - {f.title}{mark}")
    lines += [
        "",
        f"  {'stage':<22}{'entered':>9}{'advanced':>10}{'lost here':>11}{'open':>7}"
        f"{'conversion (95%)':>19}{'median d':>10}{'p75 d':>8}{'value lost':>13}",
    ]
    for r in x.stage_table.to_dict(orient="records"):
        conv = _num(r["conversion"], "{:.0%}") + _range(
            r.get("conversion_ci_low"), r.get("conversion_ci_high")
        )
        lines.append(
            f"  {str(r['stage'])[:21]:<22}{_num(r['entered']):>9}{_num(r['advanced']):>10}"
            f"{_num(r['lost_here']):>11}{_num(r['open_here']):>7}{conv:>19}"
            f"{_num(r['median_days'], '{:.1f}'):>10}{_num(r.get('p75_days'), '{:.0f}'):>8}"
            f"{_num(r['value_lost']):>13}"
        )
    if x.has_history:
        p = x.paths
        lines += [
            "",
            f"  Paths     : {len(p.variants):,} variants; "
            f"{_num(p.won_on_official_path, '{:.0%}')} of won deals follow the official path; "
            f"{p.deals_with_skips:,} deal(s) skipped a stage, "
            f"{p.deals_with_backward_moves:,} moved backwards",
        ]
    if x.has_history and x.process is not None:
        lines += _process_lines(x)
    h = x.hygiene
    if h is not None:
        lines += [
            "",
            f"  Hygiene   : {h.open_deals:,} open deals worth {_num(h.open_value)}; "
            f"{_num(h.slow_deals)} slow ({_num(h.slow_value)} at risk, "
            f"{_num(h.at_risk_share, '{:.0%}')} of the open pipeline), "
            f"{_num(h.dead_deals)} dead, {_num(h.past_due_deals)} past their close date",
            f"              Rule: {h.rule}",
        ]
        slow = x.stalls[x.stalls["status"] == "slow"] if "status" in x.stalls else x.stalls
        for r in slow.head(TOP).to_dict(orient="records"):
            lines.append(
                f"    {r['opportunity_id']!s:<14} {str(r['stage'])[:20]:<21}"
                f"{r['days_in_stage']:>6.0f} days (normal ≤{r['threshold_days']:.0f})"
                f"{_num(r['amount']):>12}"
            )
    d = x.drivers
    if not d.ranking.empty:
        lines += ["", "  Drivers (strongest honest evidence first):"]
        for r in d.ranking.head(TOP).to_dict(orient="records"):
            lines.append(
                f"    {str(r['label'])[:28]:<29} worst {r['worst_group']} "
                f"{_num(r['worst_win_rate'], '{:.0%}')}, best {r['best_group']} "
                f"{_num(r['best_win_rate'], '{:.0%}')}  [{_strength(r, d)}]"
            )
    if not d.excluded.empty:
        lines += ["", "  Left out of the drivers:"]
        lines += [f"    - {reason}" for reason in d.excluded["reason"].head(TOP)]
    q = x.trend.by_created_quarter
    if not q.empty:
        lines += ["", "  By created quarter (win rate of closed deals):"]
        for r in q.tail(8).to_dict(orient="records"):
            young = "" if r["mature"] else "  too early to read: many deals still open"
            lines.append(
                f"    {r['period']:<8}{r['created']:>7,} created  win rate "
                f"{_num(r['win_rate'], '{:.0%}'):>4}{_range(r['ci_low'], r['ci_high'])}{young}"
            )
    v = x.velocity
    lines += [
        "",
        f"  Velocity  : {_num(v.per_day)} per day = {v.open_deals:,} open × "
        f"{_num(v.win_rate, '{:.0%}')} × {_num(v.avg_won_amount)} / "
        f"{_num(v.avg_cycle_days, '{:.0f}')} days",
    ]
    notes = list(x.notes) + list(x.trend.notes)
    if notes:
        lines += [""] + [f"  Note: {n}" for n in notes]
    return "\n".join(lines)


def _process_lines(x: XRay) -> list[str]:
    """Conformance, the fair comparisons (in words) and the buyer-job flags."""
    from sales_rca.pipeline.conformance import TOO_FEW

    assert x.process is not None
    c = x.process.conformance
    lo, hi = (_num(v, "{:.0%}") for v in c.share_conforming_ci)
    lines = [
        f"  Process   : {_num(c.share_conforming, '{:.0%}')} (95% {lo}–{hi}) of "
        f"{c.closed_deals:,} closed deals followed the official order"
    ]
    won = x.process.won_paths
    if not won.empty:
        lines.append(
            f"              Most won deals ({won.iloc[0]['won']:,}): {won.iloc[0]['path']}"
        )
    tested = c.comparisons[c.comparisons["verdict"] != TOO_FEW]
    lines += [f"    - {s}" for s in tested["sentence"].head(5)]
    view = x.process.buyer_jobs
    if view is not None:
        if view.unmapped:
            lines.append(f"    No buyer job: {', '.join(view.unmapped)}")
        if view.unverifiable:
            lines.append(
                f"    No exit criterion the buyer can verify: {', '.join(view.unverifiable)}"
            )
    return lines


def _strength(r: dict, d: object) -> str:
    """The evidence of a driver in words, not p-values."""
    from sales_rca.pipeline.leakage import attribute_name

    if r["explained_by"] is not None:
        return f"explained by {attribute_name(r['explained_by'])}"
    if "few_clusters" in r["flags"]:
        return f"only {r['units']:.0f} {attribute_name(str(r['unit']))}s: too few to tell"
    if "small_sample" in r["flags"]:
        return "too few deals to tell"
    return "clear" if r["significant"] else "no clear difference"


def xray_command(
    path: DataPath,
    history: HistoryOpt = None,
    mapping: MappingOpt = None,
    stages: StagesOpt = None,
    source: SourceOpt = "auto",
    stall_percentile: PercentileOpt = 0.75,
    buyer_jobs: BuyerJobsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """X-ray the pipeline: where deals stall and die, paths, drivers and velocity."""
    # the analyses pull in scipy, statsmodels and lifelines: load them only when x-raying
    from sales_rca.pipeline import xray

    crm = check_cli.load_from_cli(path, history, mapping, source)
    order = [s for s in stages.split(",")] if stages else None
    x = xray(crm, stages=order, stall_percentile=stall_percentile, buyer_jobs=buyer_jobs)
    if as_json:
        typer.echo(json.dumps(x.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(format_xray(x))


def register(app: typer.Typer) -> None:
    app.command("xray")(xray_command)
