"""Drivers: which deal attributes go with winning or losing, as a sales-ops statistician reads them.

Win rates use closed deals only (won / (won + lost)).

- **Groups**: text attributes by value; numbers in at most :data:`MAX_BANDS` quantile bands with
  readable labels (``"300-1,500"``), never one group per value. Each group has its win rate with a
  Wilson 95% interval and an empirical-Bayes estimate (beta-binomial prior fitted across the
  attribute's groups), so a group of 21 deals does not look like the truth about anyone.
- **Left out**: attributes that are consequences of the outcome (durations, stage-change counts,
  fields set at close ...) and identifiers, each with its reason (:mod:`.leakage`).
- **Tests**: an attribute compares its groups of at least ``min_group_size`` closed deals with a
  chi-square test; each such group is also tested against the rest. An attribute constant within a
  higher-level unit (coaching per manager, region per territory) is tested at that unit's level
  (quasi-binomial, :func:`.stats.unit_level_test`) and flagged ``few_clusters`` when there are too
  few units to conclude anything. p-values are adjusted across attributes, and across groups,
  with Benjamini-Hochberg by default (``adjust="holm"`` for family-wise control).
- **Effect**: bias-corrected Cramér's V, so many-level attributes do not float up.
- **Confounding**: each significant attribute is re-tested within the strata of every stronger one
  (Cochran-Mantel-Haenszel, :func:`.stats.stratified_test`) and marked ``explained_by`` it when its
  effect disappears there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency
from statsmodels.stats.multitest import multipletests

from sales_rca.jsonsafe import json_value
from sales_rca.pipeline.leakage import attribute_name, excluded_attributes
from sales_rca.pipeline.stages import LOST, WON, ColumnCodes, outcome_codes
from sales_rca.pipeline.stats import (
    beta_binomial_prior,
    cramers_v,
    stratified_test,
    two_by_two_p,
    unit_level_test,
    wilson_interval,
)

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
#: Columns that can be the unit an attribute is assigned at (besides the driver columns).
UNIT_COLUMNS: tuple[str, ...] = ("account", *DRIVER_COLUMNS)
BLANK = "(blank)"
#: Numbers are cut into at most this many quantile bands.
MAX_BANDS = 5
#: Fewer closed deals than this and no attribute is tested at all (a caution instead).
MIN_CLOSED_DEALS = 40
#: An attribute carried by fewer units than this (managers, territories) cannot be concluded on.
MIN_UNITS = 10
#: Share of a unit's deals that must share one value for the attribute to be "the unit's".
_UNIT_PURITY = 0.98
FLAGS = ("outcome_derived", "identifier", "few_clusters", "small_sample", "explained")

GROUP_COLUMNS: tuple[str, ...] = (
    "attribute",
    "group",
    "deals",
    "won",
    "lost",
    "win_rate",
    "ci_low",
    "ci_high",
    "win_rate_adjusted",
    "p_value",
    "p_adjusted",
    "tested",
    "significant",
)
RANKING_COLUMNS: tuple[str, ...] = (
    "attribute",
    "label",
    "kind",
    "rank",
    "groups",
    "deals",
    "chi2",
    "dof",
    "p_value",
    "p_adjusted",
    "significant",
    "effect",
    "cramers_v",
    "best_group",
    "best_win_rate",
    "worst_group",
    "worst_win_rate",
    "spread",
    "explained_by",
    "unit",
    "units",
    "flags",
)
EXCLUDED_COLUMNS: tuple[str, ...] = ("attribute", "label", "kind", "flag", "reason")

__all__ = [
    "DRIVER_COLUMNS",
    "DriverAnalysis",
    "analyse_drivers",
    "band_edges",
    "band_labels",
    "driver_columns",
    "wilson_interval",
]


@dataclass
class DriverAnalysis:
    """Win rates per attribute group and the ranked attributes.

    Attributes:
        groups: one row per attribute group (``GROUP_COLUMNS``): counts, raw win rate with its
            Wilson interval, ``win_rate_adjusted`` (shrunk), and the group-vs-rest test
            (``p_adjusted``, ``significant``; NaN / False for groups below the minimum size,
            which have ``tested`` False).
        ranking: the ranked attributes (``RANKING_COLUMNS``), strongest honest evidence first:
            significant, not explained by a stronger attribute and not on too few units.
            ``flags`` lists ``few_clusters``, ``small_sample``, ``explained``.
        excluded: attributes never ranked, with ``flag`` (``outcome_derived`` / ``identifier``)
            and the ``reason`` a facilitator can read out.
        bands, band_names: the band edges of each numeric attribute and each band's name (to
            label any deal the same way).
        overall_win_rate, min_group_size, alpha, adjust: the rules used.
        notes: what could not be tested and why.
    """

    groups: pd.DataFrame
    ranking: pd.DataFrame
    overall_win_rate: float
    min_group_size: int
    alpha: float
    adjust: str = "fdr_bh"
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(EXCLUDED_COLUMNS))
    )
    bands: dict[str, np.ndarray] = field(default_factory=dict)
    band_names: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def labels(self, opportunities: pd.DataFrame, attribute: str) -> pd.Series:
        """The group of every deal in ``opportunities`` for ``attribute`` (bands for numbers)."""
        return band_labels(
            opportunities[attribute], self.bands.get(attribute), self.band_names.get(attribute)
        )

    def codes(self, opportunities: pd.DataFrame, attribute: str) -> tuple[np.ndarray, list[str]]:
        """Group codes of every deal for ``attribute`` and the group names (see :func:`group_codes`)."""
        return group_codes(
            opportunities[attribute], self.bands.get(attribute), self.band_names.get(attribute)
        )

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON shape of ``sales-rca xray --json``'s ``drivers``: ranked first, then excluded."""
        out = []
        for _, r in self.ranking.iterrows():
            g = self.groups[self.groups["attribute"] == r["attribute"]]
            flags = list(r["flags"])
            out.append(
                {
                    **{k: json_value(r[k]) for k in RANKING_COLUMNS if k != "flags"},
                    "flags": flags,
                    "groups": [
                        {
                            "group": row["group"],
                            "deals": int(row["deals"]),
                            "won": int(row["won"]),
                            "win_rate": json_value(row["win_rate"]),
                            "ci": [json_value(row["ci_low"]), json_value(row["ci_high"])],
                            "win_rate_adjusted": json_value(row["win_rate_adjusted"]),
                            "p_adjusted": json_value(row["p_adjusted"]),
                            "flags": [] if row["tested"] else ["small_sample"],
                        }
                        for _, row in g.iterrows()
                    ],
                }
            )
        for _, r in self.excluded.iterrows():
            out.append(
                {
                    "attribute": r["attribute"],
                    "label": r["label"],
                    "kind": r["kind"],
                    "rank": None,
                    "p_adjusted": None,
                    "effect": None,
                    "explained_by": None,
                    "flags": [r["flag"]],
                    "reason": r["reason"],
                    "groups": [],
                }
            )
        return out


