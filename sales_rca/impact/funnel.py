"""What a change at a stage is worth: a funnel model of the team's own data and its scenarios.

The model, read from the x-ray (one definition with the stage table):

- **Inflow**: opportunities created per month over the last twelve months before the export's
  as-of date (over the whole span, from the first creation, when the export covers less), so an
  old stray deal does not dilute today's volume (``inflow_per_year`` is twelve times that).
- **Won per year** ``= inflow per year x win rate``, the win rate being won / (won + lost): open
  deals are expected to close like the closed ones did.
- **Conversion at a stage** ``= advanced / (advanced + lost there)`` (the stage table's).
- **Won through a stage** per year ``= inflow per year x won deals that went through it / closed
  deals``. Raising a stage's conversion from ``c`` to ``c'`` lets ``c'/c`` times as many deals
  through it, and those go on to win as often as the deals that got through before: the extra won
  deals per year are ``won through the stage x (c'/c - 1)``, worth the average amount of the won
  deals that went through that stage.
- **Cycle and velocity**: velocity ``= open deals x win rate x average won amount / cycle days``
  (:mod:`sales_rca.pipeline.velocity`). Cutting the days won deals spend in a stage by a share
  shortens the average cycle by that share of their average days there; with the open pipeline
  kept as full as today, velocity rises by ``cycle / new cycle``, and the extra revenue per year
  is that rise over 365 days (the standard sales-velocity reading; a shorter cycle brings no extra
  deal when the pipeline is not kept full).
- **Stalls revived**: a share of today's slow deals (the x-ray's stall rule) moves on again and
  wins as often as closed deals that went through that stage did; a one-off gain, not per year.

Every figure carries a 95% bootstrap interval from resampling opportunities
(:mod:`sales_rca.impact.bootstrap`); a figure that cannot be computed (no deal won through a
stage, no amounts) is ``None``, never 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from sales_rca.errors import PipelineError
from sales_rca.impact.bootstrap import bootstrap_sums, percentile_interval
from sales_rca.jsonsafe import json_value
from sales_rca.pipeline.stats import beta_binomial_prior
from sales_rca.pipeline.xray import XRay

DAY = np.timedelta64(1, "D")
DAYS_PER_YEAR = 365.25
#: The inflow is read over this many years before the as-of date (or the data's span if shorter).
INFLOW_YEARS = 1.0
#: Bootstrap resamples behind every interval.
DRAWS = 1_000
#: Decided deals (advanced or lost) a group needs at a stage to be "the best" there.
MIN_DECIDED = 20


class Effect(StrEnum):
    """What a scenario changes."""

    POINTS = "points"  # conversion at a stage up by a number of points
    CONVERSION_TO = "conversion_to"  # conversion at a stage raised (or lowered) to a rate
    LOST_FACTOR = "lost_factor"  # deals lost at a stage multiplied by a factor (0.8: a fifth fewer)
    DAYS_CUT = "days_cut"  # days won deals spend in a stage cut by a share
    REVIVE = "revive"  # a share of today's slow deals revived (one-off)
    WIN_RATE_TO = "win_rate_to"  # win rate (overall or of a group) raised to a rate


_STAGE_EFFECTS = frozenset(
    {Effect.POINTS, Effect.CONVERSION_TO, Effect.LOST_FACTOR, Effect.DAYS_CUT, Effect.REVIVE}
)


@dataclass(frozen=True)
class Change:
    """One effect of a scenario: ``stage`` (or ``segment`` ``"attribute=group"``) and a value
    (points and shares as fractions: 5 points is 0.05, a 20% cut is 0.2)."""

    effect: Effect
    value: float
    stage: str | None = None
    segment: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A named set of changes evaluated together (e.g. conversion +5 points and days -20%)."""

    label: str
    changes: tuple[Change, ...]


