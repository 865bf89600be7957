"""The sales fishbone, the playbook of proven plays, recommendations and actions."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest
import yaml

from sales_rca.errors import ModelError
from sales_rca.findings import Finding
from sales_rca.rootcause import (
    CATEGORY_IDS,
    Cause,
    Priority,
    TargetMetric,
    Workshop,
    load_categories,
    load_playbook,
    priorities,
    recommend,
)
from sales_rca.rootcause.actions import matching_finding
from sales_rca.rootcause.plays import INDICATOR_METRICS

PLAYBOOK = load_playbook()


def test_default_fishbone_has_the_eight_stable_categories_with_control_flags():
    cats = load_categories()
    assert tuple(c.id for c in cats) == CATEGORY_IDS
    assert {c.id for c in cats if c.within_control} == {
        "process",
        "people",
        "coaching",
        "enablement",
    }
    assert all(c.label and c.description and len(c.examples) >= 2 for c in cats)


def test_a_custom_fishbone_is_validated(tmp_path):
    good = tmp_path / "fish.yaml"
    good.write_text(
        "categories:\n  - {id: partners, label: Partners, description: Channel, within_control: false}\n"
    )
    assert [c.id for c in load_categories(good)] == ["partners"]
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "categories:\n"
        "  - {id: a, label: A, description: d, within_control: true}\n"
        "  - {id: a, label: B, description: d, within_control: true}\n"
    )
    with pytest.raises(
        ModelError, match=r"dup\.yaml: categories: expected unique ids, found a twice"
    ):
        load_categories(dup)
    flag = tmp_path / "flag.yaml"
    flag.write_text("categories:\n  - {id: a, label: A, description: d, within_control: 'yes'}\n")
    with pytest.raises(
        ModelError, match=r"category 1 \(a\), within_control: expected true or false, found 'yes'"
    ):
        load_categories(flag)


def test_causes_go_on_known_categories_only():
    w = Workshop("Q3")
    with pytest.raises(ModelError, match="one of buyer, price"):
        w.add_cause(text="Partners", category="partners")
    custom = Workshop(
        "Q3",
        categories=[
            {"id": "partners", "label": "Partners", "description": "x", "within_control": False}
        ],
    )
    assert custom.add_cause(text="Partners", category="partners")


def test_playbook_has_at_least_25_complete_plays():
    assert len(PLAYBOOK) >= 25
    assert len({p.id for p in PLAYBOOK}) == len(PLAYBOOK)
    for play in PLAYBOOK:
        assert play.days_30 and play.days_60 and play.days_90, play.id
        assert set(play.categories) <= set(CATEGORY_IDS), play.id
        assert play.indicator.metric in INDICATOR_METRICS, play.id
        assert play.effort in {"low", "medium", "high"}
        assert play.time_to_impact_days > 0
        assert play.evidence and all(e.source for e in play.evidence), play.id


def test_every_category_has_plays():
    covered = {c for p in PLAYBOOK for c in p.categories}
    assert covered == set(CATEGORY_IDS)


def test_plays_name_only_loss_codes_the_packaged_codebook_defines():
    codebook = resources.files("sales_rca.resources").joinpath("codebook.yaml")
    if not codebook.is_file():
        pytest.skip("codebook.yaml not packaged yet")
    codes = {c["id"] for c in yaml.safe_load(codebook.read_text("utf-8"))["codes"]}
    for play in PLAYBOOK:
        assert set(play.codes) <= codes, (play.id, set(play.codes) - codes)
        if play.indicator.scope == "code":
            assert play.indicator.at in codes, play.id


def test_a_play_without_evidence_is_refused(tmp_path):
    path = tmp_path / "plays.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "plays": [
                    {
                        "id": "x",
                        "title": "X",
                        "summary": "S",
                        "categories": ["process"],
                        "codes": [],
                        "days_30": ["a"],
                        "days_60": ["b"],
                        "days_90": ["c"],
                        "indicator": {"metric": "conversion", "scope": "stage", "direction": "up"},
                        "effort": "low",
                        "time_to_impact_days": 30,
                        "evidence": [],
                    }
                ]
            }
        )
    )
    with pytest.raises(ModelError, match=r"play 1 \(x\).*evidence"):
        load_playbook(path)


def test_recommendations_rank_plays_for_the_top_causes_by_category_and_code():
    wanted = [
        Priority("C1", "buyer", ("no_decision", "buying_group_disagreement"), weight=0.7),
        Priority("C2", "coaching", ("manager_inspection",), weight=0.3),
    ]
    ranked = recommend(PLAYBOOK, wanted, limit=None)
    # Main category and both codes of the top cause beat a play where buyer is a side category.
    assert ranked[0].play.id == "buying_group_consensus"
    ids = [r.play.id for r in ranked]
    assert ids.index("buying_group_consensus") < ids.index("buyer_enablement_content")
    assert ranked[0].cause_ids == ("C1",) and ranked[0].codes == (
        "no_decision",
        "buying_group_disagreement",
    )
    assert "buyer" in ranked[0].reason
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    # A play for the second cause's category and code still makes the list, below the first's.
    assert ids.index("deal_review_not_forecast") > ids.index("buying_group_consensus")
    assert "formal_coaching_cadence" in ids
    assert all(r.score > 0 for r in ranked)
    assert len(recommend(PLAYBOOK, wanted)) == 5


def test_priorities_follow_the_revealed_borda_order():
    w = Workshop("Q3", dots_per_person=3)
    ann, bob = w.join(name="Ann"), w.join(name="Bob")
    c_buyer = w.add_cause(text="No consensus", category="buyer", codes=["no_decision"])
    c_price = w.add_cause(text="Discounting", category="price")
    w.vote(participant=ann, cause_id=c_buyer, dots=3)
    w.vote(participant=bob, cause_id=c_buyer, dots=2)
    w.vote(participant=bob, cause_id=c_price, dots=1)
    w.reveal()
    state = w.snapshot()
    wanted = priorities(state.causes, state.results(), top=2)
    assert [p.cause_id for p in wanted] == [c_buyer, c_price]
    assert wanted[0].weight > wanted[1].weight and sum(p.weight for p in wanted) == pytest.approx(1)
    assert state.recommendations(PLAYBOOK)[0].play.categories[0] == "buyer"
    # Without a vote every live cause counts equally.
    assert [p.weight for p in priorities([Cause("C1", "x", "buyer")])] == [1.0]


def test_an_action_target_takes_its_baseline_from_the_xray_and_the_next_run_says_if_it_moved():
    before = Finding(
        "conversion:Needs Analysis",
        "30% pass Needs Analysis",
        "conversion",
        0.30,
        "share",
        stage="Needs Analysis",
    )
    target = TargetMetric.from_finding(before, target=0.40)
    assert (target.baseline, target.direction, target.stage) == (0.30, "up", "Needs Analysis")
    w = Workshop("Q3")
    c = w.add_cause(text="No discovery framework", category="process")
    a = w.add_action(
        title="Roll out SPIN discovery",
        owner="Head of Sales EMEA",
        due="2025-09-30",
        cause_id=c,
        play_id="spin_discovery",
        target=target,
    )
    action = w.snapshot().action(a)
    assert action.due == dt.date(2025, 9, 30) and action.target == target
    after = Finding(
        "conversion:Needs Analysis", "35% pass", "conversion", 0.35, "share", stage="Needs Analysis"
    )
    other = Finding("conversion:Proposal", "50% pass", "conversion", 0.5, "share", stage="Proposal")
    assert matching_finding(action.target, [other, after]) is after
    assert matching_finding(action.target, [other]) is None


def test_actions_refuse_bad_dates_targets_and_unknown_causes():
    w = Workshop("Q3")
    with pytest.raises(ModelError, match="due date"):
        w.add_action(title="X", owner="Ann", due="next Friday")
    with pytest.raises(ModelError, match="different from the baseline"):
        w.add_action(
            title="X", owner="Ann", target={"metric": "win_rate", "baseline": 0.2, "target": 0.2}
        )
    with pytest.raises(ModelError, match="existing cause"):
        w.add_action(title="X", owner="Ann", cause_id="C404")
    a = w.add_action(title="X", owner="Ann")
    w.update_action(id=a, status="done", due=None)
    assert w.snapshot().action(a).status.value == "done"
