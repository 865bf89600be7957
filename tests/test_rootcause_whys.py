"""Five whys as a pure model: branches, AND/OR siblings, status rules, tree validation, outline."""

from __future__ import annotations

import pytest

from sales_rca.errors import ModelError
from sales_rca.findings import Finding
from sales_rca.rootcause import Problem, Status, Why, WhyTree, Workshop, validate_tree

LOST_AT_NA = Finding(
    key="lost_here:Needs Analysis",
    title="38% of lost deals die at Needs Analysis",
    metric="lost_here",
    value=0.38,
    unit="share",
    stage="Needs Analysis",
    opportunity_ids=("OPP-1", "OPP-2", "OPP-3"),
)


@pytest.fixture
def workshop() -> Workshop:
    return Workshop("Q3 loss review")


def test_a_problem_made_from_a_finding_cites_its_numbers_as_evidence(workshop):
    p = workshop.add_problem(text=LOST_AT_NA.title, finding=LOST_AT_NA)
    problem = workshop.snapshot().problem(p)
    assert problem.findings == (LOST_AT_NA,)
    assert problem.evidence[0].kind == "finding"
    assert problem.evidence[0].finding.opportunity_ids == ("OPP-1", "OPP-2", "OPP-3")


def test_a_node_can_have_several_branches(workshop):
    p = workshop.add_problem(text="Deals die early")
    a = workshop.add_why(parent_id=p, text="Reps pitch instead of diagnosing")
    b = workshop.add_why(parent_id=p, text="Leads are not qualified")
    c = workshop.add_why(parent_id=a, text="No discovery framework")
    d = workshop.add_why(parent_id=a, text="Managers never join discovery calls")
    tree = workshop.snapshot().tree(p)
    assert [w.id for w in tree.children(p)] == [a, b]
    assert [w.id for w in tree.children(a)] == [c, d]
    assert tree.depth(d) == 2


def test_a_why_cannot_be_verified_without_evidence(workshop):
    p = workshop.add_problem(text="Deals die early")
    w = workshop.add_why(parent_id=p, text="No discovery framework")
    with pytest.raises(ModelError, match="cannot be verified without evidence"):
        workshop.update_why(id=w, status="verified")
    with pytest.raises(ModelError, match="cannot be verified without evidence"):
        workshop.add_why(parent_id=p, text="Another", status="verified")
    assert workshop.snapshot().why(w).status is Status.HYPOTHESIS


def test_a_why_with_a_note_or_a_finding_can_be_verified(workshop):
    p = workshop.add_problem(text="Deals die early")
    with_note = workshop.add_why(parent_id=p, text="No framework", note="5 of 6 calls pitched")
    with_finding = workshop.add_why(parent_id=p, text="Stalls at NA")
    workshop.attach_evidence(node_id=with_finding, finding=LOST_AT_NA)
    workshop.update_why(id=with_note, status="verified")
    workshop.update_why(id=with_finding, status="verified")
    state = workshop.snapshot()
    assert state.why(with_note).status is Status.VERIFIED
    assert state.why(with_finding).findings == (LOST_AT_NA,)


def test_the_last_evidence_of_a_verified_why_cannot_be_removed(workshop):
    p = workshop.add_problem(text="Deals die early")
    w = workshop.add_why(parent_id=p, text="No framework", note="Seen in calls", status="verified")
    evidence_id = workshop.snapshot().why(w).evidence[0].id
    with pytest.raises(ModelError, match="cannot be verified without evidence"):
        workshop.detach_evidence(node_id=w, evidence_id=evidence_id)
    workshop.update_why(id=w, status="supported")
    workshop.detach_evidence(node_id=w, evidence_id=evidence_id)
    assert workshop.snapshot().why(w).evidence == ()


def test_a_rejected_why_cannot_be_a_root_cause(workshop):
    p = workshop.add_problem(text="Deals die early")
    w = workshop.add_why(parent_id=p, text="Price", root_cause=True)
    with pytest.raises(ModelError, match="rejected"):
        workshop.update_why(id=w, status="rejected")
    workshop.update_why(id=w, status="rejected", root_cause=False)
    assert workshop.snapshot().why(w).status is Status.REJECTED


def test_siblings_linked_with_and_form_one_branch_and_or_splits_them(workshop):
    p = workshop.add_problem(text="Deals die early")
    a = workshop.add_why(parent_id=p, text="Single-threaded")
    b = workshop.add_why(parent_id=p, text="Champion has no power")
    c = workshop.add_why(parent_id=p, text="Budget moved")
    workshop.link_whys(why_ids=[a, b], relation="and")
    tree = workshop.snapshot().tree(p)
    assert [[w.id for w in branch] for branch in tree.branches(p)] == [[a, b], [c]]
    workshop.link_whys(why_ids=[b], relation="or")
    tree = workshop.snapshot().tree(p)
    # b left the group, and a group of one is no group: three alternatives.
    assert [[w.id for w in branch] for branch in tree.branches(p)] == [[a], [b], [c]]


def test_only_siblings_can_be_linked(workshop):
    p = workshop.add_problem(text="Deals die early")
    a = workshop.add_why(parent_id=p, text="A")
    b = workshop.add_why(parent_id=a, text="B")
    with pytest.raises(ModelError, match="siblings"):
        workshop.link_whys(why_ids=[a, b], relation="and")


