"""Turn text cells into typed values: numbers and amounts, dates, outcomes, yes/no flags, and the
type of a column nobody mapped (:func:`type_column`).

Every parser works column-wise (decisions such as decimal comma or day-first are taken once per
column, from all its values) and on distinct values only, so a million rows cost little more than
the few thousand distinct values they hold.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

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
    result: pd.Series | np.ndarray, codes: np.ndarray, index: pd.Index, fill: Any = None
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


def _text_of(codes: np.ndarray, texts: pd.Series, index: pd.Index) -> pd.Series:
    """Per-row text from :func:`distinct` output, missing where empty."""
    texts = texts.astype(object).where(texts != "", None)
    return spread(texts, codes, index).astype("string")


def parse_text(raw: pd.Series) -> pd.Series:
    """Stripped text, missing where empty."""
    codes, texts = distinct(raw)
    return _text_of(codes, texts, raw.index)


def _cells_where(raw: pd.Series, test: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``test`` per cell, skipped (all False) when every cell is text, as in any CSV."""
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
        return pd.Series(False, index=raw.index)
    return raw.map(test).astype(bool)


# --- numbers and amounts -------------------------------------------------------------------

_CURRENCY = (
    r"[$€£¥₹₽₩₺₪₫₱฿¤]|\b(?:USD|EUR|GBP|CHF|JPY|CNY|INR|AUD|CAD|NZD|SEK|NOK|DKK|PLN|CZK|HUF|BRL"
    r"|MXN|ZAR|SGD|HKD|RUB|TRY|AED|usd|eur|gbp|chf)\b|\b(?:US|AU|CA|NZ|HK|S)\$"
)
#: Thousands separators other than ``,`` and ``.``: spaces (plain, no-break, narrow) and apostrophes.
_GROUP_SPACE = "[ \t\u00a0\u202f'\u2019]+"
_NUMBER = r"(?:\d[\d.,]*)?\d(?:[.,]\d*)?|[.,]\d+"
# A whole number, for each decimal mark: plain digits, or digits in groups of three separated by
# one kind of separator (Indian lakh grouping too, with a decimal point). "1.5.0" or "15.01.2024"
# are not numbers.
_INTEGER = {
    ".": r"\d+|\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d{1,2}(?:,\d{2})+,\d{3}",
    ",": r"\d+|\d{1,3}(?:\.\d{3})+|\d{1,3}(?: \d{3})+",
}
_VALID = {
    # Scientific notation as programs write it, with a signed exponent (1e-05, 1.5E+20): "2E10"
    # without a sign is more likely a part number.
    ".": rf"(?:{_INTEGER['.']})(?:\.\d*)?|\.\d+|(?:\d+\.?\d*|\.\d+)[eE][+-]\d+",
    ",": rf"(?:{_INTEGER[',']})(?:,\d*)?|,\d+",
}
#: Magnitude suffixes, read only next to a currency ("$3k", "€1.2M"): alone "5m" may be minutes.
_SUFFIX = r"(\d)\s*(k|K|m|M|mn|MM|bn|Bn|BN|B)$"
_HAS_SUFFIX = r"\d\s*(?:k|K|m|M|mn|MM|bn|Bn|BN|B)$"
_MINUS = "^[-\u2212]|[-\u2212]$"  # ASCII hyphen or the Unicode minus sign
_NEGATIVE = r"^\(.*\)$|" + _MINUS
_SUFFIX_EXPONENT = {"k": "e3", "m": "e6", "mn": "e6", "mm": "e6", "b": "e9", "bn": "e9"}
#: Cells that say "no value" in a number column; they are read as missing (and counted).
MISSING_MARKERS = frozenset({"n/a", "na", "#n/a", "null", "none", "nan", "-", "--", "—", "–", "?"})


@dataclass
class NumberResult:
    """Numbers parsed from a column, with what could not be read.

    ``unparseable`` counts non-blank rows that are not numbers (``missing_marked`` of them hold a
    marker such as ``n/a``); ``percent`` counts rows written as percentages (read as fractions).
    """

    values: pd.Series
    unparseable: int
    examples: list[str]
    decimal: str
    missing_marked: int = 0
    percent: int = 0
    #: Rows such as ``1,000`` read with three decimals (the column's decimal mark is a comma):
    #: the same text means a thousand in the other convention.
    ambiguous: int = 0
    ambiguous_examples: list[str] = field(default_factory=list)

    def ambiguity(self) -> str | None:
        """One sentence on the values the two conventions read differently, or None."""
        return ambiguity_sentence(self.decimal, self.ambiguous, self.ambiguous_examples)


#: The name :func:`parse_amounts` has always returned.
AmountResult = NumberResult


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


