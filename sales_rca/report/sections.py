"""One HTML block per step of the diagnostic: data check, x-ray, loss coding, hypotheses, plays, workshop.

The diagnostic notebook calls these with the library's results; each returns an
:class:`~sales_rca.render.Html` made by the templates of :mod:`sales_rca.render` (the app shows
the same fragments), or a list of plotly figures (:func:`xray_figures`,
:func:`coding_figures`, :func:`workshop_figures`, all built by :mod:`sales_rca.charts`) for
:func:`show`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from sales_rca import display, render
from sales_rca.charts.theme import PLOTLY_MIME, figure_json
from sales_rca.findings import Finding
from sales_rca.render import (
    Html,
    bar,
    bullets,
    heading,
    join,
    kpis,
    metric_value,
    money,
    note,
    number,
    section,
    share,
    table,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from sales_rca.coding import CodingResult
    from sales_rca.crm import CrmData
    from sales_rca.pipeline import XRay
    from sales_rca.rootcause import Category, Play, Recommendation, WorkshopState

#: The MIME type of a plotly figure in a notebook output (JupyterLab and the summary render it).
#: The five-whys question each metric raises (see :func:`question` for driver and trend findings).
_QUESTIONS: dict[str, str] = {
    "lost_here": "Why do so many deals die at {stage}?",
    "conversion": "Why do deals fail to move on from {stage}?",
    "median_days": "Why do deals sit so long at {stage}?",
    "code_share": "Why do so many lost deals cite {category}?",
    "over_attribution": "Why do reps blame {category} more often than their own notes do?",
    "stalled_value": "Why do open deals stall{at_stage}?",
    "stalled_deals": "Why do open deals stall{at_stage}?",
    "dead_deals": "Why do deals that are dead stay open in the pipeline?",
    "past_due_deals": "Why do open deals keep close dates that have already passed?",
    "quarter_end_share": "Why do won deals bunch at the end of the quarter?",
    "win_rate": "Why is the win rate lower where {segment}?",
    "path_share": "Why do won deals not follow the official sales process?",
    "process_deviation": "Why do deals that {deviation} win differently from the others?",
    "process_stages_unseen_by_buyer": "Does our sales process follow how we sell, not how our customers buy?",
}
#: How sure a finding is, in the room's words (``Finding.strength``).
STRENGTH_WORDS: dict[str, str] = {
    "strong": "strong evidence",
    "caution": "lead, not proof",
    "context": "background",
}
#: p-values inside a sentence (``(p = 0.03)``): the room reads the words, not the statistic.
_P_VALUE = re.compile(r"\s*\(p\s*[=<]\s*[^)]*\)|,?\s*\bp\s*[=<]\s*[0-9.eE+-]+")


def data_check(crm: CrmData) -> Html:
    """What the import read: rows in / accepted / quarantined, outcomes, columns used, warnings."""
    return section("Data check", render.data_check(crm.report), css="data-check")


def xray_overview(x: XRay, currency: str = "", *, names: bool = False) -> Html:
    """The x-ray in one block: deal counts and win rate, the stage table, pipeline hygiene, what
    goes with winning and losing (and what was left out), and the pipeline over time.

    People (owners, managers) are described, not named, unless ``names`` is True."""
    lo, hi = x.win_rate_ci
    headline = kpis(
        [
            ("win rate", share(x.win_rate)),
            ("won", number(x.won)),
            ("lost", number(x.lost)),
            ("open", number(x.open)),
            ("value at risk", money(x.stalled_value, currency) if x.has_history else "–"),
        ]
    )
    parts: list[Any] = [
        headline,
        note(f"Win rate 95% range {share(lo)}–{share(hi)}; as of {x.as_of_text}."),
        heading("Stages: where deals go, die and wait", 3),
        stage_table_block(x, currency),
        heading("Pipeline hygiene", 3),
        hygiene_block(x, currency),
        heading("What goes with winning and losing", 3),
        drivers_block(x, names=names),
        heading("Over time", 3),
        trend_block(x),
    ]
    hygiene = getattr(x, "hygiene", None)
    shown = {*x.drivers.notes, *(hygiene.notes if hygiene is not None else ())}  # said above
    rest = [n for n in x.notes if n not in shown]
    if rest:
        parts.append(heading("Notes on the data", 3))
        parts += [note(plain(n)) for n in rest]
    return section("Pipeline x-ray", *parts, css="xray")


def plain(text: Any) -> str:
    """A sentence for the room: any p-value in it (``(p = 0.03)``) taken out."""
    return _P_VALUE.sub("", str(text))


def share_range(value: Any, low: Any, high: Any) -> str:
    """``81% (79-82%)``: a share with its 95% range (the share alone when the range is unknown)."""
    text = share(value)
    if text == "–" or display.missing(low) or display.missing(high):
        return text
    return f"{text} ({float(low) * 100:.0f}-{share(high)})"


def stage_rows(x: XRay, currency: str = "") -> tuple[list[str], list[tuple[Any, ...]]]:
    """The stage table as the room reads it: headers and rows of plain text ("–" when unknown).

    Conversion comes with its 95% range; days in the stage are censoring-aware (deals still in a
    stage count as still running), so they are "–" when too many deals are still there to tell.
    """
    headers = [
        "stage",
        "entered",
        "moved on (95% range)",
        "lost here",
        "value lost",
        "open now",
        "median days",
        "3 in 4 left within (days)",
    ]
    rows = [
        (
            r["stage"],
            number(r["entered"]),
            share_range(r["conversion"], r.get("conversion_ci_low"), r.get("conversion_ci_high")),
            number(r["lost_here"]),
            money(r["value_lost"], currency),
            number(r["open_here"]),
            number(r["median_days"]),
            number(r.get("p75_days")),
        )
        for r in x.stage_table.to_dict(orient="records")
    ]
    return headers, rows


def stage_table_block(x: XRay, currency: str = "") -> Markup:
    """The stage table (:func:`stage_rows`) with what its dashes mean."""
    headers, rows = stage_rows(x, currency)
    parts = [table(headers, rows, numeric=[1, 2, 3, 4, 5, 6, 7], css="stages")]
    t = x.stage_table
    if x.has_history and len(t) and t[["median_days", "p75_days"]].isna().to_numpy().any():
        parts.append(
            note(
                "– in the days columns: not known yet, because too many deals are still in that "
                "stage (deals still there count as still running, not as finished)."
            )
        )
    if len(t) and t["value_lost"].isna().all():
        parts.append(note("– in value lost: the export has no amounts for these deals."))
    return join(parts)


def hygiene_rows(x: XRay, currency: str = "") -> tuple[list[str], list[tuple[Any, ...]]]:
    """Open, slow (value at risk), dead and past-due deals: headers and rows of plain text."""
    h = getattr(x, "hygiene", None)
    headers = ["open deals", "deals", "value", "share of the open pipeline"]
    if h is None:
        return headers, []

    def part(value: Any) -> str:
        if display.missing(value) or display.missing(h.open_value) or not h.open_value:
            return "–"
        return share(float(value) / float(h.open_value))

    rows = [
        ("all open deals", number(h.open_deals), money(h.open_value, currency), "–"),
        (
            "slow: the value at risk",
            number(h.slow_deals),
            money(h.at_risk_value, currency),
            share(h.at_risk_share),
        ),
        (
            "dead: to clean out of the CRM",
            number(h.dead_deals),
            money(h.dead_value, currency),
            part(h.dead_value),
        ),
        (
            "close date already passed",
            number(h.past_due_deals),
            money(h.past_due_value, currency),
            part(h.past_due_value),
        ),
    ]
    return headers, rows


def hygiene_block(x: XRay, currency: str = "") -> Markup:
    """Pipeline hygiene: the rule in one sentence, then slow, dead and past-due deals."""
    h = getattr(x, "hygiene", None)
    if h is None:
        return note("Pipeline hygiene was not computed for this data.")
    headers, rows = hygiene_rows(x, currency)
    parts = [note(h.rule), table(headers, rows, numeric=[1, 2, 3], css="hygiene")]
    if h.slow_deals is None and h.dead_deals is None:
        parts.append(
            note(
                "Slow and dead deals are unknown: judging them needs the date each open deal "
                "entered its stage, and enough won deals per stage to know what normal is."
            )
        )
    elif h.unjudged_deals:
        parts.append(
            note(
                f"{number(h.unjudged_deals)} of the {number(h.open_deals)} open deals could not be "
                "judged slow or dead."
            )
        )
    if h.past_due_deals is None:
        parts.append(note("Past-due deals are unknown: the open deals have no close date."))
    if display.missing(h.open_value):
        parts.append(note("– in value: the export has no amounts for the open deals."))
    parts += [note(plain(n)) for n in h.notes]
    return join(parts)


def driver_strength(row: Any, labels: dict[str, str] | None = None) -> str:
    """How clear a driver is, in plain words (never a p-value).

    ``row`` is a row of ``DriverAnalysis.ranking``; ``labels`` maps attribute columns to their
    plain names (default :func:`sales_rca.pipeline.leakage.attribute_name`).
    """
    from sales_rca.people import is_people, noun
    from sales_rca.pipeline.leakage import attribute_name

    labels = labels or {}
    flags = list(row["flags"]) if row.get("flags") is not None else []
    other = row.get("explained_by")
    if other is not None and not (isinstance(other, float) and math.isnan(other)):
        return f"explained by {labels.get(str(other), attribute_name(other))}"
    if "small_sample" in flags:
        return "too few deals to tell"
    if "few_clusters" in flags:
        unit_column = str(row.get("unit") or "group")
        unit = _plural(noun(unit_column) if is_people(unit_column) else attribute_name(unit_column))
        units = row.get("units")
        count = f" (only {int(units)})" if not display.missing(units) else ""
        return f"too few {unit} to tell{count}"
    if bool(row.get("significant")):
        return "clear"
    return "no clear difference"


def _plural(word: str) -> str:
    from sales_rca.people import plural

    return plural(word)


def _group(attribute: str, group: Any, names: bool, which: str) -> str:
    """A driver group in words; a person with names off as ``the lowest-rate rep``."""
    from sales_rca.people import group_text, noun
    from sales_rca.pipeline.drivers import BLANK

    alias = f"the {which}-rate {noun(attribute)}"
    return group_text(attribute, None if group == BLANK else group, names=names, alias=alias)


def driver_rows(x: XRay, *, names: bool = False) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The ranked drivers as the room reads them: plain attribute names, the lowest and highest
    tested group with their win rates, the gap, and how clear it is. A people attribute's groups
    are ``the lowest-rate rep`` / ``the highest-rate rep`` unless ``names`` is True."""
    ranking = x.drivers.ranking
    headers = [
        "attribute",
        "lowest win rate",
        "highest win rate",
        "gap",
        "closed deals",
        "how clear",
    ]
    if ranking.empty:
        return headers, []
    labels = dict(zip(ranking["attribute"], ranking["label"], strict=True))
    rows = []
    for r in ranking.to_dict(orient="records"):
        gap = r.get("spread")
        attribute = str(r["attribute"])
        worst = (
            f"{_group(attribute, r['worst_group'], names, 'lowest')}: {share(r['worst_win_rate'])}"
        )
        best = (
            f"{_group(attribute, r['best_group'], names, 'highest')}: {share(r['best_win_rate'])}"
        )
        clear = driver_strength(r, labels)
        if r["worst_group"] == r["best_group"]:  # one group big enough: nothing to set it against
            best, gap, clear = "–", None, "only one group is large enough to compare"
        rows.append(
            (
                display.label(attribute),
                worst,
                best,
                "–" if display.missing(gap) else f"{float(gap) * 100:.0f} points",
                number(r["deals"]),
                clear,
            )
        )
    return headers, rows


