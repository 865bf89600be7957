"""Did it work? The 90-day review of every action's target metric on a new export.

For each action with a target, the metric is measured twice on the new export: **before** on the
deals created before the action started (the day it was committed, or ``since``), **now** on the
deals created on or after it, so a deal that was already half-way through the funnel does not
count as the action's result. A share counts, on both sides, only the deals (stage visits for a
stage conversion) old enough to have been decided: the age by which 95% of the earlier deals
were (:data:`MATURE_SHARE`), else a young cohort's quick losses would read as a change; before
any new deal is that old the review asks to wait. Shares (conversion, win rate, deals lost at a
stage as a share of those decided there) are compared with the two-sample score test and
Newcombe interval for the
difference of two proportions (:func:`statsmodels.stats.proportion.test_proportions_2indep`,
:func:`~statsmodels.stats.proportion.confint_proportions_2indep`); days in a stage with the
log-rank test on the censoring-aware durations (:func:`lifelines.statistics.logrank_test`),
medians read from the Kaplan-Meier curves. When no deal was created before the start, "now" is
compared with the baseline recorded with the target (exact binomial test,
:func:`scipy.stats.binomtest`).

The verdict, in words: **moved beyond noise** (the right way, 95% level), **moved the wrong
way** (beyond noise, the other way), or **not yet distinguishable from noise**. A share of coded
loss reasons is not reviewed here (the new export has no coding): its verdict is unknown.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sales_rca.crm.data import CrmData
from sales_rca.jsonsafe import json_value
from sales_rca.rootcause.actions import Action, ActionStatus, TargetMetric, target_text

MOVED = "moved beyond noise"
NOISE = "not yet distinguishable from noise"
WRONG = "moved the wrong way"
UNKNOWN = "cannot be measured on this export"
#: Significance level of the verdict.
ALPHA = 0.05


@dataclass
class MetricReview:
    """One action's target metric, before vs now, and the verdict in words."""

    action: Action
    metric: str
    before: float | None
    now: float | None
    change: float | None
    change_ci: tuple[float, float] | None
    before_deals: int
    now_deals: int
    verdict: str
    since: dt.date | None
    notes: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.action.status is ActionStatus.DONE

    def to_dict(self) -> dict[str, Any]:
        ci = self.change_ci
        return {
            "action_id": self.action.id,
            "action": self.action.title,
            "status": str(self.action.status),
            "play_id": self.action.play_id,
            "metric": self.metric,
            "stage": self.action.target.stage if self.action.target else None,
            "unit": self.action.target.unit if self.action.target else None,
            "target": json_value(self.action.target.target) if self.action.target else None,
            "recorded_baseline": json_value(self.action.target.baseline)
            if self.action.target
            else None,
            "before": json_value(self.before),
            "now": json_value(self.now),
            "change": json_value(self.change),
            "change_ci": None if ci is None else [json_value(ci[0]), json_value(ci[1])],
            "before_deals": self.before_deals,
            "now_deals": self.now_deals,
            "verdict": self.verdict,
            "since": self.since.isoformat() if self.since else None,
            "notes": list(self.notes),
        }


def _start(action: Action, since: dt.date | None, fallback: str | None) -> dt.date | None:
    if since is not None:
        return since
    for text in (action.at, fallback):
        if text:
            try:
                return dt.datetime.fromisoformat(text).date()
            except ValueError:
                continue
    return None


def _split(crm: CrmData, start: dt.date) -> tuple[CrmData, CrmData]:
    """The export's deals created before ``start`` and on or after it (with their history)."""
    opps = crm.opportunities
    created = opps["created_date"]
    cut = pd.Timestamp(start)
    parts = []
    for mask in (created < cut, created >= cut):
        ids = set(opps.loc[mask, "opportunity_id"])
        events = crm.stage_events
        events = events[events["opportunity_id"].isin(ids)] if not events.empty else events
        sub = opps[mask.to_numpy()].reset_index(drop=True)
        parts.append(dataclasses.replace(crm, opportunities=sub, stage_events=events))
    return parts[0], parts[1]


@dataclass
class _Counts:
    """What a share rests on: successes of trials (None when unknown)."""

    hits: int
    trials: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.trials if self.trials else None


#: A share is compared only over deals old enough for this share of earlier deals to have been
#: decided at that age: otherwise the newest deals' quick outcomes tilt it (a young cohort counts
#: its fast losses and not yet its slow wins).
MATURE_SHARE = 0.95
#: Fewest decided deals the maturity age is read from.
MATURE_MIN_DEALS = 20


@dataclass(frozen=True)
class _Clock:
    """When a deal's share outcome starts and ends (created -> closed for a win rate; entered ->
    left the stage for a stage conversion), whether it is decided, and the outcome's hit."""

    start: np.ndarray  # datetime64[ns]
    days: np.ndarray  # float, NaN when not decided
    decided: np.ndarray  # bool
    hit: np.ndarray  # bool (meaningful where decided)


