"""Proven plays (``resources/playbook.yaml``) and a recommender for the team's prioritised causes.

A play is what other sales organisations did that worked: the fishbone categories and loss codes it
addresses, actions for the first 30/60/90 days, the x-ray metric that should move first, effort,
time to impact and its evidence with the source named. Codes are plain ids (``no_decision``); this
module does not import the coding module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator
from pydantic.dataclasses import dataclass as model

from sales_rca import resources
from sales_rca.errors import ModelError
from sales_rca.rootcause.fishbone import CATEGORY_IDS, CATEGORY_LABELS, Cause
from sales_rca.rootcause.voting import VoteResult
from sales_rca.schema import STRICT, Count, Ident, Text, YamlModel, one_of, unique

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

_Steps = Annotated[tuple[Text, ...], Field(min_length=1)]


@model(config=STRICT)
class Indicator:
    """The leading indicator a play should move: metric, where it is measured, which way."""

    metric: Annotated[str, AfterValidator(one_of(INDICATOR_METRICS))]
    scope: Annotated[str, AfterValidator(one_of(INDICATOR_SCOPES))]
    direction: Annotated[str, AfterValidator(one_of(("up", "down")))]
    at: Text | None = None

    @property
    def label(self) -> str:
        """E.g. ``"conversion at discovery / needs analysis, up"``, ``"share of lost deals coded
        lost champion, down"`` (a code by its words, never its id)."""
        from sales_rca.display import label

        what = {"code_share": "share of lost deals coded"}.get(
            self.metric, self.metric.replace("_", " ")
        )
        if self.scope == "code" and self.at:
            where = f" {label(self.at).lower()}"
        else:
            where = f" at {self.at}" if self.at else ""
        return f"{what}{where}, {self.direction}"


@model(config=STRICT)
class Source:
    """One piece of evidence for a play, with its source named."""

    claim: Text
    source: Text
    year: Annotated[int, Field(strict=True, ge=1900)] | None = None


@model(config=STRICT)
class Play:
    """One proven play; ``categories`` (the first is its main one) are the fishbone's of the
    validation context, else the default fishbone's."""

    id: Ident
    title: Text
    summary: Text
    categories: Annotated[tuple[Ident, ...], Field(min_length=1)]
    days_30: _Steps
    days_60: _Steps
    days_90: _Steps
    indicator: Indicator
    effort: Annotated[str, AfterValidator(one_of(EFFORTS))]
    time_to_impact_days: Annotated[int, Field(strict=True, ge=1)]
    evidence: Annotated[tuple[Source, ...], Field(min_length=1)]
    codes: Annotated[tuple[Ident, ...], AfterValidator(lambda v: tuple(dict.fromkeys(v)))] = ()

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        known = (info.context or {}).get("categories", CATEGORY_IDS)
        unknown = [c for c in value if c not in known]
        if unknown:
            raise ValueError(f"expected categories among {', '.join(known)}, found {unknown[0]!r}")
        return tuple(dict.fromkeys(value))


class Playbook(YamlModel):
    """``playbook.yaml``: the plays, each id once."""

    version: Count | None = None
    plays: Annotated[list[Play], Field(min_length=1), AfterValidator(unique())]


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
        return self.why()

    def why(self, code_labels: Mapping[str, str] | None = None) -> str:
        """``"Addresses buyer & buying group; loss codes: No decision made"`` (codes by their
        ``code_labels``, else their ids)."""
        labels = code_labels or {}
        cats = ", ".join(CATEGORY_LABELS.get(k, k).lower() for k in self.categories)
        codes = ", ".join(labels.get(k, k) for k in self.codes)
        return "; ".join(
            p for p in (cats and f"Addresses {cats}", codes and f"loss codes: {codes}") if p
        )


def load_playbook(
    path: str | Path | None = None, *, categories: Sequence[str] = CATEGORY_IDS
) -> tuple[Play, ...]:
    """Load plays from ``path``, or the packaged default playbook.

    Example:
        >>> len(load_playbook()) >= 25
        True
    """
    context = {"categories": tuple(categories)}
    book = resources.load_yaml(
        Playbook, path, default="playbook.yaml", error=ModelError, context=context
    )
    return tuple(book.plays)


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
