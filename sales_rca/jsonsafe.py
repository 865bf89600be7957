"""Values as strict JSON: unknown (NaN, NA, NaT, infinities) becomes ``null``, never 0.

One rule for ``sales-rca xray --json``, the batch manifest and the summary's data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def json_value(value: Any) -> Any:
    """A JSON-safe copy of ``value``: numpy/pandas scalars become Python ones, unknown ``None``.

    Dicts, lists and tuples are converted item by item; timestamps become ISO text and periods
    their pandas string (``2025Q3``).
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_value(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-safe dicts."""
    return [
        {str(k): json_value(v) for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]
