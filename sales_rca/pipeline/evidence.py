"""The x-ray's findings: one per fact, in plain words, ranked by what is at stake and how sure we are.

Every finding is a :class:`~sales_rca.findings.Finding` with a ``kind``:

- ``stage``: where deals die and wait, one finding per stage holding its three numbers (lost
  there, conversion with its interval, median days in it);
- ``stall`` / ``hygiene``: open deals sitting too long; dead deals and past-due close dates;
- ``driver``: an attribute whose groups win differently, stated as its worst group against its
  best (only attributes that pass the tests of :mod:`.drivers`; a lead resting on too few managers
  or territories is stated as such, with a caution);
- ``trend``: what changed over time;
- ``path``: how won deals moved through the official process;
- ``process``: the strongest fact about following the official process (:mod:`.conformance`):
  a deviation whose deals win clearly differently from deals that reached the same point, else
  the stages with no buyer job or no exit criterion the buyer can verify (background);
- ``overall``: the win rate, for context.

Ranking: first the strength of the evidence (``strong`` before ``caution``; context last), then
the value at stake: money when the export has amounts, else deals at stake (a stage's losses
beyond a typical stage's, a driver's expected extra wins, the deals stalled). Two attributes that are
largely the same deals (bias-corrected Cramér's V between them at least :data:`SAME_FACT_V`)
give one finding, not two.
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sales_rca import people
from sales_rca.display import counted, known, money, recorded, share, value_text, where_text
from sales_rca.findings import STRENGTH_ORDER, Finding
from sales_rca.pipeline.accounts import existing_account_deals
from sales_rca.pipeline.drivers import BLANK
from sales_rca.pipeline.leakage import attribute_name
from sales_rca.pipeline.stats import cramers_v, two_by_two_p, wilson_interval

if TYPE_CHECKING:
    from sales_rca.pipeline.xray import XRay

#: Two attributes this associated (bias-corrected V over closed deals) are one fact.
SAME_FACT_V = 0.7


def findings(
    x: XRay, *, max_ids: int = 1000, top_drivers: int = 5, names: bool = False
) -> list[Finding]:
    """The x-ray's findings, ranked (see the module docstring).

    At most ``max_ids`` opportunity ids are attached to a finding (``deals`` holds the full
    count); at most ``top_drivers`` driver findings are given. A finding about people (owners,
    managers: :func:`sales_rca.people.is_people`) describes them ("the lowest-rate rep's
    deals") unless ``names`` is True; its key is the same either way.
    """
    ids = x.deals["opportunity_id"].astype(str)

    def cite(mask: pd.Series | np.ndarray) -> tuple[tuple[str, ...], int]:
        chosen = ids[np.asarray(mask, dtype=bool)]
        return tuple(chosen.head(max_ids)), len(chosen)

    out: list[Finding] = []
    out += _stage_findings(x, cite)
    out += _stall_findings(x, max_ids)
    out += _past_due_findings(x, max_ids)
    reported: dict[str, tuple[np.ndarray, int]] = {}
    out += _driver_findings(x, cite, top_drivers, reported, names)
    out += _trend_findings(x)
    out += _path_findings(x)
    out += _process_findings(x)
    out += _account_findings(x, [c for c, _ in reported.values()])
    if x.won + x.lost:
        out.append(
            Finding(
                key="win_rate:overall",
                title=f"Win rate {_pct(x.win_rate)} ({x.won:,} won, {x.lost:,} lost)",
                metric="win_rate",
                value=x.win_rate,
                unit="share",
                kind="overall",
                strength="context",
                deals=x.won + x.lost,
                details={
                    "ci_low": x.win_rate_ci[0],
                    "ci_high": x.win_rate_ci[1],
                    "won": x.won,
                    "lost": x.lost,
                    "open": x.open,
                },
            )
        )
    return rank(out)


def rank(items: list[Finding]) -> list[Finding]:
    """Findings ordered by strength of evidence, then value at stake (money, else deals)."""

    def stake(f: Finding) -> float:
        v = f.value_at_stake
        if v is not None and not math.isnan(v):
            return float(v)
        # no money known: the deals at stake decide, below any money
        return float(f.details.get("deals_at_stake", f.deals) or 0) * 1e-9

    return sorted(items, key=lambda f: (STRENGTH_ORDER.get(f.strength, 1), -stake(f)))


# --- stages ---------------------------------------------------------------------------------


def _stage_findings(x: XRay, cite: Any) -> list[Finding]:
    out = []
    table = x.stage_table.set_index("stage")
    lost_deals = (x.deals["outcome"] == "lost").to_numpy()
    lowest = table["conversion"].dropna()
    lowest_stage = lowest.idxmin() if not lowest.empty else None
    slow = table["median_days"].dropna()
    slowest = slow.idxmax() if not slow.empty else None
    stalled = x.stalls.groupby("stage").size() if not x.stalls.empty else pd.Series(dtype=int)
    for stage, row in table.iterrows():
        lost_here = row["lost_here"]
        known_lost = not pd.isna(lost_here) and int(lost_here) > 0
        if not known_lost and stage not in (lowest_stage, slowest):
            continue
        parts = []
        details: dict[str, Any] = {
            "lost_here": None if pd.isna(lost_here) else int(lost_here),
            "value_lost": known(row["value_lost"]),
            "conversion": known(row["conversion"]),
            "conversion_ci": [
                known(row.get("conversion_ci_low")),
                known(row.get("conversion_ci_high")),
            ],
            "median_days": known(row["median_days"]),
            "p75_days": known(row.get("p75_days")),
            "p90_days": known(row.get("p90_days")),
            "lowest_conversion": stage == lowest_stage,
            "longest_wait": stage == slowest,
            "stalled": int(stalled.get(stage, 0)),
        }
        strength, excess = "strong", None
        conv = row["conversion"]
        others = table["conversion"].drop(index=stage).dropna()
        if not pd.isna(conv) and len(others):
            # what is at stake is what this stage loses beyond a typical stage, not all its losses
            typical = float(others.median())
            decided = float(row["advanced"] + row["lost_here"])
            excess = max(0.0, (typical - float(conv)) * decided)
            high = row.get("conversion_ci_high")
            beyond = not pd.isna(high) and float(high) < typical
            strength = "strong" if beyond else "context"
            details["typical_conversion"] = typical
            details["excess_lost"] = excess
            details["deals_at_stake"] = excess
        if known_lost:
            n = int(lost_here)
            lost_value = known(row["value_lost"])
            value = lost_value
            if excess is not None:
                value = excess * lost_value / n if lost_value is not None else None
            parts.append(
                f"{counted(n, 'deal')} lost here"
                + (f" ({_money(lost_value)})" if lost_value is not None else "")
            )
            chosen, count = cite(lost_deals & (x.deals["loss_stage"] == stage).to_numpy())
            metric, val, unit = "lost_here", float(n), "deals"
            details["share_of_lost"] = n / x.lost if x.lost else None
        else:
            chosen, count, value = (), 0, None
            metric, val, unit = (
                ("conversion", float(row["conversion"]), "share")
                if stage == lowest_stage
                else ("median_days", float(row["median_days"]), "days")
            )
        if not pd.isna(row["conversion"]):
            label = "lowest of all stages" if stage == lowest_stage else None
            parts.append(f"{_pct(row['conversion'])} move on" + (f" ({label})" if label else ""))
        if not pd.isna(row["median_days"]):
            label = ", the longest wait" if stage == slowest else ""
            parts.append(f"median {_days(row['median_days'])} in the stage{label}")
        out.append(
            Finding(
                key=f"{metric}:{stage}",
                title=f"{stage}: " + ", ".join(parts),
                metric=metric,
                value=val,
                unit=unit,
                stage=str(stage),
                opportunity_ids=chosen,
                kind="stage",
                strength=strength if (count or 0) >= 10 or not known_lost else "caution",
                deals=count or None,
                value_at_stake=value,
                details=details,
            )
        )
    return out


# --- stalls and hygiene ---------------------------------------------------------------------


def _stall_findings(x: XRay, max_ids: int) -> list[Finding]:
    out: list[Finding] = []
    stalls = x.stalls
    if stalls.empty:
        return out
    status = stalls["status"] if "status" in stalls else pd.Series("slow", index=stalls.index)
    slow = stalls[status == "slow"]
    dead = stalls[status == "dead"]
    hyg = getattr(x, "hygiene", None)
    rule = getattr(hyg, "rule", None)
    share_open = getattr(hyg, "at_risk_share", None)
    if not slow.empty:
        value = _sum(slow["amount"])
        by_stage = slow.groupby("stage", sort=False).size().sort_values(ascending=False)
        where = ", ".join(f"{n} at {s}" for s, n in by_stage.head(3).items())
        tail = ""
        if value is not None:
            tail = f", {_money(value)} at risk"
            if share_open is not None and not math.isnan(share_open):
                tail += f" ({_pct(share_open)} of the open pipeline)"
        out.append(
            Finding(
                key="stalled_value",
                title=f"{counted(len(slow), 'open deal')} stalled ({where}){tail}",
                metric="stalled_value" if value is not None else "stalled_deals",
                value=value if value is not None else float(len(slow)),
                unit="currency" if value is not None else "deals",
                opportunity_ids=tuple(slow["opportunity_id"].astype(str).head(max_ids)),
                kind="stall",
                strength="strong" if len(slow) >= 10 else "caution",
                deals=len(slow),
                value_at_stake=value,
                details={
                    "rule": rule,
                    "by_stage": {str(k): int(v) for k, v in by_stage.items()},
                    "percentile": x.stall_percentile,
                    "at_risk_share": known(share_open),
                },
            )
        )
    if not dead.empty:
        value = _sum(dead["amount"])
        out.append(
            Finding(
                key="hygiene:dead",
                title=(
                    f"{counted(len(dead), 'open deal')} {'looks' if len(dead) == 1 else 'look'} "
                    "dead: open far longer than won deals take"
                    + (f" ({_money(value)} still in the pipeline)" if value is not None else "")
                ),
                metric="dead_deals",
                value=float(len(dead)),
                unit="deals",
                opportunity_ids=tuple(dead["opportunity_id"].astype(str).head(max_ids)),
                kind="hygiene",
                strength="strong" if len(dead) >= 10 else "caution",
                deals=len(dead),
                value_at_stake=value,
                details={"rule": rule},
            )
        )
    return out


def _past_due_findings(x: XRay, max_ids: int) -> list[Finding]:
    due = getattr(x, "past_due", None)
    if due is None or due.empty:
        return []
    value = _sum(due["amount"])
    median = float(due["days_past_due"].median())
    return [
        Finding(
            key="hygiene:past_due",
            title=(
                f"{counted(len(due), 'open deal')} {'has' if len(due) == 1 else 'have'} a close "
                f"date in the past (median {_days(median)} ago)"
                + (f", {_money(value)} in the forecast" if value else "")
            ),
            metric="past_due_deals",
            value=float(len(due)),
            unit="deals",
            opportunity_ids=tuple(due["opportunity_id"].astype(str).head(max_ids)),
            kind="hygiene",
            strength="strong" if len(due) >= 10 else "caution",
            deals=len(due),
            value_at_stake=value,
            details={"median_days_past_due": median},
        )
    ]


# --- drivers --------------------------------------------------------------------------------


def _driver_findings(
    x: XRay, cite: Any, top: int, reported: dict[str, tuple[np.ndarray, int]], names: bool
) -> list[Finding]:
    """Driver findings; ``reported`` collects each reported attribute's codes over closed deals.

    A strong attribute that is the same fact as one already reported joins that finding, unless
    that one is a lead on too few units: a lead stays its own caution finding, never absorbs
    evidence, and is never absorbed."""
    d = x.drivers
    ranking = d.ranking
    if ranking.empty:
        return []
    opps = x.opportunities
    closed = (x.deals["outcome"] != "open").to_numpy()
    won = (x.deals["outcome"] == "won").to_numpy()
    avg_won = known(opps["amount"].where(x.deals["outcome"].to_numpy() == "won").mean())
    out: list[Finding] = []
    strong = 0
    leads: set[str] = set()
    for _, r in ranking.iterrows():
        flags = list(r["flags"])
        few = "few_clusters" in flags
        if r["explained_by"] is not None or "small_sample" in flags:
            continue
        if not (r["significant"] or (few and r["spread"] >= 0.05)):
            continue
        if not few and strong >= top:
            continue
        attr = r["attribute"]
        codes, _names = d.codes(opps.loc[closed], attr)
        same = None
        if not few:  # a lead on too few units is its own claim, never folded into another
            same = next(
                (a for a, (c, _) in reported.items() if a not in leads and _same_fact(codes, c)),
                None,
            )
        if same is not None:
            # one fact, one finding: the second attribute's numbers join the first's
            i = reported[same][1]
            first = out[i]
            g = d.groups[d.groups["attribute"] == attr].set_index("group")
            also = _driver_title(r, g.loc[r["worst_group"]], g.loc[r["best_group"]], names)
            out[i] = replace(
                first,
                title=f"{first.title}; {also[0].lower()}{also[1:]}",
                details={**first.details, "same_fact": [*first.details.get("same_fact", []), attr]},
                figures=f"{first.figures}; {people.plural(_attr_label(attr))}: "
                + _group_figures(g.loc[r["worst_group"]], r),
            )
            continue
        if few:
            leads.add(attr)
        strong += not few
        reported[attr] = (codes, len(out))
        g = d.groups[d.groups["attribute"] == attr].set_index("group")
        worst, best = r["worst_group"], r["best_group"]
        gw, gb = g.loc[worst], g.loc[best]
        labels = d.labels(opps, attr).to_numpy()
        in_group = closed & (labels == worst)
        rest_won, rest_n = won.sum() - gw["won"], closed.sum() - gw["deals"]
        rest_rate = rest_won / max(1, rest_n)
        if worst == best:
            # one group big enough to compare: it is compared with all other deals
            if abs(float(gw["win_rate"]) - rest_rate) < 0.05:
                continue
            gb = _others(gb, rest_won, rest_n)
            if gb["win_rate"] < gw["win_rate"]:
                gw, gb = gb, gw
                in_group = closed & (labels != worst)
            rest_rate = float(gb["win_rate"])
        chosen, count = cite(in_group)
        gap = max(0.0, float(rest_rate - gw["win_rate"]))
        extra_wins = gap * float(gw["deals"])
        value = extra_wins * avg_won if avg_won is not None else None
        title = _driver_title(r, gw, gb, names)
        if few:
            title += _few_units(r)
        hide = people.hidden(attr, names)
        segment = f"{attr}={people.segment_value(attr, worst)}"
        out.append(
            Finding(
                key=f"win_rate:{segment}",
                title=title,
                metric="win_rate",
                value=float(gw["win_rate"]),
                unit="share",
                segment=segment,
                opportunity_ids=chosen,
                kind="driver",
                strength="caution" if few or not gw["significant"] else "strong",
                deals=count,
                value_at_stake=value,
                figures=_group_figures(gw, r),
                details={
                    "attribute": attr,
                    "label": r["label"],
                    "group": None if hide else worst,
                    "where": _where(r, gw, names),
                    "people": people.is_people(attr),
                    "noun": people.noun(attr) if people.is_people(attr) else None,
                    "won": int(gw["won"]),
                    "lost": int(gw["lost"]),
                    "ci_low": known(gw["ci_low"]),
                    "ci_high": known(gw["ci_high"]),
                    "win_rate_adjusted": known(gw["win_rate_adjusted"]),
                    "p_adjusted": known(gw["p_adjusted"]),
                    "best_group": None if hide else best,
                    "best_win_rate": known(gb["win_rate"]),
                    "best_ci": [known(gb["ci_low"]), known(gb["ci_high"])],
                    "effect": known(r["effect"]),
                    "expected_extra_wins": extra_wins,
                    "deals_at_stake": extra_wins,
                    "flags": flags,
                    "unit": r["unit"],
                    "units": known(r["units"]),
                    "rank": "worst",
                },
            )
        )
    return out


def without_names(finding: Finding) -> Finding:
    """``finding`` as it reads with names off: a driver finding about people made with names on
    (a session that showed them) gets its people-safe title back from its numbers; any other
    finding is returned as it is. The summary shows stored findings through this."""
    d = finding.details or {}
    if not d.get("people") or (d.get("group") is None and d.get("best_group") is None):
        return finding
    who = str(d.get("noun") or "person")
    title = (
        f"Win rates differ {people.between(d.get('attribute') or 'owner')}: the lowest-rate "
        f"{who}'s deals win "
        f"{_pct(finding.value)} vs {_pct(d.get('best_win_rate'))} for the highest-rate {who}'s"
    )
    hidden = {"group": None, "best_group": None, "where": f"one {who}'s deals"}
    return replace(finding, title=title, details={**d, **hidden})


def _others(group: pd.Series, won: float, n: float) -> pd.Series:
    """The deals outside ``group``, as a group named ``(others)``."""
    low, high = wilson_interval(np.array([won]), np.array([n]))
    return pd.Series(
        {
            "deals": n,
            "won": won,
            "lost": n - won,
            "win_rate": won / n if n else float("nan"),
            "ci_low": float(low[0]),
            "ci_high": float(high[0]),
            "win_rate_adjusted": float("nan"),
            "p_adjusted": group["p_adjusted"],
            "significant": group["significant"],
        },
        name=OTHERS,
    )


#: The name of "every other deal" when an attribute has one group to compare.
OTHERS = "(others)"


def _attr_label(attribute: str) -> str:
    """The attribute in a sentence; a people attribute by its noun (``rep``, ``manager``)."""
    return people.noun(attribute) if people.is_people(attribute) else attribute_name(attribute)


def _where(r: pd.Series, group: pd.Series, names: bool) -> str:
    """The deals of one group in words: ``deals where deal type is Renewal``, ``deals with
    buying group size 8-12``, ``one rep's deals`` (a person with names off)."""
    attr, value = str(r["attribute"]), str(group.name)
    if value == OTHERS:
        return "all other deals"
    if people.hidden(attr, names):
        return f"one {people.noun(attr)}'s deals"
    if r["kind"] == "numeric" and value != BLANK and recorded(value):
        return f"deals with {attribute_name(attr)} {value}"
    return f"deals where {where_text(attr, None if value == BLANK else value)}".replace(
        "where no ", "with no "
    )


def _driver_title(r: pd.Series, worst: pd.Series, best: pd.Series, names: bool) -> str:
    """``Deals where deal type is New Business win 35% vs 74% where deal type is Renewal``; for
    people with names off ``Win rates differ between reps: the lowest-rate rep's deals win 35%
    vs 58% for the highest-rate rep's``."""
    attr = str(r["attribute"])
    w_rate, b_rate = _pct(worst["win_rate"]), _pct(best["win_rate"])
    if people.hidden(attr, names):
        who = people.noun(attr)
        if OTHERS in (str(worst.name), str(best.name)):
            one = best if str(worst.name) == OTHERS else worst
            rest = worst if one is best else best
            return (
                f"One {who}'s deals win {_pct(one['win_rate'])} vs "
                f"{_pct(rest['win_rate'])} for all other deals"
            )
        return (
            f"Win rates differ {people.between(attr)}: the lowest-rate {who}'s deals win "
            f"{w_rate} vs {b_rate} for the highest-rate {who}'s"
        )
    if OTHERS in (str(worst.name), str(best.name)):
        one = best if str(worst.name) == OTHERS else worst
        rest = worst if one is best else best
        where = _where(r, one, names)
        return f"{where[:1].upper()}{where[1:]} win {_pct(one['win_rate'])} vs " + (
            f"{_pct(rest['win_rate'])} for all other deals"
        )
    first, value = _where(r, worst, names), str(best.name)
    if value == BLANK or not recorded(value):
        second = f"with no {attribute_name(attr)} recorded"
    else:
        second = f"{'with' if r['kind'] == 'numeric' else 'where it is'} {value_text(value)}"
    return f"{first[:1].upper()}{first[1:]} win {w_rate} vs {b_rate} {second}"


def _group_figures(group: pd.Series, r: pd.Series) -> str:
    """The statistics behind a driver finding, for the details (never the title)."""
    parts = [f"{int(group['won'])} won of {int(group['deals'])} closed deals"]
    if not (pd.isna(group.get("ci_low")) or pd.isna(group.get("ci_high"))):
        parts.append(f"95% range {_pct(group['ci_low'])}–{_pct(group['ci_high'])}")
    p = group.get("p_adjusted")
    if p is not None and not pd.isna(p):
        parts.append(f"p adjusted {float(p):.2g}")
    if not pd.isna(r.get("effect")):
        parts.append(f"effect (Cramér's V) {float(r['effect']):.2f}")
    if r.get("unit") is not None and not pd.isna(r.get("units")):
        parts.append(f"tested across {int(r['units'])} {people.plural(_attr_label(r['unit']))}")
    return ", ".join(parts)


def _few_units(r: pd.Series) -> str:
    units = people.plural(_attr_label(str(r["unit"])))
    return f" (only {int(r['units'])} {units} carry this, too few to prove it: a lead to discuss)"


def _same_fact(a: np.ndarray, b: np.ndarray) -> bool:
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return False
    v = cramers_v(table)
    return bool(not math.isnan(v) and v >= SAME_FACT_V)


# --- time, paths, accounts ------------------------------------------------------------------


#: Mature created quarters compared: the latest ``_RECENT`` against all earlier ones.
_RECENT = 2
_MIN_SHIFT = 0.05


def _trend_findings(x: XRay) -> list[Finding]:
    t = getattr(x, "trend", None)
    if t is None or t.empty:
        return []
    out = []
    q = t.by_created_quarter
    mature = q[q["mature"] & (q["won"] + q["lost"] > 0)]
    if len(mature) >= _RECENT + 2:
        recent, before = mature.tail(_RECENT), mature.iloc[:-_RECENT]
        rw, rn = float(recent["won"].sum()), float((recent["won"] + recent["lost"]).sum())
        bw, bn = float(before["won"].sum()), float((before["won"] + before["lost"]).sum())
        p = two_by_two_p(rw, rn, rw + bw, rn + bn)
        now, then = rw / rn, bw / bn
        if p < 0.05 and abs(now - then) >= _MIN_SHIFT:
            verb = "fell" if now < then else "rose"
            avg_won = known(
                x.opportunities["amount"][x.deals["outcome"].to_numpy() == "won"].mean()
            )
            lost_wins = max(0.0, then - now) * rn
            out.append(
                Finding(
                    key="trend:win_rate",
                    title=(
                        f"Win rate {verb} from {_pct(then)} on deals created in "
                        f"{_periods(before['period'])} to {_pct(now)} on deals created in "
                        f"{_periods(recent['period'])}"
                    ),
                    metric="win_rate",
                    value=now,
                    unit="share",
                    kind="trend",
                    strength="strong",
                    deals=int(rn),
                    value_at_stake=lost_wins * avg_won if avg_won is not None else None,
                    figures=f"{int(rw)} won of {int(rn)} recent closed deals, {int(bw)} of "
                    f"{int(bn)} earlier; p {p:.2g}",
                    details={
                        "before": then,
                        "recent": now,
                        "p_value": p,
                        "recent_periods": list(recent["period"]),
                        "earlier_periods": list(before["period"]),
                    },
                )
            )
    qe = t.quarter_end
    if qe is not None and qe.verdict == "bunched":
        out.append(
            Finding(
                key="trend:quarter_end",
                title=(
                    f"{_pct(qe.share)} of won deals close in the last {qe.window_days} days of a "
                    f"quarter, which are {_pct(qe.expected_share)} of the calendar"
                ),
                metric="quarter_end_share",
                value=float(qe.share),
                unit="share",
                kind="trend",
                strength="strong",
                deals=int(qe.won_in_window),
                figures=_figures(ratio=known(qe.ratio), p=known(qe.p_value)),
                details={
                    "expected_share": known(qe.expected_share),
                    "ratio": known(qe.ratio),
                    "p_value": known(qe.p_value),
                    "win_rate_in_window": known(qe.win_rate_in_window),
                    "win_rate_rest": known(qe.win_rate_rest),
                },
            )
        )
    return out


def _path_findings(x: XRay) -> list[Finding]:
    if not x.has_history or math.isnan(x.paths.won_on_official_path):
        return []
    s = x.paths.won_on_official_path
    return [
        Finding(
            key="paths:won_on_official_path",
            title=f"{_pct(s)} of won deals followed the official path",
            metric="path_share",
            value=s,
            unit="share",
            kind="path",
            strength="context",
            deals=x.won,
            details={
                "official_path": x.paths.official_path,
                "deals_with_skips": x.paths.deals_with_skips,
                "deals_with_backward_moves": x.paths.deals_with_backward_moves,
            },
        )
    ]


def _process_findings(x: XRay) -> list[Finding]:
    """One finding at most: the clearest survivorship-safe comparison, else the buyer-job flags."""
    from sales_rca.pipeline.conformance import CLEAR

    process = getattr(x, "process", None)
    if process is None:
        return []
    c = process.conformance
    clear = c.comparisons[c.comparisons["verdict"] == CLEAR] if len(c.comparisons) else None
    if clear is not None and len(clear):
        r = clear.iloc[0]  # most at stake first
        diff = float(r["difference"])
        # the wins the lower group missed, had it won as often as the other
        lower = int(r["deals"] if diff < 0 else r["reference_deals"])
        extra = abs(diff) * lower
        avg_won = known(x.opportunities["amount"][x.deals["outcome"].to_numpy() == "won"].mean())
        return [
            Finding(
                key=f"process:{r['kind']}:{r['stage']}"
                + (f">{r['to_stage']}" if r["to_stage"] else ""),
                title=str(r["sentence"]),
                metric="process_deviation",
                value=float(r["win_rate"]),
                unit="share",
                stage=str(r["stage"]),
                kind="process",
                strength="strong"
                if min(int(r["deals"]), int(r["reference_deals"])) >= 30
                else "caution",
                deals=int(r["deals"]),
                value_at_stake=extra * avg_won if avg_won is not None else None,
                details={
                    "deviation": r["label"],
                    "deviation_kind": r["kind"],
                    "to_stage": r["to_stage"],
                    "reference": r["reference"],
                    "ci": [known(r["ci_low"]), known(r["ci_high"])],
                    "reference_win_rate": known(r["reference_win_rate"]),
                    "reference_ci": [known(r["reference_ci_low"]), known(r["reference_ci_high"])],
                    "reference_deals": int(r["reference_deals"]),
                    "difference": known(diff),
                    "difference_ci": [
                        known(r["difference_ci_low"]),
                        known(r["difference_ci_high"]),
                    ],
                    "p_adjusted": known(r["p_adjusted"]),
                    "raw_other_win_rate": known(r["raw_other_win_rate"]),
                    "share_conforming": known(c.share_conforming),
                    "deals_at_stake": extra,
                },
            )
        ]
    view = process.buyer_jobs
    if view is None or not (view.unmapped or view.unverifiable):
        return []
    blind = list(dict.fromkeys([*view.unmapped, *view.unverifiable]))
    n = len(view.stages)
    return [
        Finding(
            key="process:buyer_jobs",
            title=(
                f"{len(blind)} of {n} stages have no buyer job or no exit criterion the buyer can "
                f"verify ({', '.join(blind[:4])}{', ...' if len(blind) > 4 else ''})"
            ),
            metric="process_stages_unseen_by_buyer",
            value=float(len(blind)),
            unit="stages",
            kind="process",
            strength="context",
            details={"no_buyer_job": list(view.unmapped), "no_buyer_exit": list(view.unverifiable)},
        )
    ]


def _account_findings(x: XRay, reported: list[np.ndarray]) -> list[Finding]:
    """Existing accounts vs new business, unless it is a cohort artefact or a fact already told
    (``reported``: group codes over closed deals of the attributes already in a finding)."""
    kinds = x.accounts.by_kind.set_index("kind")
    if not (kinds["win_rate"].notna().all() and (kinds["deals"] > 0).all()):
        return []
    closed = (x.deals["outcome"] != "open").to_numpy()
    flag = existing_account_deals(x.opportunities).to_numpy()[closed].astype(np.int64)
    if any(_same_fact(flag, codes) for codes in reported):
        return []
    comparison = getattr(x.accounts, "comparison", None) or {}
    if comparison.get("cohort_artefact"):
        return []
    existing = kinds.loc["existing"]
    p = comparison.get("p_value")
    strong = p is not None and not math.isnan(p) and p < 0.05
    return [
        Finding(
            key="win_rate:existing_accounts",
            title=(
                f"Win rate on existing accounts {_pct(existing['win_rate'])} vs "
                f"{_pct(kinds.loc['new', 'win_rate'])} on new business"
            ),
            metric="win_rate",
            value=float(existing["win_rate"]),
            unit="share",
            segment="account=existing",
            kind="driver",
            strength="strong" if strong else "context",
            deals=int(existing["won"] + existing["lost"]),
            figures=_figures(p=p, odds_ratio_within_quarters=comparison.get("mh_odds_ratio"))
            + _range(comparison.get("ci")),
            details={
                "new_win_rate": float(kinds.loc["new", "win_rate"]),
                "existing_deals": int(existing["deals"]),
                "ci_low": float(existing["ci_low"]),
                "ci_high": float(existing["ci_high"]),
                **{k: v for k, v in comparison.items() if k in ("mh_odds_ratio", "p_value")},
            },
        )
    ]


def _figures(**values: Any) -> str:
    """``p 0.003, ratio 1.8``: the named statistics that are known, for a finding's details."""
    return ", ".join(
        f"{name.replace('_', ' ')} {float(v):.2g}"
        for name, v in values.items()
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    )


def _range(ci: Any) -> str:
    """`` (95% range 1.5-2.5)`` of a ratio's interval, ``""`` when unknown."""
    if not ci or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in ci[:2]):
        return ""
    return f" (95% range {float(ci[0]):.2g}–{float(ci[1]):.2g})"


def _periods(periods: pd.Series) -> str:
    """``2024Q4-2025Q3`` for a run of quarters with none left out, else ``2017Q2 and 2017Q4``."""
    p = [pd.Period(v, "Q") for v in periods]
    if len(p) > 2 and all((b - a).n == 1 for a, b in pairwise(p)):
        return f"{p[0]}-{p[-1]}"
    names = [str(v) for v in p]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


# --- wording --------------------------------------------------------------------------------


def _days(value: float) -> str:
    n = round(float(value))
    return "1 day" if n == 1 else f"{n:,} days"


def _pct(value: Any) -> str:
    return share(value, blank="–")


def _money(value: Any) -> str:
    return money(value, blank="value unknown")


def _sum(values: pd.Series) -> float | None:
    """Sum of known amounts; None when none is known (unknown is not 0)."""
    return known(values.sum(min_count=1))
