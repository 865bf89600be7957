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
TOP = 10


def _num(value: object, fmt: str = "{:,.0f}") -> str:
    if value is None or value != value:  # None or NaN
        return "–"
    return fmt.format(value)


def format_xray(x: XRay) -> str:
    """A readable x-ray for a terminal: outcomes, stage table, stalls, drivers, velocity, notes."""
    from sales_rca.pipeline import findings

    rate = _num(x.win_rate, "{:.0%}")
    lo, hi = (_num(v, "{:.0%}") for v in x.win_rate_ci)
    lines = [
        f"Pipeline x-ray as of {x.as_of_text}",
        f"  Deals     : {x.won:,} won, {x.lost:,} lost, {x.open:,} open; "
        f"win rate {rate} (95% {lo}–{hi})",
        f"  Stages    : {' → '.join(x.stages) or '(none)'}  [{x.order.source}]",
        "",
        f"  {'stage':<22}{'entered':>9}{'advanced':>10}{'lost here':>11}{'open':>7}"
        f"{'conv.':>7}{'median d':>10}{'value lost':>13}",
    ]
    for r in x.stage_table.to_dict(orient="records"):
        lines.append(
            f"  {str(r['stage'])[:21]:<22}{_num(r['entered']):>9}{_num(r['advanced']):>10}"
            f"{_num(r['lost_here']):>11}{_num(r['open_here']):>7}"
            f"{_num(r['conversion'], '{:.0%}'):>7}{_num(r['median_days'], '{:.1f}'):>10}"
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
        lines.append(
            f"  Stalled   : {len(x.stalls):,} open deal(s) past the p{x.stall_percentile * 100:.0f} "
            f"of won deals, {_num(x.stalled_value)} at risk"
        )
        for r in x.stalls.head(TOP).to_dict(orient="records"):
            lines.append(
                f"    {r['opportunity_id']!s:<14} {str(r['stage'])[:20]:<21}"
                f"{r['days_in_stage']:>6.0f} days (normal ≤{r['threshold_days']:.0f})"
                f"{_num(r['amount']):>12}"
            )
    ranking = x.drivers.ranking
    if not ranking.empty:
        lines += ["", "  Drivers (groups that differ most; * = significant):"]
        for r in ranking.head(TOP).to_dict(orient="records"):
            star = "*" if r["significant"] else " "
            lines.append(
                f"   {star}{str(r['attribute']).removeprefix('extra_'):<20} "
                f"best {r['best_group']} {r['best_win_rate']:.0%}, "
                f"worst {r['worst_group']} {r['worst_win_rate']:.0%} "
                f"(p={r['p_adjusted']:.2g}, V={r['cramers_v']:.2f})"
            )
    v = x.velocity
    lines += [
        "",
        f"  Velocity  : {_num(v.per_day)} per day = {v.open_deals:,} open × "
        f"{_num(v.win_rate, '{:.0%}')} × {_num(v.avg_won_amount)} / "
        f"{_num(v.avg_cycle_days, '{:.0f}')} days",
    ]
    top = [f for f in findings(x) if f.metric in ("lost_here", "conversion", "median_days")]
    if top:
        lines += ["", "  Findings:"] + [f"    - {f.title}" for f in top]
    if x.notes:
        lines += [""] + [f"  Note: {n}" for n in x.notes]
    return "\n".join(lines)


def xray_command(
    path: DataPath,
    history: HistoryOpt = None,
    mapping: MappingOpt = None,
    stages: StagesOpt = None,
    source: SourceOpt = "auto",
    stall_percentile: PercentileOpt = 0.75,
    as_json: JsonOpt = False,
) -> None:
    """X-ray the pipeline: where deals stall and die, paths, drivers and velocity."""
    # the analyses pull in scipy, statsmodels and lifelines: load them only when x-raying
    from sales_rca.pipeline import xray

    crm = check_cli.load_from_cli(path, history, mapping, source)
    order = [s for s in stages.split(",")] if stages else None
    x = xray(crm, stages=order, stall_percentile=stall_percentile)
    if as_json:
        typer.echo(json.dumps(x.to_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(format_xray(x))


def register(app: typer.Typer) -> None:
    app.command("xray")(xray_command)