def left_out(x: XRay) -> list[str]:
    """Why each attribute left out of the drivers was left out (one sentence each)."""
    excluded = getattr(x.drivers, "excluded", None)
    if excluded is None or excluded.empty:
        return []
    return [str(r) for r in excluded["reason"]]


def drivers_block(x: XRay, *, names: bool = False) -> Markup:
    """What goes with winning and losing: the driver table, its reading, and what was left out
    (people described, not named, unless ``names``)."""
    d = x.drivers
    headers, rows = driver_rows(x, names=names)
    parts: list[Any] = []
    if rows:
        parts.append(
            note(
                "Win rates of closed deals. Lowest and highest: the groups with at least "
                f"{d.min_group_size} closed deals. This is association, not cause."
            )
        )
        parts.append(table(headers, rows, numeric=[3, 4], css="drivers"))
    else:
        parts.append(note("No attribute could be compared: too few closed deals per group."))
    parts += [note(plain(n)) for n in d.notes]
    reasons = left_out(x)
    if reasons:
        parts.append(heading("Left out, and why", 4))
        parts.append(bullets(reasons, css="left-out"))
    return join(parts)


def quarter_rows(x: XRay) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Win rate by the quarter deals were created; young quarters marked "too early to read"."""
    headers = ["created in", "deals", "won", "lost", "still open", "win rate (95% range)", ""]
    t = getattr(x, "trend", None)
    if t is None or t.by_created_quarter.empty:
        return headers, []
    rows = [
        (
            r["period"],
            number(r["created"]),
            number(r["won"]),
            number(r["lost"]),
            number(r["open"]),
            share_range(r["win_rate"], r["ci_low"], r["ci_high"]),
            "" if bool(r["mature"]) else "too early to read",
        )
        for r in t.by_created_quarter.to_dict(orient="records")
    ]
    return headers, rows


_CYCLE_GROUPS = {
    "won": "won deals",
    "lost": "lost deals",
    "all deals": "all deals, open ones counted as still running",
}


def cycle_rows(x: XRay) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Days from created to close: won and lost deals, and all deals with open ones running."""
    headers = ["deals", "how many", "median days (95% range)", "3 in 4 within (days)"]
    t = getattr(x, "trend", None)
    if t is None or t.cycle.empty:
        return headers, []
    rows = []
    for r in t.cycle.to_dict(orient="records"):
        median = number(r["median_days"])
        if median != "–" and not (
            display.missing(r["median_ci_low"]) or display.missing(r["median_ci_high"])
        ):
            median += f" ({number(r['median_ci_low'])}-{number(r['median_ci_high'])})"
        rows.append(
            (
                _CYCLE_GROUPS.get(str(r["group"]), str(r["group"])),
                number(r["deals"]),
                median,
                number(r["p75_days"]),
            )
        )
    return headers, rows


