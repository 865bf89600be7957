"""The sales fishbone's categories (DESIGN.md): the model, and the eight default ids and labels.

One source, ``resources/fishbone.yaml``: loss codes (:mod:`sales_rca.coding`), plays and the
fishbone itself (:mod:`sales_rca.rootcause`) all refer to these ids. A custom fishbone is read by
:func:`sales_rca.rootcause.load_categories`.
"""

from __future__ import annotations

from typing import Annotated

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


#: The packaged fishbone's categories.
DEFAULT_CATEGORIES: tuple[Category, ...] = tuple(
    resources.load_yaml(Fishbone, None, default="fishbone.yaml", error=ModelError).categories
)
#: Category ids, in display order.
CATEGORY_IDS: tuple[str, ...] = tuple(c.id for c in DEFAULT_CATEGORIES)
#: Default label of each category id.
CATEGORY_LABELS: dict[str, str] = {c.id: c.label for c in DEFAULT_CATEGORIES}
