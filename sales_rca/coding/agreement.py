"""Agreement between coders: Cohen's kappa, Krippendorff's alpha, percent agreement, disagreements.

Each unit (a lost deal) carries a *set* of categories. The overall statistics treat the set as one
nominal value (``"buyer;price"``; an uncoded deal is the value ``"(none)"``), so they reward exact
agreement; ``per_category`` gives a binary (present / absent) Cohen's kappa for each category,
which is where partial agreement shows.

Thresholds (Krippendorff 2004; Landis & Koch 1977 are more lenient): below 0.6 the coding should
not be used, 0.6-0.8 is the minimum for tentative conclusions, 0.8 and above is good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import krippendorff
import numpy as np
import pandas as pd

from sales_rca.coding.codebook import CATEGORIES

MINIMUM = 0.6
GOOD = 0.8
NONE_VALUE = "(none)"


def rating(value: float) -> str:
    """``good`` (>= 0.8), ``minimum`` (>= 0.6), ``poor`` or ``n/a`` for NaN."""
    if value is None or np.isnan(value):
        return "n/a"
    return "good" if value >= GOOD else "minimum" if value >= MINIMUM else "poor"


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's kappa of two coders' nominal labels (scikit-learn); 1.0 when both are constant and equal."""
    a, b = list(a), list(b)
    if not a:
        return float("nan")
    if len(set(a) | set(b)) == 1:
        return 1.0  # perfect agreement on a single value: kappa is undefined, agreement is total
    # scikit-learn takes seconds to import: load it only when agreement is computed.
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(a, b))


def krippendorff_alpha(reliability: pd.DataFrame | Sequence[Sequence[Any]]) -> float:
    """Krippendorff's alpha (nominal) for coders x units; missing values are None / NaN.

    Values may be any hashable labels; they are mapped to integers for the ``krippendorff``
    package. Returns NaN when fewer than two values are pairable.
    """
    frame = pd.DataFrame(reliability)
    labels = pd.unique(frame.stack().dropna().to_numpy())
    if len(labels) == 0:
        return float("nan")
    if len(labels) == 1:
        return 1.0
    index = {v: float(i) for i, v in enumerate(labels)}
    data = frame.map(lambda v: np.nan if pd.isna(v) else index[v]).to_numpy(dtype=float)
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if not pairable.any():
        return float("nan")
    return float(
        krippendorff.alpha(
            reliability_data=data,
            level_of_measurement="nominal",
            value_domain=sorted(index.values()),
        )
    )


@dataclass
class Agreement:
    """Agreement of two codings (see the module docstring for how sets are compared)."""

    n: int
    kappa: float
    alpha: float
    percent_agreement: float
    per_category: pd.DataFrame
    disagreements: pd.DataFrame = field(repr=False)
    only_in_a: int = 0
    only_in_b: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: n, kappa, alpha, percent_agreement, ratings, per_category, counts."""

        def num(x: float) -> float | None:
            return None if x is None or np.isnan(x) else round(float(x), 4)

        return {
            "n": self.n,
            "kappa": num(self.kappa),
            "alpha": num(self.alpha),
            "percent_agreement": num(self.percent_agreement),
            "kappa_rating": rating(self.kappa),
            "alpha_rating": rating(self.alpha),
            "per_category": {
                c: {"kappa": num(r.kappa), "rating": r.rating, "a": int(r.a), "b": int(r.b)}
                for c, r in self.per_category.iterrows()
            },
            "disagreements": len(self.disagreements),
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
        }


def _set_value(cats: Sequence[str]) -> str:
    return ";".join(sorted(cats)) if cats else NONE_VALUE


def agreement(a: pd.DataFrame, b: pd.DataFrame, *, on: str = "categories") -> Agreement:
    """Compare two codings with ``opportunity_id`` and ``on`` (tuples, e.g. from
    :func:`~sales_rca.coding.overrides.read_coding_csv`).

    Kappa, percent agreement and per-category kappa use the deals coded in both; alpha also counts
    deals coded by one coder only (as missing for the other).
    """
    left = a[["opportunity_id", on]].drop_duplicates("opportunity_id").set_index("opportunity_id")
    right = b[["opportunity_id", on]].drop_duplicates("opportunity_id").set_index("opportunity_id")
    both = left.join(right, how="inner", lsuffix="_a", rsuffix="_b")
    va = both[f"{on}_a"].map(_set_value)
    vb = both[f"{on}_b"].map(_set_value)
    allunits = left.join(right, how="outer", lsuffix="_a", rsuffix="_b")
    rel = pd.DataFrame(
        [
            allunits[f"{on}_a"].map(lambda v: None if not isinstance(v, tuple) else _set_value(v)),
            allunits[f"{on}_b"].map(lambda v: None if not isinstance(v, tuple) else _set_value(v)),
        ]
    )
    values = sorted(
        {c for cs in both[f"{on}_a"] for c in cs} | {c for cs in both[f"{on}_b"] for c in cs}
    )
    order = [c for c in CATEGORIES if c in values] + [c for c in values if c not in CATEGORIES]
    key = "category" if on == "categories" else "code"
    rows = []
    for c in order:
        xa = both[f"{on}_a"].map(lambda cs, c=c: c in cs)
        xb = both[f"{on}_b"].map(lambda cs, c=c: c in cs)
        k = cohen_kappa(xa.tolist(), xb.tolist())
        rows.append(
            {key: c, "kappa": k, "rating": rating(k), "a": int(xa.sum()), "b": int(xb.sum())}
        )
    per = pd.DataFrame(rows, columns=[key, "kappa", "rating", "a", "b"]).set_index(key)
    diff = va != vb
    disagreements = pd.DataFrame(
        {"a": both.loc[diff, f"{on}_a"], "b": both.loc[diff, f"{on}_b"]}
    ).reset_index()
    return Agreement(
        n=len(both),
        kappa=cohen_kappa(va.tolist(), vb.tolist()) if len(both) else float("nan"),
        alpha=krippendorff_alpha(rel),
        percent_agreement=float((~diff).mean()) if len(both) else float("nan"),
        per_category=per,
        disagreements=disagreements,
        only_in_a=int(len(left) - len(both)),
        only_in_b=int(len(right) - len(both)),
    )
