"""Recognise which CRM wrote an export, and map its headers to canonical columns.

The header aliases live in ``resources/crm_vendors.yaml`` so a new vendor is a data change.
A user's mapping file (:func:`load_mapping`) wins over anything detected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictStr,
    create_model,
)

from sales_rca import resources
from sales_rca.crm.data import OPPORTUNITY_COLUMNS
from sales_rca.errors import MappingError
from sales_rca.schema import (
    BuyerJobMap,
    Count,
    Flag,
    Ident,
    Names,
    Scalar,
    YamlModel,
    as_text,
    non_blank,
    one_of,
)

#: Canonical names a mapping may use besides the table columns.
FLAG_COLUMNS = ("is_won", "is_closed")
MAPPABLE = (*OPPORTUNITY_COLUMNS, *FLAG_COLUMNS)
HISTORY_MAPPABLE = ("opportunity_id", "stage", "from_stage", "entered_at", "field")


CUSTOM_SUFFIX = re.compile(r" (?:c|s)$")


def normalise(header: str) -> str:
    """Lower case, every run of non-alphanumerics to one space: ``'Deal - ID'`` -> ``'deal id'``."""
    return re.sub(r"[^0-9a-z]+", " ", str(header).lower().replace("\ufeff", "")).strip()


_Headers = Annotated[tuple[StrictStr, ...], AfterValidator(lambda hs: tuple(map(normalise, hs)))]


class Vendor(YamlModel):
    """An export shape of ``crm_vendors.yaml``, its headers normalised (:func:`normalise`)."""

    name: str = ""
    label: str = ""
    min_hits: Count = 2
    signature: _Headers = ()
    columns: dict[StrictStr, _Headers] = Field(default_factory=dict)


class _Catalogue(YamlModel):
    exports: dict[Ident, Vendor]
    history: dict[Ident, Vendor]


@cache
def _catalogue() -> dict[str, dict[str, Vendor]]:
    shapes = resources.load_yaml(_Catalogue, None, default="crm_vendors.yaml").model_dump()
    return {
        kind: {n: Vendor(**{**v, "name": n, "label": v["label"] or n}) for n, v in named.items()}
        for kind, named in shapes.items()
    }


def vendors() -> dict[str, Vendor]:
    """Opportunity-export shapes by name (``generic`` last)."""
    return _catalogue()["exports"]


def history_shapes() -> dict[str, Vendor]:
    """Stage-history export shapes by name."""
    return _catalogue()["history"]


def detect_vendor(headers: list[str]) -> Vendor:
    """The vendor whose signature headers appear most often; ``generic`` when none reaches its minimum."""
    found = {normalise(h) for h in headers}
    found |= {CUSTOM_SUFFIX.sub("", f) for f in found}
    best: Vendor | None = None
    best_hits = 0
    for vendor in vendors().values():
        if not vendor.signature:
            continue
        hits = sum(1 for s in vendor.signature if s in found)
        if hits >= vendor.min_hits and hits > best_hits:
            best, best_hits = vendor, hits
    return best or vendors()["generic"]


def map_columns(
    headers: list[str],
    vendor: Vendor,
    fallback: Vendor | None,
    user: dict[str, str],
    wanted: tuple[str, ...] = MAPPABLE,
) -> dict[str, str]:
    """Canonical name -> source header: the user's mapping, then the vendor's aliases, then the
    fallback's; a source header is used for one canonical column only."""
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalise(h), h)
    for h in headers:
        # Custom fields carry a suffix: Salesforce "Loss_Reason__c", Zoho "Reason For Loss__s".
        by_norm.setdefault(CUSTOM_SUFFIX.sub("", normalise(h)), h)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for canonical, source in user.items():
        mapping[canonical] = source
        used.add(source)
    for table in (vendor, fallback):
        if table is None:
            continue
        for canonical in wanted:
            if canonical in mapping:
                continue
            for alias in table.columns.get(canonical, ()):
                header = by_norm.get(alias)
                if header is not None and header not in used:
                    mapping[canonical] = header
                    used.add(header)
                    break
    return {k: mapping[k] for k in wanted if k in mapping}


