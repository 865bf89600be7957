"""The portfolio benchmark: anonymised by construction, merged across batches, read in sentences."""

from __future__ import annotations

import json

import pytest
from impact_fixtures import demo_xray

from sales_rca.impact.benchmark import (
    Benchmark,
    BenchmarkError,
    Vocabulary,
    client_entry,
    compare,
    load_benchmark,
    merge,
    write_benchmark,
)

EVIL = "<img src=x onerror=alert(1)>"
NAMES = [
    f"Evil {EVIL} Corp", "Dana Whitfield", "Globex Account", "OPP-000123", "Acme Secret Stage",
    "Key Accounts of Acme", "Rep Ravi Menon",
]  # fmt: skip


def hostile_results(i: int) -> dict:
    """A client's results.json in which every name is hostile or identifying."""
    return {
        "format": "sales-rca-results",
        "client": NAMES[0],
        "deals": {"won": 40 + i, "lost": 60, "open": 10},
        "win_rate": 0.4,
        "cycle_days": 61.5,
        "stages": [
            {"stage": "Needs Analysis", "conversion": 0.70 + i / 100, "lost_here": 30},
            {"stage": NAMES[4], "conversion": 0.9, "lost_here": 2},
            {"stage": f"Proposal {EVIL}", "conversion": 0.8, "lost_here": 5},
        ],
        "top_categories": [{"id": "buyer", "label": NAMES[1]}, {"id": EVIL, "label": EVIL}],
        "root_causes": [NAMES[2]],
        "actions": [{"title": NAMES[3], "owner": NAMES[1]}],
        "metrics": [
            {"key": "median_days:Needs Analysis", "value": 20.0, "title": NAMES[6]},
            {"key": f"median_days:{NAMES[4]}", "value": 3.0},
            {"key": "win_rate:segment=Enterprise", "value": 0.3},
            {"key": f"win_rate:segment={NAMES[5]}", "value": 0.5},
            {"key": f"win_rate:owner={NAMES[6]}", "value": 0.9},
        ],
        "review": [
            {"action": NAMES[3], "play_id": "buying_group_consensus", "metric": "conversion",
             "stage": "Needs Analysis", "change": 0.04 + i / 100, "verdict": "moved beyond noise",
             "status": "done"},
            {"action": NAMES[3], "play_id": EVIL, "metric": "conversion", "stage": "Needs Analysis",
             "change": 0.1, "verdict": "moved beyond noise"},
            {"action": NAMES[3], "play_id": "buying_group_consensus", "metric": "conversion",
             "stage": NAMES[4], "change": 0.1, "verdict": "moved beyond noise"},
        ],
    }  # fmt: skip


def test_no_name_from_a_client_reaches_the_benchmark_file(tmp_path):
    vocabulary = Vocabulary.default({"Discovery": ["Needs Analysis"]})
    path = write_benchmark(
        tmp_path / "benchmark.json", [hostile_results(i) for i in range(3)], vocabulary
    )
    text = path.read_text("utf-8")
    for name in [*NAMES, EVIL, "Proposal", "onerror", "<"]:
        assert name not in text
    doc = json.loads(text)
    (team, *_) = doc["teams"]
    assert team["stages"] == {"Discovery": {"conversion": 0.70, "median_days": 20.0}}
    assert team["segments"] == {"Enterprise": 0.3}
    assert team["cycle_days"] == 61.5
    assert team["categories"] == ["buyer"]
    assert [p["play"] for p in team["plays"]] == ["buying_group_consensus"]
    assert len({t["team"] for t in doc["teams"]}) == 3  # a token each, not a name


def test_merged_files_count_each_team_once_and_read_as_sentences(tmp_path):
    vocabulary = Vocabulary.default({"Discovery": ["Needs Analysis"]})
    a = write_benchmark(tmp_path / "a.json", [hostile_results(i) for i in range(3)], vocabulary)
    b = write_benchmark(tmp_path / "b.json", [hostile_results(i) for i in range(3, 12)], vocabulary)
    merged = merge([a, b, a], tmp_path / "all.json")
    bench = load_benchmark(merged)
    assert len(bench.teams) == 12
    # conversions 70%..81%: 70% is in the bottom quarter, the top quarter from 78.25%
    assert bench.stage_position("Discovery", 0.70) == (
        "in the bottom quarter of 12 teams; the top quarter convert 78% or more"
    )
    assert bench.stage_position("Nowhere", 0.5) == ""
    assert bench.play_record("buying_group_consensus", "conversion") == (
        "worked at 12 of 12 clients that tried it (+4 to +15 points)"
    )
    assert Benchmark().play_record("buying_group_consensus") == ""


