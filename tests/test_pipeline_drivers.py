"""Drivers a sales-ops statistician would sign: every figure recomputed by hand in the test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_fixtures import make_crm
from scipy import stats

from sales_rca.pipeline import analyse_drivers, xray
from sales_rca.pipeline.drivers import band_labels, group_codes
from sales_rca.pipeline.stats import (
    beta_binomial_prior,
    cramers_v,
    stratified_test,
    unit_level_test,
)


def _closed(rows: dict[str, tuple[int, int]], column: str = "extra_needs_def") -> pd.DataFrame:
    """Closed deals: ``{group: (won, lost)}`` for one attribute."""
    out = []
    for group, (won, lost) in rows.items():
        out += [{column: group, "outcome": "won"}] * won + [
            {column: group, "outcome": "lost"}
        ] * lost
    frame = pd.DataFrame(out)
    frame["opportunity_id"] = [f"D{i}" for i in range(len(frame))]
    return make_crm(frame.to_dict("records")).opportunities


# --- effect size and shrinkage --------------------------------------------------------------


def test_cramers_v_is_bias_corrected_so_noise_with_many_levels_scores_near_zero():
    table = np.array([[30, 10], [10, 30]], float)
    n, chi2 = 80, 80 * (30 * 30 - 10 * 10) ** 2 / 40**4  # 20
    # Bergsma (2013): phi² - (k-1)(r-1)/(n-1), with r and k corrected the same way
    phi2c = chi2 / n - 1 / (n - 1)
    rc = 2 - 1 / (n - 1)  # the corrected number of rows; columns the same in a 2x2
    assert cramers_v(table) == pytest.approx(math.sqrt(phi2c / (rc - 1)))
    assert cramers_v(table, bias_corrected=False) == pytest.approx(0.5)
    rng = np.random.default_rng(3)
    won = rng.binomial(20, 0.5, 30)  # 30 levels of 20 deals, no real difference
    noise = np.column_stack([won, 20 - won]).astype(float)
    assert cramers_v(noise, bias_corrected=False) > 0.1
    assert cramers_v(noise) < 0.05


def test_small_groups_are_shrunk_towards_the_pooled_rate_by_the_fitted_prior():
    won = np.array([1, 40, 60, 50])
    n = np.array([21, 100, 100, 100])
    prior = beta_binomial_prior(won, n)
    # the prior's mean is the pooled rate; its concentration maximises the beta-binomial likelihood
    assert prior.mean == pytest.approx(won.sum() / n.sum())

    def loglik(c: float) -> float:
        m = prior.mean
        return stats.betabinom.logpmf(won, n, m * c, (1 - m) * c).sum()

    c = prior.concentration
    assert loglik(c) >= loglik(c * 1.05) and loglik(c) >= loglik(c / 1.05)
    shrunk = prior.shrink(won, n)
    assert shrunk[0] == pytest.approx((1 + prior.a) / (21 + prior.a + prior.b))
    # the 1-of-21 group moves most, and stays the lowest
    moves = np.abs(shrunk - won / n)
    assert moves.argmax() == 0 and shrunk.argmin() == 0 and shrunk[0] > 1 / 21


def test_groups_that_do_not_differ_all_shrink_to_the_pooled_rate():
    prior = beta_binomial_prior(np.array([50, 51, 49]), np.array([100, 100, 100]))
    assert prior.shrink(np.array([50]), np.array([100]))[0] == pytest.approx(0.5, abs=0.005)


def test_each_group_has_wilson_interval_shrunk_rate_and_its_own_adjusted_test():
    opps = _closed({"Yes": (30, 10), "No": (10, 30), "Unsure": (25, 25)})
    d = analyse_drivers(opps)
    g = d.groups.set_index("group")
    z, n, p = 1.959963984540054, 40, 0.75
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert g.loc["Yes", "ci_low"] == pytest.approx((centre - half) / (1 + z * z / n))
    # "Yes" against the rest: [[30, 10], [35, 55]]; Pearson chi-square without correction
    expected = stats.chi2_contingency([[30, 10], [35, 55]], correction=False)[1]
    assert g.loc["Yes", "p_value"] == pytest.approx(expected)
    # Benjamini-Hochberg over the three group tests, by hand
    raw = g["p_value"].sort_values()
    m = len(raw)
    bh = np.minimum.accumulate((raw * m / np.arange(1, m + 1))[::-1])[::-1]
    for group, value in bh.items():
        assert g.loc[group, "p_adjusted"] == pytest.approx(min(1.0, value))
    top = d.ranking.iloc[0]
    assert (top["best_group"], top["worst_group"]) == ("Yes", "No")


def test_groups_below_the_minimum_keep_a_shrunk_estimate_but_are_not_tested():
    opps = _closed({"Yes": (30, 10), "No": (10, 30), "Poor": (0, 5)})
    d = analyse_drivers(opps, min_group_size=20)
    poor = d.groups.set_index("group").loc["Poor"]
    assert not poor["tested"] and pd.isna(poor["p_adjusted"])
    assert 0 < poor["win_rate_adjusted"] < 0.5  # 0 of 5 is not "never wins"
    assert d.ranking.iloc[0]["groups"] == 2
    entry = d.to_dict()[0]
    small = next(g for g in entry["groups"] if g["group"] == "Poor")
    assert small["flags"] == ["small_sample"] and small["p_adjusted"] is None


def test_a_tiny_file_gives_a_caution_instead_of_drivers():
    opps = _closed({"Yes": (4, 2), "No": (2, 4)})
    d = analyse_drivers(opps, min_group_size=2)
    assert d.ranking.empty
    assert any("too few" in n for n in d.notes)


# --- numbers --------------------------------------------------------------------------------


def test_numbers_are_cut_into_at_most_five_readable_bands():
    opps = _closed({"a": (50, 50)})
    opps["extra_employees"] = np.arange(100, dtype=float) * 20  # 0 .. 1,980
    d = analyse_drivers(opps)
    groups = d.groups[d.groups["attribute"] == "extra_employees"]
    assert list(groups["group"]) == ["0-380", "400-780", "800-1,180", "1,200-1,580", "1,600-1,980"]
    assert (groups["deals"] == 20).all()
    assert d.ranking.set_index("attribute").loc["extra_employees", "kind"] == "numeric"


def test_a_number_with_few_values_keeps_one_group_per_value_in_numeric_order():
    values = pd.Series([2.0, 10.0, 3.0, np.nan, 2.0])
    codes, names = group_codes(values)
    assert names == ["2", "3", "10", "(blank)"]
    assert list(np.asarray(names)[codes]) == ["2", "10", "3", "(blank)", "2"]


def test_band_labels_of_any_deal_follow_the_closed_deals_bands():
    opps = _closed({"a": (50, 50)})
    opps["extra_employees"] = np.arange(100, dtype=float)
    d = analyse_drivers(opps)
    edges = d.bands["extra_employees"]
    later = pd.DataFrame({"extra_employees": [-5.0, 50.0, 500.0]})  # outside: first / last band
    assert list(d.labels(later, "extra_employees")) == ["0-19", "40-59", "80-99"]
    assert list(band_labels(later["extra_employees"], edges)) == ["-5", "50", "500"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 5000), min_size=60, max_size=120))
def test_a_numeric_column_gives_the_same_groups_as_floats_or_integers(values):
    outcome = ["won" if i % 3 else "lost" for i in range(len(values))]
    base = pd.DataFrame(
        {"opportunity_id": [str(i) for i in range(len(values))], "outcome": outcome}
    )
    a = make_crm(
        [{**r, "extra_size": v} for r, v in zip(base.to_dict("records"), values, strict=True)]
    )
    floats = a.opportunities.assign(extra_size=a.opportunities["extra_size"].astype(float))
    ints = a.opportunities.assign(extra_size=a.opportunities["extra_size"].astype("Int64"))
    ga = analyse_drivers(floats).groups
    gb = analyse_drivers(ints).groups
    pd.testing.assert_frame_equal(ga, gb)


# --- outcome leakage ------------------------------------------------------------------------


def _with_cycle(n: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    won = rng.random(n) < 0.4
    cycle = np.where(won, rng.integers(20, 60, n), rng.integers(60, 200, n)).astype(float)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    rows = [
        {
            "opportunity_id": f"D{i}",
            "outcome": "won" if w else "lost",
            "created_date": created[i],
            "close_date": created[i] + pd.Timedelta(days=float(c)),
            "extra_fit_score": c * 3 + rng.normal(0, 5),  # innocuous name, moves with length
            "extra_days_in_stage": c / 2,
            "extra_stage_change_count": rng.integers(1, 9),
            "extra_budget": rng.choice(["Yes", "No"]),
        }
        for i, (w, c) in enumerate(zip(won, cycle, strict=True))
    ]
    return make_crm(rows).opportunities


def test_outcome_derived_attributes_are_never_ranked_and_say_why():
    d = analyse_drivers(_with_cycle())
    excluded = d.excluded.set_index("attribute")
    assert {"extra_days_in_stage", "extra_stage_change_count", "extra_fit_score"} <= set(
        excluded.index
    )
    assert (excluded["flag"] == "outcome_derived").all()
    assert "how long the deal ran" in excluded.loc["extra_fit_score", "reason"]
    assert set(d.ranking["attribute"]).isdisjoint(excluded.index)
    entry = next(e for e in d.to_dict() if e["attribute"] == "extra_days_in_stage")
    assert entry["flags"] == ["outcome_derived"] and entry["rank"] is None


def test_a_field_filled_only_once_deals_close_is_outcome_derived():
    rows = []
    for i in range(120):
        outcome = ["won", "lost", "open"][i % 3]
        rows.append(
            {
                "opportunity_id": f"D{i}",
                "outcome": outcome,
                "extra_feedback": None if outcome == "open" else ["good", "bad"][i % 2],
                "extra_team": ["A", "B"][i % 2],
            }
        )
    d = analyse_drivers(make_crm(rows).opportunities)
    reason = d.excluded.set_index("attribute").loc["extra_feedback", "reason"]
    assert "once a deal has closed" in reason
    assert "extra_team" not in set(d.excluded["attribute"])


def test_values_that_separate_won_from_lost_perfectly_are_outcome_derived():
    opps = _closed({"A": (40, 0), "B": (0, 45)}, column="extra_status_detail")
    assert "extra_status_detail" in set(analyse_drivers(opps).excluded["attribute"])


# --- confounding and clustering -------------------------------------------------------------


def _simpson() -> pd.DataFrame:
    """Source only matters through segment: within each segment, Web and Partner win alike."""
    rows = []
    for segment, source, won, lost in (
        ("SMB", "Web", 60, 40),
        ("SMB", "Partner", 12, 8),
        ("ENT", "Web", 5, 15),
        ("ENT", "Partner", 25, 75),
    ):
        for outcome, k in (("won", won), ("lost", lost)):
            rows += [{"segment": segment, "source": source, "outcome": outcome}] * k
    frame = pd.DataFrame(rows)
    frame["opportunity_id"] = [f"D{i}" for i in range(len(frame))]
    return make_crm(frame.to_dict("records")).opportunities


def test_a_driver_whose_effect_vanishes_within_a_stronger_one_is_marked_explained():
    d = analyse_drivers(_simpson())
    r = d.ranking.set_index("attribute")
    assert r.loc["source", "significant"]  # marginally: Web 54%, Partner 31%
    assert r.loc["source", "explained_by"] == "segment"
    assert "explained" in r.loc["source", "flags"]
    assert r.loc["segment", "explained_by"] is None
    assert d.ranking.iloc[0]["attribute"] == "segment"


def test_cmh_within_strata_is_computed_as_by_hand():
    # two strata of 2x2 tables [[a, b], [c, d]] (rows: group, columns: won / lost)
    tables = [np.array([[60, 40], [12, 8]]), np.array([[5, 15], [25, 75]])]
    num = sum(t[0, 0] - t[0].sum() * t[:, 0].sum() / t.sum() for t in tables)
    var = sum(
        t[0].sum() * t[1].sum() * t[:, 0].sum() * t[:, 1].sum() / (t.sum() ** 2 * (t.sum() - 1))
        for t in tables
    )
    cells = pd.DataFrame(
        [
            {"stratum": h, "group": g, "won": t[i, 0], "lost": t[i, 1]}
            for h, t in enumerate(tables)
            for i, g in enumerate(("Web", "Partner"))
        ]
    )
    test = stratified_test(cells)
    assert test.statistic == pytest.approx(num**2 / var)
    assert test.p_value == pytest.approx(stats.chi2.sf(num**2 / var, 1))


def test_an_attribute_of_four_managers_is_tested_on_four_units_and_flagged():
    rows = []
    rng = np.random.default_rng(5)
    for m, (coaching, rate) in enumerate(
        [("Formal", 0.55), ("Formal", 0.5), ("Informal", 0.42), ("Informal", 0.38)]
    ):
        for i in range(600):
            rows.append(
                {
                    "opportunity_id": f"M{m}-{i}",
                    "manager": f"Manager {m}",
                    "extra_coaching": coaching,
                    "outcome": "won" if rng.random() < rate else "lost",
                }
            )
    d = analyse_drivers(make_crm(rows).opportunities)
    coaching = d.ranking.set_index("attribute").loc["extra_coaching"]
    assert coaching["unit"] == "manager" and coaching["units"] == 4
    assert "few_clusters" in coaching["flags"]
    # at the deal level the same counts look overwhelming; at the unit level they are not
    deal_p = stats.chi2_contingency(
        pd.crosstab(
            pd.Series([r["extra_coaching"] for r in rows]), pd.Series([r["outcome"] for r in rows])
        ),
        correction=False,
    )[1]
    assert deal_p < 1e-6 < coaching["p_value"]


def test_unit_level_test_scales_by_the_units_dispersion():
    won = np.array([55, 50, 42, 38])
    n = np.array([100, 100, 100, 100])
    res = unit_level_test(won, n, np.array(["F", "F", "I", "I"]))
    assert res.units == 4 and res.dispersion >= 1
    assert 0 < res.p_value < 1


# --- the x-ray's JSON -----------------------------------------------------------------------


def test_xray_json_drivers_follow_the_contract():
    crm = make_crm(_simpson().to_dict("records"))
    data = xray(crm).to_dict()
    entry = data["drivers"][0]
    for key in ("attribute", "kind", "groups", "p_adjusted", "effect", "explained_by", "flags"):
        assert key in entry
    g = entry["groups"][0]
    for key in ("group", "deals", "won", "win_rate", "ci", "win_rate_adjusted", "p_adjusted"):
        assert key in g
    assert len(g["ci"]) == 2


def test_a_number_that_grows_with_how_far_lost_deals_got_is_outcome_derived():
    from pipeline_fixtures import N, P, Q

    rng = np.random.default_rng(2)
    rows, events = [], []
    for i in range(120):
        reached = i % 3  # 0: Qualify, 1: Needs Analysis, 2: Proposal
        won = i % 4 == 0
        oid = f"D{i}"
        rows.append(
            {
                "opportunity_id": oid,
                "outcome": "won" if won else "lost",
                "extra_touch_score": reached * 10 + rng.integers(0, 5),
                "extra_team": ["A", "B"][i % 2],
                "created_date": "2025-01-01",
                "close_date": "2025-03-01",
            }
        )
        for k, stage in enumerate([Q, N, P][: reached + 1]):
            events.append((oid, stage, f"2025-01-{k * 5 + 2:02d}"))
        events.append((oid, "Closed Won" if won else "Closed Lost", "2025-03-01"))
    x = xray(make_crm(rows, events, stages=[Q, N, P]))
    reason = x.drivers.excluded.set_index("attribute").loc["extra_touch_score", "reason"]
    assert "how far the deal got" in reason
    assert "extra_team" not in set(x.drivers.excluded["attribute"])
