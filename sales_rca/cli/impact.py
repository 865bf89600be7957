"""``sales-rca impact``: what a change at a stage is worth per year, next to the same change at the
last stage ("the negotiation course")."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sales_rca.cli import check as check_cli
from sales_rca.cli.check import DataPath, HistoryOpt, JsonOpt, MappingOpt, SourceOpt
from sales_rca.cli.xray import StagesOpt
from sales_rca.display import MISSING, money, number, share
from sales_rca.errors import PipelineError

if TYPE_CHECKING:
    from sales_rca.impact import FunnelModel, ScenarioValue

StageOpt = Annotated[
    str, typer.Option("--stage", help="The stage to change, e.g. 'Needs Analysis'.")
]
PointsOpt = Annotated[
    float | None,
    typer.Option(
        "--points", help="Conversion at the stage up by this many points (5 = +5 points)."
    ),
]
DaysCutOpt = Annotated[
    float | None,
    typer.Option("--days-cut", help="Days won deals spend in the stage cut by this percent (20)."),
]
DrawsOpt = Annotated[
    int, typer.Option("--draws", help="Bootstrap resamples behind each interval.", min=100)
]


def _range(v: float | None, ci: tuple[float, float] | None, fmt: Any) -> str:
    if v is None:
        return MISSING
    return fmt(v) + (f" ({fmt(ci[0])} to {fmt(ci[1])})" if ci else "")


def format_value(v: ScenarioValue) -> list[str]:
    """Lines of one scenario for a terminal: extra won deals, revenue, cycle, velocity."""
    period = "once" if v.one_off else "a year"

    def deals(x: float) -> str:
        return number(x, 0 if abs(x) >= 10 else 1, blank=MISSING)

    def cash(x: float) -> str:
        return money(x, blank=MISSING)

    lines = [
        f"  {v.scenario.label}",
        f"    {'more won deals ' + period:<24}: "
        + _range(v.extra_won_deals_per_year, v.extra_won_deals_per_year_ci, deals),
        f"    {'more revenue ' + period:<24}: "
        + _range(v.extra_revenue_per_year, v.extra_revenue_per_year_ci, cash),
    ]
    if v.cycle_days_change is not None:
        lines.append(
            f"    {'cycle change (days)':<24}: "
            + _range(v.cycle_days_change, v.cycle_days_change_ci, lambda x: f"{x:+.1f}")
        )
    if v.velocity_change_per_day is not None:
        lines.append(
            f"    {'velocity per day':<24}: "
            + _range(v.velocity_change_per_day, v.velocity_change_per_day_ci, cash)
        )
    return lines


def format_impact(model: FunnelModel, main: ScenarioValue, last: ScenarioValue) -> str:
    """The readable answer: the funnel today, the change asked for and the last-stage one."""
    lines = [
        f"What the change is worth (from {model.months:.0f} months of data; 95% ranges from "
        f"{main.draws:,} resamples of the deals)",
        f"  Today: {number(model.inflow_per_month, blank=MISSING)} new deals a month, "
        f"{number(model.won_per_year, blank=MISSING)} won a year "
        f"(win rate {share(model.win_rate, blank=MISSING)}), "
        f"{money(model.revenue_per_year, blank=MISSING)} won a year, "
        f"cycle {number(model.cycle_days, blank=MISSING)} days",
        "",
        *format_value(main),
        "",
        "  The same change at the last stage, for comparison:",
        *format_value(last),
    ]
    notes = main.notes + [n for n in last.notes if n not in main.notes]
    return "\n".join(lines + [f"  Note: {n}" for n in notes])


def impact_payload(model: FunnelModel, main: ScenarioValue, last: ScenarioValue) -> dict:
    """The ``--json`` object: the scenario's figures at the top level, ``last_stage`` beside."""
    return {**main.to_dict(), "last_stage": last.to_dict(), "model": model.to_dict()}


