"""Every CRM string that reaches a chart is escaped for plotly's label markup: a stage, segment or
owner named with HTML shows as text, never as a link or styled text (issue 12)."""

from __future__ import annotations

import json

import pytest

from sales_rca import charts, demo_path, load_crm, xray

EVIL = '<a href="http://x.test">Lnk</a> <span style="font-size:99px">Big</span><br>'


@pytest.fixture(scope="module")
def evil_xray(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evil")
    stage = "Needs Analysis"
    for name in ("salesforce_opportunities.csv", "salesforce_opportunity_history.csv"):
        text = demo_path(name).read_text(encoding="utf-8")
        assert stage in text
        (folder / name).write_text(text.replace(stage, EVIL.replace('"', "'") + stage))
    crm = load_crm(
        folder / "salesforce_opportunities.csv",
        history=folder / "salesforce_opportunity_history.csv",
    )
    segments = crm.opportunities["segment"].astype(object)
    crm.opportunities["segment"] = segments.where(segments != segments.iloc[0], EVIL)
    return xray(crm)


def figures(x):
    table = x.stage_table
    yield charts.funnel_figure(table)
    yield charts.time_in_stage_figure(table)
    yield charts.survival_figure(x.survival)
    yield charts.path_sankey_figure(x.paths.transitions, x.order.stages)
    slow = x.stalls[x.stalls["status"] == "slow"]
    if not slow.empty:
        yield charts.stall_figure(slow)
    groups = x.drivers.groups
    for attribute in groups["attribute"].unique():
        yield charts.win_rate_figure(groups, attribute, overall=x.win_rate)


def test_no_crm_text_becomes_plotly_markup(evil_xray):
    drawn = 0
    for fig in figures(evil_xray):
        text = json.dumps(fig.to_plotly_json(), default=str)
        assert "<a " not in text and "<span" not in text, text[:300]
        drawn += "&lt;a href" in text or "&lt;span" in text
    assert drawn >= 3  # the payload is there, shown as text
