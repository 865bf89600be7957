"""Typo tolerance, the primary category, no pick-list fallback when notes exist, and the model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sales_rca.coding import code_losses, code_texts, evaluate_file
from sales_rca.coding.model import default_model, model_for

HELDOUT = Path(__file__).parent / "data" / "loss_texts_heldout.csv"


def test_typos_of_codebook_words_are_read_as_the_words():
    coded = code_texts(
        ["decision opstponed indefinitely", "no budgte allocated", "secuirty review failed"]
    )
    assert coded["categories"].tolist() == [("buyer",), ("buyer",), ("offer",)]


def test_a_primary_category_is_named_for_every_coded_text():
    coded = code_texts(["Too expensive, and they went with a cheaper competitor", "n/a"])
    assert coded.loc[0, "primary_category"] in coded.loc[0, "categories"]
    assert coded.loc[1, "primary_category"] == "" and not coded.loc[1, "coded"]


def test_german_and_french_notes_are_coded_with_per_language_patterns():
    coded = code_texts(["Kein Budget mehr in diesem Jahr", "Trop cher par rapport au prix"])
    assert coded["primary_category"].tolist() == ["buyer", "price"]


def test_notes_that_match_nothing_go_to_the_review_queue_not_to_the_pick_list():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["a", "b"],
            "outcome": ["lost", "lost"],
            "loss_reason": ["Price", "Price"],
            "loss_detail": ["zzz qqq xxy", ""],
        }
    )
    deals = code_losses(opps, model=None).deals.set_index("opportunity_id")
    assert deals.loc["a", "codes"] == () and deals.loc["a", "basis"] == "none"
    assert deals.loc["a", "picklist_codes"] == ("price_too_high",)
    assert deals.loc["b", "basis"] == "picklist"


def test_model_codes_say_why_and_how_sure():
    model = default_model()
    proba = model.predict_proba(["they hated the clunky screens"])
    assert proba.shape == (1, 8) and ((proba >= 0) & (proba <= 1)).all()
    assert model.to_dict()["on"] is True and model.to_dict()["trained_on"] > 600


def test_the_team_codes_teach_the_model():
    text = "zorblat frimble on the widget"
    before = model_for().predict_proba([text])[0]
    after = model_for([text] * 30, [("coaching",)] * 30).predict_proba([text])[0]
    assert after[6] > before[6]


def test_evaluation_never_trains_the_model_on_the_texts_it_scores():
    from sales_rca.coding.model import _clean, training_set

    ev = evaluate_file(HELDOUT, model=True)
    training = set(_clean(training_set()["text"].tolist()))
    scored = set(_clean(pd.read_csv(HELDOUT, dtype=str, keep_default_na=False)["text"].tolist()))
    assert scored & training  # the packaged texts include this set...
    assert ev.model is not None and ev.model["trained_on"] == len(training - scored)  # ...not here
    assert 0 <= ev.macro_f1 <= 1 and set(ev.confusion.index) == set(ev.per_category.index)


#: Sets never used to tune the codebook's patterns or the thresholds of ``decide`` (they were
#: tuned on loss_texts_labelled.csv and loss_texts_voices_a.csv): each is scored by a model that
#: learnt from the other sets only. Floors guard against regressions; the figures are in README.
REPORT_SETS = [HELDOUT, HELDOUT.parent / "loss_texts_voices_b.csv"]


@pytest.mark.parametrize("path", REPORT_SETS, ids=lambda p: p.stem)
def test_held_out_sets_written_in_other_voices_are_read_well(path):
    ev = evaluate_file(path, model=True)
    assert len(pd.read_csv(path, dtype=str, keep_default_na=False)) >= 300
    assert ev.macro_f1 >= 0.84, ev.per_category
    assert ev.coverage >= 0.90
    assert ev.per_category["precision"].min() >= 0.75, ev.per_category


def _two_codes_book():
    from sales_rca.coding import codebook_from_dict

    return codebook_from_dict(
        {
            "codes": [
                {"id": "poc_failed", "category": "offer", "patterns": ["crashed"], "weak": ["poc"]},
                {"id": "no_decision", "category": "buyer", "patterns": ["killed ~1 it"]},
            ]
        }
    )


def test_a_topic_only_named_is_never_a_second_reason_but_can_be_the_only_one():
    coded = code_texts(
        ["POC went ahead but finance killed it", "the POC", "POC crashed, then finance killed it"],
        _two_codes_book(),
    )
    assert coded["categories"].tolist() == [("buyer",), ("offer",), ("buyer", "offer")]
    assert coded["primary_category"].tolist() == ["buyer", "offer", "offer"]


def test_texts_sharing_sentences_are_coded_as_if_each_was_coded_alone():
    texts = [
        "Too expensive. Went dark after the demo",
        "went dark after the demo",
        "Not about price; went dark after the demo, no budget",
        "too expensive",
    ]
    together = code_texts(texts)
    alone = pd.concat([code_texts([t]) for t in texts], ignore_index=True)
    cols = ["primary_category", "codes", "categories", "evidence"]
    assert together[cols].astype(str).equals(alone[cols].astype(str))


def test_long_numbers_collapse_like_the_regex_they_replace():
    import re

    from sales_rca.coding.autocode import collapse_numbers

    for text in ["opp 48213, 120k", "q3 12 1", "a1234b 99 0001é5678", "", "no digits"]:
        assert collapse_numbers(text) == re.sub(r"[0-9]{3,}", "0", text)


def test_the_model_does_not_code_a_one_word_note_no_rule_knows():
    coded = code_texts(["Other", "lost"], model=default_model())
    assert not coded["coded"].any() and (coded["basis"] == "").all()


def test_another_form_of_a_word_is_not_read_as_a_typo():
    from sales_rca.coding import default_codebook
    from sales_rca.coding.typos import corrections

    found = corrections(["report", "relevant", "secuirty", "budgte"], default_codebook())
    assert found == {"secuirty": "security", "budgte": "budget"}


def test_a_gap_never_steps_over_a_negator():
    """ "was ~1 happy with" negates what follows; "was never happy with" must not."""
    coded = code_texts(
        [
            "was never happy with our pricing",
            "client was really happy with the price, lost to the incumbent",
            "budget never got cut, lost to the incumbent",
        ],
        model=None,
    )
    assert list(coded["categories"]) == [("price",), ("competition",), ("competition",)]


def test_a_spaced_dash_separates_two_statements():
    """ "were already in" (an "after" cue) must not reach back over the dash and negate "late to
    the party"."""
    coded = code_texts(
        ["Late to the party - they were already in final negotiations with two vendors"],
        model=None,
    )
    assert coded["categories"][0] == ("process",)


def test_a_word_the_labelled_notes_use_is_never_read_as_a_typo():
    from sales_rca.coding.typos import known_without, known_words

    assert "context" in known_words()  # "lost all the context" is not "lost all the content"
    assert code_texts(["handover lost all the context"], model=None)["categories"][0] != (
        "enablement",
    )
    assert code_texts(["budgte was slashed"], model=None)["categories"][0] == ("buyer",)
    with known_without(["the context, the context"]):
        assert "context" in known_words()  # other notes still use it
