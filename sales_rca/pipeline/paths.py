"""Paths: the stage sequences deals really take, compared with the official process.

"How customers buy" (the paths won deals take) against "how we sell" (the official stage order):
path variants with win rates, skipped stages, backward moves and the stage-to-stage flows a
Sankey diagram draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sales_rca.pipeline.stages import _BINCOUNT_MAX

ARROW = " → "
WON_NODE, LOST_NODE = "Won", "Lost"


@dataclass
class PathAnalysis:
    """Paths of the deals with a stage history.

    Attributes:
        official_path: the official stages joined with arrows.
        variants: ``path, length, deals, won, lost, open, win_rate, share, official``; most
            common first. ``win_rate`` is won / (won + lost).
        transitions: ``source, target, outcome, kind, moves``; ``kind`` is ``forward``, ``skip``,
            ``backward``, ``other`` (a stage outside the official order) or ``close``; the last
            move of a closed deal goes to the ``Won`` or ``Lost`` node.
        stage_usage: per official stage, how many won and lost deals ``entered`` it and how many
            ``skipped`` it (entered a later official stage without entering it).
        won_on_official_path: share of won deals whose path is exactly the official one.
        deals_with_skips / deals_with_backward_moves: deals with at least one such move.
    """

    official_path: str
    variants: pd.DataFrame
    transitions: pd.DataFrame
    stage_usage: pd.DataFrame
    won_on_official_path: float = float("nan")
    deals_with_skips: int = 0
    deals_with_backward_moves: int = 0
    deals: int = 0
    notes: list[str] = field(default_factory=list)


def analyse_paths(visits: pd.DataFrame, order: list[str]) -> PathAnalysis:
    """Path variants, transitions and stage usage from the visits table.

    Args:
        visits: from :func:`sales_rca.pipeline.stages.build_visits` (closing stages excluded).
        order: the official stage order.
    """
    official_path = ARROW.join(order)
    if visits.empty:
        return PathAnalysis(
            official_path,
            _frame(
                ["path", "length", "deals", "won", "lost", "open", "win_rate", "share", "official"]
            ),
            _frame(["source", "target", "outcome", "kind", "moves"]),
            _stage_usage(visits, order),
            notes=["No stage history: paths, skipped stages and backward moves need it."],
        )
    row = visits["opp_row"].to_numpy()
    code, names = pd.factorize(visits["stage"])
    names = np.asarray(names, dtype=object)
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    sizes = np.diff(np.r_[starts, len(row)])
    step = np.arange(len(row)) - np.repeat(starts, sizes)
    deal_row = row[starts]
    outcome = np.asarray(visits["outcome"].to_numpy()[starts], dtype=object)
    # each deal's outcome as a code, compared once: 0 won, 1 lost, 2 open (or anything else)
    out_code = np.select([outcome == "won", outcome == "lost"], [0, 1], 2)
    is_open = outcome == "open"
    deal_of = np.repeat(np.arange(len(starts)), sizes)
    uniq_paths, inverse, counts = _unique_paths(code, step, starts, deal_of, len(names))
    by_outcome = {
        o: np.bincount(inverse[mask], minlength=len(uniq_paths))
        for o, mask in (("won", out_code == 0), ("lost", out_code == 1), ("open", is_open))
    }
    paths = [ARROW.join(names[np.asarray(p, dtype=np.int64)]) for p in uniq_paths]
    variants = pd.DataFrame(
        {
            "path": paths,
            "length": [len(p) for p in uniq_paths],
            "deals": counts,
            "won": by_outcome["won"],
            "lost": by_outcome["lost"],
            "open": by_outcome["open"],
        }
    )
    closed = variants["won"] + variants["lost"]
    variants["win_rate"] = variants["won"] / closed.where(closed > 0)
    variants["share"] = variants["deals"] / len(deal_row)
    variants["official"] = variants["path"] == official_path
    variants = variants.sort_values(["deals", "won", "path"], ascending=[False, False, True])
    variants = variants.reset_index(drop=True)

    transitions, skips, backs = _transitions(
        row, code, names, visits["stage_index"].to_numpy(), out_code, deal_of
    )
    won_total = int((out_code == 0).sum())
    won_official = int(variants.loc[variants["official"], "won"].sum())
    return PathAnalysis(
        official_path=official_path,
        variants=variants,
        transitions=transitions,
        stage_usage=_stage_usage(visits, order),
        won_on_official_path=won_official / won_total if won_total else float("nan"),
        deals_with_skips=skips,
        deals_with_backward_moves=backs,
        deals=len(deal_row),
    )


def _unique_paths(
    code: np.ndarray, step: np.ndarray, starts: np.ndarray, deal_of: np.ndarray, k: int
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """Distinct stage sequences, each deal's sequence number and the deals per sequence."""
    bits = max(1, int(k).bit_length())  # codes + 1 fit in ``bits`` bits (0 marks "no stage")
    width = int(step.max()) + 1
    if bits * width <= 62:
        # a path packs into one integer: stage code + 1 at bit offset step × bits
        packed = (code.astype(np.int64) + 1) << (step.astype(np.int64) * bits)
        keys = np.add.reduceat(packed, starts)
        uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        mask = (1 << bits) - 1
        decoded = []
        for key in uniq.tolist():
            seq = []
            while key:
                seq.append((key & mask) - 1)
                key >>= bits
            decoded.append(tuple(seq))
        return decoded, inverse.ravel(), counts
    # long paths: one row per deal, one column per step (0 pads shorter paths)
    matrix = np.zeros((len(starts), width), dtype=np.int32)
    matrix[deal_of, step] = code + 1
    uniq, inverse, counts = np.unique(matrix, axis=0, return_inverse=True, return_counts=True)
    return [tuple(r[r > 0] - 1) for r in uniq], inverse.ravel(), counts