def _clock(x: Any, t: TargetMetric) -> _Clock | None:
    """The deals (or stage visits) a share target counts, with their clocks (None: unknown)."""
    if x is None:
        return None
    if t.metric == "win_rate":
        opps = x.opportunities
        outcome = x.deals["outcome"].to_numpy(dtype=object)
        inside = np.ones(len(opps), dtype=bool)
        if t.segment is not None:
            attribute, _, group = str(t.segment).partition("=")
            if attribute not in opps:
                return None
            inside = x.drivers.labels(opps, attribute).to_numpy(dtype=object) == group
        created = opps["created_date"].to_numpy(dtype="datetime64[ns]")[inside]
        closed = opps["close_date"].to_numpy(dtype="datetime64[ns]")[inside]
        decided = np.isin(outcome[inside], ["won", "lost"])
        days = (closed - created) / np.timedelta64(1, "D")
        return _Clock(created, np.where(decided, days, np.nan), decided, outcome[inside] == "won")
    if t.metric in ("conversion", "lost_here") and t.stage and x.has_history:
        if t.stage not in x.stages:
            return None
        v = x.visits
        at = (v["stage_index"].to_numpy() == x.stages.index(t.stage)) & v["last_visit"].to_numpy(
            dtype=bool
        )
        v = v[at]
        advanced = v["advanced"].to_numpy(dtype=bool)
        lost = ~advanced & ~v["current"].to_numpy(dtype=bool) & (v["outcome"].to_numpy() == "lost")
        decided = advanced | lost
        days = v["days"].to_numpy(dtype=float)
        hit = advanced if t.metric == "conversion" else lost
        return _Clock(
            v["entered_at"].to_numpy(dtype="datetime64[ns]"),
            np.where(decided, days, np.nan),
            decided,
            hit,
        )
    return None


def _mature_days(reference: Any, t: TargetMetric) -> float | None:
    """The age by which :data:`MATURE_SHARE` of the reference deals were decided (None: too few)."""
    c = _clock(reference, t)
    if c is None:
        return None
    days = c.days[c.decided & np.isfinite(c.days) & (c.days >= 0)]
    if len(days) < MATURE_MIN_DEALS:
        return None
    return float(np.quantile(days, MATURE_SHARE))


def _share(x: Any, t: TargetMetric, mature_days: float | None = None) -> _Counts | None:
    """The target's share on an x-ray, as counts; with ``mature_days``, over the deals (stage
    visits) whose clock started at least that long before the x-ray's as-of date."""
    c = _clock(x, t)
    if c is None:
        return None
    keep = c.decided
    if mature_days is not None:
        cut = np.datetime64(x.as_of, "ns") - np.timedelta64(int(mature_days * 86400), "s")
        keep = keep & (c.start <= cut)
    return _Counts(int((c.hit & keep).sum()), int(keep.sum()))


def _durations(x: Any, stage: str) -> pd.DataFrame | None:
    from sales_rca.pipeline.stages import stage_durations

    if x is None or not x.has_history or stage not in x.stages:
        return None
    d = stage_durations(x.visits, x.as_of)
    return d[d["stage_index"] == x.stages.index(stage)]


def _verdict(change: float | None, p: float | None, direction: str) -> str:
    if change is None or p is None or not np.isfinite(p):
        return NOISE if change is not None else UNKNOWN
    if p >= ALPHA:
        return NOISE
    right = change > 0 if direction == "up" else change < 0
    return MOVED if right else WRONG


def _review_share(
    action: Action,
    t: TargetMetric,
    before: Any,
    now: Any,
    since: dt.date | None,
    reference: Any = None,
) -> MetricReview:
    from scipy.stats import binomtest
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        proportion_confint,
        test_proportions_2indep,
    )

    # Only deals old enough to have been decided count on both sides (MATURE_SHARE), the age
    # read from the earlier deals (from the whole export when there are none)
    mature = _mature_days(before, t)
    if mature is None:
        mature = _mature_days(reference, t)
    b, n = _share(before, t, mature), _share(now, t, mature)
    # deals lost at a stage: as a share of those decided there, so fewer deals is not "better"
    direction = t.direction
    empty = MetricReview(action, t.metric, None, None, None, None, 0, 0, UNKNOWN, since)
    if n is None or not n.trials:
        empty.before = b.rate if b else None
        empty.before_deals = b.trials if b else 0
        empty.notes.append(
            "No deal created since the action started has been decided yet."
            if mature is None
            else f"No deal created since the action started is {mature:.0f} days old yet (the "
            "age by which 95% of earlier deals were decided): review again later."
        )
        return empty
    if b is not None and b.trials:
        stat = test_proportions_2indep(n.hits, n.trials, b.hits, b.trials, method="score")
        lo, hi = confint_proportions_2indep(
            n.hits, n.trials, b.hits, b.trials, method="newcomb", alpha=ALPHA
        )
        change = n.hits / n.trials - b.hits / b.trials
        p = float(stat.pvalue)
        before, before_deals, notes = b.hits / b.trials, b.trials, []
    else:
        base = float(t.baseline) if t.metric != "lost_here" else None
        if base is None or not 0 <= base <= 1:
            return dataclasses.replace(empty, now=n.rate, now_deals=n.trials)
        p = float(binomtest(n.hits, n.trials, base).pvalue)
        low, high = proportion_confint(n.hits, n.trials, alpha=ALPHA, method="wilson")
        change = n.hits / n.trials - base
        lo, hi = float(low) - base, float(high) - base
        before, before_deals = base, 0
        notes = [
            "No deal was created before the action started: now is compared with the baseline recorded with the target."
        ]
    if mature is not None:
        notes.append(
            f"Only deals at least {mature:.0f} days old count (95% of earlier deals were decided "
            "by that age), so the newest deals' quick outcomes do not tilt the comparison."
        )
    return MetricReview(
        action, t.metric, before, n.rate, change, (float(lo), float(hi)), before_deals,
        n.trials, _verdict(change, p, direction), since, notes,
    )  # fmt: skip