def driver_columns(opportunities: pd.DataFrame, codes: ColumnCodes | None = None) -> list[str]:
    """The attributes worth looking at: canonical driver columns and ``extra_*`` with 2+ values.

    ``codes`` factorizes the columns (the caller's, to share the work)."""
    codes = ColumnCodes(opportunities) if codes is None else codes
    cols = [c for c in DRIVER_COLUMNS if c in opportunities] + [
        c for c in opportunities.columns if str(c).startswith("extra_")
    ]
    out = []
    for c in cols:
        if pd.api.types.is_datetime64_any_dtype(opportunities[c]):
            continue
        values, uniques = codes(c)
        blank = bool((values < 0).any())
        if len(uniques) + blank >= 2 and len(uniques):  # two values (blank counts), one filled
            out.append(c)
    return out


def _fmt_value(v: float) -> str:
    v = float(v)
    if v.is_integer() or abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return f"{v:.2g}"


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def band_edges(values: pd.Series, max_bands: int = MAX_BANDS) -> np.ndarray | None:
    """Quantile band edges of a number (None when it has ``max_bands`` values or fewer)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(float)
    x = x[np.isfinite(x)]
    if len(x) == 0 or len(np.unique(x)) <= max_bands:
        return None
    return np.unique(np.quantile(x, np.linspace(0, 1, max_bands + 1)))


def group_codes(
    values: pd.Series,
    edges: np.ndarray | None = None,
    band_names: list[str] | None = None,
    *,
    fmt: Callable[[float], str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Each value's group as a code into the group names, and the names in reading order.

    Numbers (``edges`` from :func:`band_edges`, or None for few distinct values) are named by the
    smallest and largest value in their band (``"300-1,500"``), or by the value when the band
    holds one, in ascending order; text is sorted by name. Blanks are the last group,
    ``(blank)``. Empty bands are dropped. ``band_names`` (one per band, from the deals the
    bands were cut on) names other deals' bands the same way; ``fmt`` writes a value (default
    ``1,500`` / ``2.5`` / ``0.25``; pass :func:`sales_rca.display.money` for amounts).
    """
    fmt = fmt or _fmt_value
    if _is_number(values):
        x = pd.to_numeric(values, errors="coerce").to_numpy(float)
        ok = np.isfinite(x)
        if edges is None:
            distinct = np.unique(x[ok])
            raw = np.searchsorted(distinct, np.where(ok, x, 0.0)) if len(distinct) else x * 0
            raw = raw.astype(np.int64)
            names = [fmt(v) for v in distinct]
        else:
            raw = np.searchsorted(edges[1:-1], np.where(ok, x, edges[0]), side="left")
            names = list(band_names) if band_names else _band_names(x[ok], raw[ok], edges, fmt)
        raw = np.where(ok, raw, len(names))
        names = [*names, BLANK]
    else:
        return _text_groups(*pd.factorize(values, sort=True))
    return _compact(raw, names)


