"""The pipeline x-ray: every analysis of :mod:`sales_rca.pipeline` in one call, and its findings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sales_rca.crm.data import CrmData
from sales_rca.display import money, share
from sales_rca.errors import PipelineError
from sales_rca.findings import Finding
from sales_rca.pipeline.accounts import AccountAnalysis, analyse_accounts
from sales_rca.pipeline.drivers import DriverAnalysis, _as_groups, analyse_drivers, wilson_interval
from sales_rca.pipeline.paths import PathAnalysis, analyse_paths
from sales_rca.pipeline.stages import (
    NO_DATES,
    StageOrder,
    build_deals,
    build_visits,
    default_as_of,
    official_order,
    stage_table,
)
from sales_rca.pipeline.stalls import stall_thresholds, stalls, survival_curves
from sales_rca.pipeline.velocity import Velocity, velocity

_STALL_EXTRA = ("owner", "account")


@dataclass
class XRay:
    """Everything the x-ray found. Tables are pandas DataFrames; see each analysis for columns.

    Attributes:
        order: the official stage order and its source.
        as_of: the date open deals are measured at (latest date in the data unless given).
        won, lost, open: deal counts; ``win_rate`` is won / (won + lost) with a Wilson interval.
        stage_table: per official stage (:func:`sales_rca.pipeline.stages.stage_table`).
        deals: per opportunity: current stage, days in it, loss stage.
        visits: per stage visit (empty without history).
        stall_thresholds: days per stage after which an open deal counts as stalled.
        stalls, survival, paths, drivers, velocity, accounts: the other analyses.
        notes: what could not be computed, and why, in sentences a facilitator can read out.
    """

    order: StageOrder
    as_of: pd.Timestamp
    has_history: bool
    won: int
    lost: int
    open: int
    win_rate: float
    win_rate_ci: tuple[float, float]
    stage_table: pd.DataFrame
    deals: pd.DataFrame
    visits: pd.DataFrame
    stall_thresholds: pd.Series
    stall_percentile: float
    stalls: pd.DataFrame
    survival: pd.DataFrame
    paths: PathAnalysis
    drivers: DriverAnalysis
    velocity: Velocity
    accounts: AccountAnalysis
    notes: list[str] = field(default_factory=list)
    opportunities: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def stages(self) -> list[str]:
        """The official stage order used."""
        return self.order.stages

    @property
    def stalled_value(self) -> float:
        """Total amount of the stalled open deals (value at risk)."""
        return float(self.stalls["amount"].sum()) if not self.stalls.empty else 0.0

    @property
    def has_dates(self) -> bool:
        """False when the export holds no date at all (the as-of date is then meaningless)."""
        return self.as_of != NO_DATES

    @property
    def as_of_text(self) -> str:
        """The as-of date for people: ``2026-09-30``, or a plain note when there are no dates."""
        return f"{self.as_of:%Y-%m-%d}" if self.has_dates else "— (no dates in the data)"

    def to_dict(self, *, variants: int = 10) -> dict[str, Any]:
        """A JSON-ready summary (the shape ``sales-rca xray --json`` prints)."""
        v = self.velocity
        return {
            "as_of": self.as_of.isoformat() if self.has_dates else None,
            "has_history": self.has_history,
            "stage_order": {"stages": list(self.stages), "source": self.order.source},
            "won": self.won,
            "lost": self.lost,
            "open": self.open,
            "win_rate": _clean(self.win_rate),
            "win_rate_ci": [_clean(x) for x in self.win_rate_ci],
            "stages": records(self.stage_table),
            "stall_percentile": self.stall_percentile,
            "stalled_value": self.stalled_value,
            "stalled": records(
                self.stalls[
                    ["opportunity_id", "stage", "days_in_stage", "threshold_days", "amount"]
                ]
            ),
            "drivers": records(self.drivers.ranking),
            "velocity": {
                "open_deals": v.open_deals,
                "win_rate": _clean(v.win_rate),
                "avg_won_amount": _clean(v.avg_won_amount),
                "avg_cycle_days": _clean(v.avg_cycle_days),
                "per_day": _clean(v.per_day),
                "by": v.by,
                "groups": records(v.by_group),
            },
            "paths": {
                "official_path": self.paths.official_path,
                "deals": self.paths.deals,
                "won_on_official_path": _clean(self.paths.won_on_official_path),
                "deals_with_skips": self.paths.deals_with_skips,
                "deals_with_backward_moves": self.paths.deals_with_backward_moves,
                "variants": records(self.paths.variants.head(variants)),
            },
            "accounts": {
                "by_kind": records(self.accounts.by_kind),
                "lost_by_stage": records(self.accounts.lost_by_stage),
            },
            "notes": list(self.notes),
        }


def xray(
    crm: CrmData,
    stages: list[str] | None = None,
    stall_percentile: float = 0.75,
    *,
    as_of: pd.Timestamp | str | None = None,
    min_group_size: int = 20,
    alpha: float = 0.05,
    velocity_by: str | None = "segment",
    period: str = "Q",
) -> XRay:
    """Take the pipeline x-ray of a CRM export.

    Args:
        crm: the imported CRM data.
        stages: official stage order; default from the mapping, else the history, else names.
        stall_percentile: an open deal is stalled when its days in the current stage exceed this
            percentile of the days won deals spent there.
        as_of: the date open deals are measured at; default the latest date in the data.
        min_group_size: closed deals a group needs to enter the driver significance test.
        alpha: significance level for drivers (after the false-discovery-rate adjustment).
        velocity_by: column to split velocity by.
        period: revenue period per account (``Q``, ``M``, ``Y``).

    Example:
        >>> x = xray(crm, stages=["Qualify", "Needs Analysis", "Proposal"])
        >>> x.stage_table[["stage", "lost_here"]]
    """
    opps = crm.opportunities
    if opps.empty:
        raise PipelineError(
            "The CRM export has no opportunities to x-ray; check the import report "
            "(sales-rca check) for quarantined rows."
        )
    if not 0 < stall_percentile < 1:
        raise PipelineError(
            f"The stall percentile must lie between 0 and 1 (e.g. 0.75), not {stall_percentile}."
        )
    order = official_order(crm, stages)
    as_of = pd.Timestamp(as_of) if as_of is not None else default_as_of(crm)
    notes: list[str] = []
    if order.source == "stage values" and order.stages:
        notes.append(
            "The official stage order was guessed from the stage names; give it with --stages "
            "or in the mapping if it is wrong."
        )
    elif order.source == "default pipeline":
        notes.append(
            "The stage order is the CRM's default pipeline; give your own with --stages or in the "
            "mapping if your team changed it."
        )
    visits, visit_notes = build_visits(crm, order.stages, as_of)
    notes += visit_notes
    has_history = not visits.empty
    deals = build_deals(crm, visits, as_of)
    table = stage_table(visits, deals, order.stages, has_history=has_history)
    outcome = deals["outcome"]
    won, lost, open_ = (int((outcome == o).sum()) for o in ("won", "lost", "open"))
    low, high = wilson_interval(np.array([won]), np.array([won + lost]))
    thresholds = stall_thresholds(visits, order.stages, stall_percentile)
    extra = opps[[c for c in _STALL_EXTRA if c in opps]].reset_index(drop=True)
    stalled = stalls(deals, thresholds, extra=extra)
    survival = survival_curves(visits, order.stages, as_of)
    if has_history:
        no_threshold = [s for s, t in thresholds.items() if pd.isna(t)]
        if no_threshold:
            notes.append(
                "No won deal has left these stages, so their deals cannot be called stalled: "
                f"{', '.join(no_threshold)}."
            )
    else:
        notes.append(
            "No stage history: entered, advanced, conversion, time in stage, stalls, survival "
            "curves and paths need the dates deals entered each stage, and were not computed."
        )
        lost_from_column = deals.loc[deals["outcome"] == "lost", "loss_stage"].notna().sum()
        if lost and not lost_from_column:
            notes.append(
                "No loss stage for lost deals: lost_here is unknown (map a loss-stage column)."
            )
    paths = analyse_paths(visits, order.stages)
    drivers = analyse_drivers(opps, min_group_size=min_group_size, alpha=alpha)
    if drivers.ranking.empty:
        notes.append(
            f"No attribute has two groups with {min_group_size}+ closed deals: no driver "
            "could be tested."
        )
    vel = velocity(opps, by=velocity_by)
    accounts = analyse_accounts(
        opps, pd.Series(deals["loss_stage"].to_numpy(), index=opps.index), period=period
    )
    notes += vel.notes + accounts.notes
    return XRay(
        order=order,
        as_of=as_of,
        has_history=has_history,
        won=won,
        lost=lost,
        open=open_,
        win_rate=won / (won + lost) if won + lost else float("nan"),
        win_rate_ci=(float(low[0]), float(high[0])),
        stage_table=table,
        deals=deals,
        visits=visits,
        stall_thresholds=thresholds,
        stall_percentile=stall_percentile,
        stalls=stalled,
        survival=survival,
        paths=paths,
        drivers=drivers,
        velocity=vel,
        accounts=accounts,
        notes=notes,
        opportunities=opps,
    )


def findings(x: XRay, *, max_ids: int = 1000, top_drivers: int = 3) -> list[Finding]:
    """The x-ray's key numbers as findings a root cause can cite.

    Lost-here per stage (with value lost), the lowest conversion, the longest median time in
    stage, stalled value at risk (overall and per stage), the worst and best group of the
    ``top_drivers`` significant attributes, the share of won deals on the official path, and
    existing-account vs new win rates. At most ``max_ids`` opportunity ids are attached to a
    finding (``details["deals"]`` holds the full count).
    """
    out: list[Finding] = []
    ids = x.deals["opportunity_id"].astype(str)

    def cite(mask: pd.Series | np.ndarray) -> tuple[tuple[str, ...], dict[str, Any]]:
        chosen = ids[np.asarray(mask, dtype=bool)]
        return tuple(chosen.head(max_ids)), {"deals": len(chosen)}

    if x.won + x.lost:
        out.append(
            Finding(
                key="win_rate:overall",
                title=f"Win rate {_pct(x.win_rate)} ({x.won} won, {x.lost} lost)",
                metric="win_rate",
                value=x.win_rate,
                unit="share",
                details={
                    "ci_low": x.win_rate_ci[0],
                    "ci_high": x.win_rate_ci[1],
                    "won": x.won,
                    "lost": x.lost,
                    "open": x.open,
                },
            )
        )
    table = x.stage_table.set_index("stage")
    lost_deals = x.deals["outcome"] == "lost"
    for stage, row in table.iterrows():
        if pd.isna(row["lost_here"]) or int(row["lost_here"]) == 0:
            continue  # unknown (no loss stage anywhere) or nothing lost here
        n = int(row["lost_here"])
        chosen, details = cite(lost_deals & (x.deals["loss_stage"] == stage))
        value = float(row["value_lost"])
        out.append(
            Finding(
                key=f"lost_here:{stage}",
                title=f"{_deals(n)} lost at {stage} ({_money(value)})",
                metric="lost_here",
                value=n,
                unit="deals",
                stage=str(stage),
                opportunity_ids=chosen,
                details={
                    **details,
                    "value_lost": value,
                    "share_of_lost": n / x.lost if x.lost else None,
                },
            )
        )
    conv = table["conversion"].dropna()
    if not conv.empty:
        stage = conv.idxmin()
        row = table.loc[stage]
        chosen, details = cite(lost_deals & (x.deals["loss_stage"] == stage))
        out.append(
            Finding(
                key=f"conversion:{stage}",
                title=(
                    f"Lowest conversion at {stage}: {_pct(row['conversion'])} "
                    f"({int(row['advanced'])} moved on, {int(row['lost_here'])} lost there)"
                ),
                metric="conversion",
                value=float(row["conversion"]),
                unit="share",
                stage=str(stage),
                opportunity_ids=chosen,
                details={
                    **details,
                    "advanced": int(row["advanced"]),
                    "lost_here": int(row["lost_here"]),
                },
            )
        )
    med = table["median_days"].dropna()
    if not med.empty:
        stage = med.idxmax()
        row = table.loc[stage]
        out.append(
            Finding(
                key=f"median_days:{stage}",
                title=f"Deals sit longest at {stage}: median {row['median_days']:.0f} days",
                metric="median_days",
                value=float(row["median_days"]),
                unit="days",
                stage=str(stage),
                details={
                    "p75_days": _clean(row["p75_days"]),
                    "p90_days": _clean(row["p90_days"]),
                    "completed_visits": int(row["completed_visits"]),
                },
            )
        )
    if not x.stalls.empty:
        stalled_ids = x.stalls["opportunity_id"].astype(str)
        out.append(
            Finding(
                key="stalled_value",
                title=f"{_deals(len(x.stalls), 'open deal')} stalled, {_money(x.stalled_value)} at risk",
                metric="stalled_value",
                value=x.stalled_value,
                unit="currency",
                opportunity_ids=tuple(stalled_ids.head(max_ids)),
                details={"deals": len(x.stalls), "percentile": x.stall_percentile},
            )
        )
        for stage, g in x.stalls.groupby("stage", sort=False):
            value = float(g["amount"].sum())
            out.append(
                Finding(
                    key=f"stalled:{stage}",
                    title=(
                        f"{_deals(len(g))} stalled at {stage} beyond "
                        f"{float(g['threshold_days'].iloc[0]):.0f} days ({_money(value)})"
                    ),
                    metric="stalled_value",
                    value=value,
                    unit="currency",
                    stage=str(stage),
                    opportunity_ids=tuple(g["opportunity_id"].astype(str).head(max_ids)),
                    details={"deals": len(g), "threshold_days": float(g["threshold_days"].iloc[0])},
                )
            )
    out += _driver_findings(x, cite, top_drivers)
    if x.has_history and not math.isnan(x.paths.won_on_official_path):
        share = x.paths.won_on_official_path
        out.append(
            Finding(
                key="paths:won_on_official_path",
                title=f"{_pct(share)} of won deals followed the official path",
                metric="path_share",
                value=share,
                unit="share",
                details={
                    "official_path": x.paths.official_path,
                    "deals_with_skips": x.paths.deals_with_skips,
                    "deals_with_backward_moves": x.paths.deals_with_backward_moves,
                },
            )
        )
    kinds = x.accounts.by_kind.set_index("kind")
    if kinds["win_rate"].notna().all() and (kinds["deals"] > 0).all():
        existing = kinds.loc["existing"]
        out.append(
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
                details={
                    "new_win_rate": float(kinds.loc["new", "win_rate"]),
                    "existing_deals": int(existing["deals"]),
                    "ci_low": float(existing["ci_low"]),
                    "ci_high": float(existing["ci_high"]),
                },
            )
        )
    return out


def _driver_findings(x: XRay, cite: Any, top: int) -> list[Finding]:
    out = []
    ranking = x.drivers.ranking
    groups = x.drivers.groups
    for _, r in ranking[ranking["significant"]].head(top).iterrows():
        attr = r["attribute"]
        label = attr.removeprefix("extra_")
        labels = _as_groups(x.opportunities[attr], 10).to_numpy()
        closed = (x.deals["outcome"] != "open").to_numpy()
        for which in ("worst", "best"):
            group = r[f"{which}_group"]
            info = groups[(groups["attribute"] == attr) & (groups["group"] == group)]
            chosen, details = cite(closed & (labels == group))
            rate = float(r[f"{which}_win_rate"])
            extra = {}
            if not info.empty:
                i = info.iloc[0]
                extra = {
                    "ci_low": _clean(i["ci_low"]),
                    "ci_high": _clean(i["ci_high"]),
                    "won": int(i["won"]),
                    "lost": int(i["lost"]),
                }
            out.append(
                Finding(
                    key=f"win_rate:{attr}={group}",
                    title=(
                        f"Win rate {_pct(rate)} where {label} is {group} "
                        f"(overall {_pct(x.drivers.overall_win_rate)})"
                    ),
                    metric="win_rate",
                    value=rate,
                    unit="share",
                    segment=f"{attr}={group}",
                    opportunity_ids=chosen,
                    details={
                        **details,
                        **extra,
                        "rank": which,
                        "p_adjusted": float(r["p_adjusted"]),
                        "cramers_v": float(r["cramers_v"]),
                    },
                )
            )
    return out


def _deals(n: int, noun: str = "deal") -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _pct(value: float) -> str:
    return share(value, blank="n/a")


def _money(value: float) -> str:
    return money(value, blank="value unknown")


def _clean(value: Any) -> Any:
    """A JSON-safe scalar: NaN/NA become None, numpy and pandas scalars become Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-safe dicts."""
    return [
        {str(k): _clean(v) for k, v in row.items()}
        for row in frame.astype(object).to_dict(orient="records")
    ]
