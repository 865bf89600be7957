"""The live workshop's views (ipywidgets). The only package that imports ipywidgets.

``sales_rca/workshops/workshop.ipynb`` shows :class:`WorkshopApp`, the facilitator's app; it reads
its settings from ``SALES_RCA_*`` environment variables set by ``sales-rca workshop``. Participants
never get a kernel: their phones use the join page of :mod:`sales_rca.ui.server` (no widgets).
"""

from __future__ import annotations

from sales_rca.ui.app import WorkshopApp
from sales_rca.ui.context import Settings

__all__ = ["Settings", "WorkshopApp"]
