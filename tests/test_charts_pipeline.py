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
    win_rate_figure,
)
from sales_rca.charts.theme import COLORS
from sales_rca.pipeline import analyse_drivers, xray


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
    assert list(box.median) == [1.0, 9.0, 2.5, 10.0]
    assert list(box.q3) == [3.0, 10.0, 2.75, 10.0]


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
    assert list(point.y) == ["No (n=40)", "Yes (n=40)"] and list(point.text) == ["25%", "75%"]
    assert point.error_x.array[1] > 0
    assert fig.layout.title.text == "Win rate by needs def"
    assert fig.layout.shapes[0].x0 == 0.5


def test_stall_figure_lists_the_longest_stalled_deals_with_their_threshold(story):
    fig = stall_figure(story.stalls)
    bars, marks = fig.data
    assert list(bars.y) == [f"O2 · {N}", f"O1 · {P}"]  # longest over threshold at the top
    assert list(marks.x) == [8.75, 2.0]
    assert bars.text[1] == "15 d · 400"


def test_every_figure_uses_the_project_theme(story):
    figures = [
        funnel_figure(story.stage_table),
        time_in_stage_figure(story.stage_table),
        survival_figure(story.survival),
        path_sankey_figure(story.paths.transitions, [Q, N, P]),
        stall_figure(story.stalls),
    ]
    assert all(f.layout.template.layout.font.size == 16 for f in figures)
