"""Every committed action's target metric as a scenario: "worth about $X-$Y per year if the target
is met".

A target (:class:`sales_rca.rootcause.actions.TargetMetric`) becomes the change it asks for:

- ``conversion`` at a stage: conversion raised to the target rate;
- ``win_rate`` (overall, or of a group ``attribute=group``): win rate raised to the target;
- ``median_days`` in a stage: time in the stage cut by the same share as the target cuts the
  baseline;
- ``lost_here`` at a stage: deals lost there scaled by target / baseline, the deals that advanced
  kept.

A share of coded loss reasons (``code_share``) says nothing about how many of those deals would
be won instead, so its worth is not estimated (``None``, shown as "–").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sales_rca.display import MISSING, money
from sales_rca.errors import PipelineError
from sales_rca.impact.funnel import (
    DRAWS,
    Change,
    Effect,
    FunnelData,
    Scenario,
    ScenarioValue,
    evaluate,
)
from sales_rca.pipeline.xray import XRay
from sales_rca.rootcause.actions import Action, TargetMetric, target_text


def target_scenario(target: TargetMetric, stages: Sequence[str] = ()) -> Scenario | None:
    """The scenario "the target is met", or ``None`` when the metric has no funnel reading (a
    share of loss reasons) or names a stage the data does not have."""
    label = f"Target met: {target_text(target)}"
    if target.stage is not None and stages and target.stage not in stages:
        return None
    if target.metric == "conversion" and target.stage:
        change = Change(Effect.CONVERSION_TO, float(target.target), target.stage)
    elif target.metric == "win_rate" and target.stage is None:
        change = Change(Effect.WIN_RATE_TO, float(target.target), segment=target.segment)
    elif target.metric == "median_days" and target.stage and target.baseline > 0:
        cut = 1 - float(target.target) / float(target.baseline)
        change = Change(Effect.DAYS_CUT, cut, target.stage)
    elif target.metric == "lost_here" and target.stage and target.baseline > 0:
        factor = float(target.target) / float(target.baseline)
        change = Change(Effect.LOST_FACTOR, factor, target.stage)
    else:
        return None
    return Scenario(label, (change,))


@dataclass(frozen=True)
class ActionValue:
    """An action and what meeting its target is worth (``value`` None when it cannot be said)."""

    action: Action
    value: ScenarioValue | None
    reason: str = ""


def action_values(
    actions: Iterable[Action], xray: XRay | FunnelData, *, draws: int = DRAWS, seed: int = 0
) -> list[ActionValue]:
    """What meeting each action's target is worth per year (one bootstrap for all of them)."""
    data = xray if isinstance(xray, FunnelData) else FunnelData.from_xray(xray)
    actions = list(actions)
    planned: list[tuple[Action, Scenario | None, str]] = []
    for a in actions:
        if a.target is None:
            planned.append((a, None, "no target metric"))
            continue
        scenario = target_scenario(a.target, data.stages)
        reason = "" if scenario else "this metric does not say how many more deals would be won"
        if scenario and any(c.stage for c in scenario.changes) and not data.xray.has_history:
            scenario, reason = None, "needs the stage history"
        if scenario and any(c.segment for c in scenario.changes):
            try:
                data.segment_mask(str(scenario.changes[0].segment))
            except PipelineError:
                scenario, reason = None, "the group is not in this data"
        planned.append((a, scenario, reason))
    scenarios = [s for _, s, _ in planned if s is not None]
    values = iter(evaluate(data, scenarios, draws=draws, seed=seed)) if scenarios else iter(())
    return [ActionValue(a, next(values) if s is not None else None, r) for a, s, r in planned]


def worth_text(value: ScenarioValue | None, currency: str = "") -> str:
    """``"worth about 1.2M-2.1M per year if the target is met"`` (plain text; "–" when unknown)."""
    if value is None or value.extra_revenue_per_year is None:
        return MISSING
    period = "once" if value.one_off else "per year"
    if value.extra_revenue_per_year_ci is None:
        point = money(value.extra_revenue_per_year, currency)
        return f"worth about {point} {period} if the target is met (too few deals for a range)"
    lo, hi = value.extra_revenue_per_year_ci
    if hi < 0:
        return f"costs about {money(-hi, currency)}-{money(-lo, currency)} {period} if met"
    return f"worth about {money(max(lo, 0.0), currency)}-{money(hi, currency)} {period} if the target is met"
