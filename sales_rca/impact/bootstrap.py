"""The bootstrap behind every interval of :mod:`sales_rca.impact`: resampling opportunities, fast.

Every figure of the funnel model is a ratio of sums over opportunities (deals won, deals that
advanced at a stage, amounts won, days spent in a stage). Resampling opportunities therefore only
needs the sums of each resample, and those are drawn without building any resample:

- Opportunities with the same yes/no columns (won, advanced at a stage, ...) form a *cell*. The
  Poisson bootstrap (each opportunity drawn a Poisson(1) number of times) draws each cell's count
  independently, ``Poisson(n_cell)``: one array of draws x cells. The total varies from draw to
  draw like the inflow of new opportunities does.
- Within a cell, the sums of the numeric columns (amounts, days) are those of ``m`` opportunities
  drawn with replacement from the cell: drawn exactly while that is cheap, and from their normal
  limit (the cell's mean and covariance times ``m``) for cells too large to draw one by one,
  where the central limit theorem makes the two indistinguishable.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Above this many opportunity draws for one cell, its numeric sums come from the normal limit.
EXACT_DRAWS = 2_000_000
#: Cells smaller than this are always drawn exactly (the normal limit needs a large cell).
MIN_NORMAL_CELL = 500


def bootstrap_sums(
    flags: Mapping[str, np.ndarray],
    values: Mapping[str, np.ndarray],
    draws: int,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The column sums of the data and of ``draws`` Poisson-bootstrap resamples of its rows.

    Args:
        flags: yes/no columns, one boolean array per name (one element per opportunity).
        values: numeric columns (NaN is not allowed: put 0 and count the known rows in a flag).
        draws: number of resamples.
        rng: the random generator (a seed gives the same intervals).

    Returns:
        ``(point, resampled)``: per column name, the sum over the data (a 1-element array) and
        the sums of each resample (``draws`` elements).
    """
    names = list(flags)
    n = len(next(iter(flags.values()))) if flags else 0
    if len(names) > 62:
        raise ValueError("at most 62 yes/no columns can form the cells")
    code = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(names):
        code |= np.asarray(flags[name], dtype=np.int64) << bit
    cells, cell_of, sizes = np.unique(code, return_inverse=True, return_counts=True)
    bits = (cells[:, None] >> np.arange(len(names))[None, :]) & 1  # cells x flags
    counts = rng.poisson(sizes, size=(draws, len(cells))).astype(np.float64)
    point = {name: np.array([float(sizes @ bits[:, j])]) for j, name in enumerate(names)}
    resampled = {name: counts @ bits[:, j].astype(np.float64) for j, name in enumerate(names)}
    if values:
        matrix = np.column_stack([np.asarray(v, dtype=np.float64) for v in values.values()])
        if not np.isfinite(matrix).all():
            raise ValueError("numeric columns must be finite (0 where unknown)")
        sums = _value_sums(matrix, cell_of, sizes, counts, rng)
        total = matrix.sum(axis=0)
        for j, name in enumerate(values):
            point[name] = np.array([total[j]])
            resampled[name] = sums[:, j]
    return point, resampled


def _value_sums(
    matrix: np.ndarray,
    cell_of: np.ndarray,
    sizes: np.ndarray,
    counts: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per draw, the sums of ``matrix``'s columns over the resampled opportunities."""
    draws, q = counts.shape[0], matrix.shape[1]
    out = np.zeros((draws, q))
    order = np.argsort(cell_of, kind="stable")
    starts = np.r_[0, np.cumsum(sizes)]
    for c in range(len(sizes)):
        rows = matrix[order[starts[c] : starts[c + 1]]]
        if not rows.any():
            continue  # a cell without any numeric value (e.g. lost deals): nothing to add
        m = counts[:, c].astype(np.int64)
        size = len(rows)
        if size < MIN_NORMAL_CELL or int(m.sum()) <= EXACT_DRAWS:
            picked = rows[rng.integers(0, size, size=int(m.sum()))]
            draw = np.repeat(np.arange(draws), m)
            for j in range(q):
                out[:, j] += np.bincount(draw, weights=picked[:, j], minlength=draws)
        else:
            mean = rows.mean(axis=0)
            cov = np.atleast_2d(np.cov(rows, rowvar=False))
            # a symmetric square root copes with columns that are constant or tied
            w, v = np.linalg.eigh(cov)
            root = v * np.sqrt(np.clip(w, 0.0, None))
            z = rng.standard_normal((draws, q)) @ root.T
            out += m[:, None] * mean[None, :] + np.sqrt(m)[:, None] * z
    return out


def percentile_interval(
    draws: np.ndarray, level: float = 0.95, max_unknown: float = 0.05
) -> tuple[float, float] | None:
    """The percentile interval of bootstrap ``draws``; ``None`` when more than ``max_unknown`` of
    them could not be computed (too little data for the figure to be known)."""
    draws = np.asarray(draws, dtype=float)
    ok = np.isfinite(draws)
    if not len(draws) or ok.mean() < 1 - max_unknown:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(draws[ok], [tail, 100 - tail])
    return float(lo), float(hi)
