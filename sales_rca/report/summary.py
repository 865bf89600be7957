"""The executive summary of one client, and its machine-readable results.

:class:`Summary` gathers what a Head of Sales reads first (top findings with numbers, top root causes,
committed actions, and, after a re-run, each action's metric before and after). In a notebook it
shows as HTML; :meth:`Summary.results` is the same content as JSON, which the batch saves as
``results.json`` for the cross-client index and for later re-runs (``baseline``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from sales_rca import render
from sales_rca.display import MISSING, known
from sales_rca.errors import BatchError
from sales_rca.findings import Finding
from sales_rca.pipeline.evidence import without_names
from sales_rca.render import Tile, money, share
from sales_rca.report.sections import question, strength_mark

if TYPE_CHECKING:
    from sales_rca.coding import CodingResult
    from sales_rca.crm import CrmData
    from sales_rca.impact.benchmark import Benchmark, Comparison
    from sales_rca.impact.review import MetricReview
    from sales_rca.pipeline import XRay
    from sales_rca.report.brief import CeoBrief
    from sales_rca.rootcause import Category, WorkshopState

#: MIME type of the results output in an executed diagnostic notebook.
RESULTS_MIME = "application/vnd.sales-rca.results+json"
RESULTS_FORMAT = "sales-rca-results"
RESULTS_VERSION = 1
#: The file the batch writes next to each summary (and a re-run reads from its ``baseline``).
RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class RootCategory:
    """A fishbone category ranked for the summary: its weight and where the weight came from."""

    id: str
    label: str
    weight: float
    source: str  # "votes", "causes" or "loss coding"


@dataclass
class Summary:
    """What one client's summary says first. Build it with :meth:`build`."""

    client: str
    period: str
    currency: str
    as_of: str
    deals: dict[str, int]
    win_rate: float | None
    stages: list[dict[str, Any]]
    top_findings: list[Finding]
    categories: list[RootCategory]
    root_causes: list[str]
    state: WorkshopState | None = None
    progress: dict[str, tuple[float | None, float | None]] | None = None
    findings: list[Finding] = field(default_factory=list)
    #: Every number an action can target, measured on this run (the app's baselines).
    metrics: list[Finding] = field(default_factory=list)
    #: The one-page CEO brief, the summary's first section (with a workshop session).
    brief: CeoBrief | None = None
    #: The 90-day review of each action's target (:mod:`sales_rca.impact.review`), after a re-run.
    review: list[MetricReview] | None = None
    #: How the team compares with the consultant's other clients (``benchmark=``).
    comparison: Comparison | None = None
    #: Average days from creation to close of won deals (the x-ray's velocity cycle).
    cycle_days: float | None = None

    @classmethod
    def build(
        cls,
        *,
        client: str,
        xray: XRay,
        findings: Sequence[Finding],
        top_findings: Sequence[Finding],
        losses: CodingResult | None = None,
        state: WorkshopState | None = None,
        categories: Sequence[Category] = (),
        baseline: Sequence[Finding] | None = None,
        period: str = "",
        currency: str = "",
        crm: CrmData | None = None,
        benchmark: Benchmark | str | Path | None = None,
        names: bool = False,
    ) -> Summary:
        """Gather the summary from the x-ray, its findings, the loss coding and the session.

        ``baseline`` holds the findings of an earlier run (:func:`load_baseline`); with it, each
        action's target metric is shown before (earlier run) and after (this run), measured as the
        app measured its baseline (:func:`~sales_rca.rootcause.actions.baseline_metrics`), and,
        given the export ``crm`` too, reviewed like ``sales-rca review`` does: before vs now on the
        deals created before and since each action started, with a verdict in words.
        ``benchmark`` (a :class:`~sales_rca.impact.benchmark.Benchmark` or its file) adds how
        the team compares with other clients.
        ``names``: one person's win rate is among the metrics only when the summary is chosen
        to show names (off by default, whatever the session shows).
        """
        from sales_rca.rootcause.actions import baseline_metrics

        metrics = baseline_metrics(xray, findings, names=names)
        if not names:
            findings = [without_names(f) for f in findings]
            top_findings = [without_names(f) for f in top_findings]
        labels = {c.id: c.label for c in categories}
        win_rate = None if math.isnan(xray.win_rate) else float(xray.win_rate)
        stages = [
            {
                "stage": str(r["stage"]),
                "conversion": known(r["conversion"]),
                "lost_here": known(r["lost_here"]),
            }
            for r in xray.stage_table.to_dict(orient="records")
        ]
        progress = None
        review = None
        if baseline is not None and state is not None:
            progress = _progress(state, baseline, [*findings, *metrics])
            if crm is not None:
                from sales_rca.impact.review import review_actions

                review = review_actions(
                    state.actions, crm, stages=list(xray.stages), session_start=state.created_at
                )
        return cls(
            client=client,
            period=period,
            currency=currency,
            as_of=xray.as_of_text,
            deals={"won": xray.won, "lost": xray.lost, "open": xray.open},
            win_rate=win_rate,
            stages=stages,
            top_findings=list(top_findings),
            categories=_root_categories(state, losses, labels),
            root_causes=_root_causes(state),
            state=state,
            progress=progress,
            findings=list(findings),
            metrics=metrics,
            brief=_brief(state, xray, client, currency, names=names),
            review=review,
            comparison=_comparison(benchmark, xray),
            cycle_days=known(xray.velocity.avg_cycle_days),
        )

    @classmethod
    def from_session(
        cls,
        state: WorkshopState,
        *,
        client: str | None = None,
        period: str = "",
        currency: str = "",
        names: bool = False,
    ) -> Summary:
        """A summary of a workshop session alone (no CRM data): the findings its problems cite,
        its root causes and actions (people described, not named, unless ``names``)."""
        cited = list({f.key: f for p in state.problems for f in p.findings}.values())
        if not names:  # a finding cited while the session showed names reads without them
            cited = [without_names(f) for f in cited]
        labels = {c.id: c.label for c in state.categories}
        return cls(
            client=client or state.title,
            period=period,
            currency=currency,
            as_of=(state.created_at or "")[:10],
            deals={},
            win_rate=None,
            stages=[],
            top_findings=cited[:5],
            categories=_root_categories(state, None, labels),
            root_causes=_root_causes(state),
            state=state,
            findings=cited,
            brief=_brief(state, None, client or state.title, currency),
        )

    # --- HTML ------------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"<sales-rca summary of {self.client!r}>"

    def html(self) -> str:
        """The one-page executive summary as HTML (every text escaped)."""
        when = f"data as of {self.as_of}" if self.deals else f"workshop of {self.as_of}"
        d = self.deals
        tiles = (
            [
                Tile("win rate", share(self.win_rate)),
                Tile("won · lost · open", f"{d['won']:,} · {d['lost']:,} · {d['open']:,}"),
                Tile("value at risk", self._stalled()),
            ]
            if d
            else []
        )
        brief = self.brief.section() if self.brief is not None else ""
        parts = [self._executive(tiles, when), self._review_html(), self._comparison_html()]
        return str(Markup(brief) + Markup("").join(parts))

    def _comparison_html(self) -> Markup:
        """How the team compares with the other clients of the benchmark."""
        c = self.comparison
        if c is None:
            return Markup("")
        parts: list[Any] = [render.bullets(c.stages)] if c.stages else []
        if c.plays:
            parts += [
                render.heading("Plays that worked at other clients", 3),
                render.bullets(c.plays),
            ]
        if not parts:
            parts = [
                render.note(f"None of this team's stages is known to {c.teams} other teams yet.")
            ]
        return Markup(render.section(f"How the team compares ({c.teams} teams)", *parts).html)

    def _review_html(self) -> Markup:
        """The 90-day review table: each action's metric before vs now and the verdict."""
        if not self.review:
            return Markup("")
        from sales_rca.impact.review import review_text

        rows = [
            [r.action.title, r.action.status.value, review_text(r, self.currency)]
            for r in self.review
        ]
        return Markup(
            render.section(
                "Did it work? The 90-day review",
                render.table(["action", "status", "before vs now"], rows, testid="review"),
                render.note(
                    "Before: deals created before the action started; now: deals created since. "
                    "Ranges are 95%."
                ),
            ).html
        )

    def _executive(self, tiles: list[Tile], when: str) -> Markup:
        state = self.state
        return render.fragment(
            "report.executive_summary",
            self,
            " · ".join(p for p in ("Sales diagnostic", self.period, when) if p),
            tiles,
            [(f.title, strength_mark(f), question(f)) for f in self.top_findings],
            [(c.label, share(c.weight)) for c in self.categories],
            render.actions(state, progress=self.progress, currency=self.currency)
            if state is not None
            else "",
            plays=self._plays(),
        )

    def _plays(self) -> str:
        """The plays the team picked, with the causes each is meant to fix ("" when none)."""
        state = self.state
        if state is None or not state.selected_plays:
            return ""
        from sales_rca.rootcause import load_playbook

        return str(render.picked_plays(state, load_playbook()))

    def _stalled(self) -> str:
        """The value of the slow open deals ("–" when unknown: no amounts, or no history)."""
        for f in self.findings:
            if f.key == "stalled_value":
                value = f.value_at_stake if f.unit != "currency" else f.value
                return money(value, self.currency)
        return MISSING

    # --- results ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready results: numbers, actions, findings and target metrics (without deal ids)."""
        acts = []
        if self.state is not None:
            for a in self.state.actions:
                before, after = (self.progress or {}).get(a.id, (None, None))
                t = a.target
                acts.append(
                    {
                        "id": a.id,
                        "title": a.title,
                        "owner": a.owner,
                        "due": a.due.isoformat() if a.due else None,
                        "status": a.status.value,
                        "metric": t.metric if t else None,
                        "stage": t.stage if t else None,
                        "baseline": t.baseline if t else None,
                        "target": t.target if t else None,
                        "before": before,
                        "after": after,
                    }
                )
        return _clean(
            {
                "format": RESULTS_FORMAT,
                "version": RESULTS_VERSION,
                "client": self.client,
                "period": self.period,
                "currency": self.currency,
                "as_of": self.as_of,
                "deals": self.deals,
                "win_rate": self.win_rate,
                "cycle_days": self.cycle_days,
                "stages": self.stages,
                "top_findings": [f.key for f in self.top_findings],
                "top_categories": [
                    {"id": c.id, "label": c.label, "weight": c.weight, "source": c.source}
                    for c in self.categories
                ],
                "root_causes": self.root_causes,
                "actions": acts,
                "review": [r.to_dict() for r in self.review or []],
                "findings": _without_ids(self.findings),
                "metrics": _without_ids(self.metrics),
            }
        )

    def results(self) -> Results:
        """The results as a notebook output the batch reads back (hidden in the summary)."""
        return Results(self.to_dict())


