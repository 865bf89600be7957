"""A finding: one number from the data that a root cause can cite as evidence.

The x-ray (:mod:`sales_rca.pipeline`) and loss coding (:mod:`sales_rca.coding`) produce findings;
five-whys trees (:mod:`sales_rca.rootcause`) attach them as evidence and the session stores them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: How findings are ordered by the strength of their evidence: the x-ray ranks them this way and
#: the summary and the app keep that order.
STRENGTH_ORDER: dict[str, int] = {"strong": 0, "caution": 1, "context": 2}


@dataclass(frozen=True)
class Finding:
    """One cited number.

    Args:
        key: stable identifier, e.g. ``"lost_here:Needs Analysis"``; the same data gives the same key.
        title: the sentence a team reads, e.g. ``"367 deals lost at Needs Analysis ($4.1M)"``.
        metric: what was measured (``lost_here``, ``conversion``, ``median_days``, ``win_rate``,
            ``code_share`` ...).
        value: the number itself (a share is a fraction between 0 and 1).
        unit: ``deals``, ``share``, ``days``, ``currency`` or another plain word.
        source: ``xray`` or ``coding`` (or another producer's name).
        stage, category, segment: what the number is about, when it applies (``segment`` is a
            ``"column=value"`` text such as ``"region=EMEA"``).
        opportunity_ids: the deals behind the number, so a team can open them.
        details: any other figures worth showing next to it (JSON-serialisable).
        kind: what sort of fact it is (``stage``, ``stall``, ``hygiene``, ``driver``, ``trend``,
            ``path``, ``overall``, ``coding`` ...).
        strength: ``strong`` (the evidence holds up), ``caution`` (a lead: too few deals or
            units to prove it) or ``context`` (background, not a problem in itself).
        deals: how many deals the number rests on (None when not a count of deals).
        value_at_stake: the money the fact puts at stake, None when the export has no amounts.
    """

    key: str
    title: str
    metric: str
    value: float
    unit: str = ""
    source: str = "xray"
    stage: str | None = None
    category: str | None = None
    segment: str | None = None
    opportunity_ids: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)
    kind: str = ""
    strength: str = "strong"
    deals: int | None = None
    value_at_stake: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["opportunity_ids"] = list(self.opportunity_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["opportunity_ids"] = tuple(known.get("opportunity_ids", ()))
        known["value"] = float(known["value"])
        return cls(**known)