@dataclass
class _Parsed:
    """Per distinct text: the number (NaN when not one), and why not."""

    numbers: np.ndarray
    valid: np.ndarray
    blank: np.ndarray
    marker: np.ndarray
    percent: np.ndarray
    decimal: str
    ambiguous: np.ndarray


def ambiguity_sentence(decimal: str, rows: int, examples: list[str]) -> str | None:
    """Say how values like ``1,000`` were read when the column's decimal mark makes them small."""
    if not rows:
        return None
    first = re.sub(r"[^\d.,]", "", examples[0])
    small = float(first.replace(decimal, ".")) * (-1 if re.search(_NEGATIVE, examples[0]) else 1)
    mark = "comma" if decimal == "," else "point"
    return (
        f"{rows} value(s) such as {', '.join(map(repr, examples))} were read with a decimal "
        f"{mark}, like the column's other values ({examples[0]!r} as {small:g}); if they mean "
        f"thousands ({small * 1000:,.0f}), correct them in the export."
    )


def _bool(s: pd.Series) -> np.ndarray:
    return s.fillna(False).astype(bool).to_numpy()


def _parse_texts(stripped: pd.Series, decimal_hint: str | None, percent: bool) -> _Parsed:
    """Numbers of distinct stripped texts (Arrow strings); the work behind :func:`parse_numbers`."""
    t = stripped.str.replace(_CURRENCY, " ", regex=True)
    has_currency = _bool(t != stripped)
    if has_currency.any():
        t = t.str.strip()
    negative = _bool(t.str.contains(_NEGATIVE, regex=True))
    if negative.any():
        t = t.str.replace(r"^\((.*)\)$", r"\1", regex=True).str.replace(_MINUS, "", regex=True)
        t = t.str.strip()
    if t.str.startswith("+").any():
        t = t.str.replace(r"^\+", "", regex=True)
    exponent = pd.Series("", index=t.index, dtype="string[pyarrow]")
    is_percent = np.zeros(len(t), dtype=bool)
    if percent:
        is_percent = _bool(t.str.contains(r"\d\s*%$", regex=True))
        if is_percent.any():
            t = t.str.replace(r"\s*%$", "", regex=True)
            exponent = exponent.mask(is_percent, "e-2")
    if has_currency.any():
        with_suffix = has_currency & _bool(t.str.contains(_HAS_SUFFIX, regex=True))
        if with_suffix.any():
            suffix = t.str.extract(_SUFFIX, expand=True)[1].str.lower().map(_SUFFIX_EXPONENT)
            exponent = exponent.mask(with_suffix, suffix.astype("string[pyarrow]"))
            t = t.mask(with_suffix, t.str.replace(_SUFFIX, r"\1", regex=True))
    t = t.str.replace(_GROUP_SPACE, " ", regex=True)
    voters = t.str.replace(" ", "", regex=False)
    decimal = _decimal_separator(voters[voters.str.fullmatch(_NUMBER)], decimal_hint)
    valid = _bool(t.str.fullmatch(_VALID[decimal]))
    # One separator followed by exactly three digits: a thousand in one convention, a number
    # with three decimals in the other. Only worth a word when read as the three decimals.
    # A column that writes three decimals elsewhere ("0.125", "1234.567") means them here too.
    mark = re.escape(decimal)
    ambiguous = valid & _bool(voters.str.fullmatch(rf"[1-9]\d{{0,2}}{mark}\d{{3}}"))
    if (
        ambiguous.any()
        and (valid & _bool(voters.str.fullmatch(rf"(?:0|\d{{4,}}){mark}\d{{3}}"))).any()
    ):
        ambiguous[:] = False
    scaled = _bool(exponent != "")
    if scaled.any():  # "1e5%" or "$1e3k": not numbers anyone writes
        valid &= ~(scaled & _bool(t.str.contains("[eE]", regex=True)))
    if decimal == ",":
        normal = voters.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        normal = voters.str.replace(",", "", regex=False)
    if negative.any():
        normal = normal.mask(negative, "-" + normal)
    if scaled.any():
        normal = normal + exponent
    # Arrow's cast is correctly rounded ("0.1" -> 0.1 exactly as Python reads it); to_numeric is not.
    numbers = normal.where(valid).astype(float).to_numpy() if len(t) else np.empty(0)
    blank = _bool(stripped == "")
    marker = np.zeros(len(t), dtype=bool)
    if not valid.all():
        marker[~valid] = _bool(stripped[~valid].str.lower().isin(MISSING_MARKERS))
    return _Parsed(
        numbers=numbers,
        valid=valid,
        blank=blank,
        marker=marker,
        percent=is_percent & valid,
        decimal=decimal,
        ambiguous=ambiguous,
    )


