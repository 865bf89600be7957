"""What fixing a root cause is worth, and whether a fix worked.

- :mod:`sales_rca.impact.funnel`: the team's funnel and what a change at a stage is worth
  (extra won deals and revenue per year, cycle and velocity change, bootstrap intervals).
- :mod:`sales_rca.impact.actions`: every action's target metric as a scenario.
- :mod:`sales_rca.impact.review`: the 90-day review of each action's target on a new export.
- :mod:`sales_rca.impact.benchmark`: the consultant's anonymised portfolio benchmark.

Pure functions on the x-ray (:class:`sales_rca.pipeline.XRay`): tables in, dataclasses out.
"""

from __future__ import annotations

from sales_rca.impact import actions, benchmark, review
from sales_rca.impact.funnel import (
    Change,
    Effect,
    FunnelData,
    FunnelModel,
    Scenario,
    ScenarioValue,
    best_group,
    days_cut,
    evaluate,
    funnel_model,
    last_stage,
    points,
    raise_to_best,
    revive,
)

__all__ = [
    "Change",
    "Effect",
    "FunnelData",
    "FunnelModel",
    "Scenario",
    "ScenarioValue",
    "actions",
    "benchmark",
    "best_group",
    "days_cut",
    "evaluate",
    "funnel_model",
    "last_stage",
    "points",
    "raise_to_best",
    "review",
    "revive",
]
