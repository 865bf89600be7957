"""Silent voting: Borda count and Kendall's W against worked examples, dots, hidden ballots."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import friedmanchisquare

from sales_rca.errors import ModelError
from sales_rca.rootcause import Ranking, Vote, Workshop, aggregate, borda_scores, kendalls_w
from sales_rca.rootcause.voting import (
    alignment_figure,
    alignment_label,
    ranks_from_dots,
    ranks_from_ordering,
)


def test_borda_count_matches_the_tennessee_capital_example():
    """Wikipedia, "Borda count", worked example: the capital of Tennessee, per 100 voters.

    42% Memphis > Nashville > Chattanooga > Knoxville; 26% Nashville > Chattanooga > Knoxville >
    Memphis; 15% Chattanooga > Knoxville > Nashville > Memphis; 17% Knoxville > Chattanooga >
    Nashville > Memphis. With 3/2/1/0 points: Nashville 194, Chattanooga 173, Memphis 126,
    Knoxville 107.
    """
    cities = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]
    blocs = [
        (42, ["Memphis", "Nashville", "Chattanooga", "Knoxville"]),
        (26, ["Nashville", "Chattanooga", "Knoxville", "Memphis"]),
        (15, ["Chattanooga", "Knoxville", "Nashville", "Memphis"]),
        (17, ["Knoxville", "Chattanooga", "Nashville", "Memphis"]),
    ]
    rankings = [
        Ranking(f"voter{b}-{i}", tuple(order))
        for b, (n, order) in enumerate(blocs)
        for i in range(n)
    ]
    result = aggregate(cities, [], rankings)
    assert {c.cause_id: c.borda for c in result.causes} == {
        "Nashville": 194,
        "Chattanooga": 173,
        "Memphis": 126,
        "Knoxville": 107,
    }
    assert result.top(1) == ("Nashville",)
    assert [c.place for c in result.causes] == [1, 2, 3, 4]


def test_kendalls_w_matches_a_hand_computed_example_without_ties():
    """Hand computation: 3 participants rank 4 causes.

    Ranks A,B,C,D: (1,2,3,4), (1,3,2,4), (2,1,3,4). Rank sums 4, 6, 8, 12; mean 7.5;
    S = 3.5^2 + 1.5^2 + 0.5^2 + 4.5^2 = 35; W = 12 S / (m^2 (n^3 - n)) = 420 / 540 = 7/9.
    """
    ranks = np.array([[1, 2, 3, 4], [1, 3, 2, 4], [2, 1, 3, 4]])
    assert kendalls_w(ranks) == pytest.approx(7 / 9)


def test_kendalls_w_applies_the_tie_correction():
    """Hand computation with ties (Kendall's correction, Siegel & Castellan 1988, ch. 9).

    Ranks A,B,C,D: (1,2,3,4), (1.5,1.5,3,4), (1,2,3.5,3.5). Rank sums 3.5, 5.5, 9.5, 11.5;
    S = 16 + 4 + 4 + 16 = 40; sum T = (2^3 - 2) + (2^3 - 2) = 12;
    W = 12 * 40 / (9 * 60 - 3 * 12) = 480 / 504 = 20/21 (0.889 without the correction).
    """
    ranks = np.array([[1, 2, 3, 4], [1.5, 1.5, 3, 4], [1, 2, 3.5, 3.5]])
    assert kendalls_w(ranks) == pytest.approx(20 / 21)


@pytest.mark.parametrize(
    "ranks",
    [
        [[1, 2, 3, 4, 5], [2, 1, 3, 5, 4], [1, 3, 2, 4, 5], [5, 4, 3, 2, 1]],
        [[1, 2.5, 2.5, 4], [1.5, 1.5, 3.5, 3.5], [4, 3, 2, 1]],
        [[1, 2, 3], [3, 2, 1]],
    ],
)
def test_kendalls_w_agrees_with_friedmans_statistic(ranks):
    """W = chi2_Friedman / (m (n - 1)), with both tie-corrected (Siegel & Castellan 1988)."""
    ranks = np.array(ranks, dtype=float)
    m, n = ranks.shape
    chi2 = friedmanchisquare(*ranks.T).statistic
    assert kendalls_w(ranks) == pytest.approx(chi2 / (m * (n - 1)))


def test_kendalls_w_is_one_for_full_agreement_and_zero_for_opposites():
    assert kendalls_w(np.array([[1, 2, 3]] * 4)) == pytest.approx(1.0)
    assert kendalls_w(np.array([[1, 2, 3], [3, 2, 1]])) == pytest.approx(0.0)


def test_kendalls_w_needs_two_participants_and_a_real_ranking():
    with pytest.raises(ModelError, match="at least 2 participants"):
        kendalls_w(np.array([[1, 2, 3]]))
    with pytest.raises(ModelError, match=r"rank 1\.\.3"):
        kendalls_w(np.array([[1, 1, 1], [1, 2, 3]]))
    with pytest.raises(ModelError, match="all ties"):
        kendalls_w(np.array([[2, 2, 2], [2, 2, 2]]))


def test_partial_rankings_and_dot_ballots_become_tied_ranks():
    assert ranks_from_ordering(["b", ("a", "c")], ["a", "b", "c", "d"]).tolist() == [2.5, 1, 2.5, 4]
    assert ranks_from_ordering(["gone", "b"], ["a", "b"]).tolist() == [2, 1]
    assert ranks_from_dots({"a": 2, "c": 1}, ["a", "b", "c", "d"]).tolist() == [1, 3.5, 2, 3.5]
    assert borda_scores(np.array([[1, 2, 3], [1, 3, 2]])).tolist() == [4, 1, 1]


def test_a_ranking_wins_over_the_same_participants_dots_and_removed_causes_do_not_count():
    votes = [Vote("ann", "c1", 3), Vote("bob", "c2", 2), Vote("bob", "gone", 1)]
    rankings = [Ranking("ann", ("c2", "c1"))]
    result = aggregate(["c1", "c2"], votes, rankings)
    assert result.participants == 2
    assert result.top(1) == ("c2",)  # ann's ranking and bob's dots both put c2 first
    assert {c.cause_id: c.points for c in result.causes} == {"c1": 3, "c2": 2}
    assert result.alignment == pytest.approx(1.0)
    assert [c.cause_id for c in result.by_points()] == ["c1", "c2"]


def test_alignment_is_described_in_plain_words():
    assert alignment_label(0.82) == "the team mostly agrees"
    assert alignment_label(0.55) == "the team partly agrees"
    assert alignment_label(0.31) == "views are split"
    assert alignment_label(0.1) == "views are far apart"
    assert alignment_label(None) == "not enough ballots to tell"
    assert alignment_figure(0.82).startswith("Kendall's W 0.82")


def test_a_dot_round_is_ranked_by_dots_so_three_dots_never_come_second_behind_two():
    # ann puts 3 dots on c1; bob and cat 2 dots on c2 and 1 on c3: by Borda c2 would lead
    votes = [
        Vote("ann", "c1", 3),
        Vote("bob", "c2", 2),
        Vote("bob", "c3", 1),
        Vote("cat", "c2", 2),
        Vote("cat", "c3", 1),
    ]
    result = aggregate(["c1", "c2", "c3"], votes)
    assert result.order == "dots" and result.rule.startswith("Ranked by dots")
    dots = [c.points for c in result.causes]
    assert dots == sorted(dots, reverse=True) and [c.place for c in result.causes] == [1, 2, 3]


def test_a_round_with_rankings_is_ranked_by_ranking_points_and_says_so():
    result = aggregate(
        ["c1", "c2"],
        [Vote("bob", "c1", 3)],
        [Ranking("ann", ("c2", "c1")), Ranking("cat", ("c2",))],
    )
    assert result.order == "ranking points" and "ranking points" in result.rule
    borda = [c.borda for c in result.causes]
    assert borda == sorted(borda, reverse=True) and result.top(1) == ("c2",)


@pytest.fixture
def voting() -> tuple[Workshop, list[str], list[str]]:
    w = Workshop("Q3", dots_per_person=3)
    people = [w.join(name="Ann"), w.join(), w.join(name="Cem")]
    causes = [w.add_cause(text=f"Cause {i}", category="process") for i in range(3)]
    return w, people, causes


def test_each_participant_has_n_dots_and_can_move_them(voting):
    w, (ann, *_), (c1, c2, _) = voting
    w.vote(participant=ann, cause_id=c1, dots=2)
    with pytest.raises(ModelError, match="at most 3 dots"):
        w.vote(participant=ann, cause_id=c2, dots=2)
    w.vote(participant=ann, cause_id=c1, dots=0)  # take them back
    w.vote(participant=ann, cause_id=c2, dots=3)
    assert [(v.cause_id, v.dots) for v in w.snapshot().votes] == [(c2, 3)]


def test_only_participants_who_joined_can_vote(voting):
    w, _, (c1, *_) = voting
    with pytest.raises(ModelError, match="call join"):
        w.vote(participant="U999", cause_id=c1)


def test_ballots_stay_hidden_until_reveal_except_ones_own(voting):
    w, (ann, anon, cem), (c1, c2, c3) = voting
    w.vote(participant=ann, cause_id=c1, dots=3)
    w.rank(participant=anon, cause_ids=[c2, c1, c3])
    state = w.snapshot()
    for viewer in (None, cem):
        hidden = state.redacted(viewer)
        assert hidden.votes == () and hidden.rankings == ()
        assert hidden.results() is None
        assert hidden.voters == (ann, anon)  # progress is visible, choices are not
    assert [v.cause_id for v in state.redacted(ann).votes] == [c1]
    assert state.results() is None  # not even the full state shows results before the reveal
    w.reveal()
    revealed = w.snapshot().redacted(cem)
    assert len(revealed.votes) == 1 and len(revealed.rankings) == 1
    assert revealed.results().participants == 2


def test_a_revealed_round_is_closed_and_a_new_round_starts_hidden(voting):
    w, (ann, *_), (c1, *_) = voting
    w.vote(participant=ann, cause_id=c1)
    w.reveal()
    with pytest.raises(ModelError, match="start a new round"):
        w.vote(participant=ann, cause_id=c1, dots=2)
    w.start_round(dots_per_person=5)
    state = w.snapshot()
    assert (state.round, state.revealed, state.votes, state.dots_per_person) == (2, False, (), 5)


def test_removing_a_cause_drops_its_votes_from_the_result(voting):
    w, (ann, anon, _), (c1, c2, _) = voting
    w.vote(participant=ann, cause_id=c1, dots=3)
    w.vote(participant=anon, cause_id=c2, dots=1)
    w.remove_cause(id=c1)
    w.reveal()
    result = w.snapshot().results()
    assert result.causes[0].cause_id == c2
    assert c1 not in {c.cause_id for c in result.causes}
    w.start_round()
    w.vote(participant=ann, cause_id=c2, dots=3)  # c1's dots no longer use ann's budget