def _transitions(
    row: np.ndarray,
    code: np.ndarray,
    names: np.ndarray,
    stage_index: np.ndarray,
    out_code: np.ndarray,
    deal_of: np.ndarray,
) -> tuple[pd.DataFrame, int, int]:
    """Moves counted per source, target, outcome and kind; and the deals that skip / go back.

    ``out_code`` is each deal's outcome: 0 won, 1 lost, 2 open (or anything else)."""
    outcomes = np.array(["won", "lost", "open"], dtype=object)
    kinds = np.array(["forward", "skip", "backward", "other", "close"], dtype=object)
    same = row[1:] == row[:-1]
    src = np.flatnonzero(same)
    dst = src + 1
    a, b = stage_index[src], stage_index[dst]
    kind = np.select([(a < 0) | (b < 0), b == a + 1, b > a + 1, b < a], [3, 0, 1, 2], 3)
    last = np.flatnonzero(np.r_[~same, True])
    last = last[out_code[deal_of[last]] != 2]
    end_node = len(names) + out_code[deal_of[last]]  # Won / Lost nodes after the stages
    source = np.r_[code[src], code[last]].astype(np.int64)
    target = np.r_[code[dst], end_node].astype(np.int64)
    oc = np.r_[out_code[deal_of[src]], out_code[deal_of[last]]].astype(np.int64)
    kd = np.r_[kind, np.full(len(last), 4)].astype(np.int64)
    n_nodes = len(names) + 2
    key = ((source * n_nodes + target) * 3 + oc) * 5 + kd
    size = n_nodes * n_nodes * 15
    if size <= _BINCOUNT_MAX:  # counting keys is the grouping
        counts = np.bincount(key, minlength=size)
        uniq = np.flatnonzero(counts)
        moves = counts[uniq]
    else:
        found = np.unique(key, return_counts=True)
        uniq, moves = found[0], found[1]
    node_names = np.r_[names, np.array([WON_NODE, LOST_NODE], dtype=object)]
    table = pd.DataFrame(
        {
            "source": node_names[uniq // 5 // 3 // n_nodes],
            "target": node_names[uniq // 5 // 3 % n_nodes],
            "outcome": outcomes[uniq // 5 % 3],
            "kind": kinds[uniq % 5],
            "moves": moves,
        }
    )
    n_deals = int(deal_of[-1]) + 1 if len(deal_of) else 0
    skips = int(np.count_nonzero(np.bincount(deal_of[src[kind == 1]], minlength=n_deals)))
    backs = int(np.count_nonzero(np.bincount(deal_of[src[kind == 2]], minlength=n_deals)))
    table = table.sort_values(["moves", "source", "target"], ascending=[False, True, True])
    return table.reset_index(drop=True), skips, backs


def _stage_usage(visits: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    usage = pd.DataFrame({"stage": order})
    k = len(order)
    sidx = visits["stage_index"].to_numpy()
    official = np.flatnonzero(sidx >= 0)
    row = visits["opp_row"].to_numpy()[official]
    sidx = sidx[official]
    once = visits["last_visit"].to_numpy()[official]  # one visit per deal and stage
    grouped = bool(np.all(row[1:] >= row[:-1]))  # by deal, as build_visits makes it
    if len(row):
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        sizes = np.diff(np.r_[starts, len(row)])
        if grouped:
            deal_max = np.maximum.reduceat(sidx, starts)
            max_of_visit = np.repeat(deal_max, sizes)
        else:
            by_deal = pd.Series(sidx).groupby(row).max()
            deal_max, max_of_visit = by_deal.to_numpy(), by_deal.reindex(row).to_numpy()
        deal_outcome = visits["outcome"].to_numpy()[official[starts]]
    else:
        deal_max, max_of_visit, deal_outcome = np.zeros(0, np.int64), sidx, np.array([])
        sizes = np.zeros(0, dtype=np.int64)
    visit_outcome = None if grouped else visits["outcome"].to_numpy()[official]
    for outcome in ("won", "lost"):
        deals = deal_outcome == outcome
        # a deal's outcome is the same on all its visits: compared once per deal
        of_visit = np.repeat(deals, sizes) if grouped else visit_outcome == outcome
        mine = once & of_visit
        entered_n = np.bincount(sidx[mine], minlength=k)[:k]
        reach = np.bincount(deal_max[deals], minlength=k)[:k]
        beyond = np.r_[reach[::-1].cumsum()[::-1][1:], 0][:k]  # furthest stage lies beyond i
        entered_beyond = np.bincount(sidx[mine & (max_of_visit > sidx)], minlength=k)[:k]
        usage[f"{outcome}_entered"] = entered_n
        usage[f"{outcome}_skipped"] = beyond - entered_beyond
        n = int(deals.sum())
        usage[f"{outcome}_entered_share"] = entered_n / n if n else np.nan
    return usage


def _frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
