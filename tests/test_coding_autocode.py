"""Auto-coding: negation, multi-label, evidence, and the vectorised engine's invariants."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_rca.coding import code_texts, codebook_from_dict, lint_codebook, match_texts


def cats(text: str) -> tuple[str, ...]:
    return code_texts([text])["categories"].iloc[0]


def codes(text: str) -> tuple[str, ...]:
    return code_texts([text])["codes"].iloc[0]


def test_plain_price_complaint_is_coded_as_price():
    assert cats("Too expensive") == ("price",)


def test_negated_price_is_not_coded_as_price():
    assert "price" not in cats("Price was not the issue, they went with the incumbent")
    assert "price" not in cats("it wasn't about price")
    assert "price" not in cats("pricing wasnt a concern")
    assert "price" not in cats("Not about price at all, the product lacked workflow automation")


def test_negation_stops_at_the_clause_boundary():
    result = cats("Price was not the issue, they had no budget")
    assert result == ("buyer",)
    assert "price" in cats("not about the product, but price was too high")


def test_did_not_lose_to_competitor_is_not_competition():
    assert "competition" not in cats("Didn't lose to a competitor, the project was cancelled")
    assert "competition" not in cats("We did not lose on competition; budget was cut")


def test_several_reasons_in_one_text_are_all_coded():
    found = cats("Lost to Gong on price, EB never engaged and our champion left")
    assert {"competition", "price", "process", "buyer"} <= set(found)


def test_evidence_keeps_the_matched_words_per_code():
    row = code_texts(["Went dark after the demo, too expensive anyway"]).iloc[0]
    assert row["evidence"]["price_too_high"] == "expensive"
    assert "dark" in row["evidence"]["went_dark"]


def test_spelled_out_and_contracted_negations_code_alike():
    assert codes("they did not see the value") == codes("they didnt see the value")
    assert "roi_not_proven" in codes("they did not see the value")


def test_abbreviations_are_understood():
    assert "process" in cats("no EB access")
    assert "offer" in cats("POC failed")
    assert "price" in cats("ROI not proven")
    assert "process" in cats("blind RFP")


def test_empty_and_missing_texts_are_uncoded_and_keep_their_index():
    s = pd.Series(["", None, float("nan"), "went dark"], index=["a", "b", "c", "d"])
    out = code_texts(s)
    assert list(out.index) == ["a", "b", "c", "d"]
    assert out["coded"].tolist() == [False, False, False, True]
    assert out.loc["a", "codes"] == ()


def test_duplicate_texts_get_identical_codes():
    out = code_texts(["Too expensive", "too  EXPENSIVE", "Too expensive"])
    assert out["codes"].nunique() == 1


def test_match_texts_returns_one_row_per_code_and_text():
    long = match_texts(pd.Series(["too expensive, went dark", "n/a"], index=[10, 11]))
    assert set(long["row"]) == {10}
    assert set(long["code"]) == {"price_too_high", "went_dark"}


def test_unless_pattern_suppresses_an_overlapping_match():
    book = codebook_from_dict(
        {
            "codes": [
                {
                    "id": "cost",
                    "category": "price",
                    "patterns": ["cost"],
                    "unless": ["cost ~1 cutting"],
                }
            ]
        }
    )
    out = code_texts(["cost too high", "cost cutting programme"], book)
    assert out["coded"].tolist() == [True, False]


def test_gap_allows_words_in_between_but_not_across_texts():
    book = codebook_from_dict(
        {"codes": [{"id": "cut", "category": "buyer", "patterns": ["budget ~2 cut"]}]}
    )
    out = code_texts(["budget was cut", "budget", "cut", "budget was really badly cut"], book)
    assert out["coded"].tolist() == [True, False, False, False]


def test_lint_flags_codes_without_hits_and_overlapping_codes():
    book = codebook_from_dict(
        {
            "codes": [
                {"id": "a", "category": "price", "patterns": ["price"]},
                {"id": "b", "category": "price", "patterns": ["price|pricing"]},
                {"id": "never", "category": "buyer", "patterns": ["zebra"]},
            ]
        }
    )
    warnings = lint_codebook(["price"] * 6 + ["pricing"], book, min_hits=5)
    kinds = {(w.kind, w.codes) for w in warnings}
    assert ("no_hits", ("never",)) in kinds
    assert ("overlap", ("a", "b")) in kinds


FRAGMENTS = [
    "too expensive",
    "went dark",
    "price was not the issue",
    "no budget",
    "EB never engaged",
    "lost to competitor",
    "",
    "see notes",
    "champion left",
    "not about price, it was timing",
]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=5), st.integers(0, 3))
def test_coding_a_text_does_not_depend_on_the_other_texts_in_the_batch(parts, k):
    text = ", ".join(parts)
    others = [*FRAGMENTS[k:], text + " " + str(k)]
    alone = code_texts([text]).iloc[0]
    batch = code_texts([*others, text]).iloc[-1]
    assert alone["codes"] == batch["codes"]
    assert alone["evidence"] == batch["evidence"]
