"""CSV files that Excel opens without running anything in them.

Text read from a CRM or typed in the room may start with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return, which Excel and LibreOffice run as a formula (``=HYPERLINK(...)``,
``+SUM(1+1)*cmd|' /C calc'!A0``). OWASP's rule: such text cells are written with a leading
single quote, which spreadsheets show as text. Numbers stay numbers. :func:`read_csv` reads the
quote back off, so a file written here and read again is unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

#: First characters a spreadsheet treats as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a formula."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        text = s.astype("string")
        risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
        if risky.any():
            out[col] = s.astype(object).mask(risky, "'" + text)
    out.columns = [excel_safe_text(str(c)) for c in out.columns]
    return out


def excel_safe_text(text: str) -> str:
    """One cell: ``text`` with a leading quote when it would start a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **options: Any) -> Path:
    """Write ``frame`` as CSV (no index) with :func:`excel_safe` cells; returns the path."""
    out = Path(path)
    excel_safe(frame).to_csv(out, index=False, **options)
    return out


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Text cells of a CSV written by :func:`write_csv` (or edited in Excel), quotes removed."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    quoted = tuple("'" + c for c in FORMULA_START)
    for col in frame.columns:
        s = frame[col]
        hit = s.str.startswith(quoted)
        if hit.any():
            frame[col] = s.mask(hit, s.str[1:])
    frame.columns = [c[1:] if c.startswith(quoted) else c for c in frame.columns]
    return frame
