"""Codebook lint: codes that overlap heavily or never match the data at hand."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from sales_rca.coding.autocode import match_texts
from sales_rca.coding.codebook import Codebook, default_codebook


@dataclass(frozen=True)
class LintWarning:
    """One thing to look at in a codebook: ``kind`` is ``no_hits`` or ``overlap``."""

    kind: str
    codes: tuple[str, ...]
    message: str


def lint_codebook(
    texts: Iterable[str] | pd.Series,
    codebook: Codebook | None = None,
    *,
    overlap: float = 0.8,
    min_hits: int = 5,
) -> list[LintWarning]:
    """Check a codebook against loss texts.

    - ``no_hits``: a code that matches none of ``texts``;
    - ``overlap``: two codes whose matched texts overlap by at least ``overlap`` (Jaccard), each
      with at least ``min_hits`` texts: they probably code the same thing.
    """
    book = codebook or default_codebook()
    hits = match_texts(texts, book)
    rows_of = hits.groupby("code")["row"].agg(set).to_dict()
    out = [
        LintWarning("no_hits", (c,), f"Code {c} matches none of the {len(hits)} coded texts.")
        for c in book.ids
        if c not in rows_of
    ]
    ids = [c for c in book.ids if len(rows_of.get(c, ())) >= min_hits]
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            sa, sb = rows_of[a], rows_of[b]
            j = len(sa & sb) / len(sa | sb)
            if j >= overlap:
                out.append(
                    LintWarning(
                        "overlap",
                        (a, b),
                        f"Codes {a} and {b} match the same texts {j:.0%} of the time; "
                        "merge them or sharpen their patterns.",
                    )
                )
    return out
