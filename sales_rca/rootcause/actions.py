"""Actions the team commits to: owner, due date, the cause and play served, and a target metric.

The target carries its baseline from the x-ray (a :class:`~sales_rca.findings.Finding`), so the next
run can say whether it moved: :func:`matching_finding` finds the same finding on new data. The app
and the summary share :func:`baseline_metrics`, :func:`suggest_metric` and :func:`target_text`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sales_rca import people
from sales_rca.display import MISSING, metric_value, missing, where_text
from sales_rca.errors import ModelError
from sales_rca.findings import Finding

if TYPE_CHECKING:
    from sales_rca.rootcause.plays import Indicator


class ActionStatus(StrEnum):
    """Where an action stands."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


@dataclass(frozen=True)
class TargetMetric:
    """The number that should move: metric, what it is about, baseline now, target value."""

    metric: str
    baseline: float
    target: float
    unit: str = ""
    stage: str | None = None
    segment: str | None = None
    category: str | None = None
    finding_key: str | None = None

    def __post_init__(self) -> None:
        if self.baseline == self.target:
            raise ModelError(
                f"expected a target different from the baseline for {self.metric}, "
                f"found both {self.baseline:g}"
            )

    @property
    def direction(self) -> str:
        """``"up"`` if the target is above the baseline, else ``"down"``."""
        return "up" if self.target > self.baseline else "down"

    @classmethod
    def from_finding(cls, finding: Finding, target: float) -> TargetMetric:
        """A target whose baseline, metric, unit and scope come from an x-ray finding."""
        return cls(
            metric=finding.metric,
            baseline=finding.value,
            target=target,
            unit=finding.unit,
            stage=finding.stage,
            segment=finding.segment,
            category=finding.category,
            finding_key=finding.key,
        )


@dataclass(frozen=True)
class Action:
    """One committed action."""

    id: str
    title: str
    owner: str
    due: dt.date | None = None
    cause_id: str | None = None
    play_id: str | None = None
    target: TargetMetric | None = None
    status: ActionStatus = ActionStatus.OPEN
    by: str | None = None
    at: str | None = None
    #: Deleted by the team (soft: undo brings it back).
    removed: bool = False


def matching_finding(target: TargetMetric, findings: Iterable[Finding]) -> Finding | None:
    """The finding on new data that measures the same thing as ``target`` (by key, else by scope)."""
    findings = list(findings)
    if target.finding_key is not None:
        for f in findings:
            if f.key == target.finding_key:
                return f
    for f in findings:
        same_scope = (f.metric, f.stage, f.segment, f.category) == (
            target.metric,
            target.stage,
            target.segment,
            target.category,
        )
        if same_scope:
            return f
    return None


def baseline_metrics(
    xray: Any, coding_findings: Iterable[Finding] = (), *, names: bool = False
) -> list[Finding]:
    """Every number an action can target, measured now: win rate (overall and per group of each
    driver attribute), conversion, median days and deals lost at each stage, and the share of
    coded losses per loss category and code. Keys follow :func:`sales_rca.pipeline.findings`.

    One person's win rate (an owner's, a manager's: :func:`sales_rca.people.is_people`) is a
    target only with ``names`` on: the team commits to fixing the system, not to ranking people.
    """
    out: list[Finding] = []
    if xray is None:
        return out
    if not math.isnan(xray.win_rate):
        out.append(
            Finding("win_rate:overall", "Win rate (overall)", "win_rate", xray.win_rate, "share")
        )
    for _, row in xray.stage_table.iterrows():
        stage = str(row["stage"])
        for metric, label, unit in (
            ("conversion", f"Conversion at {stage}", "share"),
            ("median_days", f"Median days in {stage}", "days"),
            ("lost_here", f"Deals lost at {stage}", "deals"),
        ):
            value = row.get(metric)
            if not missing(value):
                out.append(
                    Finding(f"{metric}:{stage}", label, metric, float(value), unit, stage=stage)
                )
    groups = getattr(xray.drivers, "groups", None)
    if groups is not None and not groups.empty:
        for _, g in groups.iterrows():
            # Only groups the x-ray tested (enough closed deals; a missing ``tested`` is not)
            # make a target; attributes left out of the drivers have no groups at all.
            tested = g.get("tested", True)
            attribute = str(g["attribute"])
            if missing(g["win_rate"]) or missing(tested) or not tested:
                continue
            if people.hidden(attribute, names):
                continue
            segment = f"{attribute}={people.segment_value(attribute, g['group'])}"
            title = f"Win rate where {where_text(attribute, _group_value(g['group']))}"
            rate = float(g["win_rate"])
            out.append(
                Finding(f"win_rate:{segment}", title, "win_rate", rate, "share", segment=segment)
            )
    out += [f for f in coding_findings if f.metric == "code_share"]
    return out


def _group_value(group: Any) -> Any:
    """A driver group's value, ``None`` for the blank group."""
    from sales_rca.pipeline.drivers import BLANK

    return None if group == BLANK else group


def suggest_metric(indicator: Indicator, metrics: Sequence[Finding]) -> Finding | None:
    """The metric in ``metrics`` that best measures a play's leading indicator, or ``None``.

    ``indicator.at`` is a hint such as ``"discovery / needs analysis"``: a stage whose name matches
    one of its alternatives wins; otherwise the stage where the metric looks worst.
    """
    same = [f for f in metrics if f.metric == indicator.metric]
    if not same:
        return None
    at = (indicator.at or "").lower()
    if indicator.scope == "code":
        return next((f for f in same if f.details.get("code") == indicator.at), None)
    if indicator.scope == "overall":
        return next((f for f in same if f.stage is None and f.segment is None), None)
    if indicator.scope == "segment":
        words = set(re.findall(r"[a-z]+", at))
        hits = [f for f in same if f.segment and f.segment.split("=")[0].lower() in words]
        return min(hits, key=lambda f: f.value) if hits else None
    staged = [f for f in same if f.stage]
    alternatives = [a.strip() for a in re.split(r"[/()]", at) if a.strip()]
    for alt in alternatives:
        for f in staged:
            if alt in (stage := str(f.stage).lower()) or stage in alt:
                return f
    if not staged:
        return None
    # "the stage where most deals die" and the like: the worst stage for that metric.
    worst = min if indicator.direction == "up" else max
    return worst(staged, key=lambda f: f.value)


