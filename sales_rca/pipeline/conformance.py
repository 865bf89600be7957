"""Process conformance: does a deal follow the official stage order, does following it pay, and
which path do won deals really take.

Each deal's path (its stage visits, :func:`sales_rca.pipeline.stages.build_visits`) is replayed
against the official order like a token: the deal starts before the first stage, and every move
is one *transition*:

- into the next official stage: allowed (``forward``); back into the stage it was in after a
  detour through a stage outside the order: allowed;
- into a later stage, leaving stages out: a ``skip`` of each stage left out;
- into an earlier stage: a ``back`` move from the stage it was in to that one;
- into a stage that is not in the official order: ``outside`` (the deal's place in the order does
  not change);
- the close: a loss may happen at any stage (allowed); a win is allowed from the last official
  stage only, else it skips the stages still ahead.

``fitness`` is the share of a deal's transitions the official process allows; a deal
*conforms* when all of them are allowed.

Does following the process pay? A deviation at stage S is compared only with deals that reached
the same point (deals that skip a late stage had already survived the early ones, so comparing
them with all other deals flatters skipping):

- *skipped S* (by moving past it): against deals that entered S. Deals that skipped S only by
  being won early are left out of that comparison: their deviation is their outcome.
- *went back from S to T*: against deals that reached S and went on (moved to a later stage or
  were won from S) without going back from S. From the last stage, going on is being won (the
  outcome itself), so there the reference is every deal that reached it and did not go back.

Each comparison gives both win rates with Wilson intervals, the difference with a Newcombe
interval, a test (:func:`sales_rca.pipeline.stats.two_by_two_p`) adjusted for the number of
comparisons (Benjamini-Hochberg, as the drivers), and a verdict in words: ``clear difference``,
``could be chance`` or ``too few deals to tell``.

Buyer jobs (:func:`buyer_job_view`): an optional mapping of each stage to the buyer job it serves
and its exit criterion (:class:`sales_rca.schema.StageJob`) gives losses and time by buyer job,
and flags stages with no buyer job or no criterion the buyer can verify.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from sales_rca import resources
from sales_rca.display import share
from sales_rca.errors import MappingError
from sales_rca.jsonsafe import json_value, records
from sales_rca.pipeline.paths import ARROW, PathAnalysis
from sales_rca.pipeline.stages import LOST, OPEN, WON, km_fit, km_quantiles, outcome_codes
from sales_rca.pipeline.stats import stratified_test, two_by_two_p, wilson_interval
from sales_rca.schema import BuyerJobMap, BuyerJobsFile, StageJob

#: A comparison needs at least this many closed deals on each side to be tested.
MIN_DEALS = 10
#: The node a path starts from and the node a won path ends in (directly-follows graph).
START_NODE, WON_NODE = "Start", "Won"
#: The verdicts of a comparison, in the room's words.
CLEAR, CHANCE, TOO_FEW = "clear difference", "could be chance", "too few deals to tell"
#: The verdict of a clear difference that is not clear within the groups of another attribute.
EXPLAINED = "explained by"
#: The group of the stages no buyer job is mapped to.
NO_JOB = "(no buyer job)"
#: The flags of a stage the buyer cannot see.
_NO_JOB, _UNVERIFIABLE = "no buyer job", "no exit criterion the buyer can verify"
#: The shipped example mapping (Salesforce's default stages).
EXAMPLE_BUYER_JOBS = "buyer_jobs.example.yaml"

_DEVIATION_COLUMNS = [
    "kind", "stage", "to_stage", "label", "deals", "won", "lost", "open", "win_rate",
]  # fmt: skip
_COMPARISON_COLUMNS = [
    "kind", "stage", "to_stage", "label", "reference", "deals", "won", "win_rate", "ci_low",
    "ci_high", "reference_deals", "reference_won", "reference_win_rate", "reference_ci_low",
    "reference_ci_high", "difference", "difference_ci_low", "difference_ci_high", "p_value",
    "p_adjusted", "verdict", "raw_other_deals", "raw_other_win_rate", "within_p", "sentence",
]  # fmt: skip
_GRAPH_COLUMNS = [
    "source", "target", "kind", "official", "moves", "deals", "share_of_won", "median_days",
]  # fmt: skip


@dataclass
class Conformance:
    """How deals follow the official stage order.

    Attributes:
        deals: per deal with history: ``opp_row, opportunity_id, outcome, transitions, allowed,
            fitness, conforming, skips, backward, outside`` (the last three count deviations).
        deviations: per deviation (``kind`` skip / back / outside, ``stage``, ``to_stage`` for a
            back move, a plain ``label``): the deals that made it and their outcomes.
        comparisons: the survivorship-safe comparisons (module docstring), most at stake first.
        closed_deals / conforming_deals: closed deals with history, and those that conform;
            ``share_conforming`` with its Wilson interval ``share_conforming_ci``.
    """

    official_path: str
    deals: pd.DataFrame
    deviations: pd.DataFrame
    comparisons: pd.DataFrame
    closed_deals: int = 0
    conforming_deals: int = 0
    share_conforming: float = float("nan")
    share_conforming_ci: tuple[float, float] = (float("nan"), float("nan"))
    mean_fitness: float = float("nan")


@dataclass
class BuyerJobView:
    """The sales process seen as the buyer's jobs.

    Attributes:
        stages: per official stage: ``stage, job, exit_criterion, verified_by, flags`` (a list:
            ``no buyer job``, ``no exit criterion the buyer can verify``).
        jobs: per buyer job in process order (stages without one last, as :data:`NO_JOB`):
            ``job, stages, entered, lost, lost_share, loss_rate, loss_ci_low, loss_ci_high,
            value_lost, median_days, p75_days`` (days in the job's stages per deal, deals still
            there counted as still running; NaN when unknown).
        unmapped: stages without a buyer job; ``unverifiable``: stages without an exit criterion
            the buyer can verify.
    """

    stages: pd.DataFrame
    jobs: pd.DataFrame
    unmapped: list[str] = field(default_factory=list)
    unverifiable: list[str] = field(default_factory=list)
    source: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class ProcessAnalysis:
    """Conformance, the comparisons, the won deals' graph and paths, and the buyer-job view."""

    conformance: Conformance
    won_graph: pd.DataFrame
    won_paths: pd.DataFrame
    buyer_jobs: BuyerJobView | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self, *, top: int = 10) -> dict[str, Any]:
        """The JSON shape of ``paths.conformance`` and ``paths.won_paths``, plus the buyer jobs."""
        c = self.conformance
        counts = c.deviations
        return {
            "conformance": {
                "closed_deals": c.closed_deals,
                "conforming_deals": c.conforming_deals,
                "share_conforming": json_value(c.share_conforming),
                "share_conforming_ci": [json_value(v) for v in c.share_conforming_ci],
                "mean_fitness": json_value(c.mean_fitness),
                "deviations": records(counts.drop(columns=["label"]).head(top * 3)),
                "comparisons": records(c.comparisons.drop(columns=["sentence"]).head(top * 3)),
            },
            "won_paths": records(self.won_paths.head(top)),
            "won_graph": records(self.won_graph),
            "buyer_jobs": None if self.buyer_jobs is None else _jobs_dict(self.buyer_jobs),
        }


