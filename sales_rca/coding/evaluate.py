"""Score auto-coding against hand-labelled texts (category level)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sales_rca.coding.autocode import code_texts
from sales_rca.coding.codebook import CATEGORIES, Codebook, default_codebook


@dataclass(frozen=True)
class Evaluation:
    """How well a codebook reproduces hand labels.

    ``per_category`` has precision, recall, f1 and support per category; ``coverage`` is the share
    of labelled texts (at least one category) that received any code; ``errors`` lists texts whose
    coded categories differ from the labels.
    """

    macro_f1: float
    coverage: float
    per_category: pd.DataFrame
    errors: pd.DataFrame = field(repr=False)


def split_labels(value: object) -> tuple[str, ...]:
    """``"price; buyer"`` -> ``("price", "buyer")``; empty or missing -> ``()``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    return tuple(p.strip() for p in str(value).replace(",", ";").split(";") if p.strip())


def evaluate_codebook(
    texts: pd.Series, labels: pd.Series, codebook: Codebook | None = None
) -> Evaluation:
    """Code ``texts`` and compare their categories with ``labels`` (``;``-separated categories)."""
    coded = code_texts(texts.reset_index(drop=True), codebook or default_codebook())
    truth = labels.reset_index(drop=True).map(split_labels)
    rows = []
    for cat in CATEGORIES:
        pred = coded["categories"].map(lambda cs, c=cat: c in cs)
        gold = truth.map(lambda cs, c=cat: c in cs)
        tp = int((pred & gold).sum())
        fp = int((pred & ~gold).sum())
        fn = int((~pred & gold).sum())
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
    labelled = truth.map(bool)
    coverage = float(coded.loc[labelled, "coded"].mean()) if labelled.any() else 0.0
    supported = per_category[per_category["support"] > 0]
    wrong = coded["categories"].map(set) != truth.map(set)
    errors = pd.DataFrame(
        {
            "text": texts.reset_index(drop=True)[wrong],
            "expected": truth[wrong],
            "coded": coded.loc[wrong, "categories"],
            "evidence": coded.loc[wrong, "evidence"],
        }
    )
    return Evaluation(
        macro_f1=float(supported["f1"].mean()) if len(supported) else 0.0,
        coverage=coverage,
        per_category=per_category,
        errors=errors,
    )


def evaluate_file(path: str | Path, codebook: Codebook | None = None) -> Evaluation:
    """Evaluate on a CSV with ``text`` and ``categories`` columns."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return evaluate_codebook(frame["text"], frame["categories"], codebook)