def trend_block(x: XRay) -> Markup:
    """The pipeline over time: win rate by created quarter, the quarter-end effect, cycle length."""
    t = getattr(x, "trend", None)
    if t is None:
        return note("The pipeline over time was not computed for this data.")
    parts: list[Any] = []
    headers, rows = quarter_rows(x)
    if rows:
        parts.append(table(headers, rows, numeric=[1, 2, 3, 4, 5], css="quarters"))
        if any(r[-1] for r in rows):
            parts.append(
                note(
                    "Too early to read: more than a fifth of that quarter's deals are still "
                    "open, and the deals that close first (quick losses, easy wins) bias its rate."
                )
            )
    if t.quarter_end is not None:
        parts.append(note(t.quarter_end.text))
    headers, rows = cycle_rows(x)
    if rows:
        parts.append(table(headers, rows, numeric=[1, 2, 3], css="cycle"))
    said = ("cannot be read yet", "Among closed deals", "Counting the")  # by the tables above
    qe_text = t.quarter_end.text if t.quarter_end is not None else None
    for n in t.notes:
        if any(w in n for w in said) or (qe_text and n.startswith(qe_text)):
            continue
        parts.append(note(plain(n)))
    if not parts:
        parts.append(note("No dates in the data: nothing to show over time."))
    return join(parts)


