"""Numbers as people read them: shares, counts and money (``36.2M``), one rule everywhere.

Findings, charts, the workshop app and the HTML summary all format through these, each passing
its own mark for a missing value.
"""

from __future__ import annotations

import math
from typing import Any


def missing(value: Any) -> bool:
    """True for ``None``, NaN, ``pd.NA`` / ``NaT`` and anything that is not a number."""
    if value is None:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
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
