"""Code the lost deals of a CRM export: free text first, the rep's pick-list as a second signal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sales_rca.coding.autocode import categories_of, code_texts
from sales_rca.coding.codebook import CATEGORIES, Codebook, default_codebook, normalise_label
from sales_rca.crm.data import CrmData

#: Context columns kept next to the codes (when present) for the findings.
CONTEXT_COLUMNS: tuple[str, ...] = (
    "loss_stage",
    "stage",
    "amount",
    "close_date",
    "segment",
    "region",
    "owner",
    "manager",
    "competitor",
    "product",
    "account",
)


@dataclass
class CodingResult:
    """Coded lost deals, one row per opportunity in ``deals``:

    ``opportunity_id, loss_reason, loss_detail`` (+ context columns), ``text_codes`` (from the
    free text), ``picklist_codes`` (from the pick-list), ``codes`` and ``categories`` (final),
    ``evidence`` ({code: words}), ``basis`` (``text``, ``picklist``, ``human`` or ``none``) and
    ``coded``.
    """

    deals: pd.DataFrame
    codebook: Codebook
    overrides: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def coverage(self) -> float:
        """Share of lost deals with at least one code."""
        return float(self.deals["coded"].mean()) if len(self.deals) else 0.0

    @property
    def notes(self) -> list[str]:
        """What the coding could not do with this export, in plain words."""
        d = self.deals
        blank = (
            d[["loss_reason", "loss_detail"]]
            .fillna("")
            .astype(str)
            .apply(lambda c: c.str.strip() == "")
        )
        if len(d) and blank.all().all():
            return [
                "The lost deals have no loss reason and no loss notes: nothing to code. Map the "
                "columns that hold them (loss_reason, loss_detail) in a mapping file."
            ]
        return []

    @property
    def uncoded(self) -> pd.DataFrame:
        """The review queue: lost deals no rule could code."""
        cols = ["opportunity_id", "loss_reason", "loss_detail"]
        return self.deals.loc[~self.deals["coded"], cols].reset_index(drop=True)

    @property
    def hits(self) -> pd.DataFrame:
        """Long form: one row per (opportunity, code) with category and evidence."""
        d = self.deals[["opportunity_id", "codes", "evidence", "basis"]].explode("codes")
        d = d.dropna(subset=["codes"]).rename(columns={"codes": "code"})
        d["category"] = d["code"].map(self.codebook.category_of())
        d["evidence"] = [ev.get(c, "") for ev, c in zip(d["evidence"], d["code"], strict=True)]
        return d[["opportunity_id", "code", "category", "evidence", "basis"]].reset_index(drop=True)

    def summary(self, examples: int = 5) -> dict[str, Any]:
        """JSON-ready numbers: rows, coded, coverage, by_category, by_code, uncoded_examples."""
        hits = self.hits
        by_cat = hits.groupby("category")["opportunity_id"].nunique()
        by_code = hits["code"].value_counts()
        queue = self.uncoded
        texts = queue["loss_detail"].fillna("").astype(str)
        texts = texts.where(texts.str.strip() != "", queue["loss_reason"].fillna("").astype(str))
        return {
            "rows": len(self.deals),
            "coded": int(self.deals["coded"].sum()),
            "coverage": round(self.coverage, 4),
            "by_category": {c: int(by_cat.get(c, 0)) for c in CATEGORIES},
            "by_code": {str(k): int(v) for k, v in by_code.items()},
            "uncoded_examples": [t for t in texts.tolist() if t.strip()][:examples],
            "notes": self.notes,
        }

    def to_frame(self) -> pd.DataFrame:
        """The export shape: ``opportunity_id, codes, categories, evidence`` as ``;``-joined text."""
        d = self.deals
        return pd.DataFrame(
            {
                "opportunity_id": d["opportunity_id"].astype(str),
                "codes": d["codes"].map(";".join),
                "categories": d["categories"].map(";".join),
                "evidence": d["evidence"].map(
                    lambda ev: "; ".join(f"{k}: {v}" for k, v in ev.items())
                ),
                "basis": d["basis"],
            }
        )


def code_losses(
    data: CrmData | pd.DataFrame,
    codebook: Codebook | None = None,
    *,
    lost_only: bool = True,
) -> CodingResult:
    """Auto-code the lost opportunities of ``data``.

    The free text (``loss_detail``) is coded with the codebook's patterns; the pick-list value
    (``loss_reason``) is matched against each code's ``picklist`` values and, failing that, its
    patterns. Text codes win; the pick-list is used only when the text yields nothing.

    Example::

        result = code_losses(crm)          # crm from sales_rca.crm.load_crm(...)
        result.coverage, result.uncoded.head()
    """
    book = codebook or default_codebook()
    opps = data.opportunities if isinstance(data, CrmData) else data
    if lost_only and "outcome" in opps.columns:
        opps = opps[opps["outcome"].astype(str) == "lost"]
    opps = opps.reset_index(drop=True)
    n = len(opps)
    detail = _text_column(opps, "loss_detail", n)
    reason = _text_column(opps, "loss_reason", n)

    text = code_texts(detail, book)
    pick = _code_picklist(reason, book)

    use_text = text["coded"].to_numpy(dtype=bool)
    use_pick = ~use_text & pick["coded"].to_numpy(dtype=bool)
    chosen = np.where(use_text, text["codes"], np.where(use_pick, pick["codes"], np.array(None)))
    found = np.where(
        use_text, text["evidence"], np.where(use_pick, pick["evidence"], np.array(None))
    )
    codes = [c if c is not None else () for c in chosen]
    evidence = [e if e is not None else {} for e in found]
    deals = pd.DataFrame(
        {
            "opportunity_id": opps["opportunity_id"].astype(str)
            if "opportunity_id" in opps
            else pd.Series(np.arange(n).astype(str)),
            "loss_reason": reason,
            "loss_detail": detail,
        }
    )
    for col in CONTEXT_COLUMNS:
        if col in opps.columns:
            deals[col] = opps[col].to_numpy()
    deals["text_codes"] = text["codes"].to_numpy()
    deals["picklist_codes"] = pick["codes"].to_numpy()
    deals["codes"] = pd.Series(codes, dtype=object)
    deals["categories"] = deals["codes"].map(lambda cs: categories_of(cs, book))
    deals["evidence"] = pd.Series(evidence, dtype=object)
    deals["basis"] = np.where(use_text, "text", np.where(use_pick, "picklist", "none"))
    deals["coded"] = deals["codes"].map(bool)
    return CodingResult(deals=deals, codebook=book)


def _text_column(frame: pd.DataFrame, name: str, n: int) -> pd.Series:
    if name not in frame.columns:
        return pd.Series([""] * n, dtype=object)
    return frame[name].astype(object).where(frame[name].notna(), "").astype(str)


def _code_picklist(values: pd.Series, book: Codebook) -> pd.DataFrame:
    """Pick-list values: exact match on a code's ``picklist`` values, else the patterns."""
    mapping = book.picklist_map()
    norm = values.map(normalise_label)
    exact = norm.map(mapping)
    by_pattern = code_texts(values, book)
    has_exact = exact.notna().to_numpy()
    codes = [
        (c,) if ok else p for ok, c, p in zip(has_exact, exact, by_pattern["codes"], strict=True)
    ]
    evidence = [
        {c: f"pick-list: {v}"} if ok else {k: f"pick-list: {e}" for k, e in ev.items()}
        for ok, c, v, ev in zip(has_exact, exact, values, by_pattern["evidence"], strict=True)
    ]
    out = pd.DataFrame({"codes": codes, "evidence": evidence}, index=values.index)
    out["coded"] = out["codes"].map(bool)
    return out