def test_a_file_that_is_not_a_benchmark_is_one_clear_error(tmp_path):
    other = tmp_path / "results.json"
    other.write_text(json.dumps({"format": "sales-rca-results"}), "utf-8")
    with pytest.raises(BenchmarkError, match="expected a sales-rca benchmark"):
        load_benchmark(other)
    with pytest.raises(BenchmarkError, match="expected a benchmark file"):
        load_benchmark(tmp_path / "missing.json")


def test_unknown_stage_names_are_left_out_not_copied():
    entry = client_entry(hostile_results(0), Vocabulary.default(), ["buying_group_consensus"])
    # without a vocabulary entry, Needs Analysis is still a Salesforce default stage name
    assert list(entry["stages"]) == ["Needs Analysis"]


def test_benchmark_merge_command(tmp_path, cli):
    vocabulary = Vocabulary.default()
    a = write_benchmark(tmp_path / "a.json", [hostile_results(0)], vocabulary)
    b = write_benchmark(tmp_path / "b.json", [hostile_results(1)], vocabulary)
    r = cli("benchmark", "merge", a, b, "--out", tmp_path / "m.json")
    assert r.returncode == 0 and "Benchmark of 2 teams" in r.stdout


def test_the_summary_says_where_the_team_stands_and_which_plays_worked(tmp_path):
    from sales_rca.pipeline import findings
    from sales_rca.report import Summary

    x = demo_xray()
    path = write_benchmark(
        tmp_path / "b.json", [hostile_results(i + 10) for i in range(8)], Vocabulary.default()
    )
    s = Summary.build(client="T", xray=x, findings=findings(x), top_findings=[], benchmark=path)
    assert s.comparison is not None and s.comparison.teams == 8
    # the demo converts 81% at Needs Analysis; the eight teams 80% to 87%
    (line,) = [t for t in s.comparison.stages if "Needs Analysis" in t]
    assert line.startswith("Conversion at Needs Analysis: 81%, in the bottom quarter of 8 teams")
    assert s.comparison.plays[0].startswith("Build consensus across the buying group")
    assert "worked at 8 of 8 clients that tried it" in s.comparison.plays[0]
    assert "How the team compares (8 teams)" in s.html()


def test_the_workshop_panel_shows_other_teams_when_given_a_benchmark(tmp_path):
    from sales_rca.rootcause import load_playbook
    from sales_rca.ui.context import Settings
    from sales_rca.ui.steps.worth import worth_panel

    x = demo_xray()
    path = write_benchmark(
        tmp_path / "b.json", [hostile_results(i + 10) for i in range(8)], Vocabulary.default()
    )
    settings = Settings.from_env({"SALES_RCA_BENCHMARK": str(path)})
    html = worth_panel(x, [], benchmark=settings.benchmark, playbook=load_playbook())
    assert "Other teams (8)" in html and "bottom quarter of 8 teams" in html
    broken = worth_panel(x, [], benchmark=tmp_path / "none.json")
    assert "expected a benchmark file" in broken


def test_a_real_batch_of_a_hostile_client_writes_a_benchmark_without_its_names(hostile_batch):
    """The batch's own benchmark.json: nothing the client, its reps or its team typed."""
    from batch_fixtures import XSS

    text = (hostile_batch.out / "benchmark.json").read_text("utf-8")
    for name in [*XSS, "Evil", "Corp", "Rep ", "Account ", "Dana Whitfield", "consensus in the"]:
        assert name not in text
    (team,) = json.loads(text)["teams"]
    assert team["stages"] and team["win_rate"] is not None


def test_a_public_stage_name_the_portfolio_maps_is_compared_under_its_shared_name(tmp_path):
    """The clients file maps Needs Analysis (a CRM default) to Discovery: the file carries that
    mapping, so another client's summary compares its Needs Analysis too; a client's own alias
    (Acme Secret Stage) never travels."""
    vocabulary = Vocabulary.default({"Discovery": ["Needs Analysis", NAMES[4]]})
    path = write_benchmark(tmp_path / "b.json", [hostile_results(i) for i in range(4)], vocabulary)
    assert NAMES[4] not in path.read_text("utf-8")
    bench = load_benchmark(path)
    c = compare(bench, [{"stage": "Needs Analysis", "conversion": 0.9}], [])
    assert c.stages == [
        "Conversion at Needs Analysis: 90%, in the top quarter of 4 teams; "
        "the top quarter convert 72% or more."
    ]
