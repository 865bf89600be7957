"""Account growth: do deals on existing accounts win, where do they die, does revenue grow?

A deal is on an *existing account* when its deal type says so (expansion, upsell, cross-sell,
renewal, existing ...) or when its account already had a won deal closed before it was created.

That second rule makes existing-account deals *later* deals: they can only be created after a
first win, so they come from later cohorts, which have had less time to close and may differ in
other ways. Comparing their raw win rate with new business mixes the two questions. The
``comparison`` therefore also compares them *within created quarters* (Cochran-Mantel-Haenszel,
:class:`statsmodels.stats.contingency_tables.StratifiedTable`), using only quarters that can be
read (:func:`sales_rca.pipeline.trend.is_mature`) and in which both kinds have closed deals.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.contingency_tables import StratifiedTable, Table2x2

from sales_rca.display import share
from sales_rca.pipeline.drivers import wilson_interval
from sales_rca.pipeline.stages import ColumnCodes, factorize_text
from sales_rca.pipeline.trend import (
    LOST,
    MATURE_MAX_OPEN_SHARE,
    OPEN,
    WON,
    is_mature,
    outcome_codes,
    quarter_codes,
    quarter_label,
)

_EXISTING_TYPE = re.compile(
    r"expan|up.?sell|cross.?sell|renew|existing|add.?on|extension", re.IGNORECASE
)
KIND_COLUMNS: tuple[str, ...] = (
    "kind",
    "deals",
    "won",
    "lost",
    "open",
    "win_rate",
    "ci_low",
    "ci_high",
)
#: The stratified odds ratio "explains away" the raw difference when its interval holds 1 and
#: it is at most this share of the raw difference (on the log-odds scale): the difference did
#: not just become less certain, it shrank.
EXPLAINED_SHARE = 0.5
#: Verdicts of the existing-vs-new comparison, and whether each makes the raw one an artefact.
VERDICTS: dict[str, bool] = {
    "reversed within quarters": True,
    "explained by when the deals were created": True,
    "holds within quarters": False,
    "unclear within quarters": False,
    "appears within quarters": False,
    "no clear difference": False,
}


@dataclass
class AccountAnalysis:
    """Existing-account deals against new business, and won revenue per account and period.

    Attributes:
        by_kind: ``kind`` (``new`` / ``existing``), deal counts, win rate with Wilson interval
            (all deals: the raw comparison).
        lost_by_stage: ``stage, new, existing``: lost deals per loss stage.
        revenue: ``account, period, won_amount, won_deals`` (won deals with a close date).
        accounts: per account ``deals, won, lost, open, win_rate, won_amount, existing_deals,
            existing_win_rate, periods_with_revenue, first_period, last_period``; biggest first.
        comparison: existing vs new, raw and within created quarters (JSON-ready; see
            :func:`compare_within_quarters`).
    """

    by_kind: pd.DataFrame
    lost_by_stage: pd.DataFrame
    revenue: pd.DataFrame
    accounts: pd.DataFrame
    period: str = "Q"
    notes: list[str] = field(default_factory=list)
    comparison: dict[str, Any] = field(default_factory=dict)


def existing_account_deals(opportunities: pd.DataFrame) -> pd.Series:
    """True for deals on an existing account (deal type, or an earlier won deal on the account)."""
    return pd.Series(
        _existing(
            opportunities, _account_codes(opportunities), outcome_codes(opportunities["outcome"])
        ),
        index=opportunities.index,
    )


def _account_codes(
    opportunities: pd.DataFrame, codes: ColumnCodes | None = None
) -> tuple[np.ndarray, pd.Index] | None:
    if "account" not in opportunities:
        return None
    accounts = opportunities["account"]
    if not (
        pd.api.types.is_object_dtype(accounts.dtype) or isinstance(accounts.dtype, pd.StringDtype)
    ):
        if accounts.isna().all():
            return None
        account_codes, names = pd.factorize(accounts, sort=True)
        return account_codes, pd.Index(names)
    found, names = (
        factorize_text(accounts, sort=True) if codes is None else codes.within("account", sort=True)
    )
    if not len(names):  # no account anywhere
        return None
    if isinstance(accounts.dtype, pd.StringDtype):
        names = pd.array(names, dtype=accounts.dtype)
    return found, pd.Index(names)


def _existing(
    opps: pd.DataFrame,
    accounts: tuple[np.ndarray, pd.Index] | None,
    outcome: np.ndarray,
    codes: ColumnCodes | None = None,
) -> np.ndarray:
    flag = np.zeros(len(opps), dtype=bool)
    if "deal_type" in opps:
        # match each distinct deal type once, not once per deal
        found, types = factorize_text(opps["deal_type"]) if codes is None else codes("deal_type")
        hit = np.array([bool(_EXISTING_TYPE.search(str(t))) for t in types] + [False])
        flag = hit[found]
    if accounts is not None:
        account, names = accounts
        close = opps["close_date"].to_numpy(dtype="datetime64[ns]")
        created = opps["created_date"].to_numpy(dtype="datetime64[ns]")
        won = (outcome == WON) & (account >= 0) & ~np.isnat(close)
        # each account's first won close date (NaT where it has none)
        never = np.iinfo(np.int64).max
        first = np.full(len(names), never, dtype=np.int64)
        np.minimum.at(first, account[won], close[won].view(np.int64))
        first_win = np.where(first == never, np.iinfo(np.int64).min, first).view("datetime64[ns]")
        earlier = np.where(account >= 0, first_win[np.maximum(account, 0)], np.datetime64("NaT"))
        flag = flag | (~np.isnat(earlier) & ~np.isnat(created) & (created > earlier))
    return flag


def analyse_accounts(
    opportunities: pd.DataFrame,
    loss_stage: pd.Series,
    *,
    period: str = "Q",
    codes: ColumnCodes | None = None,
) -> AccountAnalysis:
    """Win rate and loss stages of existing-account deals vs new ones, and revenue per account.

    Args:
        opportunities: the canonical opportunities table.
        loss_stage: loss stage per opportunity (aligned with ``opportunities``), e.g. from the
            x-ray's deals table.
        period: pandas period alias for the revenue table (``Q``, ``M``, ``Y``).
        codes: the opportunities' columns factorized (:class:`.stages.ColumnCodes`), when the
            caller shares them with other analyses.
    """
    notes: list[str] = []
    opps = opportunities
    outcome = outcome_codes(opps["outcome"])
    accounts = _account_codes(opps, codes)
    existing = _existing(opps, accounts, outcome, codes)
    kind = existing.astype(np.int64)  # 0 new, 1 existing
    counts = {
        name: np.bincount(kind[outcome == code], minlength=2)
        for name, code in (("won", WON), ("lost", LOST), ("open", OPEN))
    }
    by_kind = pd.DataFrame({"kind": ["new", "existing"], **counts})
    by_kind.insert(1, "deals", by_kind[["won", "lost", "open"]].sum(axis=1))
    closed = by_kind["won"] + by_kind["lost"]
    by_kind["win_rate"] = by_kind["won"] / closed.where(closed > 0)
    by_kind["ci_low"], by_kind["ci_high"] = wilson_interval(by_kind["won"], closed)
    by_kind = by_kind[list(KIND_COLUMNS)]
    if not existing.any():
        notes.append(
            "No deals on existing accounts were recognised (no expansion/renewal deal type and "
            "no account with an earlier won deal)."
        )

    lost_by_stage = _lost_by_stage(loss_stage, outcome == LOST, kind)
    revenue, revenue_account = _revenue(opps, outcome, accounts, period)
    if revenue.empty:
        notes.append("Revenue per account needs an account and a close date on won deals.")
    summary = _account_summary(opps, outcome, existing, accounts, revenue, revenue_account)
    comparison = compare_within_quarters(opps["created_date"], outcome, existing)
    if existing.any() and (~existing).any():
        notes += comparison.pop("notes")
    else:
        comparison.pop("notes")
    return AccountAnalysis(by_kind, lost_by_stage, revenue, summary, period, notes, comparison)


def _lost_by_stage(loss_stage: pd.Series, lost: np.ndarray, kind: np.ndarray) -> pd.DataFrame:
    if not lost.any():
        return pd.DataFrame(columns=["stage", "new", "existing"])
    stages = pd.Series(loss_stage.to_numpy(dtype=object)[lost]).fillna("(unknown)")
    codes, names = pd.factorize(stages, sort=True)
    k = kind[lost]
    return pd.DataFrame(
        {
            "stage": np.asarray(names, dtype=object),
            "new": np.bincount(codes[k == 0], minlength=len(names)),
            "existing": np.bincount(codes[k == 1], minlength=len(names)),
        }
    )


def _revenue(
    opps: pd.DataFrame,
    outcome: np.ndarray,
    accounts: tuple[np.ndarray, pd.Index] | None,
    period: str,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Won revenue per account and period, and each row's account code."""
    empty = (
        pd.DataFrame(columns=["account", "period", "won_amount", "won_deals"]),
        np.zeros(0, dtype=np.int64),
    )
    if accounts is None:
        return empty
    codes, names = accounts
    won = (outcome == WON) & opps["close_date"].notna().to_numpy() & (codes >= 0)
    if not won.any():
        return empty
    periods = opps["close_date"][won].dt.to_period(period)
    p_codes, p_names = pd.factorize(periods, sort=True)
    frame = pd.DataFrame(
        {"a": codes[won], "p": p_codes, "amount": opps["amount"].to_numpy(dtype=float)[won]}
    )
    g = frame.groupby(["a", "p"], sort=True)["amount"].agg(won_amount="sum", won_deals="size")
    g = g.reset_index()
    # codes come from sorted names, so sorting by code sorts by account, then period
    table = pd.DataFrame(
        {
            "account": names[g["a"].to_numpy()].to_numpy(dtype=object),
            "period": p_names.astype(str).to_numpy(dtype=object)[g["p"].to_numpy()],
            "won_amount": g["won_amount"].to_numpy(),
            "won_deals": g["won_deals"].to_numpy(),
        }
    )
    return table, g["a"].to_numpy()


