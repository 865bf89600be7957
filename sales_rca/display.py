"""Numbers as people read them: shares, counts, money (``36.2M``) and dates, one rule everywhere.

Findings and charts format through these in sentences (a missing value left blank); the workshop
app, the HTML summary and the batch index show a missing value as :data:`MISSING` (the filters of
:mod:`sales_rca.render`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

#: The one mark for a value nobody knows, wherever HTML shows it.
MISSING = "–"


def missing(value: Any) -> bool:
    """True for ``None``, NaN, ``pd.NA`` / ``NaT`` and anything that is not a number."""
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return True


def unknown(value: Any) -> bool:
    """True for ``None``, NaN, ``pd.NA`` and ``NaT``: no value at all (any text or number is one)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only NaN and NaT differ from themselves
    except (TypeError, ValueError):  # pd.NA refuses to be a bool
        return True


def known(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is unknown (see :func:`missing`)."""
    return None if missing(value) else float(value)


def share(value: Any, digits: int = 0, *, blank: str = "") -> str:
    """``0.4431`` -> ``44%``."""
    return blank if missing(value) else f"{float(value):.{digits}%}"


def number(value: Any, digits: int = 0, *, blank: str = "") -> str:
    """``12500`` -> ``12,500``."""
    return blank if missing(value) else f"{float(value):,.{digits}f}"


def money(value: Any, currency: str = "", *, blank: str = "") -> str:
    """``36229000`` -> ``36.2M`` (``USD 36.2M`` with a currency); small amounts in full."""
    if missing(value):
        return blank
    v = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            text = f"{v / size:,.1f}{suffix}"
            break
    else:
        text = f"{v:,.0f}"
    return f"{currency} {text}".strip()


def date(value: Any, *, blank: str = "") -> str:
    """A date as ``2027-03-31`` (dates and times, or text already in that form)."""
    if unknown(value) or value == "":
        return blank
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def metric_value(value: Any, unit: str, currency: str = "", *, blank: str = "") -> str:
    """A finding's value in its unit: shares as %, days and deals with their unit, currency short."""
    if unit == "share":
        return share(value, 1, blank=blank)
    if unit == "currency":
        return money(value, currency, blank=blank)
    if missing(value):
        return blank
    if unit in ("days", "deals"):
        return f"{number(value)} {unit}"
    return number(value, 2 if abs(float(value)) < 10 else 0)
