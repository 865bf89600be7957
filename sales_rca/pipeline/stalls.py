"""Stalled deals and stage survival curves: how long deals sit, and which open ones sit too long."""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

STALL_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "stage",
    "entered_at",
    "days_in_stage",
    "threshold_days",
    "days_over",
    "amount",
)
SURVIVAL_COLUMNS: tuple[str, ...] = (
    "stage",
    "days",
    "still_in_stage",
    "ci_low",
    "ci_high",
    "at_risk",
)
#: Survival durations are measured to the hour; finer differences do not change a curve in days.
_RESOLUTION_DAYS = 1 / 24


def stall_thresholds(visits: pd.DataFrame, order: list[str], percentile: float = 0.75) -> pd.Series:
    """Per official stage, the ``percentile`` of days won deals spent in it (NaN if none).

    Uses each won deal's last, completed visit to the stage.
    """
    won = visits[
        visits["last_visit"] & (visits["outcome"] == "won") & (visits["stage_index"] >= 0)
    ].dropna(subset=["days"])
    return won.groupby("stage")["days"].quantile(percentile).reindex(pd.Index(order, name="stage"))


def stalls(
    deals: pd.DataFrame, thresholds: pd.Series, *, extra: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Open deals whose days in their current stage exceed that stage's threshold.

    Args:
        deals: the per-opportunity table (:func:`sales_rca.pipeline.stages.build_deals`).
        thresholds: days per stage (:func:`stall_thresholds`); stages without one never stall.
        extra: optional columns to carry along (e.g. owner, account), aligned with ``deals``.

    Returns:
        One row per stalled deal, longest over its threshold first. ``amount`` is the value at
        risk.
    """
    open_ = deals[(deals["outcome"] == "open") & deals["entered_current_at"].notna()]
    limit = open_["current_stage"].map(thresholds)
    stalled = open_[open_["days_in_current"] > limit]
    out = pd.DataFrame(
        {
            "opportunity_id": stalled["opportunity_id"],
            "stage": stalled["current_stage"],
            "entered_at": stalled["entered_current_at"],
            "days_in_stage": stalled["days_in_current"],
            "threshold_days": limit[stalled.index],
            "days_over": stalled["days_in_current"] - limit[stalled.index],
            "amount": stalled["amount"],
        }
    )
    if extra is not None:
        out = out.join(extra.loc[stalled.index])
    out = out.sort_values(["days_over", "amount"], ascending=[False, False], kind="stable")
    return out.reset_index(drop=True)


def survival_curves(
    visits: pd.DataFrame, order: list[str], as_of: pd.Timestamp, *, max_points: int = 400
) -> pd.DataFrame:
    """Kaplan-Meier curves of the time to leave each official stage.

    A visit that ended (next stage or close) is an event; an open deal still in the stage is
    censored at ``as_of``. Each deal's last visit to the stage is used. The curve is read on a grid
    of whole days (at most ``max_points`` points per stage) with a 95% confidence band.

    Returns:
        Long table ``stage, days, still_in_stage, ci_low, ci_high, at_risk``.
    """
    last = visits[visits["last_visit"] & (visits["stage_index"] >= 0)]
    censored_days = (np.datetime64(as_of, "ns") - last["entered_at"].to_numpy()) / np.timedelta64(
        1, "D"
    )
    days = np.where(last["current"].to_numpy(), censored_days, last["days"].to_numpy())
    event = ~last["current"].to_numpy()
    frame = pd.DataFrame({"stage": last["stage"].to_numpy(), "days": days, "event": event})
    frame = frame[np.isfinite(frame["days"]) & (frame["days"] >= 0)]
    frame["days"] = np.round(frame["days"] / _RESOLUTION_DAYS) * _RESOLUTION_DAYS
    # identical (duration, event) pairs collapse into weights: same estimate, far less work
    grouped = frame.groupby(["stage", "days", "event"], sort=False).size().rename("n").reset_index()
    parts = []
    for stage in order:
        g = grouped[grouped["stage"] == stage]
        if g.empty:
            continue
        top = float(np.ceil(g["days"].max()))
        step = max(1.0, np.ceil(top / max_points))
        grid = np.arange(0.0, top + step, step)
        kmf = KaplanMeierFitter()
        kmf.fit(g["days"], g["event"], weights=g["n"], timeline=grid, label="still_in_stage")
        ci = kmf.confidence_interval_survival_function_
        # deals still in the stage at each grid day (left or censored later than that day)
        d = g["days"].to_numpy()
        order_d = np.argsort(d)
        tail = np.r_[np.cumsum(g["n"].to_numpy()[order_d][::-1])[::-1], 0]
        at_risk = tail[np.searchsorted(d[order_d], grid, side="left")]
        parts.append(
            pd.DataFrame(
                {
                    "stage": stage,
                    "days": grid,
                    "still_in_stage": kmf.survival_function_.iloc[:, 0].to_numpy(),
                    "ci_low": ci.iloc[:, 0].to_numpy(),
                    "ci_high": ci.iloc[:, 1].to_numpy(),
                    "at_risk": at_risk,
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in SURVIVAL_COLUMNS}).astype(
            {"stage": object}
        )
    return pd.concat(parts, ignore_index=True)[list(SURVIVAL_COLUMNS)]
