"""The pipeline x-ray: every analysis of :mod:`sales_rca.pipeline` in one call, and its findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sales_rca.crm.data import CrmData
from sales_rca.display import deal_names
from sales_rca.errors import PipelineError
from sales_rca.jsonsafe import json_value, records
from sales_rca.pipeline.accounts import AccountAnalysis, analyse_accounts
from sales_rca.pipeline.conformance import ProcessAnalysis, analyse_process, load_buyer_jobs
from sales_rca.pipeline.drivers import DriverAnalysis, analyse_drivers, wilson_interval
from sales_rca.pipeline.paths import PathAnalysis, analyse_paths
from sales_rca.pipeline.stages import (
    NO_DATES,
    ColumnCodes,
    StageOrder,
    build_deals,
    build_visits,
    default_as_of,
    official_order,
    stage_durations,
    stage_table,
)
from sales_rca.pipeline.stalls import Hygiene, analyse_stalls, survival_curves
from sales_rca.pipeline.trend import Trend, trend
from sales_rca.pipeline.velocity import Velocity, velocity

#: Columns a stalled deal carries along: its name as people read it (``name``), owner, account.
_STALL_EXTRA = ("owner", "account")
_STALL_JSON = (
    "opportunity_id", "stage", "segment", "days_in_stage", "threshold_days", "threshold_source",
    "status", "past_due", "amount",
)  # fmt: skip


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
        stalls, survival, paths, drivers, velocity, accounts, trend, process: the other analyses.
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
    trend: Trend
    notes: list[str] = field(default_factory=list)
    stall_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    past_due: pd.DataFrame = field(default_factory=pd.DataFrame)
    hygiene: Hygiene | None = None
    opportunities: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: conformance with the official process, the won deals' paths, the buyer-job view
    process: ProcessAnalysis | None = None

    @property
    def stages(self) -> list[str]:
        """The official stage order used."""
        return self.order.stages

    @property
    def stalled_value(self) -> float:
        """The value at risk: amounts of the slow open deals (NaN when no amount is known)."""
        if self.hygiene is not None:
            return float(self.hygiene.at_risk_value)
        return float(self.stalls["amount"].sum(min_count=1)) if not self.stalls.empty else 0.0

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
            "win_rate": json_value(self.win_rate),
            "win_rate_ci": [json_value(x) for x in self.win_rate_ci],
            "stages": records(self.stage_table),
            "stall_percentile": self.stall_percentile,
            "stalled_value": json_value(self.stalled_value),
            "hygiene": self.hygiene.to_dict() if self.hygiene is not None else None,
            "stall_thresholds": records(self.stall_table),
            "past_due": records(self.past_due.head(variants * 10)),
            "stalled": records(self.stalls[[c for c in _STALL_JSON if c in self.stalls]]),
            "drivers": self.drivers.to_dict(),
            "velocity": {
                "open_deals": v.open_deals,
                "win_rate": json_value(v.win_rate),
                "avg_won_amount": json_value(v.avg_won_amount),
                "avg_cycle_days": json_value(v.avg_cycle_days),
                "per_day": json_value(v.per_day),
                "closed_deals": v.closed_deals,
                "caution": v.caution,
                "by": v.by,
                "groups": records(v.by_group),
            },
            "paths": {
                "official_path": self.paths.official_path,
                "deals": self.paths.deals,
                "won_on_official_path": json_value(self.paths.won_on_official_path),
                "deals_with_skips": self.paths.deals_with_skips,
                "deals_with_backward_moves": self.paths.deals_with_backward_moves,
                "variants": records(self.paths.variants.head(variants)),
                **(self.process.to_dict(top=variants) if self.process is not None else {}),
            },
            "accounts": {
                "by_kind": records(self.accounts.by_kind),
                "lost_by_stage": records(self.accounts.lost_by_stage),
                "comparison": json_value(self.accounts.comparison),
            },
            "trend": self.trend.to_dict(),
            "findings": [
                {
                    "key": f.key,
                    "title": f.title,
                    "kind": f.kind,
                    "strength": f.strength,
                    "metric": f.metric,
                    "value": json_value(f.value),
                    "unit": f.unit,
                    "deals": f.deals,
                    "value_at_stake": json_value(f.value_at_stake),
                    "stage": f.stage,
                    "segment": f.segment,
                }
                for f in self.findings()
            ],
            "notes": list(self.notes),
        }

    def findings(self) -> list:
        """The ranked findings (:func:`sales_rca.pipeline.evidence.findings`)."""
        from sales_rca.pipeline.evidence import findings

        return findings(self)


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
    stall_segment: str | None = "segment",
    stall_min_won: int = 20,
    buyer_jobs: str | Path | dict[str, Any] | None = None,
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
        buyer_jobs: stage -> buyer job and exit criterion: a YAML file or a dict
            (:func:`sales_rca.pipeline.conformance.load_buyer_jobs`); default the mapping
            file's ``buyer_jobs:``, else none (no buyer-job view).

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
    durations = stage_durations(visits, as_of)
    table = stage_table(
        visits, deals, order.stages, has_history=has_history, as_of=as_of, durations=durations
    )
    outcome = deals["outcome"]
    won, lost, open_ = (int((outcome == o).sum()) for o in ("won", "lost", "open"))
    low, high = wilson_interval(np.array([won]), np.array([won + lost]))
    extra = opps[[c for c in _STALL_EXTRA if c in opps]].reset_index(drop=True)
    # only open deals can stall: only they are named (the name a person reads, never the id)
    is_open = (outcome == "open").to_numpy()
    names = pd.Series(None, index=extra.index, dtype=object)
    names[is_open] = deal_names(opps.loc[is_open], apart=False).to_numpy()
    extra.insert(0, "name", names)
    codes = ColumnCodes(opps)  # each column factorized once, for every analysis below
    stall = analyse_stalls(
        visits,
        deals,
        opps,
        order.stages,
        as_of,
        stall_percentile,
        segment=stall_segment,
        min_won=stall_min_won,
        extra=extra,
        codes=codes,
    )
    stage_rows = stall.thresholds[stall.thresholds["segment"].isna()]
    thresholds = stage_rows.set_index("stage")["threshold_days"]
    stalled = stall.stalls
    survival = survival_curves(visits, order.stages, as_of, durations=durations)
    notes += stall.notes
    if not has_history:
        notes.append(
            "No stage history: entered, advanced, conversion, time in stage, stalls, survival "
            "curves and paths need the dates deals entered each stage, and were not computed."
        )
        lost_from_column = deals.loc[deals["outcome"] == "lost", "loss_stage"].notna().sum()
        if lost and not lost_from_column:
            notes.append(
                "No loss stage for lost deals: where they died is unknown (name the loss-stage "
                "column in a mapping file, or give the stage history)."
            )
    paths = analyse_paths(visits, order.stages)
    reached = _stage_reached(visits, len(opps), opps.index) if has_history else None
    drivers = analyse_drivers(
        opps, min_group_size=min_group_size, alpha=alpha, stage_reached=reached, codes=codes
    )
    if drivers.ranking.empty:
        notes.append(
            f"No attribute has two groups with {min_group_size}+ closed deals: no driver "
            "could be tested."
        )
    jobs, jobs_source = _buyer_jobs(crm, buyer_jobs)
    process = analyse_process(
        visits,
        deals,
        order.stages,
        paths,
        as_of,
        buyer_jobs=jobs,
        buyer_jobs_source=jobs_source,
        alpha=alpha,
        strata=_strongest_driver(drivers, opps),
    )
    notes += [n for n in process.notes if has_history or "stage history" not in n]
    vel = velocity(opps, by=velocity_by)
    accounts = analyse_accounts(
        opps,
        pd.Series(deals["loss_stage"].to_numpy(), index=opps.index),
        period=period,
        codes=codes,
    )
    time_view = trend(opps, visits, as_of=as_of)
    notes += drivers.notes + vel.notes + accounts.notes
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
        stall_table=stall.thresholds,
        past_due=stall.past_due,
        hygiene=stall.hygiene,
        survival=survival,
        paths=paths,
        drivers=drivers,
        velocity=vel,
        accounts=accounts,
        trend=time_view,
        notes=notes,
        opportunities=opps,
        process=process,
    )


def _strongest_driver(drivers: DriverAnalysis, opps: pd.DataFrame) -> tuple[np.ndarray, str] | None:
    """The group codes of the strongest clear driver (the process comparisons are re-tested
    within its groups) and its name; None when no driver is clear."""
    from sales_rca.pipeline.leakage import attribute_name

    ranking = drivers.ranking
    if ranking.empty:
        return None
    clear = ranking[ranking["significant"].astype(bool) & ranking["explained_by"].isna()]
    clear = clear[[not {"few_clusters", "small_sample"} & set(f) for f in clear["flags"]]]
    if clear.empty:
        return None
    attr = str(clear.iloc[0]["attribute"])
    return drivers.codes(opps, attr)[0], attribute_name(attr)


def _buyer_jobs(
    crm: CrmData, given: str | Path | dict[str, Any] | None
) -> tuple[dict[str, Any] | None, str]:
    """The buyer-job mapping to use and where it came from (argument, mapping file, or none)."""
    if given is not None:
        where = str(given) if isinstance(given, str | Path) else "argument"
        return dict(load_buyer_jobs(given)), where
    if crm.buyer_jobs:
        return dict(load_buyer_jobs(crm.buyer_jobs)), "mapping"
    return None, ""


def _stage_reached(visits: pd.DataFrame, n: int, index: pd.Index) -> pd.Series:
    """Per opportunity, the position of the furthest official stage it entered (NaN if none)."""
    stage_index = visits["stage_index"].to_numpy()
    official = stage_index >= 0
    furthest = np.full(n, -1, dtype=np.int64)
    np.maximum.at(furthest, visits["opp_row"].to_numpy()[official], stage_index[official])
    return pd.Series(np.where(furthest >= 0, furthest, np.nan), index=index)