def process_block(x: XRay, *, top: int = 6) -> Markup:
    """How customers buy vs how we sell: how many deals follow the official process, whether
    following it pays (compared fairly, in words), the won deals' paths, and the buyer jobs."""
    from sales_rca.pipeline.conformance import TOO_FEW

    process = getattr(x, "process", None)
    if process is None or not x.has_history:
        return note(
            "How deals follow the official process needs the stage history (the dates deals "
            "entered each stage)."
        )
    c = process.conformance
    won = process.won_paths
    tiles = [
        render.Tile(
            "of closed deals followed the official process",
            share_range(c.share_conforming, *c.share_conforming_ci),
        ),
        render.Tile("of won deals took the official path", share(x.paths.won_on_official_path)),
        render.Tile("different paths won deals took", number(len(won))),
    ]
    tested = c.comparisons[c.comparisons["verdict"] != TOO_FEW]
    comparisons = [
        (
            r["label"],
            number(r["deals"]),
            share_range(r["win_rate"], r["ci_low"], r["ci_high"]),
            r["reference"],
            number(r["reference_deals"]),
            share_range(r["reference_win_rate"], r["reference_ci_low"], r["reference_ci_high"]),
            r["verdict"],
        )
        for r in tested.head(top).to_dict(orient="records")
    ]
    deviations = [
        (_capital(r["label"]), number(r["deals"]), share(r["win_rate"]))
        for r in c.deviations.head(top + 2).to_dict(orient="records")
    ]
    paths = [
        (r["path"], number(r["won"]), share(r["share_of_won"]), "yes" if r["official"] else "no")
        for r in won.head(5).to_dict(orient="records")
    ]
    jobs: list[tuple[Any, ...]] = []
    flags: list[str] = []
    view = process.buyer_jobs
    if view is not None:
        jobs = [
            (
                r["job"],
                ", ".join(r["stages"]),
                number(r["lost"]),
                share(r["lost_share"]),
                share_range(r["loss_rate"], r["loss_ci_low"], r["loss_ci_high"]),
                number(r["median_days"]),
            )
            for r in view.jobs.to_dict(orient="records")
        ]
        if view.unmapped:
            flags.append(f"No buyer job: {', '.join(view.unmapped)}.")
        if view.unverifiable:
            flags.append(f"No exit criterion the buyer can verify: {', '.join(view.unverifiable)}.")
        if flags:
            flags.append("Is our process how we sell rather than how our customers buy?")
    notes = [plain(n) for n in process.notes if "stage history" not in n]
    return render.fragment(
        "process.overview", tiles, comparisons, deviations, paths, jobs, flags, notes
    )


