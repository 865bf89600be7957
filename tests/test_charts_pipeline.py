"""The x-ray figures: themed, labelled with the numbers a team reads off a projector."""

from __future__ import annotations

import pytest
from pipeline_fixtures import N, P, Q, story_crm

from sales_rca.charts import (
    funnel_figure,
    path_sankey_figure,
    stall_figure,
    survival_figure,
    time_in_stage_figure,
    trend_figure,
    win_rate_figure,
)
from sales_rca.charts.theme import COLORS
from sales_rca.pipeline import analyse_drivers, xray
from sales_rca.pipeline.trend import trend

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def story():
    return xray(story_crm())


def test_funnel_shows_entered_with_conversion_and_lost_here_with_value_beside_it(story):
    fig = funnel_figure(story.stage_table)
    entered, lost = fig.data
    assert list(entered.y) == story.stages and list(entered.x) == [8, 6, 3, 2]
    assert entered.text[1] == "6  ·  60% convert"
    assert list(lost.x) == [1, 2, 0, 0] and lost.text[1] == "2  ·  370"
    assert lost.marker.color == COLORS["lost"]
    assert fig.layout.title.text == "Where deals go and where they die"


def test_funnel_without_history_shows_open_deals(story):
    table = story.stage_table.copy()
    table["entered"] = None
    table["conversion"] = float("nan")
    fig = funnel_figure(table)
    assert list(fig.data[0].x) == [1, 1, 1, 0]
    assert fig.layout.annotations[0].text == "Open now"


def test_time_in_stage_boxes_use_the_stage_quantiles(story):
    box = time_in_stage_figure(story.stage_table).data[0]
    assert list(box.median) == [1.0, 9.0, 3.0, 10.0]  # Kaplan-Meier: open visits still running
    assert list(box.q1) == [1.0, 6.0, 2.0, 10.0]


def test_time_in_stage_stops_at_the_last_known_quantile_and_says_the_rest_is_not_known(story):
    """Too many deals still in Needs Analysis (p90) and Proposal (p75, p90) to know those."""
    fig = time_in_stage_figure(story.stage_table)
    box = fig.data[0]
    assert list(box.q3) == [4.0, 10.0, 3.0, 10.0]  # Proposal's p75 is unknown: its median
    assert list(box.upperfence) == [4.0, 10.0, 3.0, 10.0]
    assert all(v == v for v in box.upperfence)  # no NaN reaches plotly
    (unknown,) = [t for t in fig.data if t.name == "not known yet"]
    assert list(unknown.x) == [N, P] and unknown.marker.symbol == "triangle-up-open"
    assert list(unknown.text) == ["not known yet"] * 2
    assert list(unknown.customdata) == ["9 in 10", "3 in 4, 9 in 10"]


def test_survival_draws_one_curve_and_one_band_per_stage(story):
    fig = survival_figure(story.survival)
    curves = [t for t in fig.data if t.mode == "lines"]
    assert [c.name for c in curves] == story.stages
    assert curves[0].y[0] == pytest.approx(7 / 8)


def test_sankey_colours_won_and_lost_flows_and_ends_in_won_and_lost(story):
    fig = path_sankey_figure(story.paths.transitions, story.stages)
    sankey = fig.data[0]
    labels = list(sankey.node.label)
    assert labels == [*story.stages, "Won", "Lost"]
    links = list(zip(sankey.link.source, sankey.link.target, sankey.link.value, strict=True))
    assert (labels.index(N), labels.index("Lost"), 2) in links
    assert len(links) == len(story.paths.transitions.query("outcome != 'open'"))


def test_win_rate_figure_shows_intervals_and_the_overall_line():
    from pipeline_fixtures import make_crm

    rows = (
        [("Yes", "won")] * 30
        + [("Yes", "lost")] * 10
        + [("No", "won")] * 10
        + [("No", "lost")] * 30
    )
    opps = make_crm(
        [
            {"opportunity_id": str(i), "outcome": o, "extra_needs_def": g}
            for i, (g, o) in enumerate(rows)
        ]
    ).opportunities
    d = analyse_drivers(opps)
    fig = win_rate_figure(d.groups, "extra_needs_def", overall=d.overall_win_rate)
    point = fig.data[0]
    assert list(point.y) == ["No (40 deals)", "Yes (40 deals)"] and list(point.text) == [
        "25%",
        "75%",
    ]
    assert point.error_x.array[1] > 0
    assert fig.layout.title.text == "Win rate by needs def"
    assert fig.layout.shapes[0].x0 == 0.5
    shrunk = fig.data[1]  # the estimate allowing for group size, pulled towards the average
    assert shrunk.marker.symbol == "diamond-open"
    assert 0.25 < shrunk.x[0] < 0.5 < shrunk.x[1] < 0.75


