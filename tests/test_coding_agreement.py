"""Agreement statistics, checked against published worked examples."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sales_rca.coding import agreement, cohen_kappa, krippendorff_alpha
from sales_rca.coding.agreement import rating


def test_krippendorff_alpha_matches_krippendorffs_worked_example_with_missing_values():
    """Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
    Communication, Departmental Papers 43, example C: 4 observers, 12 units, nominal data with
    missing values; alpha = 0.743."""
    n = None
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=0.0005)


def test_krippendorff_alpha_accepts_text_labels():
    assert krippendorff_alpha([["a", "b", "a"], ["a", "b", "a"]]) == 1.0


def test_cohen_kappa_matches_the_textbook_example():
    """Wikipedia, "Cohen's kappa", worked example (50 grant proposals, two readers):
    20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> p_o = 0.7, p_e = 0.5, kappa = 0.4."""
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_thresholds_flag_poor_minimum_and_good():
    assert rating(0.59) == "poor"
    assert rating(0.6) == "minimum"
    assert rating(0.8) == "good"
    assert rating(float("nan")) == "n/a"


def _coding(rows: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    return pd.DataFrame({"opportunity_id": list(rows), "categories": list(rows.values())})


def test_identical_codings_agree_perfectly():
    a = _coding({"1": ("price",), "2": ("buyer", "process"), "3": ()})
    result = agreement(a, a.copy())
    assert result.kappa == 1.0
    assert result.alpha == 1.0
    assert result.percent_agreement == 1.0
    assert result.disagreements.empty


def test_disagreements_are_listed_and_partial_agreement_shows_per_category():
    a = _coding({"1": ("price",), "2": ("buyer", "process"), "3": ("offer",), "4": ("price",)})
    b = _coding({"1": ("price",), "2": ("buyer",), "3": ("offer",), "4": ("competition",)})
    result = agreement(a, b)
    assert result.n == 4
    assert result.percent_agreement == 0.5
    assert set(result.disagreements["opportunity_id"]) == {"2", "4"}
    assert result.per_category.loc["buyer", "kappa"] == 1.0
    assert result.per_category.loc["price", "kappa"] < 1.0
    assert result.per_category.loc["price", "rating"] in {"poor", "minimum"}


def test_units_coded_by_one_coder_only_count_as_missing_for_alpha():
    a = _coding({"1": ("price",), "2": ("buyer",), "3": ("offer",)})
    b = _coding({"1": ("price",), "2": ("buyer",), "9": ("offer",)})
    result = agreement(a, b)
    assert result.n == 2
    assert (result.only_in_a, result.only_in_b) == (1, 1)
    assert result.alpha == 1.0


def test_agreement_to_dict_is_json_ready():
    import json

    a = _coding({"1": ("price",), "2": ("buyer",)})
    data = agreement(a, a).to_dict()
    assert {"n", "kappa", "alpha", "percent_agreement", "per_category"} <= set(data)
    json.dumps(data)
    assert not math.isnan(data["kappa"])
