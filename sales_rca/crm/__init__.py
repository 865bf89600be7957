"""CRM import: any vendor's export in, canonical tables out (see DESIGN.md, "Canonical tables")."""

from __future__ import annotations

from sales_rca.crm.data import (
    OPPORTUNITY_COLUMNS,
    OUTCOMES,
    STAGE_EVENT_COLUMNS,
    CrmData,
    ImportReport,
)
from sales_rca.crm.load import load_crm
from sales_rca.crm.vendors import Mapping, load_mapping
from sales_rca.errors import CrmImportError, MappingError

__all__ = [
    "OPPORTUNITY_COLUMNS",
    "OUTCOMES",
    "STAGE_EVENT_COLUMNS",
    "CrmData",
    "CrmImportError",
    "ImportReport",
    "Mapping",
    "MappingError",
    "load_crm",
    "load_mapping",
]
