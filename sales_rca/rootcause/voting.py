"""Prioritising without the loudest voice winning: silent dot votes and rankings, Borda, Kendall's W.

One ordering rule, said with the result (:attr:`VoteResult.rule`): a round of dot ballots is
ranked by dots (ties broken by ranking points); a round where anyone ranked the causes is ranked
by ranking points (ties broken by dots), so 3 dots never come second behind 2 dots without the
room being told why.

Every ballot becomes a ranking of the candidate causes (a dot ballot ranks causes by the dots given;
causes a participant left out tie for the places below). From those rankings come the Borda count
(``n - rank`` points per participant, ties averaged) and Kendall's coefficient of concordance W with
the correction for ties: how far the team agrees (1 = everyone ranks the same, 0 = no agreement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sales_rca.errors import ModelError


@dataclass(frozen=True)
class Vote:
    """Dots one participant put on one cause in a voting round."""

    participant: str
    cause_id: str
    dots: int
    round: int = 1


@dataclass(frozen=True)
class Ranking:
    """One participant's ranking of causes, best first (causes left out tie below)."""

    participant: str
    cause_ids: tuple[str, ...]
    round: int = 1


@dataclass(frozen=True)
class CauseResult:
    """Where one cause ended up: dot points, Borda points, mean rank and its place."""

    cause_id: str
    points: int
    voters: int
    borda: float
    mean_rank: float
    place: int


#: What decides the order of a round's causes, and how the room is told.
BY_DOTS = "dots"
BY_POINTS = "ranking points"
RULES = {
    BY_DOTS: "Ranked by dots; equal dots by ranking points.",
    BY_POINTS: (
        "Ranked by ranking points (each ballot gives a cause one point for every cause placed "
        "below it); equal points by dots."
    ),
}


@dataclass(frozen=True)
class VoteResult:
    """The revealed result of a round: causes best first (by :attr:`order`) and alignment."""

    causes: tuple[CauseResult, ...]
    participants: int
    alignment: float | None
    #: ``dots`` (every ballot was a dot vote) or ``ranking points`` (someone ranked).
    order: str = BY_DOTS

    @property
    def rule(self) -> str:
        """The ordering rule in a sentence, shown with the result."""
        return RULES[self.order]

    def by_points(self) -> tuple[CauseResult, ...]:
        """Causes ordered by dot points (ties broken by Borda)."""
        return tuple(sorted(self.causes, key=lambda c: (-c.points, -c.borda, c.cause_id)))

    def top(self, n: int = 3) -> tuple[str, ...]:
        """The ids of the ``n`` best causes in the result's order (:attr:`rule`)."""
        return tuple(c.cause_id for c in self.causes[:n])

    @property
    def alignment_label(self) -> str:
        """Plain words for W (see :func:`alignment_label`)."""
        return alignment_label(self.alignment)


def alignment_label(w: float | None) -> str:
    """Kendall's W as a facilitator says it to the room: ``the team mostly agrees`` (>= 0.7),
    ``the team partly agrees`` (>= 0.5), ``views are split`` (>= 0.3), ``views are far
    apart``; the figure itself stays behind the words (:func:`alignment_figure`)."""
    if w is None:
        return "not enough ballots to tell"
    if w >= 0.7:
        return "the team mostly agrees"
    if w >= 0.5:
        return "the team partly agrees"
    if w >= 0.3:
        return "views are split"
    return "views are far apart"


