"""Actions the team commits to: owner, due date, the cause and play served, and a target metric.

The target carries its baseline from the x-ray (a :class:`~sales_rca.findings.Finding`), so the next
run can say whether it moved: :func:`matching_finding` finds the same finding on new data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sales_rca.errors import ModelError
from sales_rca.findings import Finding


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
