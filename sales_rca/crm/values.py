"""Turn text cells into typed values: amounts, dates, outcomes and yes/no flags.

Every parser works column-wise (decisions such as decimal comma or day-first are taken once per
column, from all its values) and on distinct values only, so a million rows cost little more than
the few thousand distinct values they hold.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

# --- amounts -----------------------------------------------------------------------------------

_CURRENCY = re.compile(
    r"[$€£¥₹₽₩₺₪₫₱฿¤]|\b(?:USD|EUR|GBP|CHF|JPY|CNY|INR|AUD|CAD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|BRL|MXN|ZAR|SGD|HKD|RUB|TRY|AED)\b"
    r"|\b(?:US|AU|CA|NZ|HK|S)\$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_NUMBER = re.compile(r"^[+-]?(?:\d[\d.,]*)?\d(?:[.,]\d*)?$|^[+-]?[.,]\d+$")


@dataclass
class AmountResult:
    values: pd.Series
    unparseable: int
    examples: list[str]
    decimal: str


def _decimal_separator(cleaned: pd.Series, hint: str | None) -> str:
    """Decide '.' or ',' as the decimal mark for a column, from all its distinct values."""
    comma = cleaned.str.contains(r",\d{1,2}$|\.\d{3},\d*$|,\d{4,}$", regex=True).sum()
    dot = cleaned.str.contains(r"\.\d{1,2}$|,\d{3}\.\d*$|\.\d{4,}$", regex=True).sum()
    # "1.234.567" (several dot groups) is a European thousands pattern; "1,234,567" the US one.
    comma += cleaned.str.contains(r"^\d{1,3}(?:\.\d{3}){2,}$", regex=True).sum()
    dot += cleaned.str.contains(r"^\d{1,3}(?:,\d{3}){2,}$", regex=True).sum()
    if comma > dot:
        return ","
    if dot > comma:
        return "."
    return hint or "."


def parse_amounts(raw: pd.Series, *, decimal_hint: str | None = None) -> AmountResult:
    """Parse money text: currency symbols or codes, thousands separators, decimal comma,
    negatives in parentheses or with a trailing minus.

    >>> parse_amounts(pd.Series(["12.500,00 €", "(1,000)", ""])).values.tolist()
    [12500.0, -1000.0, nan]
    """
    raw = raw.astype(object)
    is_num = raw.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    text = raw.where(~is_num, "").astype(str)
    uniques = pd.Series(text.unique())
    stripped = uniques.str.strip()
    negative = stripped.str.match(r"^\(.*\)$|^-|.*-$|^[^\d]*-")
    cleaned = (
        stripped.str.replace(_CURRENCY, "", regex=True)
        .str.replace(_SPACES, "", regex=True)
        .str.replace(r"^\((.*)\)$", r"\1", regex=True)
        .str.replace(r"^-|-$", "", regex=True)
        .str.strip("+")
    )
    decimal = _decimal_separator(cleaned[cleaned.str.match(_NUMBER)], decimal_hint)
    if decimal == ",":
        normal = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        normal = cleaned.str.replace(",", "", regex=False)
    valid = normal.str.fullmatch(r"\d*\.?\d+|\d+\.")
    numbers = pd.to_numeric(normal.where(valid), errors="coerce")
    numbers = numbers.where(~negative, -numbers)
    lookup = pd.Series(numbers.to_numpy(), index=uniques.to_numpy())
    values = text.map(lookup).astype(float)
    values[is_num.to_numpy()] = raw[is_num].astype(float)
    bad = uniques[(stripped != "") & ~valid.fillna(False)]
    bad_mask = text.isin(set(bad))
    return AmountResult(
        values=values,
        unparseable=int(bad_mask.sum()),
        examples=[str(v) for v in bad.head(3)],
        decimal=decimal,
    )


# --- dates -------------------------------------------------------------------------------------

_DATE_PARTS_MONTH_FIRST = ["%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m.%d.%Y"]
_DATE_PARTS_DAY_FIRST = ["%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d-%m-%y"]
_DATE_PARTS_FIXED = [
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d/%b/%Y",
]
_TIMES = ["", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p", ", %I:%M %p", ", %H:%M"]
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_SERIAL = re.compile(r"^\d{4,5}(?:\.\d+)?$")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


@dataclass
class DateResult:
    values: pd.Series
    unparseable: int
    examples: list[str]
    format: str | None
    dayfirst: bool | None
    decided_by: str | None  # "data", "mapping", "default" or None when not applicable


def _try(values: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(values, format=fmt, errors="coerce")


def _best_format(sample: pd.Series, date_parts: Iterable[str]) -> tuple[str | None, int]:
    """The format (date part + time part) that parses most of ``sample``."""
    best_fmt, best_n = None, 0
    for part in date_parts:
        for time in _TIMES:
            n = int(_try(sample, part + time).notna().sum())
            if n > best_n:
                best_fmt, best_n = part + time, n
    return best_fmt, best_n


def _parse_with(values: pd.Series, fmt: str) -> pd.Series:
    """Parse with ``fmt``, then fill values written with another time part (same date order)."""
    parsed = _try(values, fmt)
    part = fmt.split(" ")[0].rstrip(",")
    for time in _TIMES:
        missing = parsed.isna()
        if not missing.any():
            break
        parsed[missing] = _try(values[missing], part + time)
    return parsed


def _spread_sample(values: pd.Series, n: int = 400) -> pd.Series:
    if len(values) <= n:
        return values
    step = len(values) // n
    return values.iloc[::step]


_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/\-](\d{1,2})[/\-]\d{2,4}\b")


def _day_month_evidence(values: pd.Series) -> tuple[int, int]:
    """How many values can only be day-first (first part > 12) or only month-first."""
    parts = values.str.extract(_NUMERIC_DATE).dropna().astype(int)
    if parts.empty:
        return 0, 0
    return int((parts[0] > 12).sum()), int((parts[1] > 12).sum())


def parse_dates(raw: pd.Series, *, dayfirst: bool | None = None, default_dayfirst: bool = False) -> DateResult:
    """Parse a date column; day-first vs month-first is decided from all its values.

    Args:
        raw: text cells ('' when empty) or real spreadsheet dates.
        dayfirst: force the order (from the mapping file); ``None`` decides from the data.
        default_dayfirst: the order to assume when every value is ambiguous (e.g. 03/04/2024).
    """
    raw = raw.astype(object)
    is_real = raw.map(lambda v: isinstance(v, (dt.date, pd.Timestamp)))
    text = raw.where(~is_real, "").astype(str).str.strip()
    uniques = pd.Series(text[text != ""].unique(), dtype=object)
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns]")
    fmt: str | None = None
    chosen_dayfirst: bool | None = None
    decided_by: str | None = None
    if len(uniques):
        iso = uniques.str.match(_ISO)
        if iso.any():
            iso_parsed = pd.to_datetime(uniques[iso], format="ISO8601", errors="coerce", utc=True)
            parsed[iso] = iso_parsed.dt.tz_localize(None)
            fmt = "ISO 8601"
        serial = uniques.str.match(_SERIAL) & ~iso
        if serial.any():
            days = pd.to_numeric(uniques[serial], errors="coerce")
            ok = days.between(10_000, 100_000)
            parsed[serial & ok.reindex(uniques.index, fill_value=False)] = _EXCEL_EPOCH + pd.to_timedelta(
                days[ok], unit="D"
            )
            fmt = fmt or "Excel serial"
        rest = uniques[parsed.isna() & ~iso & ~serial]
        if len(rest):
            only_day, only_month = _day_month_evidence(rest)
            if dayfirst is not None:
                chosen_dayfirst, decided_by = dayfirst, "mapping"
            elif only_day > only_month:
                chosen_dayfirst, decided_by = True, "data"
            elif only_month > only_day:
                chosen_dayfirst, decided_by = False, "data"
            sample = _spread_sample(rest)
            fixed_fmt, n_fixed = _best_format(sample, _DATE_PARTS_FIXED)
            order = _DATE_PARTS_DAY_FIRST if chosen_dayfirst else _DATE_PARTS_MONTH_FIRST
            if chosen_dayfirst is None:
                order = _DATE_PARTS_DAY_FIRST if default_dayfirst else _DATE_PARTS_MONTH_FIRST
            order_fmt, n_order = _best_format(sample, order)
            if order_fmt and chosen_dayfirst is None:
                chosen_dayfirst, decided_by = default_dayfirst, "default"
            formats = [f for f in (fixed_fmt, order_fmt) if f]
            if n_order > n_fixed:
                formats.reverse()
            rest_parsed = pd.Series(pd.NaT, index=rest.index, dtype="datetime64[ns]")
            for f in formats:
                missing = rest_parsed.isna()
                if missing.any():
                    rest_parsed[missing] = _parse_with(rest[missing], f)
            if formats:
                fmt = fmt or formats[0]
                if formats[0] == fixed_fmt and decided_by is None:
                    chosen_dayfirst = None if fixed_fmt.startswith(("%Y", "%b", "%B")) else True
                    decided_by = "format"
            parsed[rest.index] = rest_parsed
    lookup = pd.Series(parsed.to_numpy(), index=uniques.to_numpy())
    values = pd.to_datetime(text.map(lookup), errors="coerce")
    if is_real.any():
        values[is_real.to_numpy()] = pd.to_datetime(raw[is_real].astype(object), errors="coerce")
    values = values.astype("datetime64[ns]")
    bad = uniques[parsed.isna()]
    return DateResult(
        values=values,
        unparseable=int(text.isin(set(bad)).sum()),
        examples=[str(v) for v in bad.head(3)],
        format=fmt,
        dayfirst=chosen_dayfirst,
        decided_by=decided_by,
    )


# --- outcomes and flags ------------------------------------------------------------------------

_WON = re.compile(
    r"^(?:closed[\s_\-/]*)?(?:won|win|wins|success(?:ful)?|booked|signed|closedwon)$"
    r"|\bclosed[\s_\-/]*won\b|^won\b|\bwon$|^w$",
    re.IGNORECASE,
)
_LOST = re.compile(
    r"^(?:closed[\s_\-/]*)?(?:lost|loss|lose|losses|closedlost|dead|disqualified|out[\s-]*sold|cancell?ed|no[\s-]*decision)$"
    r"|\bclosed[\s_\-/]*lost\b|^lost\b|\blost$|^l$",
    re.IGNORECASE,
)
_OPEN = re.compile(
    r"^(?:open|active|in[\s_-]*progress|pending|ongoing|on[\s_-]*hold|working|new|pipeline)$",
    re.IGNORECASE,
)
_TRUE = {"true", "yes", "y", "1", "x", "t", "wahr", "ja", "oui", "si", "sí"}
_FALSE = {"false", "no", "n", "0", "f", "falsch", "nein", "non"}


def outcome_from_text(values: pd.Series) -> pd.Series:
    """``won`` / ``lost`` / ``open`` from outcome or stage text; ``None`` when not recognised."""
    uniques = pd.Series(values.astype(str).str.strip().unique(), dtype=object)
    out = pd.Series(None, index=uniques.index, dtype=object)
    out[uniques.str.contains(_OPEN)] = "open"
    out[uniques.str.contains(_LOST)] = "lost"
    out[uniques.str.contains(_WON)] = "won"
    lookup = pd.Series(out.to_numpy(), index=uniques.to_numpy())
    return values.astype(str).str.strip().map(lookup)


def closed_outcome_from_stage(
    stages: pd.Series, won_stages: Iterable[str] = (), lost_stages: Iterable[str] = ()
) -> pd.Series:
    """``won`` / ``lost`` when a stage name says the deal is closed, else ``None`` (open or unknown)."""
    text = stages.astype(str).str.strip()
    out = outcome_from_text(text).where(lambda s: s.isin(["won", "lost"]), None)
    won = {s.strip().lower() for s in won_stages}
    lost = {s.strip().lower() for s in lost_stages}
    lowered = text.str.lower()
    if won:
        out = out.mask(lowered.isin(won), "won")
    if lost:
        out = out.mask(lowered.isin(lost), "lost")
    if won or lost:
        # With explicit lists, only the listed stages are closed.
        out = out.where(lowered.isin(won | lost), None)
    return out


def parse_flags(values: pd.Series) -> pd.Series:
    """True / False / None from yes-no style cells (TRUE, 1, Yes, X ...)."""
    lowered = values.astype(str).str.strip().str.lower()
    out = pd.Series(None, index=values.index, dtype=object)
    out[lowered.isin(_TRUE)] = True
    out[lowered.isin(_FALSE)] = False
    return out


def is_blank(values: pd.Series) -> pd.Series:
    """True where a cell holds nothing (empty or whitespace)."""
    return values.astype(str).str.strip().eq("") | values.isna()


__all__ = [
    "AmountResult",
    "DateResult",
    "closed_outcome_from_stage",
    "is_blank",
    "outcome_from_text",
    "parse_amounts",
    "parse_dates",
    "parse_flags",
]