def test_moving_a_why_under_its_own_descendant_is_rejected_as_a_cycle(workshop):
    p = workshop.add_problem(text="Deals die early")
    a = workshop.add_why(parent_id=p, text="A")
    b = workshop.add_why(parent_id=a, text="B")
    c = workshop.add_why(parent_id=b, text="C")
    with pytest.raises(ModelError, match="cycle"):
        workshop.update_why(id=a, parent_id=c)
    workshop.update_why(id=c, parent_id=p)  # moving up is fine
    assert workshop.snapshot().why(c).parent_id == p


def test_a_why_stays_in_its_problems_tree(workshop):
    p1 = workshop.add_problem(text="Deals die early")
    p2 = workshop.add_problem(text="Deals stall late")
    a = workshop.add_why(parent_id=p1, text="A")
    with pytest.raises(ModelError, match="stays in its problem"):
        workshop.update_why(id=a, parent_id=p2)


def test_a_why_needs_an_existing_parent(workshop):
    with pytest.raises(ModelError, match="existing why"):
        workshop.add_why(parent_id="W404", text="Orphan")


def test_removing_a_why_hides_its_branch_and_restoring_brings_back_only_that(workshop):
    p = workshop.add_problem(text="Deals die early")
    a = workshop.add_why(parent_id=p, text="A")
    b = workshop.add_why(parent_id=a, text="B")
    c = workshop.add_why(parent_id=b, text="C")
    workshop.remove_why(id=c)
    workshop.remove_why(id=a)
    state = workshop.snapshot()
    assert state.whys == ()
    assert {w.id for w in state.removed_whys} == {a, b, c}
    with pytest.raises(ModelError, match="existing why"):
        workshop.add_why(parent_id=b, text="Under a removed why")
    workshop.restore_why(id=a)
    state = workshop.snapshot()
    assert [w.id for w in state.whys] == [a, b]  # c was removed on its own and stays removed
    assert [w.id for w in state.removed_whys] == [c]


def test_validation_finds_orphans_cycles_and_second_roots():
    problem = Problem("P1", "Deals die early")
    ok = [Why("W1", "P1", "P1", "A"), Why("W2", "W1", "P1", "B")]
    validate_tree(problem, ok)
    with pytest.raises(ModelError, match="orphan"):
        validate_tree(problem, [*ok, Why("W3", "W99", "P1", "Lost")])
    with pytest.raises(ModelError, match="cycle"):
        validate_tree(problem, [Why("W1", "W2", "P1", "A"), Why("W2", "W1", "P1", "B")])
    with pytest.raises(ModelError, match="one root"):
        validate_tree(problem, [Why("P1", "P1", "P1", "A second root")])
    with pytest.raises(ModelError, match="orphan"):
        WhyTree(problem, (Why("W1", "P2", "P2", "Under another problem"),))


def test_markdown_outline_nests_branches_and_marks_and_groups_status_and_root_causes(workshop):
    p = workshop.add_problem(text=LOST_AT_NA.title, finding=LOST_AT_NA)
    a = workshop.add_why(parent_id=p, text="Single-threaded")
    b = workshop.add_why(parent_id=p, text="Champion has no power")
    workshop.link_whys(why_ids=[a, b], relation="and")
    c = workshop.add_why(parent_id=p, text="Budget moved")
    workshop.add_why(
        parent_id=a, text="No multi-threading habit", note="3 of 4 deals", root_cause=True
    )
    workshop.update_why(id=c, status="rejected")
    outline = workshop.snapshot().tree(p).to_markdown()
    assert outline.splitlines()[:4] == [
        "## Problem: 38% of lost deals die at Needs Analysis",
        "_2 alternative explanations (OR)_",
        "",
        "- Evidence: 38% of lost deals die at Needs Analysis (lost\\_here = 38.0%; Needs Analysis; 3 deals)",
    ]
    assert "- **All of these together (AND):**" in outline
    assert "  - Why? Single-threaded _[hypothesis]_" in outline
    assert "    - Why? No multi-threading habit _[hypothesis]_ · **root cause**" in outline
    assert "      - Evidence: 3 of 4 deals" in outline
    assert "- Why? Budget moved _[rejected]_" in outline


def test_markdown_outline_escapes_user_text_so_html_renders_as_typed(workshop):
    p = workshop.add_problem(text="<script>alert(1)</script> & *bold*")
    workshop.add_why(parent_id=p, text="<img src=x onerror=alert(1)>")
    outline = workshop.snapshot().tree(p).to_markdown()
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("commonmark").render(outline)
    assert "<script" not in rendered and "<img" not in rendered and "<em>bold" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; *bold*" in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
    # The model itself keeps the text exactly as typed.
    assert workshop.snapshot().problem(p).text == "<script>alert(1)</script> & *bold*"


def test_blank_text_is_refused_and_text_is_never_trimmed(workshop):
    with pytest.raises(ModelError, match="non-empty text"):
        workshop.add_problem(text="   ")
    p = workshop.add_problem(text="  spaced  ")
    assert workshop.snapshot().problem(p).text == "  spaced  "
