"""Code the lost deals of a CRM export from their notes; the rep's pick-list is a separate signal.

A deal whose notes exist but match nothing stays uncoded and goes to the review queue: its pick-list
value is *not* used instead (that would bring back the pick-list's price bias). The pick-list codes
a deal only when it has no notes at all, and it is always kept as its own column
(``picklist_codes``) for the pick-list vs notes table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from sales_rca.coding.autocode import categories_of, code_texts
from sales_rca.coding.codebook import CATEGORIES, Codebook, default_codebook, normalise_label
from sales_rca.crm.data import CrmData

if TYPE_CHECKING:
    from sales_rca.coding.model import LossModel

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
    free text), ``picklist_codes`` (from the pick-list), ``primary_category``, ``codes`` and
    ``categories`` (final), ``evidence`` ({code: words}), ``basis`` (``text``, ``model``,
    ``picklist`` (no notes), ``human`` or ``none``), ``confidence`` (the model's probability of
    the primary category, NaN without a model), ``why`` (plain words) and ``coded``.
    ``model`` is the model used (``None``: rules only).
    """

    deals: pd.DataFrame
    codebook: Codebook
    overrides: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: LossModel | None = None

    def review_order(self) -> pd.DataFrame:
        """Deals to review, the ones that teach the most first: uncoded, then coded by the
        model, then by the rules, each from the least to the most sure. Columns
        ``opportunity_id, basis, confidence``."""
        d = self.deals
        rank = d["basis"].map({"none": 0, "model": 1, "picklist": 2, "text": 3}).fillna(4)
        conf = d["confidence"] if "confidence" in d else pd.Series(np.nan, index=d.index)
        order = pd.DataFrame(
            {"opportunity_id": d["opportunity_id"], "rank": rank, "conf": conf.fillna(1.0)}
        ).sort_values(["rank", "conf"], kind="stable")
        return (
            d.loc[order.index, ["opportunity_id", "basis"]]
            .assign(confidence=conf.loc[order.index])
            .reset_index(drop=True)
        )

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
        by_cat = self.deals["categories"].explode().value_counts()
        prim = self.deals.get("primary_category", pd.Series(dtype=object))
        by_primary = prim[prim != ""].value_counts()
        by_code = hits["code"].value_counts()
        queue = self.uncoded
        texts = queue["loss_detail"].fillna("").astype(str)
        texts = texts.where(texts.str.strip() != "", queue["loss_reason"].fillna("").astype(str))
        return {
            "rows": len(self.deals),
            "coded": int(self.deals["coded"].sum()),
            "coverage": round(self.coverage, 4),
            "by_category": {c: int(by_cat.get(c, 0)) for c in CATEGORIES},
            "by_primary_category": {c: int(by_primary.get(c, 0)) for c in CATEGORIES},
            "by_code": {str(k): int(v) for k, v in by_code.items()},
            "uncoded_examples": [t for t in texts.tolist() if t.strip()][:examples],
            "notes": self.notes,
            "model": self.model.to_dict() if self.model is not None else {"on": False},
        }

    def to_frame(self) -> pd.DataFrame:
        """The export shape: ``opportunity_id, codes, categories, primary_category, evidence,
        basis, confidence`` (codes and categories ``;``-joined)."""
        d = self.deals
        return pd.DataFrame(
            {
                "opportunity_id": d["opportunity_id"].astype(str),
                "codes": d["codes"].map(";".join),
                "categories": d["categories"].map(";".join),
                "primary_category": d["primary_category"].fillna("").astype(str)
                if "primary_category" in d
                else "",
                "evidence": d["evidence"].map(
                    lambda ev: "; ".join(f"{k}: {v}" for k, v in ev.items())
                ),
                "basis": d["basis"],
                "confidence": d["confidence"].round(3) if "confidence" in d else float("nan"),
            }
        )


