"""One view per workshop step, in workshop order."""

from __future__ import annotations

from sales_rca.ui.steps.base import StepView
from sales_rca.ui.steps.data import DataView
from sales_rca.ui.steps.xray import XRayView

#: Step id -> view class, in the order the workshop runs.
STEPS: dict[str, type[StepView]] = {view.id: view for view in (DataView, XRayView)}

__all__ = ["STEPS", "StepView"]