def _text_groups(raw: np.ndarray, uniques: Any) -> tuple[np.ndarray, list[str]]:
    """:func:`group_codes` of text from its sorted factorization (codes, distinct values)."""
    names = [*(str(u) for u in uniques), BLANK]
    return _compact(np.where(raw < 0, len(names) - 1, raw), names)


def _compact(raw: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes and names without the groups nobody is in."""
    used = np.bincount(raw, minlength=len(names)) > 0
    remap = np.cumsum(used) - 1
    return remap[raw].astype(np.int64), [n for n, u in zip(names, used, strict=True) if u]


def _band_names(
    x: np.ndarray, band: np.ndarray, edges: np.ndarray, fmt: Callable[[float], str] = _fmt_value
) -> list[str]:
    """One name per band: its smallest and largest value (``""`` for an empty band)."""
    k = len(edges) - 1
    lo = np.full(k, np.inf)
    hi = np.full(k, -np.inf)
    np.minimum.at(lo, band, x)
    np.maximum.at(hi, band, x)
    return [
        (fmt(a) if a == b else f"{fmt(a)}-{fmt(b)}") if np.isfinite(a) else ""
        for a, b in zip(lo, hi, strict=True)
    ]


def band_labels(
    values: pd.Series, edges: np.ndarray | None, band_names: list[str] | None = None
) -> pd.Series:
    """Each value's group name (see :func:`group_codes`), aligned with ``values``."""
    codes, names = group_codes(values, edges, band_names)
    return pd.Series(np.asarray(names, dtype=object)[codes], index=values.index)


def analyse_drivers(
    opportunities: pd.DataFrame,
    columns: list[str] | None = None,
    *,
    min_group_size: int = 20,
    alpha: float = 0.05,
    adjust: str = "fdr_bh",
    max_bands: int = MAX_BANDS,
    stage_reached: pd.Series | None = None,
    codes: ColumnCodes | None = None,
) -> DriverAnalysis:
    """Win rate by group for each attribute, and the attributes ranked by honest evidence.

    Args:
        opportunities: the canonical opportunities table.
        columns: attributes to look at; default :func:`driver_columns`.
        min_group_size: closed deals a group needs to be tested (smaller groups keep their shrunk
            estimate and are flagged ``small_sample``).
        alpha: significance level after the adjustment.
        adjust: a :func:`statsmodels.stats.multitest.multipletests` method (``fdr_bh``,
            ``holm``, ``bonferroni`` ...) or ``none``.
        max_bands: numbers are cut into at most this many quantile bands.
        stage_reached: per opportunity, the position of the furthest official stage it reached
            (from the stage history), to recognise counts kept while a deal ran.
        codes: the opportunities' columns factorized (:class:`.stages.ColumnCodes`), when the
            caller shares them with other analyses.

    Example:
        >>> d = analyse_drivers(crm.opportunities)
        >>> d.ranking[["label", "effect", "p_adjusted", "explained_by", "flags"]].head(3)
    """
    codes = ColumnCodes(opportunities) if codes is None else codes
    outcome = outcome_codes(opportunities["outcome"])
    closed_mask = (outcome == WON) | (outcome == LOST)
    won_flag = outcome[closed_mask] == WON
    total = len(won_flag)
    overall = float(won_flag.mean()) if total else float("nan")
    columns = driver_columns(opportunities, codes) if columns is None else columns
    numeric = {c for c in columns if _is_number(opportunities[c])}
    # the closed deals' numbers (text is read from the shared codes)
    closed = opportunities.loc[closed_mask, [c for c in columns if c in numeric]]
    cycle = (opportunities["close_date"] - opportunities["created_date"]) / pd.Timedelta(days=1)
    excluded = excluded_attributes(
        opportunities,
        columns,
        numeric=numeric,
        cycle_days=cycle.where(cycle >= 0),
        stage_reached=stage_reached,
        codes=codes,
    )
    notes: list[str] = []
    small = total < MIN_CLOSED_DEALS
    if small and columns:
        notes.append(
            f"Only {total} closed deals: too few to test any attribute (at least "
            f"{MIN_CLOSED_DEALS} are needed); group win rates are shown with a caution."
        )
    known: dict[str, tuple[np.ndarray, list[str]]] = {}
    bands: dict[str, np.ndarray] = {}
    band_names: dict[str, list[str]] = {}
    group_parts, rows = [], []
    for col in columns:
        if col in excluded or col in numeric:
            continue
        known[col] = _text_groups(*codes.within(col, closed_mask, sort=True))
    units = _unit_candidates(opportunities, closed_mask, columns, known, codes)
    for col in columns:
        if col in excluded:
            continue
        edges = band_edges(closed[col], max_bands) if col in numeric else None
        if edges is not None:
            bands[col] = edges
            x = pd.to_numeric(closed[col], errors="coerce").to_numpy(float)
            x = x[np.isfinite(x)]
            band_names[col] = _band_names(x, np.searchsorted(edges[1:-1], x, side="left"), edges)
        if col not in known:
            known[col] = group_codes(closed[col], edges)
        group, names = known[col]
        k = len(names)
        counts = pd.DataFrame(
            {
                "deals": np.bincount(group, minlength=k),
                "won": np.bincount(group, weights=won_flag, minlength=k).astype(np.int64),
            },
            index=pd.Index(names, name="group"),
        )
        counts["lost"] = counts["deals"] - counts["won"]
        counts["tested"] = (counts["deals"] >= min_group_size) & (not small)
        prior = beta_binomial_prior(counts["won"].to_numpy(), counts["deals"].to_numpy())
        counts["win_rate_adjusted"] = prior.shrink(counts["won"], counts["deals"])
        counts.insert(0, "attribute", col)
        counts = counts.rename_axis("group").reset_index()
        group_parts.append(counts)
        row = _test_attribute(col, counts, group, won_flag, units, min_group_size)
        if row is not None:
            row["kind"] = "numeric" if col in numeric else "category"
            if small:
                row["flags"].append("small_sample")
            rows.append(row)
    groups = (
        pd.concat(group_parts, ignore_index=True)
        if group_parts
        else pd.DataFrame({c: pd.Series(dtype=object) for c in GROUP_COLUMNS})
    )
    low, high = wilson_interval(groups["won"].to_numpy(), groups["deals"].to_numpy(), alpha)
    groups["win_rate"] = groups["won"] / groups["deals"].where(groups["deals"] > 0)
    groups["ci_low"], groups["ci_high"] = low, high
    ranking = pd.DataFrame(rows, columns=[*RANKING_COLUMNS, "_unit", "_codes"])
    groups["p_value"] = np.nan
    groups["p_adjusted"] = np.nan
    groups["significant"] = False
    if not ranking.empty:
        ranking["p_adjusted"] = _adjust(ranking["p_value"].to_numpy(float), adjust)
        ranking["significant"] = ranking["p_adjusted"] < alpha
        groups = _test_groups(groups, ranking, won_flag, units, alpha, adjust)
        ranking = _best_worst(ranking, groups)
        ordered = {
            c: [g for g in groups.loc[groups["attribute"] == c, "group"] if g != BLANK]
            for c in numeric
        }
        ranking = _confounding(ranking, won_flag, known, alpha, ordered)
        honest = ranking["significant"] & ranking["explained_by"].isna()
        honest &= ranking["flags"].map(
            lambda f: "few_clusters" not in f and "small_sample" not in f
        )
        ranking = ranking.assign(_honest=honest).sort_values(
            ["_honest", "significant", "effect", "attribute"],
            ascending=[False, False, False, True],
            kind="stable",
        )
        ranking = ranking.drop(columns="_honest").reset_index(drop=True)
        ranking["rank"] = np.arange(1, len(ranking) + 1)
    excluded_frame = pd.DataFrame(
        [
            {
                "attribute": c,
                "label": attribute_name(c),
                "kind": "numeric" if c in numeric else "category",
                "flag": flag,
                "reason": reason,
            }
            for c, (flag, reason) in excluded.items()
        ],
        columns=list(EXCLUDED_COLUMNS),
    )
    return DriverAnalysis(
        groups=groups[list(GROUP_COLUMNS)],
        ranking=ranking[list(RANKING_COLUMNS)],
        overall_win_rate=overall,
        min_group_size=min_group_size,
        alpha=alpha,
        adjust=adjust,
        excluded=excluded_frame,
        bands=bands,
        band_names=band_names,
        notes=notes,
    )


def _adjust(p: np.ndarray, method: str) -> np.ndarray:
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = p[ok] if method == "none" else multipletests(p[ok], method=method)[1]
    return out


# --- units an attribute is assigned at ------------------------------------------------------


@dataclass
class _Unit:
    name: str
    codes: np.ndarray  # per closed deal, -1 where blank
    levels: int


def _unit_candidates(
    opportunities: pd.DataFrame,
    closed: np.ndarray,
    columns: list[str],
    known: dict[str, tuple[np.ndarray, list[str]]],
    codes: ColumnCodes,
) -> list[_Unit]:
    """Columns that can carry an attribute: text with 3 to n/2 values (blanks are no unit).

    ``known`` holds group codes already computed (:func:`group_codes`, blank last) to reuse.
    """
    names = [c for c in UNIT_COLUMNS if c in opportunities] + [
        c for c in columns if c.startswith("extra_") and not _is_number(opportunities[c])
    ]
    n_closed = int(closed.sum())
    out = []
    for name in dict.fromkeys(names):
        if name in known:
            unit_codes, groups = known[name]
            blank = len(groups) - 1 if groups and groups[-1] == BLANK else -1
            unit_codes = np.where(unit_codes == blank, -1, unit_codes) if blank >= 0 else unit_codes
            levels = len(groups) - (blank >= 0)
        else:
            unit_codes, uniques = codes.within(name, closed)
            levels = len(uniques)
        if 3 <= levels <= max(3, n_closed // 2):
            out.append(_Unit(name, unit_codes, levels))
    return out


#: Rows a unit is first checked on: a unit that mixes values there mixes them in the whole data.
_UNIT_SAMPLE = 20_000


def _purity(u: np.ndarray, a: np.ndarray, levels: int) -> tuple[float, float, int]:
    """Within units of two or more deals: the share of deals on their unit's modal value, the
    share of all deals in such units, and how many such units there are."""
    if len(u) == 0:
        return 0.0, 0.0, 0
    pairs, counts = np.unique(u.astype(np.int64) * levels + a, return_counts=True)
    unit_of = pairs // levels
    starts = np.r_[0, np.flatnonzero(np.diff(unit_of)) + 1]
    size = np.add.reduceat(counts, starts)
    modal = np.maximum.reduceat(counts, starts)
    multi = size >= 2
    inside = int(size[multi].sum())
    return (modal[multi].sum() / inside if inside else 0.0), inside / len(u), int(multi.sum())


def _assignment_unit(
    attribute: str, codes: np.ndarray, levels: int, units: list[_Unit]
) -> _Unit | None:
    """The coarsest unit within which the attribute (almost) never varies, if any."""
    best = None
    sample = (
        np.random.default_rng(0).choice(len(codes), _UNIT_SAMPLE, replace=False)
        if len(codes) > _UNIT_SAMPLE
        else None
    )
    for unit in sorted(units, key=lambda unit: unit.levels):
        if unit.name == attribute or unit.levels <= levels:
            continue
        if best is not None and unit.levels >= best.levels:
            break
        ok = unit.codes >= 0
        if sample is not None:
            s_ok = sample[ok[sample]]
            purity, _, _ = _purity(unit.codes[s_ok], codes[s_ok], levels)
            if purity < _UNIT_PURITY:
                continue
        purity, share, n_units = _purity(unit.codes[ok], codes[ok], levels)
        if share >= 0.8 and n_units > levels and purity >= _UNIT_PURITY:
            best = unit
    return best


def _unit_table(unit: _Unit, codes: np.ndarray, levels: int, won: np.ndarray) -> pd.DataFrame:
    """Per unit: won, closed deals and the attribute value the unit carries (its modal value)."""
    ok = unit.codes >= 0
    u, a, w = unit.codes[ok], codes[ok], won[ok]
    pair = np.bincount(u * levels + a, minlength=unit.levels * levels).reshape(unit.levels, levels)
    n = pair.sum(axis=1)
    return pd.DataFrame(
        {
            "won": np.bincount(u, weights=w.astype(float), minlength=unit.levels),
            "deals": n,
            "group": pair.argmax(axis=1),
        }
    )[n > 0]


# --- tests ----------------------------------------------------------------------------------


def _test_attribute(
    col: str,
    counts: pd.DataFrame,
    codes: np.ndarray,
    won: np.ndarray,
    units: list[_Unit],
    min_group_size: int,
) -> dict[str, Any] | None:
    tested = counts[counts["tested"]]
    table = tested[["won", "lost"]].to_numpy(float)
    small = counts[~counts["tested"] & (counts["group"] != BLANK)]
    if small["deals"].sum() >= min_group_size and len(tested):
        # groups too small alone are pooled for the attribute's test (never shown as a group)
        table = np.vstack([table, small[["won", "lost"]].sum().to_numpy(float)])
    if len(table) < 2 or table[:, 0].sum() == 0 or table[:, 1].sum() == 0 or not len(tested):
        return None
    chi2, p, dof, _ = chi2_contingency(table, correction=False)
    n = int(table.sum())
    flags: list[str] = []
    unit_name, unit_count = None, None
    names = counts["group"].tolist()
    code_of = {g: i for i, g in enumerate(names)}
    unit = _assignment_unit(col, codes, len(names), units)
    if unit is not None:
        per_unit = _unit_table(unit, codes, len(names), won)
        keep = per_unit["group"].isin([code_of[g] for g in tested["group"]])
        per_unit = per_unit[keep]
        res = unit_level_test(per_unit["won"], per_unit["deals"], per_unit["group"])
        p = res.p_value
        unit_name, unit_count = unit.name, res.units
        if res.units < MIN_UNITS or not math.isfinite(p):
            flags.append("few_clusters")
    return {
        "attribute": col,
        "label": attribute_name(col),
        "kind": "category",
        "rank": None,
        "groups": len(table),
        "deals": n,
        "chi2": float(chi2),
        "dof": int(dof),
        "p_value": float(p),
        "p_adjusted": float(p),
        "significant": False,
        "effect": cramers_v(table),
        "cramers_v": cramers_v(table, bias_corrected=False),
        "best_group": None,
        "best_win_rate": np.nan,
        "worst_group": None,
        "worst_win_rate": np.nan,
        "spread": np.nan,
        "explained_by": None,
        "unit": unit_name,
        "units": unit_count,
        "flags": flags,
        "_unit": unit,
        "_codes": codes,
    }


def _test_groups(
    groups: pd.DataFrame,
    ranking: pd.DataFrame,
    won: np.ndarray,
    units: list[_Unit],
    alpha: float,
    adjust: str,
) -> pd.DataFrame:
    """Each tested group against the rest of its attribute (at the unit level when clustered)."""
    groups = groups.copy()
    for _, r in ranking.iterrows():
        idx = groups.index[(groups["attribute"] == r["attribute"]) & groups["tested"]]
        unit, codes = r["_unit"], r["_codes"]
        names = groups.loc[groups["attribute"] == r["attribute"], "group"].tolist()
        n_total, w_total = float(len(won)), float(won.sum())
        per_unit = _unit_table(unit, codes, len(names), won) if unit is not None else None
        for i in idx:
            g = groups.at[i, "group"]
            if per_unit is not None:
                inside = per_unit["group"] == names.index(g)
                groups.at[i, "p_value"] = unit_level_test(
                    per_unit["won"], per_unit["deals"], inside.to_numpy()
                ).p_value
            else:
                groups.at[i, "p_value"] = two_by_two_p(
                    groups.at[i, "won"], groups.at[i, "deals"], w_total, n_total
                )
    tested = groups["p_value"].notna()
    groups.loc[tested, "p_adjusted"] = _adjust(
        groups.loc[tested, "p_value"].to_numpy(float), adjust
    )
    groups["significant"] = (groups["p_adjusted"] < alpha).fillna(False).astype(bool)
    return groups


def _best_worst(ranking: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Best and worst tested group by the shrunk estimate (not the raw extremes)."""
    ranking = ranking.copy()
    for i, r in ranking.iterrows():
        g = groups[(groups["attribute"] == r["attribute"]) & groups["tested"]]
        best = g.loc[g["win_rate_adjusted"].idxmax()]
        worst = g.loc[g["win_rate_adjusted"].idxmin()]
        ranking.at[i, "best_group"] = str(best["group"])
        ranking.at[i, "best_win_rate"] = float(best["win_rate"])
        ranking.at[i, "worst_group"] = str(worst["group"])
        ranking.at[i, "worst_win_rate"] = float(worst["win_rate"])
        ranking.at[i, "spread"] = float(best["win_rate"] - worst["win_rate"])
    return ranking


def _confounding(
    ranking: pd.DataFrame,
    won: np.ndarray,
    codes: dict[str, tuple[np.ndarray, list[str]]],
    alpha: float,
    groups_of: dict[str, list[str]],
) -> pd.DataFrame:
    """Mark an attribute ``explained_by`` a stronger one when its effect vanishes within it.

    ``codes`` holds each attribute's group codes over the closed deals; ``groups_of`` the ordered
    groups of numeric attributes (their bands, for the trend test).
    """
    ranking = ranking.sort_values(
        ["significant", "effect"], ascending=[False, False], kind="stable"
    )
    ranking = ranking.reset_index(drop=True)
    strong: list[str] = []
    for i, r in ranking.iterrows():
        if not r["significant"]:
            continue
        d_codes, d_names = codes[r["attribute"]]
        for s in strong:
            s_codes, s_names = codes[s]
            k = len(d_names)
            cell = s_codes * k + d_codes
            size = len(s_names) * k
            deals = np.bincount(cell, minlength=size)
            wins = np.bincount(cell, weights=won, minlength=size)
            present = np.flatnonzero(deals)
            cells = pd.DataFrame(
                {
                    "stratum": present // k,
                    "group": np.asarray(d_names, dtype=object)[present % k],
                    "won": wins[present],
                    "lost": deals[present] - wins[present],
                }
            )
            order = groups_of.get(r["attribute"])
            test = stratified_test(cells, {g: j for j, g in enumerate(order)} if order else None)
            if test.informative and test.p_value >= alpha:
                ranking.at[i, "explained_by"] = s
                ranking.at[i, "flags"] = [*r["flags"], "explained"]
                break
        if ranking.at[i, "explained_by"] is None and "few_clusters" not in r["flags"]:
            strong.append(r["attribute"])
    return ranking.drop(columns=["_unit", "_codes"])
