"""Score auto-coding against hand-labelled texts (category level), with or without the model.

A labelled file is a CSV with ``text`` and ``categories`` (``;``-separated fishbone ids, the
primary category first; empty for a text that states no reason). When the model is on, it never
learns from the texts it is scored on: they are removed from its training texts first; nor do
they count among the known words that typo correction leaves alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sales_rca.coding.autocode import code_texts
from sales_rca.coding.codebook import CATEGORIES, Codebook, default_codebook
from sales_rca.coding.typos import known_without
from sales_rca.errors import SalesRcaError

#: The column of the confusion table for texts left uncoded.
UNCODED = "(uncoded)"


@dataclass(frozen=True)
class Evaluation:
    """How well the coding reproduces hand labels.

    ``per_category`` has precision, recall, f1 and support per category; ``coverage`` is the share
    of labelled texts (at least one category) that received any category; ``confusion`` counts
    expected primary category (rows) x coded primary category (columns, ``(uncoded)`` last);
    ``errors`` lists texts whose coded categories differ from the labels; ``model`` describes the
    model used (``None``: rules only).
    """

    macro_f1: float
    coverage: float
    per_category: pd.DataFrame
    errors: pd.DataFrame = field(repr=False)
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    primary_accuracy: float | None = None
    model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (no texts)."""
        per = self.per_category.round(4)
        return {
            "macro_f1": round(self.macro_f1, 4),
            "coverage": round(self.coverage, 4),
            "primary_accuracy": None
            if self.primary_accuracy is None
            else round(self.primary_accuracy, 4),
            "per_category": {
                str(c): {k: (int(v) if k == "support" else float(v)) for k, v in r.items()}
                for c, r in per.iterrows()
            },
            "confusion": {
                str(r): {str(c): int(v) for c, v in row.items()}
                for r, row in self.confusion.iterrows()
            },
            "model": self.model,
        }


def split_labels(value: object) -> tuple[str, ...]:
    """``"price; buyer"`` -> ``("price", "buyer")``; empty or missing -> ``()``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    return tuple(p.strip() for p in str(value).replace(",", ";").split(";") if p.strip())


def scores(predicted: pd.Series, truth: pd.Series) -> tuple[float, pd.DataFrame]:
    """Macro F1 over the categories that have labels, and precision/recall/f1/support each.

    Both series hold tuples of categories, aligned by position. A category never predicted has
    precision 0 (not unknown) only when it has labels; otherwise it is left out of the macro.
    """
    pred = predicted.reset_index(drop=True)
    gold = truth.reset_index(drop=True)
    rows = []
    for cat in CATEGORIES:
        p = pred.map(lambda cs, c=cat: c in cs).to_numpy(dtype=bool)
        g = gold.map(lambda cs, c=cat: c in cs).to_numpy(dtype=bool)
        tp, fp, fn = int((p & g).sum()), int((p & ~g).sum()), int((~p & g).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "category": cat,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": tp + fn,
            }
        )
    per_category = pd.DataFrame(rows).set_index("category")
    supported = per_category[per_category["support"] > 0]
    return (float(supported["f1"].mean()) if len(supported) else 0.0), per_category


def evaluate_codebook(
    texts: pd.Series,
    labels: pd.Series,
    codebook: Codebook | None = None,
    *,
    model: bool = False,
) -> Evaluation:
    """Code ``texts`` and compare their categories with ``labels`` (``;``-separated categories).

    ``model=True``: code with the rules and the model trained on the packaged labelled texts
    minus ``texts`` (so every text is unseen by the model).
    """
    from sales_rca.coding.model import model_for

    texts = texts.reset_index(drop=True).astype(str)
    loss_model = model_for(exclude=texts.tolist()) if model else None
    with known_without(texts.tolist()):  # nor do they vouch for their own words (typos)
        coded = code_texts(texts, codebook or default_codebook(), model=loss_model)
    truth = labels.reset_index(drop=True).map(split_labels)
    macro, per_category = scores(coded["categories"], truth)
    labelled = truth.map(bool)
    coverage = float(coded.loc[labelled, "coded"].mean()) if labelled.any() else 0.0
    wrong = coded["categories"].map(set) != truth.map(set)
    errors = pd.DataFrame(
        {
            "text": texts[wrong],
            "expected": truth[wrong],
            "coded": coded.loc[wrong, "categories"],
            "evidence": coded.loc[wrong, "evidence"],
        }
    )
    expected_primary = truth[labelled].map(lambda cs: cs[0])
    coded_primary = coded.loc[labelled, "primary_category"].replace("", UNCODED)
    confusion = pd.crosstab(expected_primary, coded_primary).reindex(
        index=list(CATEGORIES), columns=[*CATEGORIES, UNCODED], fill_value=0
    )
    accuracy = float((expected_primary == coded_primary).mean()) if labelled.any() else None
    return Evaluation(
        macro_f1=macro,
        coverage=coverage,
        per_category=per_category,
        errors=errors,
        confusion=confusion.fillna(0).astype(int),
        primary_accuracy=accuracy,
        model=loss_model.to_dict() if loss_model is not None else None,
    )


def evaluate_file(
    path: str | Path, codebook: Codebook | None = None, *, model: bool = False
) -> Evaluation:
    """Evaluate on a CSV with ``text`` and ``categories`` columns (see the module)."""
    p = Path(path)
    if not p.is_file():
        raise SalesRcaError(f"Labelled file not found: {p} (expected a CSV with text, categories).")
    frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in ("text", "categories") if c not in frame.columns]
    if missing:
        raise SalesRcaError(
            f"Labelled file {p}: expected columns text and categories, found "
            f"{', '.join(map(str, frame.columns)) or 'none'}."
        )
    bad = sorted({c for v in frame["categories"] for c in split_labels(v)} - set(CATEGORIES))
    if bad:
        raise SalesRcaError(
            f"Labelled file {p}: unknown categories {', '.join(bad[:5])}; expected "
            f"{', '.join(CATEGORIES)}."
        )
    return evaluate_codebook(frame["text"], frame["categories"], codebook, model=model)