def metric_label(f: Finding) -> str:
    """``"Conversion at Needs Analysis: 81%"``: a baseline metric as a menu entry (plain text)."""
    from sales_rca.display import label
    from sales_rca.rootcause.fishbone import CATEGORY_LABELS

    d = f.details or {}
    # A coding title says the share: say what it is a share of, in words (never the code's id).
    what = d.get("label") or (
        label(d["code"]) if d.get("code") else CATEGORY_LABELS.get(f.category or "", f.title)
    )
    title = f"Share of coded losses: {what}" if f.source == "coding" else f.title
    return f"{title}: {metric_value(f.value, f.unit, blank=MISSING)}"


def target_from_input(baseline: Finding, typed: float) -> TargetMetric:
    """The target metric for a value typed in the room (a share is typed in percent)."""
    value = typed / 100 if baseline.unit == "share" else typed
    return TargetMetric.from_finding(baseline, value)


#: A target's metric as the room reads it.
METRIC_WORDS: dict[str, str] = {
    "win_rate": "win rate",
    "conversion": "conversion",
    "median_days": "median days",
    "lost_here": "deals lost",
    "code_share": "share of coded losses",
}


def segment_text(segment: str | None, *, names: bool = False) -> str:
    """``"deal_type=Renewal"`` -> ``"deal type is Renewal"``; a person's segment with names off
    (it holds a pseudonym, :func:`sales_rca.people.segment_value`) -> ``"one rep"``."""
    if not segment:
        return ""
    attribute, _, value = segment.partition("=")
    if people.is_people(attribute):
        return f"one {people.noun(attribute)}" if not names or value.startswith("#") else value
    return where_text(attribute, _group_value(value))


def target_text(t: TargetMetric | None, currency: str = "", *, names: bool = False) -> str:
    """``"conversion at Needs Analysis: 81% → 85%"`` (plain text; ``""`` without a target)."""
    if t is None:
        return ""
    where = f" at {t.stage}" if t.stage else ""
    where = where or (f" (where {segment_text(t.segment, names=names)})" if t.segment else "")
    where = where or (f" ({t.category})" if t.category else "")
    return (
        f"{METRIC_WORDS.get(t.metric, t.metric.replace('_', ' '))}{where}: "
        f"{metric_value(t.baseline, t.unit, currency, blank=MISSING)} → "
        f"{metric_value(t.target, t.unit, currency, blank=MISSING)}"
    )


#: Which way each target metric gets better: a target must move it that way.
BETTER: dict[str, str] = {
    "win_rate": "up",
    "conversion": "up",
    "median_days": "down",
    "lost_here": "down",
    "code_share": "down",
}


def check_commitment(
    due: dt.date | str | None, target: TargetMetric | None, *, today: dt.date | None = None
) -> None:
    """Refuse an action the team could not be held to, in one line: a due date that is missing
    or not in the future, or a target that does not improve on its baseline.

    Checked when an action is committed or changed (not when a session is replayed later, when
    yesterday's due dates have passed)."""
    today = today or dt.date.today()
    if due is None or due == "":
        raise ModelError("expected a due date for the action, found none: pick the day it is due")
    when = dt.date.fromisoformat(due) if isinstance(due, str) else due
    if when <= today:
        raise ModelError(
            f"expected a due date after today ({today:%d %b %Y}), found {when:%d %b %Y}"
        )
    if target is None:
        return
    better = BETTER.get(target.metric)
    if target.target == target.baseline:
        raise ModelError(
            f"expected a target different from today's "
            f"{metric_value(target.baseline, target.unit, blank=MISSING)}, found the same value"
        )
    if better is not None and target.direction != better:
        word = "above" if better == "up" else "below"
        raise ModelError(
            f"expected a target {word} today's "
            f"{metric_value(target.baseline, target.unit, blank=MISSING)} (better is "
            f"{'higher' if better == 'up' else 'lower'}), found "
            f"{metric_value(target.target, target.unit, blank=MISSING)}"
        )


def actions_table(state: Any, plays: Iterable[Any] = (), currency: str = "") -> Any:
    """The team's actions as a table for a CRM or a tracker (``sales-rca session actions``, the
    summary step's CSV): one row per action, plain words, empty where nothing was set."""
    import pandas as pd

    titles = {p.id: p.title for p in plays}
    causes = {k.id: k.text for k in (*state.causes, *state.removed_causes)}
    rows = []
    for a in state.actions:
        t = a.target
        rows.append(
            {
                "action": a.title,
                "owner": a.owner,
                "due": a.due.isoformat() if a.due else "",
                "status": a.status.value,
                "cause": causes.get(a.cause_id or "", ""),
                "play": titles.get(a.play_id or "", ""),
                "target metric": target_text(t, currency).split(":")[0] if t else "",
                "baseline": metric_value(t.baseline, t.unit, currency, blank="") if t else "",
                "target": metric_value(t.target, t.unit, currency, blank="") if t else "",
            }
        )
    columns = ["action", "owner", "due", "status", "cause", "play", "target metric"]
    return pd.DataFrame(rows, columns=[*columns, "baseline", "target"])