def picklist_crosstab(result: CodingResult) -> pd.DataFrame:
    """Pick-list category (rows) x text-coded category (columns), counting deals.

    Only deals with both a pick-list code and a text code are counted; a deal with several text
    categories counts once in each.
    """
    cat = result.codebook.category_of()
    d = result.deals
    both = d[d["text_codes"].map(bool) & d["picklist_codes"].map(bool)]
    rows = []
    for pick_codes, text_codes in zip(both["picklist_codes"], both["text_codes"], strict=True):
        for pc in {cat[c] for c in pick_codes}:
            for tc in {cat[c] for c in text_codes}:
                rows.append((pc, tc))
    frame = pd.DataFrame(rows, columns=["picklist", "text"])
    table = pd.crosstab(frame["picklist"], frame["text"]) if rows else pd.DataFrame()
    return (
        table.reindex(index=list(CATEGORIES), columns=list(CATEGORIES), fill_value=0)
        .fillna(0)
        .astype(int)
    )


def over_attribution(result: CodingResult) -> pd.DataFrame:
    """Per category: how often the pick-list names it and how often the text agrees.

    Columns: ``picklist`` (deals whose pick-list says the category and whose text is coded),
    ``confirmed`` (of those, the text also codes the category), ``over_attributed`` (the rest)
    and ``over_attribution_rate`` (``over_attributed / picklist``; NaN when ``picklist`` is 0).
    """
    cat = result.codebook.category_of()
    d = result.deals
    both = d[d["text_codes"].map(bool) & d["picklist_codes"].map(bool)]
    pick_cats = both["picklist_codes"].map(lambda cs: {cat[c] for c in cs})
    text_cats = both["text_codes"].map(lambda cs: {cat[c] for c in cs})
    rows = []
    for c in CATEGORIES:
        said = pick_cats.map(lambda s, c=c: c in s)
        agreed = said & text_cats.map(lambda s, c=c: c in s)
        n_said, n_ok = int(said.sum()), int(agreed.sum())
        rows.append(
            {
                "category": c,
                "picklist": n_said,
                "confirmed": n_ok,
                "over_attributed": n_said - n_ok,
                "over_attribution_rate": (n_said - n_ok) / n_said if n_said else float("nan"),
            }
        )
    return pd.DataFrame(rows).set_index("category")
