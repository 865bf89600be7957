"""Paths the tests share: the checkout, the CRM corpus, the demo data, the public datasets."""

from __future__ import annotations

import os
from pathlib import Path

from sales_rca import resources

ROOT = Path(__file__).resolve().parents[1]
CRM_CORPUS = ROOT / "tests" / "data" / "crm"
DEMO_DIR = resources.demo_dir()
NOTEBOOKS_DIR = resources.workshops_dir()


def _real_data_dir() -> Path:
    """The public datasets: $SALES_RCA_REAL_DATA, else ../shared/data/real next to the checkout."""
    candidates = [
        os.environ.get("SALES_RCA_REAL_DATA", ""),
        ROOT.parent / "shared" / "data" / "real",
    ]
    candidates.append(Path("/work/shared/data/real"))
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return ROOT.parent / "shared" / "data" / "real"


REAL_DATA = _real_data_dir()