def alignment_figure(w: float | None) -> str:
    """The figure behind the words: ``Kendall's W 0.82 (1: everyone ranks the causes the same,
    0: no agreement)``; ``""`` when not measured."""
    if w is None:
        return ""
    return f"Kendall's W {w:.2f} (1: everyone ranks the causes the same, 0: no agreement)"


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n of ``values`` (smallest first), tied values sharing their average rank.

    Example:
        >>> average_ranks([10, 20, 10, 5]).tolist()
        [2.5, 4.0, 2.5, 1.0]
    """
    arr = np.asarray(values, dtype=float)
    order = np.argsort(arr, kind="mergesort")
    ranks = np.empty(len(arr))
    i = 0
    while i < len(arr):
        j = i
        while j + 1 < len(arr) and arr[order[j + 1]] == arr[order[i]]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def ranks_from_ordering(
    ordering: Sequence[str | Sequence[str]], candidates: Sequence[str]
) -> np.ndarray:
    """Rank vector (1 = best) over ``candidates`` from an ordering, ties given their average rank.

    ``ordering`` lists candidates best first; an item may be a tuple of candidates tied at that place.
    Candidates not in the ordering tie for the remaining places; names not among the candidates
    (a removed cause) are ignored.

    Example:
        >>> ranks_from_ordering(["b", ("a", "c")], ["a", "b", "c", "d"]).tolist()
        [2.5, 1.0, 2.5, 4.0]
    """
    position = {c: len(ordering) for c in candidates}
    for place, item in enumerate(ordering):
        for name in (item,) if isinstance(item, str) else item:
            if name in position and position[name] == len(ordering):
                position[name] = place
    return average_ranks([position[c] for c in candidates])


def ranks_from_dots(dots: Mapping[str, int], candidates: Sequence[str]) -> np.ndarray:
    """Rank vector from a dot ballot: more dots rank higher, equal dots tie (zero dots tie last)."""
    return average_ranks([-dots.get(c, 0) for c in candidates])


def borda_scores(ranks: np.ndarray) -> np.ndarray:
    """Borda points per candidate from an (participants x candidates) rank matrix: sum of ``n - rank``."""
    ranks = np.asarray(ranks, dtype=float)
    n = ranks.shape[1]
    return (n - ranks).sum(axis=0)


def kendalls_w(ranks: np.ndarray) -> float:
    """Kendall's coefficient of concordance W, corrected for ties.

    ``ranks`` is a (m participants x n candidates) matrix of ranks 1..n, ties averaged.
    W = 12 S / (m^2 (n^3 - n) - m sum T), S the squared deviations of rank sums from their mean,
    T = sum (t^3 - t) over each participant's groups of t tied ranks (Siegel & Castellan 1988).

    Raises:
        ModelError: with fewer than two participants or candidates, or if every ranking is one tie.
    """
    ranks = np.asarray(ranks, dtype=float)
    if ranks.ndim != 2 or ranks.shape[0] < 2 or ranks.shape[1] < 2:
        raise ModelError(
            f"expected at least 2 participants ranking at least 2 causes, found shape {ranks.shape}"
        )
    m, n = ranks.shape
    expected_sum = n * (n + 1) / 2
    if not np.allclose(ranks.sum(axis=1), expected_sum):
        raise ModelError(
            f"expected each row to rank 1..{n} (sum {expected_sum:g}), found other sums"
        )
    rank_sums = ranks.sum(axis=0)
    s = float(((rank_sums - rank_sums.mean()) ** 2).sum())
    ties = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        ties += float((counts**3 - counts).sum())
    denominator = m * m * (n**3 - n) - m * ties
    if denominator <= 0:
        raise ModelError("expected at least one participant to tell causes apart, found all ties")
    return 12 * s / denominator


def aggregate(
    candidates: Sequence[str], votes: Iterable[Vote], rankings: Iterable[Ranking] = ()
) -> VoteResult:
    """Combine one round's ballots into a result.

    A participant's explicit :class:`Ranking` wins over their dot votes. Dots on causes that are no
    longer candidates are ignored. Alignment is Kendall's W over all ballots (``None`` with fewer
    than two ballots or two candidates).
    """
    candidates = list(dict.fromkeys(candidates))
    dots: dict[str, dict[str, int]] = {}
    for vote in votes:
        if vote.dots > 0 and vote.cause_id in candidates:
            dots.setdefault(vote.participant, {})[vote.cause_id] = vote.dots
    orders = {r.participant: r.cause_ids for r in rankings}
    ballots = sorted(set(dots) | set(orders))
    rows = [
        ranks_from_ordering(orders[p], candidates)
        if p in orders
        else ranks_from_dots(dots[p], candidates)
        for p in ballots
    ]
    n = len(candidates)
    matrix = np.array(rows, dtype=float).reshape(len(rows), n)
    borda = borda_scores(matrix) if rows else np.zeros(n)
    mean_rank = matrix.mean(axis=0) if rows else np.full(n, (n + 1) / 2)
    points = {c: sum(d.get(c, 0) for d in dots.values()) for c in candidates}
    voters = {c: sum(1 for d in dots.values() if d.get(c, 0) > 0) for c in candidates}
    rule = BY_POINTS if any(p in orders for p in ballots) else BY_DOTS
    if rule == BY_POINTS:
        order = sorted(range(n), key=lambda i: (-borda[i], -points[candidates[i]], candidates[i]))
    else:
        order = sorted(range(n), key=lambda i: (-points[candidates[i]], -borda[i], candidates[i]))
    alignment: float | None = None
    if len(rows) >= 2 and n >= 2:
        try:
            alignment = kendalls_w(matrix)
        except ModelError:
            alignment = None
    results = tuple(
        CauseResult(
            cause_id=candidates[i],
            points=points[candidates[i]],
            voters=voters[candidates[i]],
            borda=float(borda[i]),
            mean_rank=float(mean_rank[i]),
            place=place,
        )
        for place, i in enumerate(order, 1)
    )
    return VoteResult(causes=results, participants=len(rows), alignment=alignment, order=rule)
