"""A finding: one number from the data that a root cause can cite as evidence.

The x-ray (:mod:`sales_rca.pipeline`) and loss coding (:mod:`sales_rca.coding`) produce findings;
five-whys trees (:mod:`sales_rca.rootcause`) attach them as evidence and the session stores them.
"""

from __future__ import annotations

from collections.abc import Iterable
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
        figures: the statistics behind the title's words (p-values, intervals, ratios) for
            whoever opens the details; the title never carries them.
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
    figures: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["opportunity_ids"] = list(self.opportunity_ids)
        if not self.figures:  # session files written before ``figures`` existed read the same
            del data["figures"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["opportunity_ids"] = tuple(known.get("opportunity_ids", ()))
        known["value"] = float(known["value"])
        return cls(**known)


def by_strength(findings: Iterable[Finding]) -> list[Finding]:
    """Strong evidence first, then leads, then background, the given order kept within each."""
    return sorted(findings, key=lambda f: STRENGTH_ORDER.get(f.strength, 1))


def top_findings(findings: Iterable[Finding], n: int = 5, *, per_kind: int = 2) -> list[Finding]:
    """The ``n`` findings most worth a five-whys, distinct facts in ranked order.

    ``findings`` come ranked (:func:`sales_rca.pipeline.findings`: strength of evidence, then
    value at stake; other producers' findings may follow); strong ones stay before leads
    (``caution``). Background (``context``) and the overall win rate are never chosen, a key at
    most once, and at most ``per_kind`` findings of one kind (stage, stall, driver, coding ...)
    unless too few other kinds are left to fill ``n``.
    """
    seen: set[str] = set()
    ranked: list[Finding] = []
    for f in findings:
        context = f.strength == "context" or f.kind == "overall" or f.details.get("rank") == "best"
        if context or f.key in seen or f.key == "win_rate:overall":
            continue
        seen.add(f.key)
        ranked.append(f)
    chosen: list[Finding] = []
    skipped: list[Finding] = []
    per: dict[str, int] = {}
    for f in by_strength(ranked):
        if len(chosen) >= n:
            break
        kind = f.kind or f.source or "other"  # what sort of fact: stage, stall, coding ...
        if per.get(kind, 0) >= per_kind:
            skipped.append(f)
            continue
        per[kind] = per.get(kind, 0) + 1
        chosen.append(f)
    chosen += skipped[: max(0, n - len(chosen))]
    return chosen