@dataclass
class ScenarioValue:
    """What a scenario is worth, with 95% bootstrap intervals (``None`` when unknown).

    ``one_off`` is True when the value is a single gain (revived stalls) rather than per year.
    """

    scenario: Scenario
    extra_won_deals_per_year: float | None
    extra_won_deals_per_year_ci: tuple[float, float] | None
    extra_revenue_per_year: float | None
    extra_revenue_per_year_ci: tuple[float, float] | None
    cycle_days_change: float | None = None
    cycle_days_change_ci: tuple[float, float] | None = None
    velocity_change_per_day: float | None = None
    velocity_change_per_day_ci: tuple[float, float] | None = None
    one_off: bool = False
    draws: int = DRAWS
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the shape ``sales-rca impact --json`` prints)."""

        def ci(v: tuple[float, float] | None) -> list[Any] | None:
            return None if v is None else [json_value(v[0]), json_value(v[1])]

        return {
            "label": self.scenario.label,
            "changes": [
                {"effect": str(c.effect), "value": c.value, "stage": c.stage, "segment": c.segment}
                for c in self.scenario.changes
            ],
            "extra_won_deals_per_year": json_value(self.extra_won_deals_per_year),
            "extra_won_deals_per_year_ci": ci(self.extra_won_deals_per_year_ci),
            "extra_revenue_per_year": json_value(self.extra_revenue_per_year),
            "extra_revenue_per_year_ci": ci(self.extra_revenue_per_year_ci),
            "cycle_days_change": json_value(self.cycle_days_change),
            "cycle_days_change_ci": ci(self.cycle_days_change_ci),
            "velocity_change_per_day": json_value(self.velocity_change_per_day),
            "velocity_change_per_day_ci": ci(self.velocity_change_per_day_ci),
            "one_off": self.one_off,
            "bootstrap_draws": self.draws,
            "notes": list(self.notes),
        }


@dataclass
class FunnelModel:
    """The team's funnel as the scenarios see it (point estimates; see the module docstring).

    ``stages`` is one row per official stage: ``stage, conversion, won_through_per_year,
    avg_won_amount, median_days, slow_deals``.
    """

    stages: pd.DataFrame
    inflow_per_month: float | None
    won_per_year: float | None
    revenue_per_year: float | None
    win_rate: float | None
    avg_won_amount: float | None
    cycle_days: float | None
    velocity_per_day: float | None
    months: float
    open_deals: int

    @property
    def inflow_per_year(self) -> float | None:
        return None if self.inflow_per_month is None else 12 * self.inflow_per_month

    def to_dict(self) -> dict[str, Any]:
        from sales_rca.jsonsafe import records

        return {
            "inflow_per_month": json_value(self.inflow_per_month),
            "won_per_year": json_value(self.won_per_year),
            "revenue_per_year": json_value(self.revenue_per_year),
            "win_rate": json_value(self.win_rate),
            "avg_won_amount": json_value(self.avg_won_amount),
            "cycle_days": json_value(self.cycle_days),
            "velocity_per_day": json_value(self.velocity_per_day),
            "months_of_data": json_value(self.months),
            "open_deals": self.open_deals,
            "stages": records(self.stages),
        }


# --- per-opportunity columns ------------------------------------------------------------------


@dataclass
class FunnelData:
    """Per-opportunity columns of an x-ray, from which every figure is a ratio of sums."""

    xray: XRay
    years: float  # the span of the data, from the first creation to the as-of date
    won: np.ndarray
    lost: np.ndarray
    open: np.ndarray
    amount: np.ndarray  # NaN unknown
    cycle: np.ndarray  # days created -> close, NaN unknown
    stages: list[str]
    #: Created within the inflow window (the last :data:`INFLOW_YEARS` before the as-of date).
    recent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    window_years: float = 1.0
    undated: int = 0
    _cache: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_xray(cls, x: XRay) -> FunnelData:
        """The columns of ``x`` (raises :class:`PipelineError` when there are no dates)."""
        opps = x.opportunities
        created = opps["created_date"]
        first = created.min()
        if pd.isna(first) or not x.has_dates:
            raise PipelineError(
                "The value of a change needs the dates deals were created (the monthly inflow); "
                "expected a created-date column, found none with a date."
            )
        years = (x.as_of - first) / pd.Timedelta(days=DAYS_PER_YEAR)
        if not years > 0:
            raise PipelineError(
                "The value of a change needs deals created over some time; expected creation "
                f"dates before the as-of date {x.as_of_text}, found none."
            )
        window = min(float(years), INFLOW_YEARS)
        start = x.as_of - pd.Timedelta(days=DAYS_PER_YEAR * window)
        recent = (created >= start).to_numpy(dtype=bool) & (created <= x.as_of).to_numpy(dtype=bool)
        outcome = x.deals["outcome"].to_numpy(dtype=object)
        cycle = (opps["close_date"] - created).to_numpy() / DAY
        cycle = np.where(cycle >= 0, cycle, np.nan)
        return cls(
            xray=x,
            years=float(years),
            won=outcome == "won",
            lost=outcome == "lost",
            open=outcome == "open",
            amount=x.deals["amount"].to_numpy(dtype=float),
            cycle=cycle.astype(float),
            stages=list(x.stages),
            recent=recent,
            window_years=window,
            undated=int(created.isna().sum()),
        )

    def stage_index(self, stage: str) -> int:
        """Position of ``stage`` in the official order (a clear error when it is not there)."""
        if stage not in self.stages:
            raise PipelineError(
                f"expected one of the official stages ({', '.join(self.stages) or 'none'}), "
                f"found {stage!r}"
            )
        if not self.xray.has_history:
            raise PipelineError(
                "The value of a change at a stage needs the stage history (conversion and time "
                f"in {stage}); expected a history file (--history), found none."
            )
        return self.stages.index(stage)

    def stage_columns(self, stage: str) -> dict[str, np.ndarray]:
        """Flags and values of one stage: through, advanced, lost there, days there, slow now."""
        if stage in self._cache:
            return self._cache[stage]
        k = self.stage_index(stage)
        x, n = self.xray, len(self.won)
        v = x.visits
        at = v["stage_index"].to_numpy() == k
        rows = v["opp_row"].to_numpy()[at]
        through = np.zeros(n, dtype=bool)
        through[rows] = True
        last = v["last_visit"].to_numpy(dtype=bool)[at] & v["advanced"].to_numpy(dtype=bool)[at]
        advanced = np.zeros(n, dtype=bool)
        advanced[rows[last]] = True
        lost_here = self.lost & (x.deals["loss_stage"].to_numpy(dtype=object) == stage)
        days_raw = v["days"].to_numpy(dtype=float)[at]
        days = np.bincount(rows, weights=np.nan_to_num(days_raw), minlength=n)
        unknown = np.bincount(rows, weights=~np.isfinite(days_raw), minlength=n) > 0
        slow = np.zeros(n, dtype=bool)
        s = x.stalls
        if not s.empty and "status" in s:
            ids = s.loc[(s["status"] == "slow") & (s["stage"] == stage), "opportunity_id"]
            index = pd.Index(x.deals["opportunity_id"].to_numpy(dtype=object))
            found = index.get_indexer(pd.Index(ids.to_numpy(dtype=object)))
            slow[found[found >= 0]] = True
        out = {
            "through": through,
            "advanced": advanced,
            "lost_here": lost_here,
            "days": np.where(unknown, np.nan, days),
            "slow": slow,
        }
        self._cache[stage] = out
        return out

    def segment_mask(self, segment: str) -> np.ndarray:
        """Deals in the group ``"attribute=group"`` (bands of numbers as the drivers cut them)."""
        attribute, _, group = segment.partition("=")
        opps = self.xray.opportunities
        if attribute not in opps:
            raise PipelineError(f"expected a column {attribute!r} for {segment!r}, found none")
        labels = self.xray.drivers.labels(opps, attribute)
        return labels.to_numpy(dtype=object) == group


# --- the columns a set of scenarios needs, and the figures computed from their sums ------------


def _columns(
    data: FunnelData, scenarios: Sequence[Scenario]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    amount_known = np.isfinite(data.amount)
    cycle_known = data.won & np.isfinite(data.cycle)
    won_amount = data.won & amount_known
    flags: dict[str, np.ndarray] = {
        "won": data.won,
        "lost": data.lost,
        "open": data.open,
        "won_amount": won_amount,
        "won_cycle": cycle_known,
    }
    values: dict[str, np.ndarray] = {
        "amount": np.where(won_amount, data.amount, 0.0),
        "cycle": np.where(cycle_known, data.cycle, 0.0),
    }
    stages = {c.stage for s in scenarios for c in s.changes if c.stage is not None}
    segments = {c.segment for s in scenarios for c in s.changes if c.segment is not None}
    for stage in sorted(stages):
        col = data.stage_columns(stage)
        through = col["through"]
        days_known = data.won & (~through | np.isfinite(col["days"])) & cycle_known
        flags |= {
            f"adv:{stage}": col["advanced"],
            f"lost:{stage}": col["lost_here"],
            f"won_through:{stage}": data.won & through,
            f"closed_through:{stage}": (data.won | data.lost) & through,
            f"won_amount_through:{stage}": won_amount & through,
            f"won_days:{stage}": days_known,
            f"slow:{stage}": col["slow"],
        }
        values[f"amount_through:{stage}"] = np.where(won_amount & through, data.amount, 0.0)
        values[f"days:{stage}"] = np.where(days_known & through, np.nan_to_num(col["days"]), 0.0)
    for segment in sorted(segments):
        inside = data.segment_mask(segment)
        flags |= {
            f"won_in:{segment}": data.won & inside,
            f"lost_in:{segment}": data.lost & inside,
            f"won_amount_in:{segment}": won_amount & inside,
        }
        values[f"amount_in:{segment}"] = np.where(won_amount & inside, data.amount, 0.0)
    return flags, values


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


@dataclass
class _Figures:
    """Figures of the model from column sums (arrays: one element, or one per resample)."""

    s: Mapping[str, np.ndarray]
    total: np.ndarray  # opportunities created in the inflow window
    years: float  # the window's length

    @property
    def closed(self) -> np.ndarray:
        return self.s["won"] + self.s["lost"]

    @property
    def inflow_per_year(self) -> np.ndarray:
        return self.total / self.years

    @property
    def win_rate(self) -> np.ndarray:
        return _ratio(self.s["won"], self.closed)

    @property
    def won_per_year(self) -> np.ndarray:
        return self.inflow_per_year * self.win_rate

    @property
    def avg_amount(self) -> np.ndarray:
        return _ratio(self.s["amount"], self.s["won_amount"])

    @property
    def cycle(self) -> np.ndarray:
        return _ratio(self.s["cycle"], self.s["won_cycle"])

    @property
    def velocity(self) -> np.ndarray:
        return _ratio(self.s["open"] * self.win_rate * self.avg_amount, self.cycle)

    def conversion(self, stage: str) -> np.ndarray:
        adv = self.s[f"adv:{stage}"]
        return _ratio(adv, adv + self.s[f"lost:{stage}"])

    def won_through_per_year(self, stage: str) -> np.ndarray:
        return self.inflow_per_year * _ratio(self.s[f"won_through:{stage}"], self.closed)

    def amount_through(self, stage: str) -> np.ndarray:
        return _ratio(self.s[f"amount_through:{stage}"], self.s[f"won_amount_through:{stage}"])

    def days_in(self, stage: str) -> np.ndarray:
        """Average days a won deal spends in ``stage`` (0 for those that skipped it)."""
        return _ratio(self.s[f"days:{stage}"], self.s[f"won_days:{stage}"])


def _flow(f: _Figures, c: Change) -> tuple[np.ndarray, np.ndarray]:
    """Extra won deals and revenue of one conversion / win-rate / revival change."""
    if c.effect is Effect.WIN_RATE_TO:
        if c.segment is None:
            extra = f.won_per_year * (c.value / f.win_rate - 1)
            return extra, extra * f.avg_amount
        won, lost = f.s[f"won_in:{c.segment}"], f.s[f"lost_in:{c.segment}"]
        rate = _ratio(won, won + lost)
        extra = f.inflow_per_year * _ratio(won, f.closed) * (c.value / rate - 1)
        amount = _ratio(f.s[f"amount_in:{c.segment}"], f.s[f"won_amount_in:{c.segment}"])
        return extra, extra * amount
    stage = str(c.stage)
    if c.effect is Effect.REVIVE:
        odds = _ratio(f.s[f"won_through:{stage}"], f.s[f"closed_through:{stage}"])
        extra = c.value * f.s[f"slow:{stage}"] * odds
        return extra, extra * f.amount_through(stage)
    conv = f.conversion(stage)
    if c.effect is Effect.POINTS:
        new = np.clip(conv + c.value, 0.0, 1.0)
    elif c.effect is Effect.CONVERSION_TO:
        new = np.full_like(conv, c.value)
    else:  # LOST_FACTOR: the deals that advanced stay, fewer (or more) are lost there
        adv, lost = f.s[f"adv:{stage}"], f.s[f"lost:{stage}"]
        new = _ratio(adv, adv + lost * c.value)
    extra = f.won_through_per_year(stage) * (_ratio(new, conv) - 1)
    return extra, extra * f.amount_through(stage)


def _evaluate(f: _Figures, scenario: Scenario) -> dict[str, np.ndarray | None]:
    """Extra won, revenue, cycle and velocity change of ``scenario`` (arrays like ``f``'s)."""
    flow_won = np.zeros_like(f.total, dtype=float)
    flow_revenue = flow_won.copy()
    yearly_won = flow_won.copy()  # without the one-off revivals
    cut = flow_won.copy()
    time = False
    for c in scenario.changes:
        if c.effect is Effect.DAYS_CUT:
            cut = cut + c.value * f.days_in(str(c.stage))
            time = True
        else:
            w, r = _flow(f, c)
            flow_won, flow_revenue = flow_won + w, flow_revenue + r
            if c.effect is not Effect.REVIVE:
                yearly_won = yearly_won + w
    # velocity = open x win rate x amount / cycle: a higher win rate and a shorter cycle multiply
    rate_up = 1 + _ratio(yearly_won, f.won_per_year)
    pace = _ratio(f.cycle, f.cycle - cut) if time else np.ones_like(cut)
    velocity_change = f.velocity * (rate_up * pace - 1)
    won, revenue = flow_won, flow_revenue
    if time:
        # the shorter cycle, with the pipeline kept as full as today, at today's win rate
        faster = f.velocity * (pace - 1) * DAYS_PER_YEAR
        won, revenue = won + faster / f.avg_amount, revenue + faster
    yearly = time or any(c.effect is not Effect.REVIVE for c in scenario.changes)
    return {
        "won": won,
        "revenue": revenue,
        "cycle": -cut if time else None,
        "velocity": velocity_change if yearly else None,
    }


def _scalar(a: np.ndarray | None) -> float | None:
    if a is None:
        return None
    v = float(a[0])
    return v if np.isfinite(v) else None


def evaluate(
    data: FunnelData | XRay,
    scenarios: Sequence[Scenario],
    *,
    draws: int = DRAWS,
    seed: int = 0,
) -> list[ScenarioValue]:
    """What each scenario is worth, with 95% bootstrap intervals from the same resamples (so two
    scenarios side by side are compared on equal terms).

    Example:
        >>> at = Scenario("Needs Analysis +5 points", (Change(Effect.POINTS, 0.05, "Needs Analysis"),))
        >>> evaluate(x, [at])[0].extra_revenue_per_year
    """
    data = data if isinstance(data, FunnelData) else FunnelData.from_xray(data)
    for s in scenarios:
        for c in s.changes:
            if c.effect in _STAGE_EFFECTS and c.stage is None:
                raise PipelineError(f"expected a stage for the change {c.effect}, found none")
            if c.stage is not None:
                data.stage_index(c.stage)
    flags, values = _columns(data, scenarios)
    rng = np.random.default_rng(seed)
    flags["recent"] = data.recent
    point, resampled = bootstrap_sums(flags, values, draws, rng)
    base = _Figures(point, point["recent"], data.window_years)
    boot = _Figures(resampled, resampled["recent"], data.window_years)
    out = []
    for s in scenarios:
        with np.errstate(divide="ignore", invalid="ignore"):
            p = _evaluate(base, s)
            b = _evaluate(boot, s)
        one_off = any(c.effect is Effect.REVIVE for c in s.changes)

        def ci(key: str, p: dict = p, b: dict = b) -> tuple[float, float] | None:
            arr = b[key]
            return None if arr is None or _scalar(p[key]) is None else percentile_interval(arr)

        notes = []
        if data.undated:
            notes.append(
                f"{data.undated:,} deals have no creation date and are not counted in the "
                "monthly inflow: the values are on the low side."
            )
        if any(c.effect is Effect.DAYS_CUT for c in s.changes):
            notes.append(
                "A shorter cycle brings more revenue a year only while the open pipeline is kept "
                "as full as today."
            )
        if one_off:
            notes.append("Reviving today's slow deals is a one-off gain, not a yearly one.")
        out.append(
            ScenarioValue(
                scenario=s,
                extra_won_deals_per_year=_scalar(p["won"]),
                extra_won_deals_per_year_ci=ci("won"),
                extra_revenue_per_year=_scalar(p["revenue"]),
                extra_revenue_per_year_ci=ci("revenue"),
                cycle_days_change=_scalar(p["cycle"]),
                cycle_days_change_ci=ci("cycle"),
                velocity_change_per_day=_scalar(p["velocity"]),
                velocity_change_per_day_ci=ci("velocity"),
                one_off=one_off,
                draws=draws,
                notes=notes,
            )
        )
    return out


# --- the model and the scenarios a facilitator picks in one click ------------------------------


def funnel_model(data: FunnelData | XRay) -> FunnelModel:
    """The funnel of the team's data: inflow, won per year, conversion, won amount, time in stage."""
    data = data if isinstance(data, FunnelData) else FunnelData.from_xray(data)
    x = data.xray
    every_stage = Scenario("model", tuple(_noop(s) for s in data.stages)) if x.has_history else None
    flags, values = _columns(data, [every_stage] if every_stage else [])
    flags["recent"] = data.recent
    sums = {k: np.array([float(np.sum(v))]) for k, v in (flags | values).items()}
    f = _Figures(sums, sums["recent"], data.window_years)
    table = x.stage_table.set_index("stage")
    rows = []
    for stage in data.stages:
        has = x.has_history
        rows.append(
            {
                "stage": stage,
                "conversion": _scalar(f.conversion(stage)) if has else None,
                "won_through_per_year": _scalar(f.won_through_per_year(stage)) if has else None,
                "avg_won_amount": _scalar(f.amount_through(stage)) if has else None,
                "median_days": json_value(table.loc[stage, "median_days"]),
                "slow_deals": int(sums[f"slow:{stage}"][0]) if has else None,
            }
        )
    won_per_year = _scalar(f.won_per_year)
    amount = _scalar(f.avg_amount)
    return FunnelModel(
        stages=pd.DataFrame(rows),
        inflow_per_month=_scalar(f.inflow_per_year / 12),
        won_per_year=won_per_year,
        revenue_per_year=None if won_per_year is None or amount is None else won_per_year * amount,
        win_rate=_scalar(f.win_rate),
        avg_won_amount=amount,
        cycle_days=_scalar(f.cycle),
        velocity_per_day=_scalar(f.velocity),
        months=data.years * 12,
        open_deals=int(sums["open"][0]),
    )


def _noop(stage: str) -> Change:
    return Change(Effect.POINTS, 0.0, stage)


def points(stage: str, pts: float) -> Scenario:
    """Conversion at ``stage`` up by ``pts`` points (``5`` is five points)."""
    return Scenario(
        f"Conversion at {stage} +{pts:g} points", (Change(Effect.POINTS, pts / 100, stage),)
    )


def days_cut(stage: str, pct: float) -> Scenario:
    """Days won deals spend in ``stage`` cut by ``pct`` percent."""
    return Scenario(
        f"Time in {stage} cut by {pct:g}%", (Change(Effect.DAYS_CUT, pct / 100, stage),)
    )


def revive(stage: str, pct: float) -> Scenario:
    """``pct`` percent of today's slow deals at ``stage`` revived (a one-off gain)."""
    return Scenario(
        f"{pct:g}% of the slow deals at {stage} revived", (Change(Effect.REVIVE, pct / 100, stage),)
    )


def last_stage(data: FunnelData | XRay) -> str:
    """The last official stage ("the negotiation course" works there)."""
    stages = data.stages
    if not stages:
        raise PipelineError("expected an official stage order, found no stage")
    return stages[-1]


@dataclass(frozen=True)
class BestGroup:
    """The group converting best at a stage: its shrunk rate and how many deals it rests on."""

    attribute: str
    group: str
    conversion: float
    decided: int


def best_group(data: FunnelData | XRay, stage: str, attribute: str = "segment") -> BestGroup | None:
    """The group of ``attribute`` with the best conversion at ``stage``, shrunk towards the stage's
    rate (empirical Bayes, :func:`sales_rca.pipeline.stats.beta_binomial_prior`) so a small lucky
    group does not win; only groups with :data:`MIN_DECIDED` deals decided there count. ``None``
    when no group qualifies or the best is not better than the stage as a whole."""
    data = data if isinstance(data, FunnelData) else FunnelData.from_xray(data)
    opps = data.xray.opportunities
    if attribute not in opps:
        return None
    col = data.stage_columns(stage)
    labels = opps[attribute].astype("string")
    frame = pd.DataFrame(
        {"group": labels.to_numpy(dtype=object), "adv": col["advanced"], "lost": col["lost_here"]}
    ).dropna(subset=["group"])
    g = frame.groupby("group", sort=True)[["adv", "lost"]].sum()
    g["n"] = g["adv"] + g["lost"]
    g = g[g["n"] >= MIN_DECIDED]
    if len(g) < 2:
        return None
    prior = beta_binomial_prior(g["adv"].to_numpy(), g["n"].to_numpy())
    g["shrunk"] = prior.shrink(g["adv"].to_numpy(), g["n"].to_numpy())
    best = g["shrunk"].idxmax()
    overall = frame["adv"].sum() / max(int(frame["adv"].sum() + frame["lost"].sum()), 1)
    if not g.loc[best, "shrunk"] > overall:
        return None
    return BestGroup(attribute, str(best), float(g.loc[best, "shrunk"]), int(g.loc[best, "n"]))


def raise_to_best(
    data: FunnelData | XRay, stage: str, attribute: str = "segment"
) -> Scenario | None:
    """Conversion at ``stage`` raised to the best group's there (:func:`best_group`), or ``None``.
    The group is named for segments and the like, never for people (owner, manager)."""
    best = best_group(data, stage, attribute)
    if best is None:
        return None
    from sales_rca.pipeline.leakage import attribute_name

    who = f"the best {attribute_name(attribute)}"
    if attribute not in ("owner", "manager"):
        who += f" ({best.group})"
    return Scenario(
        f"Conversion at {stage} raised to {who}'s {best.conversion:.0%}",
        (Change(Effect.CONVERSION_TO, best.conversion, stage),),
    )
