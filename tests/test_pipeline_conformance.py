"""Process conformance (issue 16): each deal replayed against the official order, the fair
comparison of deviations, the won deals' paths and graph, and the buyer-job view. Every number
in the hand-built histories is worked out by hand in the comments."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pipeline_fixtures import make_crm
from suite_paths import DEMO_DIR

from sales_rca.crm import load_crm
from sales_rca.errors import MappingError
from sales_rca.pipeline import findings, xray
from sales_rca.pipeline.conformance import (
    CHANCE,
    CLEAR,
    NO_JOB,
    TOO_FEW,
    buyer_job_view,
    compare_deviations,
    conformance,
    load_buyer_jobs,
)
from sales_rca.pipeline.stages import build_deals, build_visits
from sales_rca.pipeline.stats import wilson_interval

ABCD = ["A", "B", "C", "D"]


def histories(deals: list[tuple[str, str, list[str]]], *, gap: int = 2) -> object:
    """Deals ``(id, outcome, path)``: a stage every ``gap`` days from 1 Jan 2024, closed ``gap``
    days after the last entry (open deals stay open)."""
    start = pd.Timestamp("2024-01-01")
    opps, events = [], []
    for oid, outcome, path in deals:
        for i, stage in enumerate(path):
            events.append((oid, stage, str(start + pd.Timedelta(days=gap * i))))
        close = start + pd.Timedelta(days=gap * len(path))
        opps.append(
            {
                "opportunity_id": oid,
                "stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome, path[-1]),
                "outcome": outcome,
                "amount": 100.0,
                "created_date": str(start),
                "close_date": str(close) if outcome != "open" else None,
            }
        )
    return make_crm(opps, events, stages=ABCD)


def many(n: int, prefix: str, outcome: str, path: list[str]) -> list[tuple[str, str, list[str]]]:
    return [(f"{prefix}{i}", outcome, path) for i in range(n)]


def visits_of(crm: object) -> pd.DataFrame:
    return build_visits(crm, ABCD, pd.Timestamp("2024-03-01"))[0]


# --- conformance and fitness, by hand ---------------------------------------------------------


@pytest.fixture(scope="module")
def replayed():
    crm = histories(
        [
            ("d1", "won", ["A", "B", "C", "D"]),  # start,A>B,B>C,C>D,won: 5 of 5 allowed
            ("d2", "won", ["A", "B", "D"]),  # B>D skips C: 3 of 4
            ("d3", "lost", ["A", "B", "C", "B"]),  # C>B back: 4 of 5
            ("d4", "won", ["B", "C", "D"]),  # starts past A: 3 of 4
            ("d5", "won", ["A", "B", "C"]),  # won before D: 3 of 4
            ("d6", "lost", ["A", "X", "B"]),  # A>X outside; X>B is A's next: 3 of 4
            ("d7", "open", ["A", "C"]),  # A>C skips B; no close yet: 1 of 2
        ]
    )
    return conformance(visits_of(crm), ABCD)


def test_fitness_is_the_share_of_transitions_the_official_process_allows(replayed):
    deals = replayed.deals.set_index("opportunity_id")
    assert deals["transitions"].to_dict() == {
        "d1": 5,
        "d2": 4,
        "d3": 5,
        "d4": 4,
        "d5": 4,
        "d6": 4,
        "d7": 2,
    }
    assert deals["fitness"].to_dict() == pytest.approx(
        {"d1": 1.0, "d2": 0.75, "d3": 0.8, "d4": 0.75, "d5": 0.75, "d6": 0.75, "d7": 0.5}
    )
    assert deals["conforming"].to_dict() == {f"d{i}": i == 1 for i in range(1, 8)}
    assert deals.loc["d3", "backward"] == 1 and deals.loc["d6", "outside"] == 1
    assert deals.loc["d7", "skips"] == 1


def test_share_conforming_counts_closed_deals_with_history_only(replayed):
    # six closed deals (d7 is open), one of them (d1) conforms
    assert replayed.closed_deals == 6 and replayed.conforming_deals == 1
    assert replayed.share_conforming == pytest.approx(1 / 6)
    low, high = wilson_interval(np.array([1]), np.array([6]))
    assert replayed.share_conforming_ci == pytest.approx((low[0], high[0]))
    assert replayed.mean_fitness == pytest.approx((1 + 0.75 + 0.8 + 0.75 + 0.75 + 0.75) / 6)


def test_each_deviation_is_counted_once_per_deal(replayed):
    d = replayed.deviations
    counts = {(r.kind, r.stage, r.to_stage): r.deals for r in d.itertuples()}
    assert counts == {
        ("skip", "C", None): 1,  # d2 (d7 skips B, not C)
        ("skip", "B", None): 1,  # d7
        ("skip", "A", None): 1,  # d4
        ("skip", "D", None): 1,  # d5, won before the last stage
        ("back", "C", "B"): 1,  # d3
        ("outside", "X", None): 1,  # d6
    }
    back = d[d["kind"] == "back"].iloc[0]
    assert back["label"] == "went back from C to B" and back["lost"] == 1


# --- does following the process pay? ----------------------------------------------------------


@pytest.fixture(scope="module")
def skipping_crm():
    """Raw counts say skipping C wins; compared fairly, it loses.

    | deals | path        | outcome          |
    |------:|-------------|------------------|
    |   200 | A           | lost at A        |
    |   100 | A, B        | lost at B        |
    |   120 | A, B, C, D  | won              |
    |    30 | A, B, C     | lost at C        |
    |    36 | A, B, D     | won (skipped C)  |
    |    24 | A, B, D     | lost (skipped C) |

    Skippers win 36 / 60 = 60%. All other closed deals: 120 / 450 = 27% (raw: "skipping wins").
    Deals that reached C: 120 / 150 = 80% (fair: skipping C goes with losing).
    """
    return histories(
        many(200, "a", "lost", ["A"])
        + many(100, "b", "lost", ["A", "B"])
        + many(120, "w", "won", ["A", "B", "C", "D"])
        + many(30, "c", "lost", ["A", "B", "C"])
        + many(36, "sw", "won", ["A", "B", "D"])
        + many(24, "sl", "lost", ["A", "B", "D"])
    )


def test_raw_counts_say_skipping_wins_but_the_fair_comparison_says_otherwise(skipping_crm):
    table = compare_deviations(visits_of(skipping_crm), ABCD)
    assert len(table) == 1
    r = table.iloc[0]
    assert r["label"] == "skipped C" and r["reference"] == "went through C"
    assert (r["deals"], r["won"]) == (60, 36) and r["win_rate"] == pytest.approx(0.6)
    assert r["raw_other_deals"] == 450 and r["raw_other_win_rate"] == pytest.approx(120 / 450)
    assert r["win_rate"] > r["raw_other_win_rate"]  # what a raw count would report
    assert (r["reference_deals"], r["reference_won"]) == (150, 120)
    assert r["reference_win_rate"] == pytest.approx(0.8)
    assert r["difference"] == pytest.approx(-0.2)
    assert r["difference_ci_low"] < -0.2 < r["difference_ci_high"] < 0
    assert r["ci_low"] < 0.6 < r["ci_high"] and r["reference_ci_low"] < 0.8 < r["reference_ci_high"]
    assert r["verdict"] == CLEAR
    assert r["sentence"] == (
        "Deals that skipped C won 60% vs 80% of deals that went through C (clear difference)"
    )


def test_the_clearest_deviation_becomes_one_process_finding(skipping_crm):
    x = xray(skipping_crm, stages=ABCD)
    process = [f for f in findings(x) if f.kind == "process"]
    assert len(process) == 1
    f = process[0]
    assert f.title.startswith("Deals that skipped C won 60% vs 80%")
    assert f.strength == "strong" and f.stage == "C" and f.deals == 60
    # 20 points fewer wins on 60 deals: 12 wins; the average won deal is worth 100
    assert f.details["deals_at_stake"] == pytest.approx(12)
    assert f.value_at_stake == pytest.approx(1200)
    assert "p_value" not in f.title and "p =" not in f.title


def test_going_back_is_compared_with_deals_that_reached_the_stage_and_went_on():
    """Official A, B, C.

    12 deals go A, B, A, B, C: 3 won, 9 lost at C (25%). 30 deals go A, B, C: 24 won, 6 lost
    (80%). 10 deals die at B: they reached B but did not go on, so they are in neither group.
    """
    crm = histories(
        many(3, "bw", "won", ["A", "B", "A", "B", "C"])
        + many(9, "bl", "lost", ["A", "B", "A", "B", "C"])
        + many(24, "w", "won", ["A", "B", "C"])
        + many(6, "l", "lost", ["A", "B", "C"])
        + many(10, "x", "lost", ["A", "B"])
    )
    visits = build_visits(crm, ["A", "B", "C"], pd.Timestamp("2024-03-01"))[0]
    table = compare_deviations(visits, ["A", "B", "C"])
    r = table.set_index("label").loc["went back from B to A"]
    assert (r["deals"], r["won"]) == (12, 3)
    assert (r["reference_deals"], r["reference_won"]) == (30, 24)
    assert r["reference"] == "reached B and went on"
    assert r["sentence"].startswith(
        "Deals that went back from B to A won 25% vs 80% of deals that reached B and went on"
    )


def test_going_back_from_the_last_stage_is_compared_with_every_deal_that_reached_it():
    # from the last stage going on means being won: the reference keeps its losses too
    crm = histories(
        many(10, "bw", "won", ["A", "B", "C", "B", "C"])
        + many(20, "w", "won", ["A", "B", "C"])
        + many(20, "l", "lost", ["A", "B", "C"])
    )
    visits = build_visits(crm, ["A", "B", "C"], pd.Timestamp("2024-03-01"))[0]
    r = compare_deviations(visits, ["A", "B", "C"]).set_index("label").loc["went back from C to B"]
    assert (r["reference_deals"], r["reference_won"]) == (40, 20)
    assert r["reference"] == "reached C and did not go back"


def test_small_deviations_are_too_few_to_tell_and_many_tests_are_adjusted(skipping_crm):
    crm = histories(
        many(5, "s", "won", ["A", "C", "D"])
        + many(40, "w", "won", ["A", "B", "C", "D"])
        + many(40, "l", "lost", ["A", "B", "C", "D"])
    )
    table = compare_deviations(visits_of(crm), ABCD)
    assert table.set_index("label").loc["skipped B", "verdict"] == TOO_FEW
    # adjusted p-values are never below the raw ones
    both = compare_deviations(visits_of(skipping_crm), ABCD, adjust="bonferroni")
    ok = both["p_value"].notna()
    assert (both.loc[ok, "p_adjusted"] >= both.loc[ok, "p_value"] - 1e-12).all()
    assert set(both["verdict"]) <= {CLEAR, CHANCE, TOO_FEW}


# --- the won deals' paths and graph ------------------------------------------------------------


def test_the_won_deals_graph_counts_moves_and_median_days(replayed):
    crm = histories(
        [
            ("w1", "won", ["A", "B", "C", "D"]),
            ("w2", "won", ["A", "B", "D"]),
            ("l1", "lost", ["A", "B"]),
        ],
        gap=3,
    )
    x = xray(crm, stages=ABCD)
    g = x.process.won_graph.set_index(["source", "target"])
    assert g.loc[("Start", "A"), "deals"] == 2 and g.loc[("Start", "A"), "official"]
    assert g.loc[("A", "B"), "deals"] == 2 and g.loc[("A", "B"), "median_days"] == 3
    assert g.loc[("B", "D"), "kind"] == "skip" and not g.loc[("B", "D"), "official"]
    assert g.loc[("D", "Won"), "share_of_won"] == 1.0
    # lost deals are not in the won deals' graph: A > B is walked by two won deals
    assert g["deals"].max() == 2
    paths = x.process.won_paths
    assert list(paths["won"]) == [1, 1] and paths["official"].sum() == 1


# --- buyer jobs ---------------------------------------------------------------------------------


JOBS = {
    "A": {
        "job": "problem identification",
        "exit_criterion": "Problem agreed",
        "verified_by": "buyer",
    },
    "B": {
        "job": "problem identification",
        "exit_criterion": "Budget named",
        "verified_by": "buyer",
    },
    "C": {"job": "supplier selection", "exit_criterion": "Demo given", "verified_by": "seller"},
}


def test_losses_and_time_by_buyer_job_with_flags():
    """w1: A 1, B 3, C 6, D 8, won 10 -> problem identification 5 days, supplier selection 2.
    l1: A 1, B 2, lost 4 at B -> 3 days. l2: A 1, B 5, C 6, lost 9 at C -> 5 and 3 days.
    o1: in A since 1 Jan, as of 10 Jan: still running at 9 days.
    Problem identification: events 3, 5, 5 and one still running at 9 -> median 5 days."""
    day = "2024-01-{:02d}".format
    crm = make_crm(
        [
            {"opportunity_id": "w1", "stage": "Closed Won", "outcome": "won", "amount": 10, "created_date": day(1), "close_date": day(10)},
            {"opportunity_id": "l1", "stage": "Closed Lost", "outcome": "lost", "amount": 20, "created_date": day(1), "close_date": day(4)},
            {"opportunity_id": "l2", "stage": "Closed Lost", "outcome": "lost", "amount": 30, "created_date": day(1), "close_date": day(9)},
            {"opportunity_id": "o1", "stage": "A", "outcome": "open", "amount": 40, "created_date": day(1), "close_date": None},
        ],
        [
            ("w1", "A", day(1)), ("w1", "B", day(3)), ("w1", "C", day(6)), ("w1", "D", day(8)),
            ("l1", "A", day(1)), ("l1", "B", day(2)),
            ("l2", "A", day(1)), ("l2", "B", day(5)), ("l2", "C", day(6)),
            ("o1", "A", day(1)),
        ],
        stages=ABCD,
    )  # fmt: skip
    as_of = pd.Timestamp(day(10))
    visits, _ = build_visits(crm, ABCD, as_of)
    deals = build_deals(crm, visits, as_of)
    deals["amount"] = crm.opportunities["amount"].to_numpy()
    view = buyer_job_view(JOBS, ABCD, visits, deals, as_of)
    assert view.unmapped == ["D"] and view.unverifiable == ["C", "D"]
    jobs = view.jobs.set_index("job")
    assert list(jobs.index) == ["problem identification", "supplier selection", NO_JOB]
    assert jobs.loc["problem identification", "stages"] == ["A", "B"]
    assert jobs["entered"].to_dict() == {
        "problem identification": 4,
        "supplier selection": 2,
        NO_JOB: 1,
    }
    assert jobs["lost"].to_dict() == {
        "problem identification": 1,
        "supplier selection": 1,
        NO_JOB: 0,
    }
    assert jobs.loc["problem identification", "lost_share"] == 0.5
    assert jobs.loc["problem identification", "loss_rate"] == 0.25
    assert jobs.loc["supplier selection", "value_lost"] == 30
    assert jobs.loc["problem identification", "median_days"] == pytest.approx(5)
    assert jobs.loc["supplier selection", "median_days"] == pytest.approx(2)


def test_a_buyer_job_mapping_in_the_mapping_file_reaches_the_xray():
    jobs = {"Needs Analysis": JOBS["A"], "Nonexistent Stage": JOBS["B"]}
    crm = load_crm(
        DEMO_DIR / "salesforce_opportunities.csv",
        history=DEMO_DIR / "salesforce_opportunity_history.csv",
        mapping={"buyer_jobs": jobs},
    )
    assert set(crm.buyer_jobs) == set(jobs)
    x = xray(crm)
    view = x.process.buyer_jobs
    assert view is not None and view.source == "mapping"
    assert "Needs Analysis" not in view.unmapped and "Prospecting" in view.unmapped
    assert any("Nonexistent Stage" in n for n in x.notes)


def test_an_exit_criterion_without_who_verifies_it_is_one_clear_error():
    with pytest.raises(MappingError, match="verified_by: buyer or seller"):
        load_buyer_jobs({"A": {"job": "validation", "exit_criterion": "Signed"}})
    with pytest.raises(MappingError, match=r"buyer_jobs\.A"):
        load_buyer_jobs({"A": {"jobb": "validation"}})


# --- on the demo --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    crm = load_crm(
        DEMO_DIR / "salesforce_opportunities.csv",
        history=DEMO_DIR / "salesforce_opportunity_history.csv",
    )
    return xray(crm, buyer_jobs=load_buyer_jobs())


def test_demo_share_conforming_agrees_with_the_path_variants(demo):
    # a conforming closed deal is lost along a prefix of the official path, or won on all of it
    official = demo.paths.official_path.split(" → ")
    conforming = 0
    for r in demo.paths.variants.itertuples():
        path = r.path.split(" → ")
        if path == official[: len(path)]:
            conforming += r.lost + (r.won if path == official else 0)
    c = demo.process.conformance
    assert c.conforming_deals == conforming
    assert c.closed_deals == demo.won + demo.lost
    assert c.share_conforming_ci[0] < c.share_conforming < c.share_conforming_ci[1]


def test_demo_won_deals_most_often_take_the_official_path(demo):
    won = demo.process.won_paths
    assert won.iloc[0]["path"] == demo.paths.official_path and won.iloc[0]["official"]
    assert won["won"].is_monotonic_decreasing and won["won"].sum() == demo.won
    assert won.iloc[0]["share_of_won"] == pytest.approx(demo.paths.won_on_official_path)


def test_demo_buyer_job_view_with_the_shipped_example(demo):
    view = demo.process.buyer_jobs
    assert list(view.stages["stage"]) == demo.stages  # every default stage is in the example
    assert not view.notes
    assert view.unmapped == ["Perception Analysis"]
    assert "Value Proposition" in view.unverifiable and "Needs Analysis" not in view.unverifiable
    jobs = view.jobs.set_index("job")
    lost_known = demo.deals.loc[demo.deals["outcome"] == "lost", "loss_stage"].isin(demo.stages)
    assert jobs["lost"].sum() == lost_known.sum()
    assert jobs.loc["requirements building", "stages"] == ["Needs Analysis"]
    assert jobs["median_days"].notna().all()


def test_demo_json_has_conformance_and_won_paths(demo):
    data = json.loads(json.dumps(demo.to_dict()))
    conf = data["paths"]["conformance"]
    assert conf["share_conforming"] == pytest.approx(demo.process.conformance.share_conforming)
    assert len(conf["share_conforming_ci"]) == 2
    assert {"kind", "stage", "to_stage", "deals"} <= set(conf["deviations"][0])
    assert data["paths"]["won_paths"][0]["path"] == demo.paths.official_path
    assert data["paths"]["buyer_jobs"]["stages_without_buyer_job"] == ["Perception Analysis"]


def test_demo_skipping_prospecting_is_explained_by_the_deal_type(demo):
    # deals created past prospecting are mostly renewals, which win anyway
    r = demo.process.conformance.comparisons.set_index("label").loc["skipped Prospecting"]
    assert r["verdict"] == "explained by deal type"


# --- the figure, the summary section and the app's tab ----------------------------------------


EVIL = '<a href="http://x.test">Lnk</a><br>'


def test_the_won_process_figure_escapes_stage_names_and_reads_on_a_projector():
    from sales_rca.charts import won_process_figure

    order = ["A", EVIL, "C"]
    crm = histories(many(5, "w", "won", order) + many(2, "s", "won", ["A", "C"]))
    crm.stages = order
    x = xray(crm, stages=order)
    fig = won_process_figure(x.process.won_graph, x.stages)
    text = json.dumps(fig.to_plotly_json(), default=str)
    assert "<a " not in text and "&lt;a href" in text
    sizes = [t.textfont.size for t in fig.data if t.mode and "text" in t.mode]
    sizes += [a.font.size for a in fig.layout.annotations]
    assert sizes and min(sizes) >= 18
    # the skip A > C is drawn, labelled with its share of won deals (2 of 7)
    assert any(t.text and "29%" in " ".join(map(str, t.text)) for t in fig.data)


def test_the_summary_section_speaks_plain_words(demo):
    from sales_rca import report

    html = report.process_section(demo).html
    assert "How customers buy vs how we sell" in html
    assert "explained by deal type" in html and "clear difference" in html
    assert "p_adjusted" not in html and "p =" not in html and "verdict" not in html
    assert "Perception Analysis" in html  # flagged: no buyer job
    assert len(report.process_figures(demo)) == 1


def test_the_summary_section_without_history_says_what_it_needs():
    from sales_rca import report

    crm = histories(many(3, "w", "won", ["A", "B"]))
    crm.stage_events = crm.stage_events.iloc[0:0]
    html = report.process_section(xray(crm, stages=ABCD)).html
    assert "needs the stage history" in html


def test_the_xray_step_gets_one_how_customers_buy_tab(demo):
    pytest.importorskip("ipywidgets")
    from sales_rca.ui.steps.process_view import TAB_TITLE, process_page

    page = process_page(demo)
    assert page is not None and page[0] == TAB_TITLE