@dataclass(frozen=True)
class Results:
    """Results as a notebook display: JSON under :data:`RESULTS_MIME`, one line as plain text."""

    data: dict[str, Any]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {RESULTS_MIME: self.data, "text/plain": f"results of {self.data['client']!r}"}


def results_from_notebook(nb: Any) -> dict[str, Any] | None:
    """The results an executed diagnostic notebook displayed, or ``None`` if it did not get there."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if RESULTS_MIME in data:
                value = data[RESULTS_MIME]
                return json.loads(value) if isinstance(value, str) else dict(value)
    return None


def load_baseline(folder: str | Path) -> list[Finding]:
    """The findings and metrics of an earlier run, from ``folder/results.json`` (a batch folder).

    Raises:
        BatchError: the folder has no readable results of a sales-rca run.
    """
    path = Path(folder) / RESULTS_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise BatchError(
            f"Baseline {folder} has no {RESULTS_FILE}: expected the output folder of an earlier "
            "sales-rca batch run for this client (e.g. out/2026-q2/northwind)."
        ) from None
    except (OSError, ValueError) as exc:
        raise BatchError(f"Baseline {path} cannot be read as results JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != RESULTS_FORMAT:
        raise BatchError(
            f"Baseline {path} is not a sales-rca results file (expected format {RESULTS_FORMAT!r})."
        )
    found = [*data.get("findings", []), *data.get("metrics", [])]
    return [Finding.from_dict(f) for f in found if f.get("value") is not None]


def _without_ids(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Findings as JSON-ready dicts without their deal ids (results stay small and anonymous)."""
    return [{k: v for k, v in f.to_dict().items() if k != "opportunity_ids"} for f in findings]


