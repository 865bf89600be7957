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

import numpy as np
import pandas as pd


def distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct stripped texts of a column, so parsers work once per distinct value.

    The texts are Arrow-backed strings: pandas then runs regular expressions in C++.
    Missing values get code -1.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype(str)
    return codes, text.astype("string[pyarrow]").str.strip()


def spread(
    result: pd.Series | np.ndarray, codes: np.ndarray, index: pd.Index, fill=None
) -> pd.Series:
    """Per-row values from per-distinct-value ``result`` (the inverse of :func:`distinct`)."""
    arr = np.asarray(result, dtype=object if fill is None or isinstance(fill, str) else None)
    if len(arr) == 0:
        return pd.Series([fill] * len(codes), index=index, dtype=object if fill is None else None)
    out = arr.take(np.where(codes < 0, 0, codes))
    if (codes < 0).any():
        out = out.astype(object) if fill is None else out
        out[codes < 0] = fill
    return pd.Series(out, index=index)


def _cells_where(raw: pd.Series, test) -> pd.Series:
    """``test`` per cell, skipped (all False) when every cell is text, as in any CSV."""
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
        return pd.Series(False, index=raw.index)
    return raw.map(test).astype(bool)


# --- amounts -----------------------------------------------------------------------------------

_CURRENCY_OR_SPACE = (
    r"[$€£¥₹₽₩₺₪₫₱฿¤]|\b(?:USD|EUR|GBP|CHF|JPY|CNY|INR|AUD|CAD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|BRL"
    r"|MXN|ZAR|SGD|HKD|RUB|TRY|AED|usd|eur|gbp|chf)\b|\b(?:US|AU|CA|NZ|HK|S)\$|[\s'"
    "\u00a0\u202f]"
)
_NUMBER = r"(?:\d[\d.,]*)?\d(?:[.,]\d*)?|[.,]\d+"


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
    is_num = _cells_where(raw, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    text = raw.where(~is_num, "")
    codes, stripped = distinct(text)
    bare = stripped.str.replace(_CURRENCY_OR_SPACE, "", regex=True)
    negative = bare.str.contains(r"^\(.*\)$|^-|-$", regex=True)
    cleaned = bare
    if negative.any():
        cleaned = bare.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(
            r"^-|-$", "", regex=True
        )
    cleaned = cleaned.str.lstrip("+")
    decimal = _decimal_separator(cleaned[cleaned.str.fullmatch(_NUMBER)], decimal_hint)
    if decimal == ",":
        normal = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        normal = cleaned.str.replace(",", "", regex=False)
    valid = normal.str.fullmatch(r"\d*\.?\d+|\d+\.").fillna(False).astype(bool)
    numbers = pd.to_numeric(normal.where(valid).astype(object), errors="coerce").astype(float)
    numbers = numbers.where(~negative.fillna(False).astype(bool), -numbers)
    values = spread(numbers.to_numpy(), codes, raw.index, fill=np.nan).astype(float)
    values[is_num.to_numpy()] = raw[is_num].astype(float)
    bad = (stripped != "").fillna(False).astype(bool) & ~valid
    bad_rows = bad.to_numpy()[codes[codes >= 0]].sum() if len(bad) else 0
    return AmountResult(
        values=values,
        unparseable=int(bad_rows),
        examples=[str(v) for v in stripped[bad].head(3)],
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


def parse_dates(
    raw: pd.Series, *, dayfirst: bool | None = None, default_dayfirst: bool = False
) -> DateResult:
    """Parse a date column; day-first vs month-first is decided from all its values.

    Args:
        raw: text cells ('' when empty) or real spreadsheet dates.
        dayfirst: force the order (from the mapping file); ``None`` decides from the data.
        default_dayfirst: the order to assume when every value is ambiguous (e.g. 03/04/2024).
    """
    raw = raw.astype(object)
    is_real = _cells_where(raw, lambda v: isinstance(v, (dt.date, pd.Timestamp)))
    codes, texts = distinct(raw.where(~is_real, ""))
    nonblank = (texts != "").fillna(False).astype(bool).to_numpy()
    uniques = pd.Series(texts.to_numpy(dtype=object)[nonblank], dtype=object)
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
            parsed[serial & ok.reindex(uniques.index, fill_value=False)] = (
                _EXCEL_EPOCH + pd.to_timedelta(days[ok], unit="D")
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
    per_text = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    per_text[nonblank] = parsed.to_numpy(dtype="datetime64[ns]")
    values = pd.Series(
        per_text.take(np.where(codes < 0, 0, codes))
        if len(per_text)
        else np.full(len(raw), np.datetime64("NaT"), dtype="datetime64[ns]"),
        index=raw.index,
    )
    if len(per_text):
        values[codes < 0] = pd.NaT
    if is_real.any():
        values[is_real.to_numpy()] = pd.to_datetime(raw[is_real].astype(object), errors="coerce")
    values = values.astype("datetime64[ns]")
    bad_text = np.zeros(len(texts), dtype=bool)
    bad_text[nonblank] = parsed.isna().to_numpy()
    bad = uniques[parsed.isna()]
    return DateResult(
        values=values,
        unparseable=int(bad_text[codes[codes >= 0]].sum()) if len(bad_text) else 0,
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
    r"^(?:closed[\s_\-/]*)?(?:lost|loss|lose|losses|closedlost|dead|disqualified|out[\s-]*sold|cancell?ed|abandoned|no[\s-]*decision)$"
    r"|\bclosed[\s_\-/]*lost\b|^lost\b|\blost$|^l$",
    re.IGNORECASE,
)
_OPEN = re.compile(
    r"^(?:open|active|in[\s_-]*progress|pending|ongoing|on[\s_-]*hold|working|new|pipeline)$",
    re.IGNORECASE,
)
_TRUE = {"true", "yes", "y", "1", "x", "t", "wahr", "ja", "oui", "si", "sí"}
_FALSE = {"false", "no", "n", "0", "f", "falsch", "nein", "non"}


def _classify_outcomes(texts: pd.Series) -> pd.Series:
    plain = texts.astype(object)
    out = pd.Series(None, index=texts.index, dtype=object)
    out[plain.str.contains(_OPEN).fillna(False).astype(bool)] = "open"
    out[plain.str.contains(_LOST).fillna(False).astype(bool)] = "lost"
    out[plain.str.contains(_WON).fillna(False).astype(bool)] = "won"
    return out


def outcome_from_text(values: pd.Series) -> pd.Series:
    """``won`` / ``lost`` / ``open`` from outcome or stage text; ``None`` when not recognised."""
    codes, texts = distinct(values)
    return spread(_classify_outcomes(texts), codes, values.index)


def closed_outcome_from_stage(
    stages: pd.Series, won_stages: Iterable[str] = (), lost_stages: Iterable[str] = ()
) -> pd.Series:
    """``won`` / ``lost`` when a stage name says the deal is closed, else ``None`` (open or unknown)."""
    codes, texts = distinct(stages)
    out = _classify_outcomes(texts).where(lambda s: s.isin(["won", "lost"]), None)
    won = {s.strip().lower() for s in won_stages}
    lost = {s.strip().lower() for s in lost_stages}
    if won or lost:
        # With explicit lists, only the listed stages are closed.
        lowered = texts.astype(object).str.lower()
        out = pd.Series(None, index=texts.index, dtype=object)
        out[lowered.isin(won).to_numpy()] = "won"
        out[lowered.isin(lost).to_numpy()] = "lost"
    return spread(out, codes, stages.index)


def is_closed_stage_name(
    name: object, won_stages: Iterable[str] = (), lost_stages: Iterable[str] = ()
) -> bool:
    """True when one stage name means the deal is closed (won or lost); same rules as the import."""
    if not isinstance(name, str):
        return False
    return closed_outcome_from_stage(pd.Series([name]), won_stages, lost_stages).notna().iloc[0]


def parse_flags(values: pd.Series) -> pd.Series:
    """True / False / None from yes-no style cells (TRUE, 1, Yes, X ...)."""
    codes, texts = distinct(values)
    lowered = texts.astype(object).str.lower()
    out = pd.Series(None, index=texts.index, dtype=object)
    out[lowered.isin(_TRUE).to_numpy()] = True
    out[lowered.isin(_FALSE).to_numpy()] = False
    return spread(out, codes, values.index)


__all__ = [
    "AmountResult",
    "DateResult",
    "closed_outcome_from_stage",
    "is_closed_stage_name",
    "outcome_from_text",
    "parse_amounts",
    "parse_dates",
    "parse_flags",
]
