"""The eight sales fishbone categories (DESIGN.md): stable ids and default labels.

One source, ``resources/fishbone.yaml``: loss codes (:mod:`sales_rca.coding`), plays and the
fishbone itself (:mod:`sales_rca.rootcause`) all refer to these ids. The full category model
(descriptions, examples, within-control flag) is :func:`sales_rca.rootcause.load_categories`.
"""

from __future__ import annotations

import yaml

from sales_rca import resources

_DEFAULT = yaml.safe_load(resources.read_text("fishbone.yaml"))["categories"]

#: Category ids, in display order.
CATEGORY_IDS: tuple[str, ...] = tuple(c["id"] for c in _DEFAULT)
#: Default label of each category id.
CATEGORY_LABELS: dict[str, str] = {c["id"]: c["label"] for c in _DEFAULT}
