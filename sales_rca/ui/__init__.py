"""The live workshop's views (ipywidgets). The only package that imports ipywidgets.

``sales_rca/workshops/workshop.ipynb`` shows :class:`WorkshopApp`; ``sales_rca/workshops/participant.ipynb`` shows
:class:`ParticipantApp`. Both read their settings from ``SALES_RCA_*`` environment variables set by
``sales-rca workshop``.
"""

from __future__ import annotations

from sales_rca.ui.app import WorkshopApp
from sales_rca.ui.context import Settings
from sales_rca.ui.participant import ParticipantApp

__all__ = ["ParticipantApp", "Settings", "WorkshopApp"]
