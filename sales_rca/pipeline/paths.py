"""Paths: the stage sequences deals really take, compared with the official process.

"How customers buy" (the paths won deals take) against "how we sell" (the official stage order):
path variants with win rates, skipped stages, backward moves and the stage-to-stage flows a
Sankey diagram draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sales_rca.pipeline.stages import _group_starts

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
            _frame(["path", "length", "deals", "won", "lost", "open", "win_rate", "share", "official"]),
            _frame(["source", "target", "outcome", "kind", "moves"]),
            _stage_usage(visits, order),
            notes=["No stage history: paths, skipped stages and backward moves need it."],
        )
    row = visits["opp_row"].to_numpy()
    code, names = pd.factorize(visits["stage"])
    names = np.asarray(names, dtype=object)
    step = np.arange(len(row)) - _group_starts(row)
    deal_row, first = np.unique(row, return_index=True)
    outcome = visits["outcome"].to_numpy()[first]

    # one row per deal, one column per step: stage codes + 1 (0 pads shorter paths)
    width = int(step.max()) + 1
    dtype = np.int16 if len(names) < np.iinfo(np.int16).max else np.int32
    deal_of = np.searchsorted(deal_row, row)
    matrix = np.zeros((len(deal_row), width), dtype=dtype)
    matrix[deal_of, step] = code + 1
    uniq, inverse, counts = np.unique(matrix, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    by_outcome = {
        o: np.bincount(inverse[outcome == o], minlength=len(uniq)) for o in ("won", "lost", "open")
    }
    paths = [ARROW.join(names[r[r > 0] - 1]) for r in uniq]
    variants = pd.DataFrame(
        {
            "path": paths,
            "length": (uniq > 0).sum(axis=1),
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

    transitions = _transitions(row, code, names, visits["stage_index"].to_numpy(), outcome, deal_of)
    won_total = int((outcome == "won").sum())
    won_official = int(variants.loc[variants["official"], "won"].sum())
    moves = transitions[transitions["kind"].isin(["skip", "backward"])]
    return PathAnalysis(
        official_path=official_path,
        variants=variants,
        transitions=transitions.drop(columns="_deal").groupby(
            ["source", "target", "outcome", "kind"], as_index=False, sort=False
        )["moves"].sum().sort_values("moves", ascending=False, kind="stable").reset_index(drop=True),
        stage_usage=_stage_usage(visits, order),
        won_on_official_path=won_official / won_total if won_total else float("nan"),
        deals_with_skips=int(moves.loc[moves["kind"] == "skip", "_deal"].nunique()),
        deals_with_backward_moves=int(moves.loc[moves["kind"] == "backward", "_deal"].nunique()),
        deals=len(deal_row),
    )


def _transitions(
    row: np.ndarray,
    code: np.ndarray,
    names: np.ndarray,
    stage_index: np.ndarray,
    deal_outcome: np.ndarray,
    deal_of: np.ndarray,
) -> pd.DataFrame:
    same = row[1:] == row[:-1]
    src, dst = np.flatnonzero(same), np.flatnonzero(same) + 1
    a, b = stage_index[src], stage_index[dst]
    kind = np.select(
        [(a < 0) | (b < 0), b == a + 1, b > a + 1, b < a], ["other", "forward", "skip", "backward"],
        "other",
    )
    moves = pd.DataFrame(
        {
            "source": names[code[src]],
            "target": names[code[dst]],
            "outcome": deal_outcome[deal_of[src]],
            "kind": kind,
            "_deal": deal_of[src],
        }
    )
    last = np.flatnonzero(np.r_[~same, True])
    closing = deal_outcome[deal_of[last]] != "open"
    last = last[closing]
    outcome = deal_outcome[deal_of[last]]
    ends = pd.DataFrame(
        {
            "source": names[code[last]],
            "target": np.where(outcome == "won", WON_NODE, LOST_NODE),
            "outcome": outcome,
            "kind": "close",
            "_deal": deal_of[last],
        }
    )
    out = pd.concat([moves, ends], ignore_index=True)
    out["moves"] = 1
    return out


def _stage_usage(visits: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    usage = pd.DataFrame({"stage": order})
    official = visits[visits["stage_index"] >= 0]
    deal_max = official.groupby("opp_row")["stage_index"].max()
    deal_outcome = official.groupby("opp_row")["outcome"].first()
    entered = official.drop_duplicates(["opp_row", "stage"])
    for outcome in ("won", "lost"):
        deals = deal_outcome[deal_outcome == outcome].index
        got = entered[entered["outcome"] == outcome].groupby("stage_index").size()
        reach = np.bincount(deal_max[deals].to_numpy(), minlength=len(order))
        # deals whose furthest stage lies beyond stage i, minus those that entered stage i
        beyond = reach[::-1].cumsum()[::-1]
        beyond = np.r_[beyond[1:], 0][: len(order)] if len(order) else beyond
        entered_n = got.reindex(range(len(order)), fill_value=0).to_numpy()
        entered_beyond = (
            entered[(entered["outcome"] == outcome)]
            .assign(_max=lambda f: f["opp_row"].map(deal_max))
            .pipe(lambda f: f[f["_max"] > f["stage_index"]])
            .groupby("stage_index")
            .size()
            .reindex(range(len(order)), fill_value=0)
            .to_numpy()
        )
        usage[f"{outcome}_entered"] = entered_n
        usage[f"{outcome}_skipped"] = beyond - entered_beyond
        usage[f"{outcome}_entered_share"] = entered_n / len(deals) if len(deals) else np.nan
    return usage


def _frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