# --- conformance ----------------------------------------------------------------------------


@dataclass
class _Replay:
    """Per-transition facts of the replay, kept for the comparisons and the graph."""

    deal_of: np.ndarray  # each visit's deal (0 .. deals - 1)
    starts: np.ndarray  # first visit of each deal
    si: np.ndarray  # each visit's official stage index (-1 outside)
    before: np.ndarray  # the official stage the deal was in before the visit (-1 at the start)
    end: np.ndarray  # per deal: the official stage it was in last (-1 if none)
    out: np.ndarray  # per deal: outcome code
    k: int
    opp_rows: np.ndarray  # per deal: its row in the opportunities


def _replay(visits: pd.DataFrame, k: int) -> _Replay:
    row = visits["opp_row"].to_numpy()
    si = visits["stage_index"].to_numpy().astype(np.int64)
    n = len(row)
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]]) if n else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, n])
    deal_of = np.repeat(np.arange(len(starts)), sizes)
    # the last official visit at or before each visit (across deals; checked against the deal)
    last_official = np.maximum.accumulate(np.where(si >= 0, np.arange(n), -1)) if n else si
    prev = np.r_[-1, last_official[:-1]] if n else si
    mine = prev >= starts[deal_of] if n else np.zeros(0, bool)
    before = np.where(mine, si[np.maximum(prev, 0)], -1) if n else si
    ends = starts + sizes - 1
    last = last_official[ends] if n else ends
    end = np.where(last >= starts, si[np.maximum(last, 0)], -1) if n else ends
    outcome = pd.Series(visits["outcome"].to_numpy()[starts])
    return _Replay(deal_of, starts, si, before, end, outcome_codes(outcome), k, row[starts])


