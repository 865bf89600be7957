"""Proven plays (``resources/playbook.yaml``) and a recommender for the team's prioritised causes.

A play is what other sales organisations did that worked: the fishbone categories and loss codes it
addresses, actions for the first 30/60/90 days, the x-ray metric that should move first, effort,
time to impact and its evidence with the source named. Codes are plain ids (``no_decision``); this
module does not import the coding module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sales_rca.errors import ModelError
from sales_rca.rootcause import _validate as check
from sales_rca.rootcause.fishbone import CATEGORY_IDS, Cause
from sales_rca.rootcause.voting import VoteResult

#: x-ray / coding metrics a leading indicator may name.
INDICATOR_METRICS: tuple[str, ...] = (
    "conversion",
    "median_days",
    "win_rate",
    "lost_here",
    "stall_rate",
    "code_share",
    "cycle_days",
)
INDICATOR_SCOPES: tuple[str, ...] = ("stage", "segment", "code", "overall")
EFFORTS: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True)
class Indicator:
    """The leading indicator a play should move: metric, where it is measured, which way."""

    metric: str
    scope: str
    direction: str
    at: str | None = None

    @property
    def label(self) -> str:
        """E.g. ``"conversion at discovery / needs analysis (up)"``."""
        where = f" at {self.at}" if self.at else ""
        return f"{self.metric.replace('_', ' ')}{where} ({self.direction})"


@dataclass(frozen=True)
class Source:
    """One piece of evidence for a play, with its source named."""

    claim: str
    source: str
    year: int | None = None


@dataclass(frozen=True)
class Play:
    """One proven play."""

    id: str
    title: str
    summary: str
    categories: tuple[str, ...]
    codes: tuple[str, ...]
    days_30: tuple[str, ...]
    days_60: tuple[str, ...]
    days_90: tuple[str, ...]
    indicator: Indicator
    effort: str
    time_to_impact_days: int
    evidence: tuple[Source, ...]


@dataclass(frozen=True)
class Priority:
    """A cause the team prioritised, with the weight its votes gave it."""

    cause_id: str
    category: str
    codes: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Recommendation:
    """A play ranked for the team's priorities, with why it was picked."""

    play: Play
    score: float
    cause_ids: tuple[str, ...]
    categories: tuple[str, ...]
    codes: tuple[str, ...]

    @property
    def reason(self) -> str:
        """One line for the room: which categories and codes of the team's causes it addresses."""
        parts = []
        if self.categories:
            parts.append("addresses " + ", ".join(self.categories))
        if self.codes:
            parts.append("loss codes " + ", ".join(self.codes))
        return "; ".join(parts)