def code_losses(
    data: CrmData | pd.DataFrame,
    codebook: Codebook | None = None,
    *,
    lost_only: bool = True,
    model: LossModel | Literal["default"] | None = "default",
) -> CodingResult:
    """Auto-code the lost opportunities of ``data``.

    The notes (``loss_detail``) are coded with the codebook's patterns, read clause by clause:
    one primary category plus second reasons stated in a clause of their own. ``model``
    (``"default"``: trained on the packaged labelled texts; ``None``: rules only) weighs them and
    codes notes no rule matches when it is sure enough. The pick-list value (``loss_reason``) is
    coded separately (``picklist_codes``) and is used only for deals without notes.

    Example::

        result = code_losses(crm)          # crm from sales_rca.crm.load_crm(...)
        result.coverage, result.uncoded.head()
    """
    from sales_rca.coding.model import default_model

    book = codebook or default_codebook()
    loss_model = default_model() if model == "default" else model
    opps = data.opportunities if isinstance(data, CrmData) else data
    if lost_only and "outcome" in opps.columns:
        opps = opps[opps["outcome"].astype(str) == "lost"]
    opps = opps.reset_index(drop=True)
    n = len(opps)
    detail = _text_column(opps, "loss_detail", n)
    reason = _text_column(opps, "loss_reason", n)

    text = code_texts(detail, book, model=loss_model)
    pick = _code_picklist(reason, book)

    has_notes = (detail.str.strip() != "").to_numpy(dtype=bool)
    use_text = text["coded"].to_numpy(dtype=bool)
    use_pick = ~has_notes & pick["coded"].to_numpy(dtype=bool)
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
    pick_cats = deals["codes"].map(lambda cs: categories_of(cs, book))
    deals["categories"] = np.where(use_text, text["categories"].to_numpy(), pick_cats.to_numpy())
    pick_primary = pick_cats.map(lambda cs: cs[0] if cs else "")
    deals["primary_category"] = np.where(
        use_text, text["primary_category"].to_numpy(), np.where(use_pick, pick_primary, "")
    )
    deals["evidence"] = pd.Series(evidence, dtype=object)
    text_basis = np.where(text["basis"].to_numpy() == "model", "model", "text")
    deals["basis"] = np.where(use_text, text_basis, np.where(use_pick, "picklist", "none"))
    deals["confidence"] = np.where(use_text, text["confidence"].to_numpy(), np.nan)
    deals["coded"] = deals["categories"].map(bool)
    deals["why"] = [
        why_text(b, ev, p, conf, note, loss_model)
        for b, ev, p, conf, note in zip(
            deals["basis"],
            deals["evidence"],
            deals["primary_category"],
            deals["confidence"],
            deals["loss_detail"],
            strict=True,
        )
    ]
    return CodingResult(deals=deals, codebook=book, model=loss_model)


def why_text(
    basis: str,
    evidence: dict[str, str],
    primary: str,
    confidence: float,
    note: str,
    model: LossModel | None,
) -> str:
    """Why a deal has its codes, in plain words ("the notes say 'too expensive'; fairly sure")."""
    sure = "" if confidence != confidence else f"; {certainty(confidence)}"
    if basis == "text":
        words = "; ".join(dict.fromkeys(evidence.values()))
        return f"the notes say \u201c{words}\u201d{sure}"
    if basis == "model" and model is not None:
        terms = model.why(note, primary)
        said = ", ".join(f"\u201c{t}\u201d" for t in terms) or "the notes as a whole"
        return f"no rule matched; the model reads it from {said}{sure}"
    if basis == "picklist":
        return "no notes; from the pick-list"
    return "no rule matched the notes" if note.strip() else "no notes and no pick-list match"


def certainty(p: float) -> str:
    """A model probability in words: very sure / fairly sure / unsure."""
    if p >= 0.8:
        return "very sure"
    if p >= 0.55:
        return "fairly sure"
    return "unsure"


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
