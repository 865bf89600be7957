"""The default codebook against 325 hand-labelled loss texts (tests/data/loss_texts_labelled.csv).

The texts were written to read like real CRM loss notes (typos, abbreviations, several reasons,
negations, one-word and long notes) and labelled by hand with fishbone categories; a few
non-reasons ("n/a", "Other") carry no label and must stay uncoded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sales_rca.coding import evaluate_file

LABELLED = Path(__file__).parent / "data" / "loss_texts_labelled.csv"


@pytest.fixture(scope="module")
def evaluation():
    return evaluate_file(LABELLED)


def test_labelled_set_has_at_least_300_texts_with_valid_categories():
    from sales_rca.coding import CATEGORIES
    from sales_rca.coding.evaluate import split_labels

    frame = pd.read_csv(LABELLED, dtype=str, keep_default_na=False)
    assert len(frame) >= 300
    assert frame["id"].is_unique
    labels = {c for v in frame["categories"] for c in split_labels(v)}
    assert labels == set(CATEGORIES)


def test_default_codebook_reaches_macro_f1_of_at_least_0_80(evaluation):
    assert evaluation.macro_f1 >= 0.80, evaluation.per_category


def test_default_codebook_codes_at_least_90_percent_of_labelled_texts(evaluation):
    assert evaluation.coverage >= 0.90


def test_every_category_is_found_with_useful_precision_and_recall(evaluation):
    weak = evaluation.per_category[
        (evaluation.per_category["precision"] < 0.6) | (evaluation.per_category["recall"] < 0.6)
    ]
    assert weak.empty, weak


def test_non_reasons_stay_in_the_uncoded_queue():
    from sales_rca.coding import code_texts

    assert not code_texts(["n/a", "Other", ".", "lost"])["coded"].any()
