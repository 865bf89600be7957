"""Numbers as people read them: shares, counts, money (``36.2M``) and dates, one rule everywhere.

Findings and charts format through these in sentences (a missing value left blank); the workshop
app, the HTML summary and the batch index show a missing value as :data:`MISSING` (the filters of
:mod:`sales_rca.render`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
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


# --- words for columns and values ------------------------------------------------------------

#: The plain label of each canonical field a person may read (DESIGN.md, "Canonical tables"),
#: and of the columns the x-ray adds; any other column is labelled by :func:`label`'s rule.
FIELD_LABELS: dict[str, str] = {
    "opportunity_id": "Deal",
    "stage": "Stage",
    "outcome": "Outcome",
    "amount": "Amount",
    "created_date": "Date created",
    "close_date": "Close date",
    "loss_stage": "Stage lost at",
    "loss_reason": "Loss reason",
    "loss_detail": "Loss notes",
    "account": "Account",
    "owner": "Owner",
    "manager": "Manager",
    "segment": "Segment",
    "region": "Region",
    "product": "Product",
    "source": "Lead source",
    "deal_type": "Deal type",
    "competitor": "Competitor",
    "entered_at": "Date entered",
    "is_won": "Won",
    "is_closed": "Closed",
    "days_in_stage": "Days in stage",
    "threshold_days": "Normal up to (days)",
    "past_due": "Close date passed",
    "status": "Status",
    "name": "Deal",
}


def counted(n: float, noun: str) -> str:
    """``1 deal``, ``2,400 deals``, ``1.5 points``: a count and its noun, singular for one."""
    text = f"{int(n):,}" if float(n).is_integer() else f"{n:g}"
    return f"{text} {noun if n == 1 else noun + 's'}"


def label(field: Any) -> str:
    """The plain label of a column: ``deal_type`` -> ``Deal type``, ``extra_buying_group_size`` ->
    ``Buying group size``; what a person reads wherever a column is named (findings, tables,
    charts, the summary's "Columns used")."""
    name = str(field)
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    words = " ".join(name.removeprefix("extra_").replace("_", " ").split())
    return words[:1].upper() + words[1:] if words else name


def phrase(field: Any) -> str:
    """:func:`label` inside a sentence: ``deal type``, ``buying group size`` (``NPS`` kept)."""
    text = label(field)
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


#: What the room reads for a value nobody recorded.
NOT_RECORDED = "not recorded"
#: Texts CRMs write for "nothing here" (compared in lower case).
_EMPTY_WORDS = frozenset(
    {"", "none", "null", "nan", "nat", "n/a", "na", "-", "–", "(blank)", "(none)"}
)
_YES_NO = {"true": "yes", "false": "no"}
_API_VALUE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+")


def recorded(value: Any) -> bool:
    """False for a value nobody recorded: unknown, empty, or a word like ``None`` / ``N/A``."""
    if isinstance(value, bool):
        return True
    if unknown(value):
        return False
    return str(value).strip().lower() not in _EMPTY_WORDS


def value_text(value: Any) -> str:
    """A value as the room reads it: ``None`` / empty -> ``not recorded``, ``True`` -> ``yes``,
    ``False`` -> ``no``, a pick-list's API name ``Retail_market`` -> ``Retail market``, anything
    else as its text."""
    if not recorded(value):
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip()
    if _API_VALUE.fullmatch(text):  # a pick-list's API name ("Retail_market") as words
        text = text.replace("_", " ")
    return _YES_NO.get(text.lower(), text)


def where_text(field: Any, value: Any) -> str:
    """A group of deals in words: ``deal type is New Business``, ``no competitor recorded``,
    ``partner deal: yes``."""
    name = phrase(field)
    if not recorded(value):
        return f"no {name} recorded"
    text = value_text(value)
    return f"{name}: {text}" if text in ("yes", "no") else f"{name} is {text}"


#: Columns that hold a deal's own name, as the import keeps them (``extra_<header>``), best
#: first: Salesforce "Opportunity Name", HubSpot and Zoho "Deal Name", Pipedrive "Deal Title" /
#: "Title", Dynamics "Topic". A deal is named by these, then by its account, never by its CRM id.
NAME_FIELDS: tuple[str, ...] = (
    "extra_opportunity_name",
    "extra_deal_name",
    "extra_deal_title",
    "extra_opportunity_title",
    "extra_name",
    "extra_title",
    "extra_topic",
    "extra_subject",
)


def distinct(labels: Any) -> list[str]:
    """Labels kept apart: the second ``Acme`` reads ``Acme (2)``, the third ``Acme (3)`` (a chart
    axis would merge equal labels)."""
    seen: dict[str, int] = {}
    out = []
    for text in map(str, labels):
        seen[text] = seen.get(text, 0) + 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


def deal_names(opportunities: Any, stages: Any = None, *, apart: bool = True) -> Any:
    """Each deal's name as a person reads it (a pandas Series aligned with ``opportunities``):
    its opportunity name, else its account, else ``"a deal at <stage>"`` (``stages`` aligned,
    default the table's ``stage``), never its CRM id. With ``apart``, repeated names are kept
    apart (:func:`distinct`)."""
    import pandas as pd

    index = opportunities.index
    names = pd.Series([None] * len(index), index=index, dtype=object)
    for column in (*(c for c in NAME_FIELDS if c in opportunities), "account"):
        if column in opportunities:
            text = opportunities[column].astype("string").str.strip()
            empty = text.isna() | text.str.lower().isin(_EMPTY_WORDS)  # vectorised `recorded`
            values = text.astype(object).where(~empty.to_numpy(bool), None)
            names = names.where(names.notna(), values)
    stage = stages if stages is not None else opportunities.get("stage")
    unnamed = names.isna().to_numpy()
    if unnamed.any():  # only deals with neither name nor account are named by their stage
        if stage is None:
            names[unnamed] = "a deal"
        else:
            at = pd.Series(stage, index=index)[unnamed].astype(object)
            words = {s: f"a deal at {value_text(s)}" for s in at.drop_duplicates()}
            names[unnamed] = at.map(words).to_numpy()
    return pd.Series(distinct(names), index=index, dtype=object) if apart else names
