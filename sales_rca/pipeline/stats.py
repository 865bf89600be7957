"""The statistics the x-ray's evidence rests on, each defined once.

Rates get a Wilson interval; small groups get an empirical-Bayes (beta-binomial) estimate that
borrows strength from their siblings; an association between an attribute and winning gets a
bias-corrected Cramér's V; a comparison that may be confounded is re-tested within strata
(Cochran-Mantel-Haenszel, or a likelihood-ratio test of a binomial model for many levels); and a
comparison of units that carry an attribute (managers who coach) is tested at the units' level
with a quasi-binomial model, because deals of one manager are not independent evidence.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.proportion import proportion_confint

#: Bounds on the beta prior's concentration (alpha + beta): at least a couple of pseudo-deals,
#: at most so many that every group is the pooled rate (groups that do not differ at all).
_MIN_CONCENTRATION, _MAX_CONCENTRATION = 2.0, 1e6


def wilson_interval(
    won: np.ndarray, n: np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``won`` successes out of ``n`` (NaN where ``n`` is 0)."""
    won = np.asarray(won, dtype=float)
    n = np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1)
    low, high = proportion_confint(won, safe, alpha=alpha, method="wilson")
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


@dataclass(frozen=True)
class BetaPrior:
    """A beta prior fitted across sibling groups: ``mean`` and ``concentration`` (a + b)."""

    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def concentration(self) -> float:
        return self.a + self.b

    def shrink(self, won: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Posterior mean win rate of each group: ``(won + a) / (n + a + b)``."""
        return (np.asarray(won, float) + self.a) / (np.asarray(n, float) + self.a + self.b)


def beta_binomial_prior(won: np.ndarray, n: np.ndarray) -> BetaPrior:
    """Empirical-Bayes prior for group win rates: the beta-binomial maximum-likelihood fit.

    The prior's mean is the pooled win rate; its concentration (the maximum-likelihood fit of the
    beta-binomial, one parameter, :func:`scipy.optimize.minimize_scalar`) says how much the groups
    really differ beyond chance: when they do not, the concentration is large and every group is
    pulled to the pooled rate; when they do, small groups are pulled most. The likelihood is written
    with :func:`scipy.special.betaln`.
    """
    won = np.asarray(won, float)
    n = np.asarray(n, float)
    keep = n > 0
    won, n = won[keep], n[keep]
    pooled = (won.sum() + 0.5) / (n.sum() + 1.0)
    if len(n) < 2:
        c = _MAX_CONCENTRATION
        return BetaPrior(pooled * c, (1 - pooled) * c)

    lost = n - won
    m = won.sum() / n.sum()
    if m <= 0 or m >= 1:  # nobody won (or lost): every group is at the pooled rate
        c = _MAX_CONCENTRATION
        return BetaPrior(pooled * c, (1 - pooled) * c)

    def nll(log_c: float) -> float:
        # the beta-binomial log-likelihood without its binomial coefficient (no parameter in it)
        c = math.exp(log_c)
        a, b = m * c, (1 - m) * c
        return -float((special.betaln(won + a, lost + b) - special.betaln(a, b)).sum())

    bounds = (math.log(_MIN_CONCENTRATION), math.log(_MAX_CONCENTRATION))
    with np.errstate(all="ignore"):
        fit = optimize.minimize_scalar(nll, bounds=bounds, method="bounded")
    c = math.exp(float(fit.x))
    return BetaPrior(m * c, (1 - m) * c)


def cramers_v(table: np.ndarray, *, bias_corrected: bool = True) -> float:
    """Cramér's V of a contingency table; bias-corrected (Bergsma 2013) by default.

    The plain V grows with the number of levels even when nothing differs; the correction
    subtracts what chance alone gives a table of that shape and size.
    """
    table = np.asarray(table, float)
    n = table.sum()
    r, k = table.shape
    if n <= 1 or r < 2 or k < 2:
        return float("nan")
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    phi2 = chi2 / n
    if not bias_corrected:
        return float(math.sqrt(phi2 / min(r - 1, k - 1)))
    phi2c = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    kc = k - (k - 1) ** 2 / (n - 1)
    denom = min(rc - 1, kc - 1)
    return float(math.sqrt(phi2c / denom)) if denom > 0 else float("nan")


def two_by_two_p(won: float, n: float, won_total: float, n_total: float) -> float:
    """p-value of one group against the rest (Fisher's exact test when a cell is small)."""
    table = np.array([[won, n - won], [won_total - won, (n_total - n) - (won_total - won)]])
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return float("nan")
    expected = stats.contingency.expected_freq(table)
    if expected.min() < 5:
        return float(stats.fisher_exact(table)[1])
    return float(stats.chi2_contingency(table, correction=False)[1])


@dataclass(frozen=True)
class StratifiedTest:
    """An attribute re-tested within the strata of another.

    ``statistic`` is the Cochran-Mantel-Haenszel chi-square with ``dof`` degrees of freedom and
    ``p_value`` its p-value; ``informative`` is False when the attribute hardly varies within the
    strata (nested in them), so the data cannot tell the two apart.
    """

    statistic: float
    dof: int
    p_value: float
    informative: bool


def stratified_test(cells: pd.DataFrame, scores: dict | None = None) -> StratifiedTest:
    """Cochran-Mantel-Haenszel test of an attribute within strata.

    ``cells``: ``stratum, group, won, lost`` (counts). With two groups this is the classic CMH
    test of a common odds ratio of 1 (no continuity correction; the same figure as
    :meth:`statsmodels.stats.contingency_tables.StratifiedTable.test_null_odds`); with more it is
    the general-association CMH statistic on ``groups - 1`` degrees of freedom (Agresti,
    *Categorical Data Analysis*, 7.5). With ``scores`` (ordered groups such as the bands of a
    number: group -> position) the 1-degree CMH trend statistic is computed too and the smaller
    p-value kept, so an ordered effect spread over five bands is not lost in four degrees of
    freedom. Strata where the attribute has one group carry no information and are skipped.
    """
    cells = cells[(cells["won"] + cells["lost"]) > 0]
    total = (cells["won"] + cells["lost"]).sum()
    s_codes, _ = pd.factorize(cells["stratum"])
    g_codes, groups = pd.factorize(cells["group"])
    k, h = len(groups), int(s_codes.max()) + 1 if len(s_codes) else 0
    n = np.zeros((h, k))
    o = np.zeros((h, k))
    np.add.at(n, (s_codes, g_codes), (cells["won"] + cells["lost"]).to_numpy(float))
    np.add.at(o, (s_codes, g_codes), cells["won"].to_numpy(float))
    nh, wh = n.sum(axis=1), o.sum(axis=1)
    use = ((n > 0).sum(axis=1) >= 2) & (nh > 1) & (wh > 0) & (wh < nh)
    share = nh[use].sum() / total if total else 0.0
    if share < 0.2 or k < 2:
        return StratifiedTest(float("nan"), 0, float("nan"), False)
    n, o, nh, wh = n[use], o[use], nh[use], wh[use]
    d = (o - n * (wh / nh)[:, None]).sum(axis=0)
    f = wh * (nh - wh) / (nh**2 * (nh - 1))
    # V = sum_h f_h (n_h diag(n_ih) - n_ih n_ih')
    v = np.einsum("h,hi,ij->ij", f * nh, n, np.eye(k)) - np.einsum("h,hi,hj->ij", f, n, n)
    general = _quadratic(d[:-1], v[:-1, :-1])
    if scores is None or k == 2:
        return general
    sc = np.array([float(scores.get(g, np.nan)) for g in groups])
    if not np.isfinite(sc).all():
        return general
    var = float(sc @ v @ sc)
    if var <= 0:
        return general
    stat = float((sc @ d) ** 2 / var)
    trend = StratifiedTest(stat, 1, float(stats.chi2.sf(stat, 1)), True)
    return trend if trend.p_value < general.p_value else general


def _quadratic(d: np.ndarray, v: np.ndarray) -> StratifiedTest:
    stat = float(d @ np.linalg.pinv(v) @ d)
    dof = int(np.linalg.matrix_rank(v)) if v.size else 0
    if dof == 0:
        return StratifiedTest(float("nan"), 0, float("nan"), False)
    return StratifiedTest(stat, dof, float(stats.chi2.sf(max(stat, 0.0), dof)), True)


@dataclass(frozen=True)
class UnitTest:
    """An attribute compared across the units that carry it (e.g. managers who coach).

    ``units`` is how many units carry the evidence; ``dispersion`` how much more the units'
    win rates vary than deals alone would make them (1 = no more).
    """

    p_value: float
    units: int
    dispersion: float


def unit_level_test(unit_won: np.ndarray, unit_n: np.ndarray, unit_group: np.ndarray) -> UnitTest:
    """Quasi-binomial test of whether units' win rates differ by the group each unit belongs to.

    One row per unit (its won and closed deals, and its group). The binomial GLM's standard errors
    are scaled by the units' Pearson dispersion (never below 1), and the groups are compared with
    an F test on the units' residual degrees of freedom, so 4 managers are 4 pieces of evidence,
    not 2,600 deals.
    """
    unit_won = np.asarray(unit_won, float)
    unit_n = np.asarray(unit_n, float)
    keep = unit_n > 0
    unit_won, unit_n, unit_group = unit_won[keep], unit_n[keep], np.asarray(unit_group)[keep]
    codes, levels = pd.factorize(unit_group)
    units = len(unit_n)
    k = len(levels)
    if k < 2 or units - k < 1:
        return UnitTest(float("nan"), units, float("nan"))
    exog = np.zeros((units, k))
    exog[np.arange(units), codes] = 1.0
    endog = np.column_stack([unit_won, unit_n - unit_won])
    model = GLM(endog, exog, family=Binomial())
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = model.fit(scale="X2")
        dispersion = max(1.0, float(first.scale))
        res = model.fit(scale=dispersion)
        contrast = np.zeros((k - 1, k))
        contrast[:, 0] = -1.0
        contrast[np.arange(k - 1), np.arange(1, k)] = 1.0
        test = res.wald_test(contrast, scalar=True, use_f=True)
    p = float(np.asarray(test.pvalue).squeeze())
    return UnitTest(p, units, dispersion)