def impact_command(
    path: DataPath,
    stage: StageOpt,
    points: PointsOpt = None,
    days_cut: DaysCutOpt = None,
    history: HistoryOpt = None,
    mapping: MappingOpt = None,
    stages: StagesOpt = None,
    source: SourceOpt = "auto",
    draws: DrawsOpt = 1000,
    as_json: JsonOpt = False,
) -> None:
    """What raising conversion (--points) or cutting time (--days-cut) at a stage is worth per
    year, with 95% ranges, next to the same change at the last stage."""
    from sales_rca.impact import Change, Effect, Scenario, evaluate, funnel_model, last_stage
    from sales_rca.impact.funnel import FunnelData
    from sales_rca.pipeline import xray

    if points is None and days_cut is None:
        raise PipelineError("expected --points N or --days-cut PCT (or both), found neither")
    if days_cut is not None and not 0 < days_cut < 100:
        raise PipelineError(f"expected --days-cut between 0 and 100 (percent), found {days_cut:g}")
    if points is not None and not -100 < points < 100:
        raise PipelineError(f"expected --points between -100 and 100, found {points:g}")
    crm = check_cli.load_from_cli(path, history, mapping, source)
    x = xray(crm, stages=stages.split(",") if stages else None)
    data = FunnelData.from_xray(x)

    def scenario(at: str) -> Scenario:
        changes, words = [], []
        if points is not None:
            changes.append(Change(Effect.POINTS, points / 100, at))
            words.append(f"conversion {points:+g} points")
        if days_cut is not None:
            changes.append(Change(Effect.DAYS_CUT, days_cut / 100, at))
            words.append(f"time in stage -{days_cut:g}%")
        return Scenario(f"{at}: {', '.join(words)}", tuple(changes))

    main, last = evaluate(data, [scenario(stage), scenario(last_stage(data))], draws=draws)
    model = funnel_model(data)
    if as_json:
        typer.echo(json.dumps(impact_payload(model, main, last), indent=2, ensure_ascii=False))
    else:
        typer.echo(format_impact(model, main, last))


SessionArg = Annotated[Path, typer.Argument(help="The workshop session file (SQLite).")]
DataOpt = Annotated[Path, typer.Option("--data", help="The new CRM export (CSV, XLSX or .xls).")]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since", help="When the actions started (2026-03-31); default the day each was committed."
    ),
]


def format_review(reviews: list) -> str:
    """Done and not-done actions side by side, each metric before vs now and its verdict."""
    from sales_rca.impact.review import review_text

    lines = ["90-day review: each action's target metric, before vs now (95% range)"]
    for title, done in (("Done", True), ("Not done yet", False)):
        group = [r for r in reviews if r.done is done]
        lines += ["", f"  {title}:"]
        if not group:
            lines.append("    (none)")
        for r in group:
            since = f" (since {r.since:%Y-%m-%d})" if r.since else ""
            lines.append(f"    {r.action.title}{since}")
            lines.append(f"      {review_text(r)}")
            lines += [f"      Note: {n}" for n in r.notes]
    return "\n".join(lines)


def review_command(
    session: SessionArg,
    data: DataOpt,
    history: HistoryOpt = None,
    mapping: MappingOpt = None,
    stages: StagesOpt = None,
    source: SourceOpt = "auto",
    since: SinceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The 90-day review: did each action's target metric move beyond noise on a new export?"""
    from sales_rca.impact.review import review_actions
    from sales_rca.session import Session

    start = None
    if since is not None:
        try:
            start = dt.date.fromisoformat(since)
        except ValueError:
            raise PipelineError(
                f"expected --since as a date like 2026-03-31, found {since!r}"
            ) from None
    with Session.open(session) as s:
        state = s.state()
    crm = check_cli.load_from_cli(data, history, mapping, source)
    reviews = review_actions(
        state.actions,
        crm,
        stages=stages.split(",") if stages else None,
        since=start,
        session_start=state.created_at,
    )
    if as_json:
        payload = {"actions": [r.to_dict() for r in reviews]}
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        typer.echo(format_review(reviews))


benchmark_app = typer.Typer(
    name="benchmark",
    help="The consultant's anonymised portfolio benchmark (benchmark.json of sales-rca batch).",
    no_args_is_help=True,
)


@benchmark_app.command("merge")
def merge_command(
    files: Annotated[list[Path], typer.Argument(help="benchmark.json files of several batches.")],
    out: Annotated[Path, typer.Option("--out", help="The merged benchmark file to write.")],
) -> None:
    """Merge benchmark files from several batches into one (each team counted once)."""
    from sales_rca.impact.benchmark import load_benchmark, merge

    path = merge(files, out)
    typer.echo(f"Benchmark of {len(load_benchmark(path).teams)} teams: {path}")


def register(app: typer.Typer) -> None:
    app.command("impact")(impact_command)
    app.command("review")(review_command)
    app.add_typer(benchmark_app, name="benchmark")