def process_section(x: XRay) -> Html:
    """The summary's section on the sales process against how customers buy
    (:func:`process_block`)."""
    return section("How customers buy vs how we sell", process_block(x), css="process")


def process_figures(x: XRay) -> list[go.Figure]:
    """The won deals' moves drawn on the official process (none without history)."""
    from sales_rca.charts import won_process_figure

    process = getattr(x, "process", None)
    if process is None or process.won_graph.empty:
        return []
    return [won_process_figure(process.won_graph, x.stages)]


def _capital(text: Any) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]


def xray_figures(x: XRay, *, top_stalls: int = 12, names: bool = False) -> list[go.Figure]:
    """The x-ray's figures worth a page: funnel, time in stage and slow deals (when there is
    history), the win rate of the strongest driver, and the win rate by created quarter
    (people in the driver's figure as ``Rep A``... unless ``names``)."""
    from sales_rca.charts import (
        funnel_figure,
        stall_figure,
        time_in_stage_figure,
        trend_figure,
        win_rate_figure,
    )

    figures = [funnel_figure(x.stage_table)]
    if x.has_history and x.stage_table["median_days"].notna().any():
        figures.append(time_in_stage_figure(x.stage_table))
    stalls = x.stalls
    if "status" in stalls:
        stalls = stalls[stalls["status"] == "slow"]
    if not stalls.empty:
        figures.append(stall_figure(stalls, top=top_stalls))
    top = top_driver(x)
    if top is not None:
        attribute, kind = top
        groups = x.drivers.groups[x.drivers.groups["attribute"] == attribute]
        figures.append(
            win_rate_figure(
                groups, attribute, overall=x.drivers.overall_win_rate, kind=kind, names=names
            )
        )
    t = getattr(x, "trend", None)
    if t is not None and t.by_created_quarter["win_rate"].notna().sum() >= 2:
        figures.append(trend_figure(t.by_created_quarter))
    return figures