def _review_days(
    action: Action, t: TargetMetric, before: Any, now: Any, since: dt.date | None
) -> MetricReview:
    from lifelines.statistics import logrank_test

    from sales_rca.pipeline.stages import km_fit, km_quantiles

    stage = str(t.stage)
    b, n = _durations(before, stage), _durations(now, stage)
    out = MetricReview(action, t.metric, None, None, None, None, 0, 0, UNKNOWN, since)
    if n is None or n.empty or not n["event"].any():
        out.notes.append(f"No deal created since the action started has left {stage} yet.")
        return out
    median_now = km_quantiles(km_fit(n), [0.5])[0]
    out.now, out.now_deals = (median_now if np.isfinite(median_now) else None), int(n["n"].sum())
    if b is None or b.empty or not b["event"].any():
        out.verdict = NOISE
        out.notes.append("No deal created before the action started went through the stage.")
        return out
    median_before = km_quantiles(km_fit(b), [0.5])[0]
    out.before = median_before if np.isfinite(median_before) else None
    out.before_deals = int(b["n"].sum())
    test = logrank_test(
        b["days"], n["days"], event_observed_A=b["event"], event_observed_B=n["event"],
        weights_A=b["n"], weights_B=n["n"],
    )  # fmt: skip
    if out.now is not None and out.before is not None:
        out.change = out.now - out.before
    # a log-rank test says whether the curves differ; the medians say which way
    out.verdict = _verdict(out.change, float(test.p_value), t.direction)
    out.notes.append("Days in the stage: medians of the time deals took to leave it.")
    return out


def review_actions(
    actions: Iterable[Action],
    crm: CrmData,
    *,
    stages: list[str] | None = None,
    since: dt.date | None = None,
    session_start: str | None = None,
) -> list[MetricReview]:
    """Review each action with a target on a new export (see the module docstring).

    Args:
        actions: the team's actions (those without a target are left out).
        crm: the new export, with its stage history for stage metrics.
        stages: the official stage order (default as the x-ray finds it).
        since: when the actions started (default each action's commit date, else
            ``session_start``).

    Returns:
        One :class:`MetricReview` per action with a target, done actions first.
    """
    from sales_rca.pipeline import xray

    full = xray(crm, stages=stages)
    order = list(full.stages)
    cache: dict[dt.date | None, tuple[Any, Any]] = {}

    def parts(start: dt.date | None) -> tuple[Any, Any]:
        if start not in cache:
            if start is None:
                cache[start] = (None, full)
            else:
                b, n = _split(crm, start)
                cache[start] = tuple(
                    xray(p, stages=order, as_of=full.as_of) if len(p.opportunities) else None
                    for p in (b, n)
                )  # type: ignore[assignment]
        return cache[start]

    out = []
    for a in actions:
        t = a.target
        if t is None:
            continue
        start = _start(a, since, session_start)
        before, now = parts(start)
        if t.metric == "median_days" and t.stage:
            r = _review_days(a, t, before, now, start)
        elif t.metric in ("conversion", "win_rate", "lost_here"):
            r = _review_share(a, t, before, now, start, reference=full)
        else:
            r = MetricReview(a, t.metric, None, None, None, None, 0, 0, UNKNOWN, start)
            r.notes.append("This metric needs the loss coding, not only a new export.")
        if start is None:
            r.notes.append("No start date: every deal in the export counts as now.")
        out.append(r)
    out.sort(key=lambda r: (not r.done, r.action.id))
    return out


def review_text(r: MetricReview, currency: str = "") -> str:
    """``"conversion at Needs Analysis: 78% before, 86% now (+8 points, 3 to 13): moved beyond
    noise"`` (plain text)."""
    from sales_rca.display import MISSING, metric_value

    t = r.action.target
    unit = t.unit if t else ""
    what = target_text(t, currency).split(":")[0] if t else r.metric
    before = metric_value(r.before, unit, currency, blank=MISSING)
    now = metric_value(r.now, unit, currency, blank=MISSING)
    change = ""
    if r.change is not None:
        scale, word = (
            (100, " points") if unit == "share" else (1, " days" if unit == "days" else "")
        )
        change = f" ({r.change * scale:+.0f}{word}"
        if r.change_ci is not None:
            change += f", {r.change_ci[0] * scale:+.0f} to {r.change_ci[1] * scale:+.0f}"
        change += ")"
    return f"{what}: {before} before, {now} now{change}: {r.verdict}"