def conformance(visits: pd.DataFrame, order: list[str]) -> Conformance:
    """Each deal's path replayed against the official ``order`` (see the module docstring).

    Args:
        visits: from :func:`sales_rca.pipeline.stages.build_visits` (grouped by deal, in order).
        order: the official stage order.
    """
    return _conformance(visits, order, _replay(visits, len(order)))


def _conformance(visits: pd.DataFrame, order: list[str], r: _Replay) -> Conformance:
    k, si, before = r.k, r.si, r.before
    deals_n = len(r.starts)
    outside = si < 0
    allowed = ~outside & ((si == before + 1) | (si == before))
    skip = ~outside & (si > before + 1)
    back = ~outside & (si < before)
    won, closed = r.out == WON, (r.out == WON) | (r.out == LOST)
    won_early = won & (r.end < k - 1)
    transitions = np.bincount(r.deal_of, minlength=deals_n) + closed
    ok = np.bincount(r.deal_of, weights=allowed, minlength=deals_n) + (closed & ~won_early)
    skip_deal, skip_stage = _skipped(r, skip)
    deal_skips = np.bincount(skip_deal, minlength=deals_n)
    fitness = np.where(transitions > 0, ok / np.maximum(transitions, 1), np.nan)
    per_deal = pd.DataFrame(
        {
            "opp_row": visits["opp_row"].to_numpy()[r.starts],
            "opportunity_id": visits["opportunity_id"].to_numpy()[r.starts],
            "outcome": visits["outcome"].to_numpy()[r.starts],
            "transitions": transitions.astype(np.int64),
            "allowed": ok.astype(np.int64),
            "fitness": fitness,
            "conforming": ok == transitions,
            "skips": deal_skips,
            "backward": np.bincount(r.deal_of[back], minlength=deals_n),
            "outside": np.bincount(r.deal_of[outside], minlength=deals_n),
        }
    )
    deviations = _deviation_counts(visits, order, r, skip_deal, skip_stage, back, outside)
    n_closed = int(closed.sum())
    conforming = int((per_deal["conforming"].to_numpy() & closed).sum())
    low, high = wilson_interval(np.array([conforming]), np.array([n_closed]))
    return Conformance(
        official_path=ARROW.join(order),
        deals=per_deal,
        deviations=deviations,
        comparisons=_frame(_COMPARISON_COLUMNS),
        closed_deals=n_closed,
        conforming_deals=conforming,
        share_conforming=conforming / n_closed if n_closed else float("nan"),
        share_conforming_ci=(float(low[0]), float(high[0])),
        mean_fitness=float(np.nanmean(fitness[closed])) if n_closed else float("nan"),
    )