def top_driver(x: XRay) -> tuple[str, str] | None:
    """The attribute (and its kind) whose win rates are worth a figure: the first ranked one."""
    ranking = x.drivers.ranking
    if ranking.empty:
        return None
    r = ranking.iloc[0]
    return str(r["attribute"]), str(r.get("kind") or "category")


def loss_coding(losses: CodingResult, categories: Sequence[Category] = ()) -> Html:
    """Why deals were lost, in fishbone categories and codes, with the reps' own words."""
    from sales_rca.coding import category_shares, top_codes

    labels = {c.id: c.label for c in categories}
    cats = category_shares(losses)
    codes = top_codes(losses, n=8, examples=2)
    lost, coded = len(losses.deals), int(losses.deals["coded"].sum())
    parts: list[Any] = [
        note(
            f"{lost:,} lost deals, {coded:,} coded ({share(losses.coverage)}) from their loss "
            "texts, or their pick-list reason when the text says nothing. Shares are of coded "
            "deals; a deal can cite several reasons."
        )
    ]
    if not cats.empty:
        parts.append(
            table(
                ["category", "share of coded lost deals"],
                [(labels.get(str(c), c), bar(v, share(v))) for c, v in cats.items()],
                css="bars",
            )
        )
    if not codes.empty:
        parts.append(
            table(
                ["loss code", "category", "deals", "share"],
                [
                    (
                        r.label,
                        labels.get(r.category, r.category),
                        number(r.deals),
                        bar(r.share, share(r.share)),
                    )
                    for r in codes.itertuples()
                ],
                numeric=[2],
                css="bars",
            )
        )
        quotes = [(r.label, q) for r in codes.head(3).itertuples() for q in r.examples]
        if quotes:
            parts.append(heading("In the reps' own words", 3))
            parts.append(table(["loss code", "loss text"], quotes, css="quotes"))
    return section("Why deals were lost (loss coding)", *parts, css="coding")


def coding_figures(losses: CodingResult, stages: Sequence[str] = ()) -> list[go.Figure]:
    """Where deals are lost and why (when loss stages are known), and what reps pick on the
    pick-list against what their notes say."""
    from sales_rca.charts.coding import over_attribution_figure, stage_category_heatmap
    from sales_rca.coding import over_attribution, stage_category_matrix

    figures = []
    has_stage = "loss_stage" in losses.deals and losses.deals["loss_stage"].notna().any()
    if has_stage and losses.deals["coded"].any():
        figures.append(stage_category_heatmap(stage_category_matrix(losses, stages=list(stages))))
    over = over_attribution(losses)
    if not over.empty and (over["picklist"] > 0).any():
        figures.append(over_attribution_figure(over))
    return figures


