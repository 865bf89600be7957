"""The loss-reason codebook: the default loads, and broken codebooks fail with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sales_rca.coding import CATEGORIES, codebook_from_dict, load_codebook, parse_pattern
from sales_rca.coding.codebook import DEFAULT_CODEBOOK_PATH
from sales_rca.errors import CodebookError


def _book(**code):
    base = {"id": "price_high", "category": "price", "patterns": ["price"]}
    base.update(code)
    return {"codes": [base]}


def test_default_codebook_has_30_to_45_codes_over_all_eight_categories():
    book = load_codebook()
    assert 30 <= len(book.codes) <= 45
    assert {c.category for c in book.codes} == set(CATEGORIES)


def test_every_default_code_has_definition_examples_and_control_flag():
    raw = yaml.safe_load(DEFAULT_CODEBOOK_PATH.read_text(encoding="utf-8"))
    for code in raw["codes"]:
        assert code["definition"], code["id"]
        assert code["include"] and code["exclude"], code["id"]
        assert isinstance(code["within_control"], bool), code["id"]
        assert code["label"], code["id"]


def test_unknown_category_is_rejected_with_the_allowed_ids():
    with pytest.raises(
        CodebookError, match=r"category: expected one of buyer, price.*found .pricing."
    ):
        codebook_from_dict(_book(category="pricing"))


def test_duplicate_code_ids_are_rejected():
    data = {"codes": [_book()["codes"][0], _book()["codes"][0]]}
    with pytest.raises(CodebookError, match="codes: expected unique ids, found price_high twice"):
        codebook_from_dict(data)


def test_regex_that_does_not_compile_is_rejected_naming_the_code():
    with pytest.raises(CodebookError, match=r"price_high.*does not compile"):
        codebook_from_dict(_book(patterns=["/pric(e/"]))


def test_pattern_with_punctuation_is_rejected_with_a_hint():
    with pytest.raises(CodebookError, match="is not a word"):
        codebook_from_dict(_book(patterns=["sign-off"]))


def test_gap_must_stand_between_words():
    with pytest.raises(CodebookError, match="gap"):
        parse_pattern("~2 budget")


def test_code_without_patterns_is_rejected():
    with pytest.raises(
        CodebookError, match="patterns: expected a non-empty list, found an empty list"
    ):
        codebook_from_dict(_book(patterns=[]))


def test_missing_codebook_file_names_the_path(tmp_path: Path):
    with pytest.raises(CodebookError, match=r"nope\.yaml: expected a codebook file, found nothing"):
        load_codebook(tmp_path / "nope.yaml")


def test_invalid_yaml_is_a_codebook_error(tmp_path: Path):
    p = tmp_path / "book.yaml"
    p.write_text("codes: [unclosed", encoding="utf-8")
    with pytest.raises(CodebookError, match="expected valid YAML, found a syntax error at line 1"):
        load_codebook(p)


def test_custom_codebook_file_loads(tmp_path: Path):
    p = tmp_path / "book.yaml"
    p.write_text(yaml.safe_dump(_book(patterns=["too expensive", "pric*"])), encoding="utf-8")
    book = load_codebook(p)
    assert book.ids == ["price_high"]
    assert book["price_high"].category == "price"


def test_unknown_code_lookup_names_the_code():
    with pytest.raises(CodebookError, match="Unknown code 'nope'"):
        load_codebook()["nope"]


def test_pattern_to_regex_matches_the_same_phrase():
    import re

    rx = re.compile(parse_pattern("budget ~2 cut|frozen").to_regex())
    assert rx.search("the budget was cut")
    assert rx.search("budget frozen")
    assert not rx.search("budgetary cut")