def _skipped(
    r: _Replay, skip: np.ndarray, *, include_close: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Every (deal, stage) a deal skipped: by a move past stages, and (``include_close``) by
    being won before the last stage. Duplicates removed."""
    j = np.flatnonzero(skip)
    first, last = r.before[j] + 1, r.si[j] - 1  # the stages left out, inclusive
    deal = r.deal_of[j]
    if include_close:
        w = np.flatnonzero((r.out == WON) & (r.end < r.k - 1))
        first = np.r_[first, r.end[w] + 1]
        last = np.r_[last, np.full(len(w), r.k - 1)]
        deal = np.r_[deal, w]
    length = (last - first + 1).astype(np.int64)
    stage = np.repeat(first, length) + (
        np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    )
    deal = np.repeat(deal, length)
    # one flag per deal and stage: duplicates fall together, pairs come out sorted
    found = np.zeros((len(r.starts), max(r.k, 1)), dtype=bool)
    found[deal, stage] = True
    pairs = np.nonzero(found)
    return pairs[0].astype(np.int64), pairs[1].astype(np.int64)


def _back_pairs(r: _Replay, back: np.ndarray) -> np.ndarray:
    """Unique ``deal * k² + from * k + to`` keys of the backward moves."""
    j = np.flatnonzero(back)
    k = max(r.k, 1)
    return np.unique(r.deal_of[j].astype(np.int64) * k * k + r.before[j] * k + r.si[j])


def _deviation_counts(
    visits: pd.DataFrame,
    order: list[str],
    r: _Replay,
    skip_deal: np.ndarray,
    skip_stage: np.ndarray,
    back: np.ndarray,
    outside: np.ndarray,
) -> pd.DataFrame:
    k = max(r.k, 1)
    rows: list[tuple[Any, ...]] = []

    def tally(deals: np.ndarray) -> tuple[int, int, int, int, float]:
        o = r.out[deals]
        w, lo = int((o == WON).sum()), int((o == LOST).sum())
        return len(deals), w, lo, int((o == OPEN).sum()), w / (w + lo) if w + lo else math.nan

    if len(skip_deal):
        by = pd.Series(skip_deal).groupby(skip_stage)
        for s, deals in by:
            stage = order[int(s)]
            rows.append(("skip", stage, None, f"skipped {stage}", *tally(deals.to_numpy())))
    keys = _back_pairs(r, back)
    if len(keys):
        pair = keys % (k * k)
        for p in np.unique(pair):
            a, b = order[int(p) // k], order[int(p) % k]
            label = f"went back from {a} to {b}"
            rows.append(("back", a, b, label, *tally(keys[pair == p] // (k * k))))
    j = np.flatnonzero(outside)
    if len(j):
        names = visits["stage"].to_numpy(dtype=object)[j]
        key = pd.DataFrame({"deal": r.deal_of[j], "stage": names}).drop_duplicates()
        for stage, deals in key.groupby("stage", sort=True)["deal"]:
            label = f"went through {stage}, a stage outside the official order"
            rows.append(("outside", stage, None, label, *tally(deals.to_numpy())))
    table = pd.DataFrame(rows, columns=_DEVIATION_COLUMNS) if rows else _frame(_DEVIATION_COLUMNS)
    return table.sort_values(["deals", "label"], ascending=[False, True]).reset_index(drop=True)


# --- does following the process pay? ---------------------------------------------------------


def compare_deviations(
    visits: pd.DataFrame,
    order: list[str],
    *,
    min_deals: int = MIN_DEALS,
    alpha: float = 0.05,
    adjust: str = "fdr_bh",
    strata: tuple[np.ndarray, str] | None = None,
) -> pd.DataFrame:
    """The survivorship-safe comparison of every skip and backward move (module docstring).

    Returns one row per deviation with closed deals on its side: both groups' win rates with
    95% Wilson intervals, the difference (deviating minus reference) with a Newcombe interval,
    ``p_value`` and ``p_adjusted`` (``adjust``: a :func:`statsmodels.stats.multitest.multipletests`
    method, or ``none``), the ``verdict`` in words, the raw comparison with all other closed deals
    (``raw_other_win_rate``: what a count that ignores survivorship would say) and the
    ``sentence`` the room reads. Most deals at stake first.

    ``strata``: each opportunity's group code (by ``opp_row``) in another attribute that goes
    with winning, and the attribute's name. A clear difference is re-tested within its groups
    (Cochran-Mantel-Haenszel, ``within_p``); when it is no longer clear there, the verdict is
    ``explained by <name>`` (the deviation is common where deals win anyway, e.g. renewals that
    start past prospecting).
    """
    return _compare(order, _replay(visits, len(order)), min_deals, alpha, adjust, strata)


def _compare(
    order: list[str],
    r: _Replay,
    min_deals: int,
    alpha: float,
    adjust: str,
    strata: tuple[np.ndarray, str] | None = None,
) -> pd.DataFrame:
    k, si, before, d = r.k, r.si, r.before, len(r.starts)
    if d == 0 or k == 0:
        return _frame(_COMPARISON_COLUMNS)
    closed = (r.out == WON) | (r.out == LOST)
    won = r.out == WON
    official = si >= 0
    entered = np.zeros((d, k), dtype=bool)
    entered[r.deal_of[official], si[official]] = True
    skip = official & (si > before + 1)
    back = official & (si < before)
    skip_deal, skip_stage = _skipped(r, skip, include_close=False)
    skipped = np.zeros((d, k), dtype=bool)
    skipped[skip_deal, skip_stage] = True
    back_from = np.zeros((d, k), dtype=bool)
    j = np.flatnonzero(back)
    back_from[r.deal_of[j], before[j]] = True
    went_on = np.zeros((d, k), dtype=bool)
    j = np.flatnonzero(official & (before >= 0) & (si > before))
    went_on[r.deal_of[j], before[j]] = True
    w = np.flatnonzero(won & (r.end >= 0))
    went_on[w, r.end[w]] = True
    rows: list[tuple[str, str, str | None, str, str, np.ndarray, np.ndarray]] = []
    for s in range(k):
        dev = closed & skipped[:, s]
        if dev.any():
            ref = closed & entered[:, s] & ~skipped[:, s]
            label = f"skipped {order[s]}"
            rows.append(("skip", order[s], None, label, f"went through {order[s]}", dev, ref))
    keys = _back_pairs(r, back)
    pair = keys % (k * k)
    for p in np.unique(pair):
        a, b = int(p) // k, int(p) % k
        dev = np.zeros(d, dtype=bool)
        dev[keys[pair == p] // (k * k)] = True
        dev &= closed
        if not dev.any():
            continue
        ref = closed & entered[:, a] & ~back_from[:, a]
        reference = f"reached {order[a]} and did not go back"
        if a < k - 1:  # from the last stage, going on is being won: the outcome itself
            ref &= went_on[:, a]
            reference = f"reached {order[a]} and went on"
        label = f"went back from {order[a]} to {order[b]}"
        rows.append(("back", order[a], order[b], label, reference, dev, ref))
    if not rows:
        return _frame(_COMPARISON_COLUMNS)
    table = pd.DataFrame(
        [_comparison(*row, won=won, closed=closed, min_deals=min_deals) for row in rows],
        columns=_COMPARISON_COLUMNS,
    )
    p = table["p_value"].to_numpy(dtype=float)
    tested = np.isfinite(p)
    adjusted = np.full(len(p), np.nan)
    if tested.any():
        adjusted[tested] = (
            p[tested] if adjust == "none" else multipletests(p[tested], method=adjust)[1]
        )
    table["p_adjusted"] = adjusted
    table["verdict"] = np.where(~tested, TOO_FEW, np.where(adjusted < alpha, CLEAR, CHANCE))
    if strata is not None:
        codes = np.asarray(strata[0])[r.opp_rows]
        for i in np.flatnonzero(table["verdict"].to_numpy() == CLEAR):
            dev, ref = rows[i][5], rows[i][6]
            test = _within(codes, dev, ref, won)
            table.loc[i, "within_p"] = test.p_value
            if test.informative and not test.p_value < alpha:
                table.loc[i, "verdict"] = f"{EXPLAINED} {strata[1]}"
    table["sentence"] = [_sentence(row) for row in table.to_dict(orient="records")]
    stake = (table["difference"].abs() * table[["deals", "reference_deals"]].min(axis=1)).fillna(0)
    order_by = np.lexsort((-stake.to_numpy(), (table["verdict"] != CLEAR).to_numpy()))
    return table.iloc[order_by].reset_index(drop=True)


def _within(codes: np.ndarray, dev: np.ndarray, ref: np.ndarray, won: np.ndarray) -> Any:
    """The deviating and reference deals compared within each stratum (CMH)."""
    both = dev | ref
    cells = pd.DataFrame(
        {"stratum": codes[both], "group": dev[both], "won": won[both], "lost": ~won[both]}
    )
    cells = cells.groupby(["stratum", "group"], as_index=False)[["won", "lost"]].sum()
    return stratified_test(cells)


def _comparison(
    kind: str,
    stage: str,
    to_stage: str | None,
    label: str,
    reference: str,
    dev: np.ndarray,
    ref: np.ndarray,
    *,
    won: np.ndarray,
    closed: np.ndarray,
    min_deals: int,
) -> tuple[Any, ...]:
    n, nw = int(dev.sum()), int((dev & won).sum())
    m, mw = int(ref.sum()), int((ref & won).sum())
    other = closed & ~dev
    on, ow = int(other.sum()), int((other & won).sum())
    (lo, lo_ref), (hi, hi_ref) = wilson_interval(np.array([nw, mw]), np.array([n, m]))
    rate = nw / n if n else math.nan
    ref_rate = mw / m if m else math.nan
    diff, d_lo, d_hi, p = math.nan, math.nan, math.nan, math.nan
    if n and m:
        diff = rate - ref_rate
        d_lo, d_hi = (float(v) for v in confint_proportions_2indep(nw, n, mw, m, method="newcomb"))
    if n >= min_deals and m >= min_deals:
        p = two_by_two_p(nw, n, nw + mw, n + m)
    return (
        kind, stage, to_stage, label, reference, n, nw, rate, float(lo), float(hi), m, mw,
        ref_rate, float(lo_ref), float(hi_ref), diff, d_lo, d_hi, p, math.nan, "", on,
        ow / on if on else math.nan, math.nan, "",
    )  # fmt: skip


def _sentence(row: dict[str, Any]) -> str:
    """``Deals that went back from Proposal to Discovery won 31% vs 52% of deals that reached
    Proposal and went on (clear difference)``."""
    if not row["reference_deals"]:
        return f"Deals that {row['label']} won {share(row['win_rate'], blank='–')}; no deal {row['reference']} to compare with"
    return (
        f"Deals that {row['label']} won {share(row['win_rate'], blank='–')} vs "
        f"{share(row['reference_win_rate'], blank='–')} of deals that {row['reference']} "
        f"({row['verdict']})"
    )


# --- the process won deals follow -------------------------------------------------------------


def won_graph(visits: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """The directly-follows graph of won deals: one row per edge ``source -> target`` (the
    :data:`START_NODE` before the first stage, :data:`WON_NODE` after the last), its ``kind``
    (start / forward / skip / back / outside / close), whether the official process has it
    (``official``), the ``moves`` and won ``deals`` taking it, their ``share_of_won`` and the
    ``median_days`` from entering the source to entering the target (NaN from the start).
    Most taken first."""
    won = np.flatnonzero(visits["outcome"].to_numpy() == "won")
    if not len(won):
        return _frame(_GRAPH_COLUMNS)
    row = visits["opp_row"].to_numpy()[won]
    # official stages by their index; any other stage by name after them
    code = visits["stage_index"].to_numpy()[won].astype(np.int64)
    other = np.flatnonzero(code < 0)
    extra_code, extra = pd.factorize(visits["stage"].to_numpy(dtype=object)[won[other]])
    code[other] = len(order) + extra_code
    names = np.r_[np.asarray(order, dtype=object), np.asarray(extra, dtype=object)]
    visit_days = visits["days"].to_numpy(dtype=float)[won]
    m = len(names)
    start_code, won_code = m, m + 1
    first = np.r_[True, row[1:] != row[:-1]]
    last = np.r_[row[1:] != row[:-1], True]
    deal = np.cumsum(first) - 1
    # each visit is entered from the previous one (or the start) and the last leads to Won
    source = np.r_[np.where(first, start_code, np.r_[0, code[:-1]]), code[last]]
    target = np.r_[code, np.full(int(last.sum()), won_code)]
    days = np.r_[np.where(first, np.nan, np.r_[np.nan, visit_days[:-1]]), visit_days[last]]
    deal = np.r_[deal, deal[last]]
    edge = source.astype(np.int64) * (m + 2) + target
    moves = np.bincount(edge, minlength=(m + 2) ** 2)
    present = np.flatnonzero(moves)
    slot = np.full(len(moves), -1, dtype=np.int64)
    slot[present] = np.arange(len(present))
    e = slot[edge]
    # a won deal counts once per edge it took, however often it took it
    took = np.zeros((int(deal.max()) + 1, len(present)), dtype=bool)
    took[deal, e] = True
    by_edge = np.argsort(e, kind="stable")
    bounds = np.r_[0, np.cumsum(moves[present])]
    sorted_days = days[by_edge]
    median = np.array(
        [
            np.median(chunk[np.isfinite(chunk)]) if np.isfinite(chunk).any() else np.nan
            for chunk in (sorted_days[a:b] for a, b in pairwise(bounds))
        ]
    )
    out = pd.DataFrame(
        {"edge": present, "moves": moves[present], "deals": took.sum(axis=0), "median_days": median}
    )
    node = np.r_[np.asarray(names, dtype=object), np.array([START_NODE, WON_NODE], dtype=object)]
    index = {s: i for i, s in enumerate(order)}
    pos = np.array([index.get(s, -1) for s in names] + [-1, len(order)], dtype=np.int64)
    src, tgt = out["edge"].to_numpy() // (m + 2), out["edge"].to_numpy() % (m + 2)
    a, b = pos[src], pos[tgt]
    is_start, is_close = src == start_code, tgt == won_code
    kind = np.select(
        [is_start, is_close, (a < 0) | (b < 0), b == a + 1, b > a + 1],
        ["start", "close", "outside", "forward", "skip"],
        "back",
    )
    official = np.where(
        is_start, b == 0, np.where(is_close, a == len(order) - 1, (a >= 0) & (b == a + 1))
    )
    total = int(first.sum())
    graph = pd.DataFrame(
        {
            "source": node[src],
            "target": node[tgt],
            "kind": kind,
            "official": official,
            "moves": out["moves"].to_numpy(),
            "deals": out["deals"].to_numpy(),
            "share_of_won": out["deals"].to_numpy() / total,
            "median_days": out["median_days"].to_numpy(),
        }
    )
    return graph.sort_values(
        ["deals", "source", "target"], ascending=[False, True, True]
    ).reset_index(drop=True)


def won_paths(paths: PathAnalysis) -> pd.DataFrame:
    """The won deals' path variants, most won first: ``path, won, share_of_won, official,
    win_rate`` (the variant's win rate over its closed deals)."""
    v = paths.variants
    if v.empty:
        return _frame(["path", "won", "share_of_won", "official", "win_rate"])
    v = v[v["won"] > 0]
    total = int(v["won"].sum())
    out = pd.DataFrame(
        {
            "path": v["path"],
            "won": v["won"].astype(np.int64),
            "share_of_won": v["won"] / total if total else np.nan,
            "official": v["official"].astype(bool),
            "win_rate": v["win_rate"].astype(float),
        }
    )
    return out.sort_values(["won", "path"], ascending=[False, True]).reset_index(drop=True)


# --- buyer jobs -------------------------------------------------------------------------------


def load_buyer_jobs(source: str | Path | dict[str, Any] | None = None) -> dict[str, StageJob]:
    """A buyer-jobs mapping: a YAML file (``buyer_jobs:`` block, as in a mapping file), a dict
    (the block's content, or a whole file's), or ``None`` for the shipped example for
    Salesforce's default stages (``resources/buyer_jobs.example.yaml``).

    Raises:
        MappingError: the file is missing, not YAML, or has an unknown key or a bad value.
    """
    if source is None or isinstance(source, str | Path):
        data = resources.load_yaml(
            BuyerJobsFile,
            source,
            default=EXAMPLE_BUYER_JOBS,
            error=MappingError,
            what="buyer-jobs file",
        )
        return dict(data.buyer_jobs)
    body = source.get("buyer_jobs", source) if isinstance(source, dict) else source
    data = resources.validate(BuyerJobsFile, {"buyer_jobs": body}, "buyer jobs", error=MappingError)
    return dict(data.buyer_jobs)


def buyer_job_view(
    jobs: BuyerJobMap | dict[str, Any],
    order: list[str],
    visits: pd.DataFrame,
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    source: str = "",
) -> BuyerJobView:
    """Losses and time by buyer job, and the stages the buyer cannot see (module docstring).

    Args:
        jobs: stage -> :class:`~sales_rca.schema.StageJob` (or its dict form).
        order: the official stage order.
        visits, deals: from :func:`~sales_rca.pipeline.stages.build_visits` /
            :func:`~sales_rca.pipeline.stages.build_deals`.
        as_of: deals still in a job's stage are measured (as still running) up to this date.
    """
    mapping = {str(s): j if isinstance(j, StageJob) else StageJob(**j) for s, j in jobs.items()}
    notes = []
    unknown = [s for s in mapping if s not in order]
    if unknown:
        notes.append(
            "The buyer-job mapping names stages that are not in the official order (left out): "
            f"{', '.join(unknown)}."
        )
    rows = []
    for stage in order:
        j = mapping.get(stage, StageJob())
        flags = []
        if j.job is None:
            flags.append(_NO_JOB)
        if j.exit_criterion is None or j.verified_by != "buyer":
            flags.append(_UNVERIFIABLE)
        rows.append((stage, j.job, j.exit_criterion, j.verified_by, flags))
    stages = pd.DataFrame(rows, columns=["stage", "job", "exit_criterion", "verified_by", "flags"])
    job_of = {s: (j or NO_JOB) for s, j in zip(stages["stage"], stages["job"], strict=True)}
    names = list(dict.fromkeys(j for j in job_of.values() if j != NO_JOB))
    if NO_JOB in job_of.values():
        names.append(NO_JOB)
    return BuyerJobView(
        stages=stages,
        jobs=_job_table(names, job_of, order, visits, deals, as_of),
        unmapped=[s for s, f in zip(stages["stage"], stages["flags"], strict=True) if _NO_JOB in f],
        unverifiable=[
            s for s, f in zip(stages["stage"], stages["flags"], strict=True) if _UNVERIFIABLE in f
        ],
        source=source,
        notes=notes,
    )


def _job_table(
    names: list[str],
    job_of: dict[str, str],
    order: list[str],
    visits: pd.DataFrame,
    deals: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    code = {j: i for i, j in enumerate(names)}
    stage_job = np.array([code[job_of[s]] for s in order], dtype=np.int64)
    lost = (deals["outcome"] == "lost").to_numpy()
    loss_stage = deals["loss_stage"].to_numpy(dtype=object)
    loss_job = pd.Series(loss_stage[lost]).map({s: code[job_of[s]] for s in order})
    lost_n = np.bincount(loss_job.dropna().to_numpy(dtype=np.int64), minlength=len(names))
    amount = (
        deals["amount"].to_numpy(dtype=float)[lost]
        if "amount" in deals
        else np.full(lost.sum(), np.nan)
    )
    known_job = loss_job.notna().to_numpy()
    value = np.full(len(names), np.nan)
    if np.isfinite(amount).any():
        value = np.bincount(
            loss_job[known_job].to_numpy(dtype=np.int64),
            weights=np.nan_to_num(amount[known_job]),
            minlength=len(names),
        )
    entered = np.full(len(names), np.nan)
    days = {"median_days": np.full(len(names), np.nan), "p75_days": np.full(len(names), np.nan)}
    si = visits["stage_index"].to_numpy()
    official = np.flatnonzero(si >= 0)
    if len(official):
        job = stage_job[si[official]]
        row = visits["opp_row"].to_numpy()[official]
        current = visits["current"].to_numpy(dtype=bool)[official]
        entered_at = visits["entered_at"].to_numpy(dtype="datetime64[ns]")[official]
        span = visits["days"].to_numpy(dtype=float)[official]
        span = np.where(
            current, (np.datetime64(as_of, "ns") - entered_at) / np.timedelta64(1, "D"), span
        )
        per = pd.DataFrame({"row": row, "job": job, "days": span, "still": current})
        per = per.groupby(["row", "job"], sort=False).agg(
            days=("days", "sum"), still=("still", "any")
        )
        per = per.reset_index()
        entered = np.bincount(per["job"].to_numpy(), minlength=len(names)).astype(float)
        per = per[np.isfinite(per["days"]) & (per["days"] >= 0)]
        for j in range(len(names)):
            mine = per[per["job"] == j]
            if mine.empty:
                continue
            grouped = (
                pd.DataFrame({"days": mine["days"].round(3), "event": ~mine["still"]})
                .value_counts()
                .rename("n")
                .reset_index()
            )
            q = km_quantiles(km_fit(grouped), [0.5, 0.75])
            days["median_days"][j], days["p75_days"][j] = q
    total_lost = int(lost.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(entered > 0, lost_n / entered, np.nan)
    low, high = wilson_interval(lost_n, np.nan_to_num(entered))
    return pd.DataFrame(
        {
            "job": names,
            "stages": [[s for s in order if job_of[s] == j] for j in names],
            "entered": entered,
            "lost": lost_n,
            "lost_share": lost_n / total_lost if total_lost else np.nan,
            "loss_rate": rate,
            "loss_ci_low": low,
            "loss_ci_high": high,
            "value_lost": value,
            **days,
        }
    )


def _jobs_dict(view: BuyerJobView) -> dict[str, Any]:
    return {
        "source": view.source,
        "stages": records(view.stages),
        "jobs": records(view.jobs),
        "stages_without_buyer_job": list(view.unmapped),
        "stages_without_buyer_verifiable_exit": list(view.unverifiable),
        "notes": list(view.notes),
    }


# --- everything at once -----------------------------------------------------------------------


def analyse_process(
    visits: pd.DataFrame,
    deals: pd.DataFrame,
    order: list[str],
    paths: PathAnalysis,
    as_of: pd.Timestamp,
    *,
    buyer_jobs: BuyerJobMap | dict[str, Any] | None = None,
    buyer_jobs_source: str = "",
    min_deals: int = MIN_DEALS,
    alpha: float = 0.05,
    strata: tuple[np.ndarray, str] | None = None,
) -> ProcessAnalysis:
    """Conformance, the survivorship-safe comparisons, the won deals' graph and paths, and (with
    a ``buyer_jobs`` mapping) the buyer-job view; one replay of the visits for all of them.
    ``strata``: see :func:`compare_deviations`."""
    r = _replay(visits, len(order))
    conf = _conformance(visits, order, r)
    conf.comparisons = _compare(order, r, min_deals, alpha, "fdr_bh", strata)
    notes = []
    if visits.empty:
        notes.append("No stage history: conformance with the official process needs it.")
    view = None
    if buyer_jobs:
        view = buyer_job_view(buyer_jobs, order, visits, deals, as_of, source=buyer_jobs_source)
        notes += view.notes
    return ProcessAnalysis(conf, won_graph(visits, order), won_paths(paths), view, notes)


def _frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