def _progress(
    state: WorkshopState, baseline: Sequence[Finding], current: Sequence[Finding]
) -> dict[str, tuple[float | None, float | None]]:
    from sales_rca.rootcause.actions import matching_finding

    out: dict[str, tuple[float | None, float | None]] = {}
    for a in state.actions:
        if a.target is None:
            continue
        before = matching_finding(a.target, baseline)
        after = matching_finding(a.target, current)
        out[a.id] = (
            before.value if before is not None else None,
            after.value if after is not None else None,
        )
    return out


def _comparison(benchmark: Any, xray: XRay) -> Comparison | None:
    """The team against the benchmark (``None`` without one)."""
    if benchmark is None or benchmark == "":
        return None
    from sales_rca.impact.benchmark import Benchmark, compare, load_benchmark
    from sales_rca.rootcause import load_playbook

    bench = benchmark if isinstance(benchmark, Benchmark) else load_benchmark(benchmark)
    rows = xray.stage_table[["stage", "conversion"]].to_dict(orient="records")
    return compare(bench, rows, load_playbook())


def _brief(
    state: WorkshopState | None,
    xray: XRay | None,
    client: str,
    currency: str,
    *,
    names: bool = False,
) -> CeoBrief | None:
    """The CEO brief of a session (``None`` without one); people described unless ``names``."""
    if state is None:
        return None
    from sales_rca.report.brief import ceo_brief
    from sales_rca.rootcause import load_playbook

    return ceo_brief(
        state,
        xray=xray,
        playbook=load_playbook(),
        client=client,
        currency=currency,
        names=names,
    )


