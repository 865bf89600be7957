"""Segments and drivers: which teams, segments and deal attributes go with winning or losing.

Win rates use closed deals only (won / (won + lost)) with Wilson 95% intervals. An attribute's
groups are compared with a chi-square test of independence on groups with at least
``min_group_size`` closed deals (smaller groups are pooled as ``(other)``). Because many attributes
are screened at once, p-values are adjusted: by default with Benjamini-Hochberg, which keeps the
expected share of false drivers in the significant list at ``alpha`` (right for a screen that
feeds a discussion; pass ``adjust="holm"`` for the stricter family-wise control). Attributes are
ranked by effect size (Cramér's V), significant ones first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

#: Canonical columns a driver analysis looks at (every ``extra_*`` column is added).
DRIVER_COLUMNS: tuple[str, ...] = (
    "owner",
    "manager",
    "segment",
    "region",
    "product",
    "source",
    "deal_type",
    "competitor",
)
BLANK, OTHER = "(blank)", "(other)"
GROUP_COLUMNS: tuple[str, ...] = (
    "attribute",
    "group",
    "deals",
    "won",
    "lost",
    "win_rate",
    "ci_low",
    "ci_high",
    "tested",
)
RANKING_COLUMNS: tuple[str, ...] = (
    "attribute",
    "groups",
    "deals",
    "chi2",
    "dof",
    "p_value",
    "p_adjusted",
    "significant",
    "cramers_v",
    "best_group",
    "best_win_rate",
    "worst_group",
    "worst_win_rate",
    "spread",
)


@dataclass
class DriverAnalysis:
    """Win rates per attribute group and the ranked attributes.

    Attributes:
        groups: ``attribute, group, deals, won, lost, win_rate, ci_low, ci_high, tested`` per group
            (``tested`` is False for groups too small for the test, before pooling).
        ranking: one row per testable attribute, most telling first (see the module docstring).
        overall_win_rate: won / (won + lost) over all closed deals.
        min_group_size, alpha, adjust: the rules used.
    """

    groups: pd.DataFrame
    ranking: pd.DataFrame
    overall_win_rate: float
    min_group_size: int
    alpha: float
    adjust: str = "fdr_bh"


def wilson_interval(
    won: np.ndarray, n: np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``won`` successes out of ``n`` (NaN where ``n`` is 0)."""
    won = np.asarray(won, dtype=float)
    n = np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1)
    low, high = proportion_confint(won, safe, alpha=alpha, method="wilson")
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def driver_columns(opportunities: pd.DataFrame) -> list[str]:
    """The attributes worth testing: canonical driver columns and ``extra_*`` with 2+ values."""
    cols = [c for c in DRIVER_COLUMNS if c in opportunities] + [
        c for c in opportunities.columns if str(c).startswith("extra_")
    ]
    out = []
    for c in cols:
        s = opportunities[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            continue
        if s.nunique(dropna=False) >= 2 and s.notna().any():
            out.append(c)
    return out


def _as_groups(s: pd.Series, max_levels: int) -> pd.Series:
    """Group labels for one attribute: text as is, many-valued numbers in quartiles, blanks named."""
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if numeric and s.nunique() > max_levels:
        bins = pd.qcut(s, 4, duplicates="drop")
        names = [f"{iv.left:g}–{iv.right:g}" for iv in bins.cat.categories]
        return bins.cat.rename_categories(names).astype(object).where(s.notna(), BLANK)
    return s.astype(object).where(s.notna(), BLANK).astype(str)


def analyse_drivers(
    opportunities: pd.DataFrame,
    columns: list[str] | None = None,
    *,
    min_group_size: int = 20,
    alpha: float = 0.05,
    max_levels: int = 10,
    adjust: str = "fdr_bh",
) -> DriverAnalysis:
    """Win rate by group for each attribute, and the attributes ranked by how much groups differ.

    Args:
        opportunities: the canonical opportunities table.
        columns: attributes to look at; default :func:`driver_columns`.
        min_group_size: closed deals a group needs to enter the significance test.
        alpha: significance level after the adjustment.
        adjust: a :func:`statsmodels.stats.multitest.multipletests` method (``fdr_bh``,
            ``holm``, ``bonferroni`` ...) or ``none``.
        max_levels: numeric columns with more distinct values are cut into quartiles.

    Example:
        >>> analyse_drivers(crm.opportunities).ranking[["attribute", "p_adjusted"]].head(3)
    """
    closed = opportunities[opportunities["outcome"].astype(str).isin(["won", "lost"])]
    won_flag = (closed["outcome"].astype(str) == "won").to_numpy()
    total = len(closed)
    overall = float(won_flag.mean()) if total else float("nan")
    columns = driver_columns(opportunities) if columns is None else columns
    group_parts, rank_rows = [], []
    for col in columns:
        labels = _as_groups(closed[col], max_levels)
        counts = (
            pd.DataFrame({"group": labels.to_numpy(), "won": won_flag})
            .groupby("group", sort=True)["won"]
            .agg(deals="size", won="sum")
        )
        counts["lost"] = counts["deals"] - counts["won"]
        counts["tested"] = counts["deals"] >= min_group_size
        counts.insert(0, "attribute", col)
        group_parts.append(counts.reset_index())
        rank_rows.append(_test(col, counts, min_group_size))
    groups = (
        pd.concat(group_parts, ignore_index=True)
        if group_parts
        else pd.DataFrame({c: pd.Series(dtype=object) for c in GROUP_COLUMNS})
    )
    low, high = wilson_interval(groups["won"].to_numpy(), groups["deals"].to_numpy(), alpha)
    groups["win_rate"] = groups["won"] / groups["deals"].where(groups["deals"] > 0)
    groups["ci_low"], groups["ci_high"] = low, high
    groups = groups[list(GROUP_COLUMNS)]
    ranking = pd.DataFrame([r for r in rank_rows if r], columns=list(RANKING_COLUMNS))
    if not ranking.empty:
        ranking["p_adjusted"] = (
            ranking["p_value"]
            if adjust == "none"
            else multipletests(ranking["p_value"], method=adjust)[1]
        )
        ranking["significant"] = ranking["p_adjusted"] < alpha
        ranking = ranking.sort_values(
            ["significant", "cramers_v", "attribute"], ascending=[False, False, True], kind="stable"
        ).reset_index(drop=True)
    return DriverAnalysis(groups, ranking, overall, min_group_size, alpha, adjust)


def _test(col: str, counts: pd.DataFrame, min_group_size: int) -> dict | None:
    big = counts[counts["tested"]]
    small = counts[~counts["tested"]]
    table = big[["won", "lost"]]
    if small["deals"].sum() >= min_group_size:
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {"won": [small["won"].sum()], "lost": [small["lost"].sum()]}, index=[OTHER]
                ),
            ]
        )
    if len(table) < 2 or (table.sum(axis=0) == 0).any():
        return None
    chi2, p, dof, _ = chi2_contingency(table.to_numpy(), correction=False)
    n = int(table.to_numpy().sum())
    rate = table["won"] / (table["won"] + table["lost"])
    best, worst = rate.idxmax(), rate.idxmin()
    return {
        "attribute": col,
        "groups": len(table),
        "deals": n,
        "chi2": float(chi2),
        "dof": int(dof),
        "p_value": float(p),
        "p_adjusted": float(p),
        "significant": False,
        "cramers_v": float(np.sqrt(chi2 / n)),
        "best_group": str(best),
        "best_win_rate": float(rate[best]),
        "worst_group": str(worst),
        "worst_win_rate": float(rate[worst]),
        "spread": float(rate[best] - rate[worst]),
    }