def _account_summary(
    opps: pd.DataFrame,
    outcome: np.ndarray,
    existing: np.ndarray,
    accounts: tuple[np.ndarray, pd.Index] | None,
    revenue: pd.DataFrame,
    revenue_account: np.ndarray,
) -> pd.DataFrame:
    if accounts is None:
        return pd.DataFrame()
    codes, names = accounts
    has = codes >= 0
    c = codes[has]
    k = len(names)

    def per_account(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        m = mask[has]
        w = None if weights is None else weights[has][m]
        return np.bincount(c[m], weights=w, minlength=k)

    won, lost = outcome == WON, outcome == LOST
    amount = opps["amount"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "deals": np.bincount(c, minlength=k),
            "won": per_account(won),
            "lost": per_account(lost),
            "open": per_account(outcome == OPEN),
            "existing_deals": per_account(existing),
        },
        index=pd.Index(names, name="account"),
    )
    out["win_rate"] = out["won"] / (out["won"] + out["lost"]).where(lambda s: s > 0)
    out["won_amount"] = per_account(won & ~np.isnan(amount), amount)
    ex_won, ex_lost = per_account(existing & won), per_account(existing & lost)
    closed_existing = pd.Series(ex_won + ex_lost, index=out.index)
    out["existing_win_rate"] = ex_won / closed_existing.where(closed_existing > 0)
    if not revenue.empty:
        # revenue is sorted by account, then period: an account's first and last rows
        a = revenue_account
        out["periods_with_revenue"] = np.bincount(a, minlength=k)
        first = np.r_[True, a[1:] != a[:-1]]
        last = np.r_[a[1:] != a[:-1], True]
        for col, rows in (("first_period", first), ("last_period", last)):
            labels = np.full(k, np.nan, dtype=object)
            labels[a[rows]] = revenue["period"].to_numpy()[rows]
            out[col] = labels
    else:
        out["periods_with_revenue"] = 0
        out["first_period"] = None
        out["last_period"] = None
    return out.sort_values(["won_amount", "deals"], ascending=False, kind="stable").reset_index()