def band_groups():
    """Buying group size in bands: win rate falls as the group grows (not monotone in rate)."""
    from pipeline_fixtures import make_crm

    rows = []
    for size, won, lost in ((2, 30, 10), (5, 18, 22), (9, 8, 32), (14, 12, 28), (20, 20, 20)):
        rows += [(size, "won")] * won + [(size, "lost")] * lost
    opps = make_crm(
        [
            {"opportunity_id": str(i), "outcome": o, "extra_buying_group_size": float(n)}
            for i, (n, o) in enumerate(rows)
        ]
    ).opportunities
    return analyse_drivers(opps)


def test_win_rate_figure_keeps_numeric_bands_in_ascending_order():
    d = band_groups()
    groups = d.groups[d.groups["attribute"] == "extra_buying_group_size"]
    fig = win_rate_figure(groups, "extra_buying_group_size", kind="numeric")
    labels = [y.split(" (")[0] for y in fig.data[0].y]
    assert labels == list(groups["group"])  # the table's order, not sorted by win rate
    assert fig.layout.yaxis.autorange == "reversed"  # smallest band on top
    assert fig.layout.title.text == "Win rate by buying group size"
    by_rate = win_rate_figure(groups, "extra_buying_group_size")  # text attributes: by rate
    assert list(by_rate.data[0].x) == sorted(groups["win_rate"])


def test_stall_figure_shows_slow_deals_only_longest_first_with_their_threshold():
    x = xray(story_crm(), stall_min_won=1)  # one won deal per stage sets a threshold here
    assert set(x.stalls["status"]) == {"slow", "dead"}
    fig = stall_figure(x.stalls)
    bars, marks = fig.data
    # a deal by its account (the fixture has no opportunity names), never by its CRM id;
    # O1 at Proposal is dead: hygiene, not at risk
    assert list(bars.y) == [f"Acct O2 · {N}"]
    assert list(marks.x) == [10.0]
    assert bars.text[0] == "20 d · 500"
    assert "Slow deals" in fig.layout.title.text
    assert "dead deals not shown" in fig.layout.xaxis.title.text


def test_trend_figure_marks_quarters_too_early_to_read():
    from pipeline_fixtures import make_crm

    rows = []
    for quarter, won, lost, open_ in (("01", 6, 4, 0), ("04", 5, 5, 1), ("07", 3, 2, 6)):
        rows += [(quarter, "won")] * won + [(quarter, "lost")] * lost + [(quarter, "open")] * open_
    crm = make_crm(
        [
            {
                "opportunity_id": str(i),
                "outcome": o,
                "created_date": f"2025-{m}-15",
                "close_date": None if o == "open" else "2025-09-20",
            }
            for i, (m, o) in enumerate(rows)
        ]
    )
    quarters = trend(crm.opportunities, as_of="2025-09-30").by_created_quarter
    assert list(quarters["mature"]) == [True, True, False]
    fig = trend_figure(quarters)
    ripe, young = fig.data
    assert list(ripe.x) == ["2025Q1", "2025Q2"] and ripe.marker.symbol == "circle"
    assert list(young.x) == ["2025Q3"] and young.marker.symbol == "circle-open"
    assert young.opacity < 1 and "too early to read" in young.name
    assert young.text[0] == "60%<br>too early to read"
    assert young.error_y.array[0] > 0  # the 95% range is drawn for every quarter
    assert list(fig.layout.xaxis.categoryarray) == ["2025Q1", "2025Q2", "2025Q3"]


def test_crm_labels_are_escaped_for_plotly_markup():
    from pipeline_fixtures import make_crm

    stage = f"Demo {XSS}"
    crm = make_crm(
        [
            {
                "opportunity_id": str(i),
                "outcome": "won" if i % 2 else "lost",
                "competitor": XSS if i % 3 else "Acme",
                "stage": stage,
            }
            for i in range(60)
        ],
        stages=[stage],
    )
    x = xray(crm, stages=[stage])
    funnel = funnel_figure(x.stage_table)
    assert list(funnel.data[0].y) == ["Demo &lt;img src=x onerror=alert(1)&gt;"]
    fig = win_rate_figure(x.drivers.groups, "competitor")
    assert all("<img" not in y for y in fig.data[0].y)
    assert any("&lt;img" in y for y in fig.data[0].y)


def test_every_figure_uses_the_project_theme(story):
    figures = [
        funnel_figure(story.stage_table),
        time_in_stage_figure(story.stage_table),
        survival_figure(story.survival),
        path_sankey_figure(story.paths.transitions, [Q, N, P]),
        stall_figure(story.stalls),
        trend_figure(story.trend.by_created_quarter),
    ]
    assert all(f.layout.template.layout.font.size == 16 for f in figures)