def strength_mark(f: Finding) -> str:
    """``"lead, not proof"`` for a finding that rests on too few deals or units, else ``""``."""
    return STRENGTH_WORDS["caution"] if f.strength == "caution" else ""


def question(finding: Finding) -> str:
    """The five-whys question a finding raises (plain text)."""
    from sales_rca.coding.codebook import CATEGORY_LABELS

    f = finding
    d = f.details or {}
    if f.metric == "win_rate" and f.kind == "trend":
        before, recent = d.get("before"), d.get("recent")
        known = not (display.missing(before) or display.missing(recent))
        if known and float(recent or 0) > float(before or 0):
            return "What made the win rate rise on recently created deals, and can we keep it?"
        return "Why did the win rate fall on recently created deals?"
    if f.key == "win_rate:existing_accounts":
        return "Why do new-business deals win less often than deals with existing accounts?"
    if f.metric == "win_rate" and d.get("people"):
        who = _plural(str(d.get("noun") or "rep"))
        return f"Why do some {who}' deals win much less often than others'?"
    if f.metric == "win_rate" and d.get("where"):
        return f"Why do {d['where']} win less often?"
    if f.metric == "win_rate" and d.get("label") and d.get("group") is not None:
        return (
            f"Why do deals where {d['label']} is {display.value_text(d['group'])} win less often?"
        )
    if f.metric == "win_rate" and not f.segment:
        return "Why do we lose more deals than we could win?"
    category = CATEGORY_LABELS.get(f.category or "", f.category or "").lower()
    from sales_rca.rootcause.actions import segment_text

    segment = segment_text(f.segment)
    at_stage = f" at {f.stage}" if f.stage else ""
    by_stage = d.get("by_stage")
    if not at_stage and isinstance(by_stage, dict) and by_stage:
        at_stage = f", most of them at {next(iter(by_stage))}"
    return _QUESTIONS.get(f.metric, "Why: {title}?").format(
        stage=f.stage or "this stage",
        at_stage=at_stage,
        segment=segment,
        category=category,
        title=f.title,
        deviation=d.get("deviation", "leave the official process"),
    )


def hypotheses(findings: Sequence[Finding], currency: str = "") -> Html:
    """Top findings as root-cause hypotheses: the question to ask, the numbers behind it, and how
    sure the data is."""
    rows = [
        (
            i,
            question(f),
            f.title,
            metric_value(f.value, f.unit, currency),
            number(_deals(f)),
            STRENGTH_WORDS.get(f.strength, ""),
        )
        for i, f in enumerate(findings, 1)
    ]
    if not rows:
        return section(
            "Root-cause hypotheses",
            note("No finding stands out clearly enough in the data to start from."),
        )
    return section(
        "Root-cause hypotheses",
        note(
            "Each is a problem to put on a five-whys board, with the evidence already attached. "
            "A lead, not proof, rests on too few deals, managers or territories to prove it."
        ),
        table(["#", "question", "evidence", "value", "deals", "how sure"], rows, numeric=[0, 3, 4]),
        css="hypotheses",
    )


def _deals(f: Finding) -> int | None:
    if f.deals is not None:
        return f.deals
    return f.details.get("deals", len(f.opportunity_ids)) or None


def plays_section(recommendations: Sequence[Recommendation], basis: str) -> Html:
    """Recommended proven plays, what each addresses and its 30/60/90-day steps."""
    if not recommendations:
        return section("Recommended plays", note(f"No play matches {basis}."))
    items = [
        render.play_card(r.play, f"Why: {r.reason or 'matches the priorities'}.")
        for r in recommendations
    ]
    return section("Recommended plays", note(f"Ranked for {basis}."), *items, css="plays")


