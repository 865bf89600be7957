"""The pipeline x-ray: where deals stall and die, and how customers really move.

Pure functions on :class:`sales_rca.crm.data.CrmData`; :func:`xray` runs them all and
:func:`findings` turns the key numbers into :class:`sales_rca.findings.Finding` evidence.

Example:
    >>> from sales_rca.pipeline import xray, findings
    >>> x = xray(crm)
    >>> x.stage_table[["stage", "entered", "lost_here", "conversion", "median_days"]]
    >>> [f.title for f in findings(x)][:3]
"""

from __future__ import annotations

from sales_rca.pipeline.accounts import AccountAnalysis, analyse_accounts, existing_account_deals
from sales_rca.pipeline.drivers import DriverAnalysis, analyse_drivers, wilson_interval
from sales_rca.pipeline.evidence import findings
from sales_rca.pipeline.paths import PathAnalysis, analyse_paths
from sales_rca.pipeline.stages import (
    StageOrder,
    build_deals,
    build_visits,
    is_closed_stage,
    official_order,
    stage_table,
)
from sales_rca.pipeline.stalls import (
    Hygiene,
    analyse_stalls,
    hygiene,
    past_due_deals,
    stall_thresholds,
    stalls,
    survival_curves,
)
from sales_rca.pipeline.trend import Trend, trend
from sales_rca.pipeline.velocity import Velocity, velocity
from sales_rca.pipeline.xray import XRay, xray

__all__ = [
    "AccountAnalysis",
    "DriverAnalysis",
    "Hygiene",
    "PathAnalysis",
    "StageOrder",
    "Trend",
    "Velocity",
    "XRay",
    "analyse_accounts",
    "analyse_drivers",
    "analyse_paths",
    "analyse_stalls",
    "build_deals",
    "build_visits",
    "existing_account_deals",
    "findings",
    "hygiene",
    "is_closed_stage",
    "official_order",
    "past_due_deals",
    "stage_table",
    "stall_thresholds",
    "stalls",
    "survival_curves",
    "trend",
    "velocity",
    "wilson_interval",
    "xray",
]
