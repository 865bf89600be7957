"""Findings from coded losses: stage x category, category by segment / owner / competitor /
quarter, top codes with example texts, and :class:`~sales_rca.findings.Finding` objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from sales_rca.coding.codebook import CATEGORIES, CATEGORY_LABELS
from sales_rca.coding.losses import CodingResult, over_attribution
from sales_rca.findings import Finding

if TYPE_CHECKING:
    from sales_rca.rootcause.plays import Priority

UNKNOWN_STAGE = "(unknown stage)"


def _category_rows(result: CodingResult) -> pd.DataFrame:
    """One row per (deal, category) of coded deals, with the deal's context columns."""
    d = result.deals[result.deals["coded"]].copy()
    d = d.explode("categories").rename(columns={"categories": "category"}).reset_index(drop=True)
    if "loss_stage" in d:
        d["loss_stage"] = d["loss_stage"].astype(object).where(d["loss_stage"].notna(), None)
        d["loss_stage"] = d["loss_stage"].fillna(UNKNOWN_STAGE).astype(str)
    else:
        d["loss_stage"] = UNKNOWN_STAGE
    if "amount" not in d:
        d["amount"] = float("nan")
    return d


def stage_category_matrix(
    result: CodingResult, *, value: str = "count", stages: list[str] | None = None
) -> pd.DataFrame:
    """Loss stage (rows) x category (columns): deal counts (``value="count"``) or lost amount
    (``value="amount"``). A deal with two categories counts in both. ``stages`` fixes row order."""
    rows = _category_rows(result)
    if value == "amount":
        table = rows.pivot_table(
            index="loss_stage", columns="category", values="amount", aggfunc="sum", fill_value=0.0
        )
    else:
        table = pd.crosstab(rows["loss_stage"], rows["category"])
    order = list(stages or [])
    order += [s for s in table.index if s not in order]
    return table.reindex(index=order, columns=list(CATEGORIES), fill_value=0).fillna(0)


def category_breakdown(result: CodingResult, by: str) -> pd.DataFrame:
    """Deals per category (columns) for each value of ``by`` (``segment``, ``owner``,
    ``competitor``, ``region``, ... or ``quarter`` from ``close_date``)."""
    rows = _category_rows(result)
    if by == "quarter":
        if "close_date" not in rows:
            return pd.DataFrame(columns=list(CATEGORIES))
        key = pd.to_datetime(rows["close_date"], errors="coerce").dt.to_period("Q").astype(str)
        key = key.where(key != "NaT", "(no date)")
    elif by in rows:
        key = rows[by].astype(object).where(rows[by].notna(), "(blank)").astype(str)
    else:
        return pd.DataFrame(columns=list(CATEGORIES))
    table = pd.crosstab(key.rename(by), rows["category"])
    return table.reindex(columns=list(CATEGORIES), fill_value=0)


def top_codes(result: CodingResult, n: int = 10, examples: int = 3) -> pd.DataFrame:
    """The ``n`` most frequent codes: ``code, label, category, deals, share, examples``."""
    hits = result.hits
    coded = max(int(result.deals["coded"].sum()), 1)
    counts = hits.groupby("code")["opportunity_id"].nunique().sort_values(ascending=False).head(n)
    texts = result.deals.set_index("opportunity_id")["loss_detail"]
    rows = []
    for code, k in counts.items():
        ids = hits.loc[hits["code"] == code, "opportunity_id"]
        ex = [t for t in texts.reindex(ids).dropna().astype(str) if t.strip()]
        ex = list(dict.fromkeys(ex))[:examples]
        c = result.codebook[code]
        rows.append(
            {
                "code": code,
                "label": c.label,
                "category": c.category,
                "deals": int(k),
                "share": k / coded,
                "examples": ex,
            }
        )
    return pd.DataFrame(rows, columns=["code", "label", "category", "deals", "share", "examples"])


def category_shares(result: CodingResult) -> pd.Series:
    """Share of coded lost deals citing each category (a deal can cite several), largest first, as
    the ``code_share:<category>`` findings of :func:`coding_findings` say; zeros left out."""
    by_category = result.summary(examples=0)["by_category"]
    coded = max(int(result.deals["coded"].sum()), 1)
    shares = pd.Series(by_category, dtype=float) / coded
    return shares[shares > 0].sort_values(ascending=False, kind="stable")


