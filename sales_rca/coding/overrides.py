"""Human coding: overrides that win over the auto codes, and CSV exchange with a second coder.

Overrides are plain records; storing them is the session store's job. :func:`apply_overrides` is
pure: coded deals and override records in, a new :class:`CodingResult` out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from sales_rca.coding.autocode import categories_of
from sales_rca.coding.codebook import CATEGORIES, Codebook, default_codebook
from sales_rca.coding.losses import CodingResult
from sales_rca.csvsafe import read_csv, write_csv
from sales_rca.errors import CodebookError, SalesRcaError

Action = Literal["accept", "change", "add", "remove"]
ACTIONS: tuple[str, ...] = ("accept", "change", "add", "remove")


@dataclass(frozen=True)
class Override:
    """One human decision on one deal.

    - ``accept``: confirm the auto codes as they are (``code`` empty) or one of them;
    - ``change``: replace ``code`` by ``new_code`` (``code`` empty: replace all codes);
    - ``add``: add ``code``; ``remove``: drop ``code``.
    """

    opportunity_id: str
    action: Action
    code: str | None = None
    new_code: str | None = None
    who: str = ""
    when: datetime | str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if isinstance(self.when, datetime):
            d["when"] = self.when.isoformat()
        return d


def from_decision(decision: Any) -> list[Override]:
    """A workshop decision "these are the deal's codes" (the session's ``CodeOverride``: an object
    with ``opportunity_id``, ``codes``, ``by``, ``at``, ``note``) as override records: no codes =
    accept the automatic ones; else replace them with the first code and add the others."""
    base = {
        "opportunity_id": str(decision.opportunity_id),
        "who": decision.by or "",
        "when": decision.at,
        "note": decision.note or "",
    }
    codes = list(decision.codes)
    if not codes:
        return [Override(**base, action="accept")]
    return [Override(**base, action="change", new_code=codes[0])] + [
        Override(**base, action="add", code=code) for code in codes[1:]
    ]


def _records(overrides: Iterable[Any] | pd.DataFrame) -> list[Override]:
    if isinstance(overrides, pd.DataFrame):
        overrides = overrides.to_dict("records")
    out = []
    for o in overrides:
        if isinstance(o, Override):
            out.append(o)
            continue
        if hasattr(o, "codes") and hasattr(o, "opportunity_id"):
            out.extend(from_decision(o))
            continue
        clean = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in o.items()}
        known: dict[str, Any] = {k: clean[k] for k in Override.__dataclass_fields__ if k in clean}
        known["opportunity_id"] = str(known.get("opportunity_id", ""))
        out.append(Override(**known))
    return out


def apply_overrides(result: CodingResult, overrides: Iterable[Any] | pd.DataFrame) -> CodingResult:
    """Apply human overrides in time order (later wins) and return a new result.

    ``overrides`` are :class:`Override` records, mappings with its fields, a DataFrame of them,
    or the workshop session's decisions (``state.code_overrides``, see :func:`from_decision`).

    Overridden deals get ``basis == "human"``, ``reviewed_by`` / ``reviewed_at`` of the last
    decision; ``result.overrides`` lists every record with ``applied`` (False when the deal is not
    among the coded lost deals). Unknown codes or actions raise :class:`CodebookError`.
    """
    book = result.codebook
    records = _records(overrides)
    for o in records:
        if o.action not in ACTIONS:
            raise CodebookError(
                f"Override for {o.opportunity_id}: unknown action {o.action!r}; expected one of "
                f"{', '.join(ACTIONS)}."
            )
        for c in (o.code, o.new_code):
            if c:
                _ = book[c]  # raises CodebookError naming the unknown code
        if o.action in ("add", "remove") and not o.code:
            raise CodebookError(f"Override for {o.opportunity_id}: '{o.action}' needs a code.")
        if o.action == "change" and not o.new_code:
            raise CodebookError(f"Override for {o.opportunity_id}: 'change' needs a new_code.")
    order = sorted(
        range(len(records)), key=lambda i: (str(records[i].when or ""), i)
    )  # stable on ties
    deals = result.deals.copy()
    for col in ("reviewed_by", "reviewed_at"):
        if col not in deals:
            deals[col] = None
    pos = {oid: i for i, oid in enumerate(deals["opportunity_id"].astype(str))}
    applied = [False] * len(records)
    for i in order:
        o = records[i]
        row = pos.get(o.opportunity_id)
        if row is None:
            continue
        codes = list(deals.at[row, "codes"])
        evidence = dict(deals.at[row, "evidence"])
        if o.action == "add" and o.code not in codes:
            codes.append(o.code)
            evidence[o.code] = f"added by {o.who or 'facilitator'}"
        elif o.action == "remove":
            codes = [c for c in codes if c != o.code]
            evidence.pop(o.code or "", None)
        elif o.action == "change":
            old = [o.code] if o.code else list(codes)
            codes = [c for c in codes if c not in old]
            for c in old:
                evidence.pop(c, None)
            if o.new_code not in codes:
                codes.append(o.new_code)
            evidence[o.new_code] = f"changed by {o.who or 'facilitator'}"
        rank = {c: k for k, c in enumerate(book.ids)}
        codes.sort(key=lambda c: rank.get(c, len(rank)))
        deals.at[row, "codes"] = tuple(codes)
        deals.at[row, "evidence"] = evidence
        deals.at[row, "basis"] = "human"
        deals.at[row, "reviewed_by"] = o.who
        deals.at[row, "reviewed_at"] = (
            o.when.isoformat() if isinstance(o.when, datetime) else o.when
        )
        applied[i] = True
    # Only the reviewed deals change: a deal the model coded (categories, no code) keeps them.
    touched = deals["basis"] == "human"
    deals.loc[touched, "categories"] = deals.loc[touched, "codes"].map(
        lambda cs: categories_of(cs, book)
    )
    if "primary_category" in deals:
        deals.loc[touched, "primary_category"] = deals.loc[touched, "categories"].map(
            lambda cs: cs[0] if cs else ""
        )
    deals["coded"] = deals["categories"].map(bool)
    log = pd.DataFrame([o.to_dict() for o in records], columns=list(Override.__dataclass_fields__))
    log["applied"] = applied
    return CodingResult(deals=deals, codebook=book, overrides=log, model=result.model)


def export_coding_csv(result: CodingResult, path: str | Path) -> Path:
    """Write the coding for a second coder: id, pick-list, text, codes, categories, evidence.

    The second coder edits ``codes`` (or only ``categories``) and sends the file back.
    """
    d = result.deals
    frame = result.to_frame()
    frame.insert(1, "loss_reason", d["loss_reason"].to_numpy())
    frame.insert(2, "loss_detail", d["loss_detail"].to_numpy())
    if "loss_stage" in d:
        frame.insert(1, "loss_stage", d["loss_stage"].to_numpy())
    return write_csv(frame, path)


def read_coding_csv(path: str | Path, codebook: Codebook | None = None) -> pd.DataFrame:
    """Read a coding file (``opportunity_id`` plus ``codes`` and/or ``categories``).

    Returns ``opportunity_id, codes, categories`` with tuples. The ``categories`` column is used
    when present (a second coder may code categories only); otherwise categories are derived from
    the codes with ``codebook``. Raises :class:`SalesRcaError` for a file
    without the needed columns and :class:`CodebookError` for unknown codes or categories.
    """
    p = Path(path)
    if not p.is_file():
        raise SalesRcaError(f"Coding file not found: {p} (expected a CSV with opportunity_id).")
    frame = read_csv(p)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "opportunity_id" not in frame or not ({"codes", "categories"} & set(frame.columns)):
        raise SalesRcaError(
            f"Coding file {p}: expected columns opportunity_id and codes or categories, found "
            f"{', '.join(frame.columns) or 'none'}."
        )
    out = pd.DataFrame({"opportunity_id": frame["opportunity_id"].str.strip()})
    if "codes" in frame:
        out["codes"] = frame["codes"].map(_split)
        if codebook is not None:
            unknown = sorted({c for cs in out["codes"] for c in cs if c not in codebook})
            if unknown:
                raise CodebookError(
                    f"Coding file {p}: unknown codes {', '.join(unknown[:5])}; expected ids from "
                    "the codebook."
                )
    else:
        out["codes"] = [()] * len(out)
    if "categories" in frame:
        out["categories"] = frame["categories"].map(_split)
    else:
        book = codebook or default_codebook()
        unknown = sorted({c for cs in out["codes"] for c in cs if c not in book})
        if unknown:
            raise CodebookError(
                f"Coding file {p}: unknown codes {', '.join(unknown[:5])} and no categories "
                "column; add categories or pass the codebook the codes come from."
            )
        out["categories"] = out["codes"].map(lambda cs: categories_of(cs, book))
    bad = sorted({c for cs in out["categories"] for c in cs if c not in CATEGORIES})
    if bad:
        raise CodebookError(
            f"Coding file {p}: unknown categories {', '.join(bad[:5])}; expected "
            f"{', '.join(CATEGORIES)}."
        )
    return out


def _split(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in str(value).split(";") if v.strip()))
