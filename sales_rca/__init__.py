"""sales-rca: find the root causes of lost and stalled deals from a team's own CRM export.

The few names an analyst needs in JupyterLab::

    import sales_rca as rca

    crm = rca.load_crm("export.csv", history="stage_history.csv")   # canonical tables
    x = rca.xray(crm)                                                 # where deals stall and die
    losses = rca.code_losses(crm)                                     # why they were lost
    session = rca.Session.open("acme.session")                       # what the team decided
    rca.demo_path("salesforce_opportunities.csv")                     # a packaged demo file

They are imported on first use, so ``import sales_rca`` (and the ``sales-rca`` command) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "load_crm": "sales_rca.crm",
    "CrmData": "sales_rca.crm",
    "CrmImportError": "sales_rca.errors",
    "SalesRcaError": "sales_rca.errors",
    "xray": "sales_rca.pipeline",
    # ``sales_rca.findings`` is the module of the Finding class, so the x-ray's function is
    # exported under a name of its own.
    "xray_findings": "sales_rca.pipeline:findings",
    "code_losses": "sales_rca.coding",
    "coding_findings": "sales_rca.coding",
    "Finding": "sales_rca.findings",
    "Session": "sales_rca.session",
    "load_playbook": "sales_rca.rootcause",
    # The packaged demo data (sales_rca/resources/demo), wherever sales-rca is installed.
    "demo_path": "sales_rca.resources:demo_file",
}

__all__ = [
    "CrmData",
    "CrmImportError",
    "Finding",
    "SalesRcaError",
    "Session",
    "__version__",
    "code_losses",
    "coding_findings",
    "demo_path",
    "load_crm",
    "load_playbook",
    "xray",
    "xray_findings",
]

if TYPE_CHECKING:
    from sales_rca.coding import code_losses, coding_findings
    from sales_rca.crm import CrmData, load_crm
    from sales_rca.errors import CrmImportError, SalesRcaError
    from sales_rca.findings import Finding
    from sales_rca.pipeline import findings as xray_findings
    from sales_rca.pipeline import xray  # type: ignore[no-redef]  # mypy sees the submodule
    from sales_rca.resources import demo_file as demo_path
    from sales_rca.rootcause import load_playbook
    from sales_rca.session import Session


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, _, attr = _EXPORTS[name].partition(":")
        value = getattr(import_module(module), attr or name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sales_rca' has no attribute {name!r}")