def _row_counts(codes: np.ndarray, n_texts: int) -> np.ndarray:
    """How many rows hold each distinct text."""
    return np.bincount(codes[codes >= 0], minlength=n_texts)


def parse_numbers(
    raw: pd.Series, *, decimal_hint: str | None = None, percent: bool = True
) -> NumberResult:
    """Parse a column of numbers written as people write them.

    Accepts currency symbols or codes (``USD 48,500.00``, ``€1.200,50``; ``$3k`` and ``€1.2M``
    only next to a currency), thousands separators in groups of three (``1,500``, ``1.500`` when
    the decimal mark is a comma, ``1 500``, ``1'500``), a decimal comma (decided once for the
    column from all its values, else ``decimal_hint``), negatives (``-5``, ``(5)``, ``5-``),
    scientific notation with a signed exponent (``1e-05``) and, with ``percent``, percentages
    as fractions (``35%`` -> 0.35). Blank cells and anything else are NaN: never 0.

    >>> parse_numbers(pd.Series(["USD 48,500.00", "(1,000)", "35%", ""])).values.tolist()
    [48500.0, -1000.0, 0.35, nan]
    """
    raw = raw.astype(object)
    is_num = _cells_where(raw, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
    codes, stripped = distinct(raw.where(~is_num, ""))
    parsed = _parse_texts(stripped, decimal_hint, percent)
    values = spread(parsed.numbers, codes, raw.index, fill=np.nan).astype(float)
    if is_num.any():
        values[is_num.to_numpy()] = raw[is_num].astype(float)
    rows = _row_counts(codes, len(stripped))
    bad = ~parsed.valid & ~parsed.blank
    return NumberResult(
        values=values,
        unparseable=int(rows[bad].sum()),
        examples=[str(v) for v in stripped[bad].head(3)],
        decimal=parsed.decimal,
        missing_marked=int(rows[bad & parsed.marker].sum()),
        percent=int(rows[parsed.percent].sum()),
        ambiguous=int(rows[parsed.ambiguous].sum()),
        ambiguous_examples=[str(v) for v in stripped[parsed.ambiguous].head(3)],
    )


def parse_amounts(raw: pd.Series, *, decimal_hint: str | None = None) -> NumberResult:
    """Money: :func:`parse_numbers` without percentages (``35%`` is not an amount).

    >>> parse_amounts(pd.Series(["12.500,00 €", "(1.000)", "€3k", ""])).values.tolist()
    [12500.0, -1000.0, 3000.0, nan]
    """
    return parse_numbers(raw, decimal_hint=decimal_hint, percent=False)


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


# --- column types ------------------------------------------------------------------------------

#: A column is read as numbers (or dates) when at least this share of its non-blank cells are...
TYPED_SHARE = 0.95
#: ...and at least this many cells are.
TYPED_MIN_VALUES = 3
# Loose shapes of the dates parse_dates reads, to skip the date parser on columns of names.
_DATE_LIKE = (
    r"^\d{1,4}[-/. ](?:\d{1,2}|[A-Za-z]{3,9})[-/. ,]+\d{2,4}|^[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"
    r"|^\d{4}-\d{2}-\d{2}"
)
_CODE_WORDS = frozenset(
    {"id", "ids", "code", "codes", "zip", "zipcode", "postcode", "postal", "plz", "phone"}
    | {"telephone", "tel", "fax", "sku", "ean", "upc", "isbn", "iban"}
)
_CODE_LAST_WORDS = frozenset({"number", "no", "nr", "num"})


@dataclass
class TypedColumn:
    """A column read as ``number`` (float64), ``date`` (datetime64[ns]) or ``text`` (string).

    ``unparseable`` and ``examples`` are the non-blank cells that did not fit the type (empty
    in ``values``; markers such as ``n/a`` are not counted); ``percent`` counts cells written as
    percentages (read as fractions, 35% -> 0.35); ``dates`` is the date parser's result.
    """

    kind: str
    values: pd.Series
    unparseable: int = 0
    examples: list[str] = field(default_factory=list)
    percent: int = 0
    dates: DateResult | None = None
    #: For numbers: as :attr:`NumberResult.ambiguous`, and the sentence that says so.
    ambiguity: str | None = None


def looks_like_code(numbers: pd.Series, name: str = "") -> bool:
    """True when number-shaped texts are identifiers or codes, to be kept as text.

    A code: a column named like one (``Account ID``, ``ZIP``, ``Phone``, ``PO Number``), a value
    written with leading zeros (``00123``), more digits than a float keeps (16+) or an
    international phone number (``+4930...``), or 20+ distinct values all plain digits of one
    width of 5 or more (ZIP codes, account numbers).
    """
    words = re.findall(r"[a-z0-9]+", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower())
    if _CODE_WORDS.intersection(words) or (words and words[-1] in _CODE_LAST_WORDS):
        return True
    if numbers.empty:
        return False
    if _bool(numbers.str.contains(r"^[+-]?0\d|^\+?\d{16,}$|^\+\d{8,}$", regex=True)).any():
        return True
    digits = _bool(numbers.str.fullmatch(r"\d+"))
    if len(numbers) >= 20 and digits.all():
        widths = numbers.str.len().unique()
        return len(widths) == 1 and int(widths[0]) >= 5
    return False


def _sample(texts: pd.Series, n: int) -> pd.Series:
    """Up to ``n`` of ``texts``, spread over the column."""
    return _spread_sample(texts.reset_index(drop=True), n)


def type_column(
    raw: pd.Series,
    *,
    name: str = "",
    decimal_hint: str | None = None,
    dayfirst: bool | None = None,
    default_dayfirst: bool = False,
) -> TypedColumn:
    """Read a column nobody mapped as numbers, dates or text, whatever the file format.

    Numbers when (nearly) every non-blank cell is one (:data:`TYPED_SHARE`, at least
    :data:`TYPED_MIN_VALUES` cells) and the column is not a code (:func:`looks_like_code`); then
    dates, read by :func:`parse_dates` with ``dayfirst`` / ``default_dayfirst``; else text.
    Yes/No and True/False stay text. Each distinct value is parsed once.

    >>> type_column(pd.Series(["1,500", "2,250.5", "n/a", "7"])).values.tolist()
    [1500.0, 2250.5, nan, 7.0]
    """
    codes, texts = distinct(raw)
    rows = _row_counts(codes, len(texts))
    filled = ~_bool(texts == "")
    marker = _bool(texts.str.lower().isin(MISSING_MARKERS))
    considered = int(rows[filled & ~marker].sum())
    if considered < TYPED_MIN_VALUES:
        return TypedColumn("text", _text_of(codes, texts, raw.index))
    candidates = texts[filled & ~marker]
    # A cheap look at a sample first: most columns of names fail here.
    if _parse_texts(_sample(candidates, 1000), decimal_hint, True).valid.mean() >= 0.8:
        parsed = _parse_texts(texts, decimal_hint, True)
        numeric = int(rows[parsed.valid].sum())
        if numeric >= max(TYPED_MIN_VALUES, TYPED_SHARE * considered):
            if looks_like_code(texts[parsed.valid], name):
                return TypedColumn("text", _text_of(codes, texts, raw.index))
            bad = filled & ~marker & ~parsed.valid
            return TypedColumn(
                "number",
                spread(parsed.numbers, codes, raw.index, fill=np.nan).astype(float),
                unparseable=int(rows[bad].sum()),
                examples=[str(v) for v in texts[bad].head(3)],
                percent=int(rows[parsed.percent].sum()),
                ambiguity=ambiguity_sentence(
                    parsed.decimal,
                    int(rows[parsed.ambiguous].sum()),
                    [str(v) for v in texts[parsed.ambiguous].head(3)],
                ),
            )
        if numeric * 2 >= considered:  # mostly numbers: never read those as Excel serial dates
            return TypedColumn("text", _text_of(codes, texts, raw.index))
    sample = _sample(candidates, 500)
    if _bool(sample.str.contains(_DATE_LIKE, regex=True)).mean() >= 0.8:
        probe = parse_dates(sample, dayfirst=dayfirst, default_dayfirst=default_dayfirst)
        if probe.unparseable <= 0.2 * len(sample):
            dates = parse_dates(raw, dayfirst=dayfirst, default_dayfirst=default_dayfirst)
            bad_dates = max(dates.unparseable - int(rows[marker].sum()), 0)
            if considered - bad_dates >= TYPED_SHARE * considered:
                bad_examples = [e for e in dates.examples if e.lower() not in MISSING_MARKERS]
                return TypedColumn(
                    "date",
                    dates.values,
                    unparseable=bad_dates,
                    examples=bad_examples,
                    dates=dates,
                )
    return TypedColumn("text", _text_of(codes, texts, raw.index))


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
    "MISSING_MARKERS",
    "TYPED_MIN_VALUES",
    "TYPED_SHARE",
    "AmountResult",
    "DateResult",
    "NumberResult",
    "TypedColumn",
    "closed_outcome_from_stage",
    "is_closed_stage_name",
    "looks_like_code",
    "outcome_from_text",
    "parse_amounts",
    "parse_dates",
    "parse_flags",
    "parse_numbers",
    "parse_text",
    "type_column",
]