def _strings(value: Any, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise ModelError(f"expected {name} to be a non-empty list, found {value!r:.60}")
    return tuple(check.text(v, name) for v in value)


def _play(item: Any, categories: Sequence[str]) -> Play:
    if not isinstance(item, dict):
        raise ModelError(f"expected a play to be a mapping, found {item!r:.60}")
    indicator = item.get("indicator")
    if not isinstance(indicator, dict):
        raise ModelError(f"expected indicator to be a mapping, found {indicator!r:.60}")
    play_categories = check.idents(item.get("categories"), "categories")
    unknown = [c for c in play_categories if c not in categories]
    if unknown or not play_categories:
        raise ModelError(
            f"expected categories among {', '.join(categories)}; found {', '.join(unknown) or 'none'}"
        )
    evidence = item.get("evidence")
    if not isinstance(evidence, list) or not evidence:
        raise ModelError("expected evidence to be a non-empty list of {claim, source, year}")
    sources = []
    for source in evidence:
        if not isinstance(source, dict):
            raise ModelError(f"expected evidence items to be mappings, found {source!r:.60}")
        year = source.get("year")
        sources.append(
            Source(
                claim=check.text(source.get("claim"), "evidence claim"),
                source=check.text(source.get("source"), "evidence source"),
                year=None if year is None else check.count(year, "evidence year", minimum=1900),
            )
        )
    return Play(
        id=check.ident(item.get("id"), "id"),
        title=check.text(item.get("title"), "title"),
        summary=check.text(item.get("summary"), "summary"),
        categories=play_categories,
        codes=check.idents(item.get("codes", []), "codes"),
        days_30=_strings(item.get("days_30"), "days_30"),
        days_60=_strings(item.get("days_60"), "days_60"),
        days_90=_strings(item.get("days_90"), "days_90"),
        indicator=Indicator(
            metric=check.choice(indicator.get("metric"), "indicator.metric", INDICATOR_METRICS),
            scope=check.choice(indicator.get("scope"), "indicator.scope", INDICATOR_SCOPES),
            direction=check.choice(
                indicator.get("direction"), "indicator.direction", ("up", "down")
            ),
            at=check.optional_text(indicator.get("at"), "indicator.at"),
        ),
        effort=check.choice(item.get("effort"), "effort", EFFORTS),
        time_to_impact_days=check.count(
            item.get("time_to_impact_days"), "time_to_impact_days", minimum=1
        ),
        evidence=tuple(sources),
    )


def plays_from_data(
    data: Any, *, categories: Sequence[str] = CATEGORY_IDS, source: str = "playbook"
) -> tuple[Play, ...]:
    """Validate a parsed playbook document (``{"plays": [...]}``) into plays."""
    items = data.get("plays") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ModelError(f"expected {source} to have a non-empty 'plays' list")
    plays = []
    for n, item in enumerate(items, 1):
        try:
            plays.append(_play(item, categories))
        except ModelError as exc:
            name = item.get("id") if isinstance(item, dict) else None
            raise ModelError(f"play {n} ({name}) in {source}: {exc}") from None
    ids = [p.id for p in plays]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ModelError(
            f"expected unique play ids in {source}, found {', '.join(duplicates)} twice"
        )
    return tuple(plays)


def load_playbook(
    path: str | Path | None = None, *, categories: Sequence[str] = CATEGORY_IDS
) -> tuple[Play, ...]:
    """Load plays from ``path``, or the packaged default playbook.

    Example:
        >>> len(load_playbook()) >= 25
        True
    """
    data, source = check.load_yaml(path, "playbook.yaml", "playbook")
    return plays_from_data(data, categories=categories, source=source)


def priorities(
    causes: Iterable[Cause], result: VoteResult | None = None, *, top: int | None = 3
) -> list[Priority]:
    """The team's prioritised causes with weights: Borda points of a revealed vote, else equal.

    With a result, the ``top`` causes by Borda count are kept (all when ``top`` is None) and weighted
    by their share of the Borda points among them; without one, every live cause weighs 1.
    """
    live = {c.id: c for c in causes if not c.removed}
    if result is None:
        return [Priority(c.id, c.category, c.codes, 1.0) for c in live.values()]
    ranked = [r for r in result.causes if r.cause_id in live][:top]
    total = sum(r.borda for r in ranked)
    return [
        Priority(
            r.cause_id,
            live[r.cause_id].category,
            live[r.cause_id].codes,
            r.borda / total if total > 0 else 1.0 / len(ranked),
        )
        for r in ranked
    ]


_EFFORT_ORDER = {e: i for i, e in enumerate(EFFORTS)}


def recommend(
    plays: Iterable[Play], wanted: Iterable[Priority], *, limit: int | None = 5
) -> list[Recommendation]:
    """Rank plays for the team's priorities.

    A play scores, for each priority, its weight x (1 if the cause's category is the play's main
    category, the first listed, or 0.6 if it is another of its categories; plus 0.5 per shared loss
    code, up to 1). Ties go to lower effort, then faster impact. Plays that match nothing are left out.
    """
    wanted = list(wanted)
    ranked: list[Recommendation] = []
    for play in plays:
        score, causes, cats, codes = 0.0, [], [], []
        for p in wanted:
            category_hit = p.category in play.categories
            category_score = (
                1.0 if play.categories[0] == p.category else 0.6 if category_hit else 0.0
            )
            shared = [c for c in p.codes if c in play.codes]
            match = category_score + min(1.0, 0.5 * len(shared))
            if match > 0:
                score += p.weight * match
                causes.append(p.cause_id)
                if category_hit:
                    cats.append(p.category)
                codes.extend(shared)
        if score > 0:
            ranked.append(
                Recommendation(
                    play=play,
                    score=score,
                    cause_ids=tuple(dict.fromkeys(causes)),
                    categories=tuple(dict.fromkeys(cats)),
                    codes=tuple(dict.fromkeys(codes)),
                )
            )
    ranked.sort(
        key=lambda r: (
            -r.score,
            _EFFORT_ORDER[r.play.effort],
            r.play.time_to_impact_days,
            r.play.id,
        )
    )
    return ranked if limit is None else ranked[:limit]