def loss_priorities(result: CodingResult, top: int = 3, *, codes: int = 3) -> list[Priority]:
    """The ``top`` loss categories as the priorities plays are ranked for while the fishbone is
    empty, each weighted by its :func:`category_shares` and with its ``codes`` most frequent codes.
    The app's plays step and the summary both read these (on the demo: buyer, 0.546)."""
    from sales_rca.rootcause.plays import Priority

    ranked = top_codes(result, n=len(result.codebook.codes), examples=0)
    return [
        Priority(
            f"coding:{cat}",
            str(cat),
            tuple(ranked.loc[ranked["category"] == cat, "code"].head(codes)),
            float(weight),
        )
        for cat, weight in category_shares(result).head(top).items()
    ]


def coding_findings(result: CodingResult, *, top: int = 3) -> list[Finding]:
    """Key numbers as findings (source ``coding``): share of coded lost deals per category, the
    most frequent codes, the ``top`` stage x category hot spots and pick-list over-attribution."""
    d = result.deals
    coded = d[d["coded"]]
    n = len(coded)
    out: list[Finding] = []
    if n == 0:
        return out
    for cat in CATEGORIES:
        ids = coded.loc[coded["categories"].map(lambda cs, c=cat: c in cs), "opportunity_id"]
        if ids.empty:
            continue
        share = len(ids) / n
        out.append(
            Finding(
                key=f"code_share:{cat}",
                title=f"{share:.0%} of coded lost deals cite {CATEGORY_LABELS[cat].lower()}",
                metric="code_share",
                value=share,
                unit="share",
                source="coding",
                category=cat,
                opportunity_ids=tuple(ids),
                details={"deals": len(ids), "coded_deals": n},
            )
        )
    for row in top_codes(result, n=5, examples=2).itertuples():
        ids = result.hits.loc[result.hits["code"] == row.code, "opportunity_id"].unique()
        out.append(
            Finding(
                key=f"code_share:{row.code}",
                title=f"{row.share:.0%} of coded lost deals: {row.label.lower()}",
                metric="code_share",
                value=float(row.share),
                unit="share",
                source="coding",
                category=row.category,
                opportunity_ids=tuple(ids),
                details={
                    "code": row.code,
                    "label": row.label,
                    "deals": row.deals,
                    "examples": row.examples,
                },
            )
        )
    counts = stage_category_matrix(result)
    amounts = stage_category_matrix(result, value="amount")
    cells = counts.stack().sort_values(ascending=False)
    rows = _category_rows(result)
    for (stage, cat), k in cells.head(top).items():
        if k <= 0:
            continue
        ids = rows.loc[(rows["loss_stage"] == stage) & (rows["category"] == cat), "opportunity_id"]
        amount = float(amounts.loc[stage, cat])
        out.append(
            Finding(
                key=f"stage_category:{stage}:{cat}",
                title=f"{int(k)} deals lost at {stage} for {CATEGORY_LABELS[cat].lower()} reasons",
                metric="lost_here",
                value=float(k),
                unit="deals",
                source="coding",
                stage=None if stage == UNKNOWN_STAGE else stage,
                category=cat,
                opportunity_ids=tuple(ids.unique()),
                details={"lost_amount": amount},
            )
        )
    over = over_attribution(result)
    for cat, r in over.iterrows():
        if r["picklist"] >= 5 and r["over_attribution_rate"] >= 0.5:
            out.append(
                Finding(
                    key=f"over_attribution:{cat}",
                    title=(
                        f"Pick-list says {CATEGORY_LABELS[cat].lower()} on {int(r['picklist'])} "
                        f"deals; the notes agree on only {int(r['confirmed'])}"
                    ),
                    metric="over_attribution",
                    value=float(r["over_attribution_rate"]),
                    unit="share",
                    source="coding",
                    category=str(cat),
                    details={k: int(r[k]) for k in ("picklist", "confirmed", "over_attributed")},
                )
            )
    return out