def recommend_plays(
    playbook: Sequence[Play],
    *,
    losses: CodingResult | None = None,
    state: WorkshopState | None = None,
    limit: int = 3,
) -> tuple[list[Recommendation], str]:
    """Plays for the team's voted causes when a session has causes, else for the loss categories.

    Returns the recommendations and a phrase saying what they were ranked for.
    """
    from sales_rca.coding import loss_priorities
    from sales_rca.rootcause import recommend

    if state is not None and state.causes:
        basis = "the causes the team prioritised" if state.results() else "the team's causes"
        return state.recommendations(playbook, limit=limit), basis
    wanted = loss_priorities(losses) if losses is not None else []
    return recommend(playbook, wanted, limit=limit), "the most common loss categories"


# --- workshop ---------------------------------------------------------------------------------------


def without_names(state: WorkshopState) -> WorkshopState:
    """``state`` with every cited finding as it reads with names off
    (:func:`sales_rca.pipeline.evidence.without_names`): a finding cited while the session showed
    names is described again in the summary. Text the team typed is theirs and stays as it is."""
    import dataclasses

    from sales_rca.pipeline.evidence import without_names as finding_without_names

    def cited(items: Any) -> tuple[Any, ...]:
        return tuple(
            e
            if e.finding is None
            else dataclasses.replace(e, finding=finding_without_names(e.finding))
            for e in items
        )

    return dataclasses.replace(
        state,
        problems=tuple(dataclasses.replace(p, evidence=cited(p.evidence)) for p in state.problems),
        whys=tuple(dataclasses.replace(w, evidence=cited(w.evidence)) for w in state.whys),
    )


def workshop(
    state: WorkshopState | None,
    currency: str = "",
    playbook: Sequence[Play] | None = None,
    *,
    names: bool = False,
) -> Html:
    """The workshop's decisions as the app's last step shows them: five-whys trees, the ranked
    causes, the plays picked (titles from ``playbook``, default the packaged one) and actions.
    Findings cited as evidence are described, not named, unless ``names`` (:func:`without_names`)."""
    if state is not None and not names:
        state = without_names(state)
    if state is None:
        return section(
            "Workshop",
            note("No workshop session given: run the live workshop and pass its session file."),
        )
    if playbook is None:
        from sales_rca.rootcause import load_playbook

        playbook = load_playbook()
    return section(
        "Workshop: five whys, causes and actions",
        heading(state.title, 3),
        render.decisions(state, playbook, currency=currency),
        css="workshop",
    )


def workshop_figures(state: WorkshopState | None) -> list[go.Figure]:
    """The five-whys tree of each problem, the fishbone and, after a reveal, the vote as bars in
    its ranking order (none without a session)."""
    if state is None or not (state.problems or state.causes):
        return []
    from sales_rca.charts.rootcause import fishbone_figure, vote_results_figure, why_tree_figure

    figures = [why_tree_figure(state.tree(p.id)) for p in state.problems]
    result = state.results()
    points = {r.cause_id: r.points for r in result.causes} if result else None
    top = result.top(3) if result else ()
    figures.append(fishbone_figure(state.categories, state.causes, points=points, highlight=top))
    if result is not None and state.causes:
        figures.append(vote_results_figure(result, state.causes))
    return figures


def show(*figures: go.Figure) -> None:
    """Display plotly figures as plotly JSON (rendered by JupyterLab, and by the summary template)."""
    from IPython.display import display

    for fig in figures:
        display(
            {PLOTLY_MIME: figure_json(fig), "text/plain": f"<figure: {_fig_title(fig)}>"}, raw=True
        )


def _fig_title(fig: go.Figure) -> str:
    title = fig.layout.title.text if fig.layout.title else None
    return str(title or "chart")


def session_state(path: str | None) -> WorkshopState | None:
    """The state of the workshop session at ``path`` (``None`` when no session is given)."""
    if not path:
        return None
    from sales_rca.session import Session

    with Session.open(path, who=None) as session:
        return session.state()
