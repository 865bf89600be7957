"""The sales fishbone: eight cause categories (configurable) and the causes a team places on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from pydantic.dataclasses import dataclass as model

from sales_rca import resources
from sales_rca.errors import ModelError
from sales_rca.schema import STRICT, Count, Flag, Ident, Text, YamlModel, unique


@model(config=STRICT)
class Category:
    """One bone of the fishbone."""

    id: Ident
    label: Text
    description: Text
    examples: tuple[Text, ...] = ()
    within_control: Flag = False


class Fishbone(YamlModel):
    """``fishbone.yaml``: the categories, in display order."""

    version: Count | None = None
    categories: Annotated[list[Category], Field(min_length=1), AfterValidator(unique())]


#: The packaged fishbone: loss codes, plays and sessions refer to its ids (default labels below).
DEFAULT_CATEGORIES: tuple[Category, ...] = tuple(
    resources.load_yaml(Fishbone, None, default="fishbone.yaml", error=ModelError).categories
)
CATEGORY_IDS: tuple[str, ...] = tuple(c.id for c in DEFAULT_CATEGORIES)
CATEGORY_LABELS: dict[str, str] = {c.id: c.label for c in DEFAULT_CATEGORIES}


@dataclass(frozen=True)
class Cause:
    """A cause the team placed on a category, linked to the whys behind it and to loss codes."""

    id: str
    text: str
    category: str
    why_ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    removed: bool = False
    by: str | None = None
    at: str | None = None
    #: Suggested from a phone and not yet put on the fishbone by the facilitator.
    proposed: bool = False


def categories_from_data(data: Any, *, source: str = "fishbone") -> tuple[Category, ...]:
    """Validate a parsed fishbone document (``{"categories": [...]}``); else :class:`ModelError`."""
    return tuple(resources.validate(Fishbone, data, source, error=ModelError).categories)


def load_categories(path: str | Path | None = None) -> tuple[Category, ...]:
    """Load fishbone categories from ``path``, or the packaged default (the eight in DESIGN.md).

    Example:
        >>> [c.id for c in load_categories()][:3]
        ['buyer', 'price', 'competition']
    """
    if path is None:
        return DEFAULT_CATEGORIES
    return tuple(
        resources.load_yaml(Fishbone, path, error=ModelError, what="fishbone file").categories
    )


def causes_by_category(
    categories: tuple[Category, ...], causes: tuple[Cause, ...]
) -> dict[str, tuple[Cause, ...]]:
    """Live causes grouped per category id, every category present (possibly empty), in order."""
    grouped: dict[str, list[Cause]] = {c.id: [] for c in categories}
    for cause in causes:
        if not cause.removed and cause.category in grouped:
            grouped[cause.category].append(cause)
    return {k: tuple(v) for k, v in grouped.items()}