# --- existing vs new, within created quarters -------------------------------------------------


def compare_within_quarters(
    created: pd.Series, outcome: np.ndarray | pd.Series, existing: np.ndarray | pd.Series
) -> dict[str, Any]:
    """Existing-account deals vs new business: raw, and within created quarters.

    ``outcome`` is the outcome column (or :func:`.trend.outcome_codes`); ``existing`` the flag of
    :func:`existing_account_deals`. Returns a JSON-ready dict:

    - ``existing_win_rate``, ``new_win_rate``, ``raw_odds_ratio``, ``raw_ci``,
      ``raw_p_value``: the raw comparison over all closed deals (odds of winning, existing over
      new; Woolf interval, 0.5 added to every cell when one is 0).
    - ``strata``: per created quarter used, ``period, existing_won, existing_lost, new_won,
      new_lost, existing_win_rate, new_win_rate``; ``excluded``: ``period, reason`` for the
      quarters left out (not mature, or only one kind has closed deals).
    - ``crude_odds_ratio``: the same strata pooled without stratifying;
      ``mh_odds_ratio``, ``ci`` (Robins-Breslow-Greenland), ``p_value`` (Cochran-Mantel-Haenszel,
      no continuity correction), ``homogeneity_p_value`` (Breslow-Day: does the odds ratio differ
      between quarters?).
    - ``adjusted_existing_win_rate``, ``adjusted_new_win_rate``: the quarters' rates averaged
      with Mantel-Haenszel weights (``n_existing * n_new / n`` per quarter; their difference is
      the Mantel-Haenszel risk difference), so a quarter counts as much as it holds of both.
    - ``cohort_artefact`` (None when no stratum could be used) and ``verdict`` (a key of
      :data:`VERDICTS`), ``notes`` (sentences).
    """
    codes = np.asarray(outcome)
    if codes.dtype.kind not in "iu":
        codes = outcome_codes(pd.Series(outcome))
    existing = np.asarray(existing, dtype=bool)
    won, lost = codes == WON, codes == LOST
    ew, el = int((existing & won).sum()), int((existing & lost).sum())
    nw, nl = int((~existing & won).sum()), int((~existing & lost).sum())
    out: dict[str, Any] = {
        "existing_win_rate": _rate(ew, ew + el),
        "new_win_rate": _rate(nw, nw + nl),
        "mature_max_open_share": MATURE_MAX_OPEN_SHARE,
    }
    raw = _odds(ew, el, nw, nl)
    out.update(
        raw_odds_ratio=_clean(raw[0]),
        raw_ci=[_clean(raw[1]), _clean(raw[2])],
        raw_p_value=_clean(raw[3]),
    )

    q, dated = quarter_codes(created)
    q = q[dated]
    e, w, lo = existing[dated], won[dated], lost[dated]
    strata, excluded, tables = [], [], []
    if len(q):
        q0 = int(q.min())
        size = int(q.max()) - q0 + 1
        idx = q - q0

        def per(mask: np.ndarray) -> np.ndarray:
            return np.bincount(idx[mask], minlength=size)

        created_n = np.bincount(idx, minlength=size)
        open_n = per(codes[dated] == OPEN)
        mature = is_mature(open_n, created_n)
        cells = np.stack([per(e & w), per(e & lo), per(~e & w), per(~e & lo)], axis=1)
        for i in np.flatnonzero(created_n):
            period = quarter_label(q0 + int(i))
            a, b, c, d = (int(x) for x in cells[i])
            if not mature[i]:
                excluded.append({"period": period, "reason": "not mature"})
            elif a + b == 0 or c + d == 0:
                which = "new" if a + b == 0 else "existing"
                excluded.append({"period": period, "reason": f"only {which} deals closed"})
            else:
                tables.append(np.array([[a, b], [c, d]], dtype=float))
                strata.append(
                    {
                        "period": period,
                        "existing_won": a,
                        "existing_lost": b,
                        "new_won": c,
                        "new_lost": d,
                        "existing_win_rate": a / (a + b),
                        "new_win_rate": c / (c + d),
                    }
                )
    out.update(strata=strata, excluded=excluded)
    none = dict.fromkeys(
        (
            "crude_odds_ratio",
            "mh_odds_ratio",
            "p_value",
            "homogeneity_p_value",
            "adjusted_existing_win_rate",
            "adjusted_new_win_rate",
            "cohort_artefact",
            "verdict",
        )
    )
    out.update(none, ci=[None, None], closed_deals_in_strata=0)
    if not tables:
        out["notes"] = [
            "Existing-account and new deals could not be compared within created quarters (no "
            "mature quarter where both kinds have closed deals): the raw win rates mix deals of "
            "different ages."
        ]
        return out
    total = np.sum(tables, axis=0)
    crude = _odds(*(int(x) for x in total.ravel()))
    st = StratifiedTable(tables)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mh = float(st.oddsratio_pooled)
        mh_low, mh_high = (float(x) for x in st.oddsratio_pooled_confint())
        p = float(st.test_null_odds(correction=False).pvalue)
        homogeneity = float(st.test_equal_odds().pvalue) if len(tables) > 1 else float("nan")
    t = np.stack(tables)  # quarter x kind (existing, new) x (won, lost)
    n_kind = t.sum(axis=2)
    rates = t[:, :, 0] / n_kind
    # Mantel-Haenszel weights: a quarter counts as much as it holds of *both* kinds, so a
    # quarter with 4 new deals does not speak for new business
    weight = n_kind[:, 0] * n_kind[:, 1] / n_kind.sum(axis=1)
    adj_e, adj_n = (float(x) for x in (weight @ rates) / weight.sum())
    n = n_kind.sum(axis=1)
    verdict = _verdict(raw, (mh, mh_low, mh_high))
    out.update(
        crude_odds_ratio=_clean(crude[0]),
        mh_odds_ratio=_clean(mh),
        ci=[_clean(mh_low), _clean(mh_high)],
        p_value=_clean(p),
        homogeneity_p_value=_clean(homogeneity),
        adjusted_existing_win_rate=adj_e,
        adjusted_new_win_rate=adj_n,
        closed_deals_in_strata=int(n.sum()),
        verdict=verdict,
        cohort_artefact=VERDICTS[verdict],
    )
    out["notes"] = [_comparison_note(out, strata, verdict)]
    return out