def _root_categories(
    state: WorkshopState | None,
    losses: CodingResult | None,
    labels: dict[str, str],
    top: int = 3,
) -> list[RootCategory]:
    """Top fishbone categories: by the team's votes, else by its causes, else by loss coding."""
    if state is not None and state.causes:
        result = state.results()
        weights: dict[str, float] = {}
        if result is not None and any(r.points for r in result.causes):
            category = {c.id: c.category for c in state.causes}
            for r in result.causes:
                if r.cause_id in category:
                    weights[category[r.cause_id]] = weights.get(category[r.cause_id], 0) + r.points
            source = "votes"
        else:
            for c in state.causes:
                weights[c.category] = weights.get(c.category, 0) + 1
            source = "causes"
        total = sum(weights.values()) or 1.0
        ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [RootCategory(c, labels.get(c, c), w / total, source) for c, w in ranked]
    if losses is not None:
        from sales_rca.coding import loss_priorities

        return [
            RootCategory(p.category, labels.get(p.category, p.category), p.weight, "loss coding")
            for p in loss_priorities(losses, top)
        ]
    return []


def _root_causes(state: WorkshopState | None, top: int = 3) -> list[str]:
    """The team's top causes: revealed vote winners, else whys marked root cause, else causes."""
    if state is None:
        return []
    result = state.results()
    causes = {c.id: c for c in state.causes}
    if result is not None:
        return [causes[r.cause_id].text for r in result.causes[:top] if r.cause_id in causes]
    roots = [w.text for w in state.whys if w.root_cause]
    return (roots or [c.text for c in state.causes])[:top]


def _clean(value: Any) -> Any:
    """NaN and infinities to ``None`` so the results are strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return _clean(value.item())
    return value