def header_score(row: list[str]) -> int:
    """How many cells of a candidate header row are known column names (any vendor)."""
    known: set[str] = set()
    for vendor in (*vendors().values(), *history_shapes().values()):
        for aliases in vendor.columns.values():
            known.update(aliases)
    return sum(1 for c in row if normalise(c) in known)


@dataclass
class Mapping:
    """A user's mapping file: canonical columns to source headers, plus options."""

    columns: dict[str, str] = field(default_factory=dict)
    history: dict[str, str] = field(default_factory=dict)
    won_stages: list[str] = field(default_factory=list)
    lost_stages: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    dayfirst: bool | None = None
    decimal: str | None = None
    sheet: str | None = None
    source: str | None = None
    path: str | None = None
    #: stage -> buyer job and exit criterion (``buyer_jobs:``; :class:`sales_rca.schema.StageJob`)
    buyer_jobs: dict[str, Any] = field(default_factory=dict)


#: A source column's name (a number in YAML reads as its text), for each canonical name.
_Column = Annotated[StrictStr, BeforeValidator(as_text), AfterValidator(non_blank)] | None
_HISTORY: dict[str, Any] = {k: (_Column, None) for k in HISTORY_MAPPABLE}
_History = create_model("HistoryMapping", __base__=YamlModel, **_HISTORY)


_OPTIONS: dict[str, Any] = {
    "won_stages": (Names, ()),
    "lost_stages": (Names, ()),
    "stages": (Names, ()),
    "dayfirst": (Flag | None, None),
    "decimal": (Annotated[StrictStr, AfterValidator(one_of((".", ",")))] | None, None),
    "sheet": (Scalar | None, None),
    "history": (_History | None, None),
    "buyer_jobs": (BuyerJobMap | None, None),
}
#: A mapping file: ``canonical_name: "Source Column"`` lines, then the options.
_COLUMNS: dict[str, Any] = {k: (_Column, None) for k in MAPPABLE}
MappingFile = create_model("MappingFile", __base__=YamlModel, **_COLUMNS, **_OPTIONS)


def load_mapping(mapping: str | Path | dict[str, Any] | Mapping | None) -> Mapping:
    """Read a mapping (YAML file path, dict, or :class:`Mapping`); ``None`` gives an empty one.

    YAML keys: canonical column names (``loss_detail: "Why we lost"``), and the options
    ``won_stages``, ``lost_stages``, ``stages`` (official order), ``dayfirst``, ``decimal``,
    ``sheet``, ``history`` (a nested mapping for the history file) and ``buyer_jobs`` (stage ->
    buyer job and exit criterion, :class:`sales_rca.schema.StageJob`). ``source`` names the export
    shape when its value is one (``source: hubspot``), else the lead-source column.

    Raises:
        MappingError: the file is missing, not YAML, or has an unknown key or a bad value.
    """
    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    path = str(mapping) if isinstance(mapping, str | Path) else None
    if path is None:
        data = resources.validate(MappingFile, mapping, "mapping", error=MappingError)
    else:
        data = resources.load_yaml(MappingFile, path, error=MappingError, what="mapping file")
    fields = data.model_dump(exclude_none=True)
    options = {k: fields.pop(k) for k in _OPTIONS if k in fields}
    if fields.get("source") in ("auto", *vendors()):
        options["source"] = fields.pop("source")
    lists = {k: list(v) for k, v in options.items() if isinstance(v, tuple)}
    return Mapping(columns=fields, path=path, **{**options, **lists})


def resolve_user_columns(user: dict[str, str], headers: list[str], where: str) -> dict[str, str]:
    """Match the user's source names to real headers (exact, then case/space-insensitive);
    a name the file lacks is an error that lists the file's columns."""
    by_norm = {normalise(h): h for h in headers}
    resolved: dict[str, str] = {}
    for canonical, source in user.items():
        if source in headers:
            resolved[canonical] = source
        elif normalise(source) in by_norm:
            resolved[canonical] = by_norm[normalise(source)]
        else:
            raise MappingError(
                f"{where}: the mapping says {canonical} is in column {source!r}, but the file has "
                f"no such column; its columns are: {', '.join(map(repr, headers))}."
            )
    return resolved