def _verdict(raw: tuple[float, ...], mh: tuple[float, float, float]) -> str:
    r, r_low, r_high = raw[:3]
    m, m_low, m_high = mh
    raw_clear = r_low > 1 or r_high < 1
    mh_clear = m_low > 1 or m_high < 1
    if not all(math.isfinite(x) and x > 0 for x in (r, m)):
        return "unclear within quarters" if raw_clear else "no clear difference"
    if not raw_clear:
        return "appears within quarters" if mh_clear else "no clear difference"
    if mh_clear:
        same = (math.log(r) > 0) == (math.log(m) > 0)
        return "holds within quarters" if same else "reversed within quarters"
    if abs(math.log(m)) <= EXPLAINED_SHARE * abs(math.log(r)) or (math.log(r) > 0) != (
        math.log(m) > 0
    ):
        return "explained by when the deals were created"
    return "unclear within quarters"


def _comparison_note(out: dict[str, Any], strata: list[dict], verdict: str) -> str:
    raw = (
        f"Existing accounts win {share(out['existing_win_rate'])} of closed deals, new business "
        f"{share(out['new_win_rate'])}"
    )
    periods = [s["period"] for s in strata]
    span = ", ".join(periods) if len(periods) <= 6 else f"{periods[0]} to {periods[-1]}, with gaps"
    within = (
        f"comparing deals created in the same quarter ({_quarters(len(periods))} that can be "
        f"read: {span}; {out['closed_deals_in_strata']:,} closed deals), "
        f"{share(out['adjusted_existing_win_rate'])} vs {share(out['adjusted_new_win_rate'])}"
    )  # the odds ratio and its interval stay in the numbers (``comparison``), not the sentence
    tail = {
        "reversed within quarters": "the difference reverses: it is explained by when the "
        "deals were created, and goes the other way once that is taken into account.",
        "explained by when the deals were created": "the difference disappears: it is "
        "explained by when the deals were created.",
        "holds within quarters": "the difference holds.",
        "unclear within quarters": "too few deals remain to tell whether the difference holds.",
        "appears within quarters": "a difference appears that the raw rates hid.",
        "no clear difference": "no clear difference either way.",
    }[verdict]
    return f"{raw}; {within}: {tail}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _quarters(n: int) -> str:
    return "1 quarter" if n == 1 else f"{n} quarters"


def _odds(a: int, b: int, c: int, d: int) -> tuple[float, float, float, float]:
    """Odds ratio (a/b)/(c/d) with its Woolf interval and p-value (NaN when a row is empty)."""
    if a + b == 0 or c + d == 0 or a + c == 0 or b + d == 0:
        return (float("nan"),) * 4
    t = Table2x2(np.array([[a, b], [c, d]], dtype=float))
    with np.errstate(all="ignore"):
        low, high = t.oddsratio_confint()
        return float(t.oddsratio), float(low), float(high), float(t.oddsratio_pvalue())


def _rate(won: int, n: int) -> float | None:
    return won / n if n else None


def _clean(value: float) -> float | None:
    return value if math.isfinite(value) else None
