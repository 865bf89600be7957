"""The sales fishbone: eight cause categories (configurable) and the causes a team places on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sales_rca.categories import CATEGORY_IDS as CATEGORY_IDS  # re-exported
from sales_rca.errors import ModelError
from sales_rca.rootcause import _validate as check


@dataclass(frozen=True)
class Category:
    """One bone of the fishbone."""

    id: str
    label: str
    description: str
    examples: tuple[str, ...] = ()
    within_control: bool = False


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
    """Validate a parsed fishbone document (``{"categories": [...]}``) into categories.

    Raises:
        ModelError: on a missing field, a duplicate id or an empty list, naming ``source``.
    """
    items = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ModelError(
            f"expected {source} to have a non-empty 'categories' list, found {data!r:.60}"
        )
    categories: list[Category] = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ModelError(
                f"expected category {n} in {source} to be a mapping, found {item!r:.60}"
            )
        try:
            examples = item.get("examples", [])
            if not isinstance(examples, list):
                raise ModelError(f"expected examples to be a list, found {examples!r:.60}")
            categories.append(
                Category(
                    id=check.ident(item.get("id"), "id"),
                    label=check.text(item.get("label"), "label"),
                    description=check.text(item.get("description"), "description"),
                    examples=tuple(check.text(e, "example") for e in examples),
                    within_control=check.flag(item.get("within_control"), "within_control"),
                )
            )
        except ModelError as exc:
            raise ModelError(f"category {n} in {source}: {exc}") from None
    ids = [c.id for c in categories]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ModelError(
            f"expected unique category ids in {source}, found {', '.join(duplicates)} twice"
        )
    return tuple(categories)


def load_categories(path: str | Path | None = None) -> tuple[Category, ...]:
    """Load fishbone categories from ``path``, or the packaged default (the eight in DESIGN.md).

    Example:
        >>> [c.id for c in load_categories()][:3]
        ['buyer', 'price', 'competition']
    """
    data, source = check.load_yaml(path, "fishbone.yaml", "fishbone file")
    return categories_from_data(data, source=source)


def causes_by_category(
    categories: tuple[Category, ...], causes: tuple[Cause, ...]
) -> dict[str, tuple[Cause, ...]]:
    """Live causes grouped per category id, every category present (possibly empty), in order."""
    grouped: dict[str, list[Cause]] = {c.id: [] for c in categories}
    for cause in causes:
        if not cause.removed and cause.category in grouped:
            grouped[cause.category].append(cause)
    return {k: tuple(v) for k, v in grouped.items()}
