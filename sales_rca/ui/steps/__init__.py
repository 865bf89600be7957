"""One view per workshop step, in workshop order."""

from __future__ import annotations

from sales_rca.agenda import app_steps
from sales_rca.ui.steps.base import StepView
from sales_rca.ui.steps.coding import CodingView
from sales_rca.ui.steps.data import DataView
from sales_rca.ui.steps.fishbone import FishboneView
from sales_rca.ui.steps.plays import PlaysView
from sales_rca.ui.steps.summary import SummaryView
from sales_rca.ui.steps.whys import WhysView
from sales_rca.ui.steps.xray import XRayView

_VIEWS = {
    view.id: view
    for view in (DataView, XRayView, CodingView, WhysView, FishboneView, PlaysView, SummaryView)
}
#: Step id -> view class, in the order the workshop runs (``agenda.yaml``'s).
STEPS: dict[str, type[StepView]] = {step: _VIEWS[step] for step in app_steps()}

__all__ = ["STEPS", "StepView"]
