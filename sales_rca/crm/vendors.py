"""Recognise which CRM wrote an export, and map its headers to canonical columns.

The header aliases live in ``resources/crm_vendors.yaml`` so a new vendor is a data change.
A user's mapping file (:func:`load_mapping`) wins over anything detected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from sales_rca import resources
from sales_rca.crm.data import OPPORTUNITY_COLUMNS
from sales_rca.errors import MappingError

#: Canonical names a mapping may use besides the table columns.
FLAG_COLUMNS = ("is_won", "is_closed")
MAPPABLE = (*OPPORTUNITY_COLUMNS, *FLAG_COLUMNS)
HISTORY_MAPPABLE = ("opportunity_id", "stage", "from_stage", "entered_at", "field")
MAPPING_OPTIONS = (
    "won_stages",
    "lost_stages",
    "stages",
    "dayfirst",
    "decimal",
    "sheet",
    "history",
    "source",
)


CUSTOM_SUFFIX = re.compile(r" (?:c|s)$")


def normalise(header: str) -> str:
    """Lower case, every run of non-alphanumerics to one space: ``'Deal - ID'`` -> ``'deal id'``."""
    return re.sub(r"[^0-9a-z]+", " ", str(header).lower().replace("\ufeff", "")).strip()


@dataclass(frozen=True)
class Vendor:
    name: str
    label: str
    columns: dict[str, tuple[str, ...]]
    signature: tuple[str, ...] = ()
    min_hits: int = 2


@cache
def _catalogue() -> dict[str, Any]:
    text = resources.read_text("crm_vendors.yaml")
    return yaml.safe_load(text)


def _vendor(name: str, spec: dict[str, Any]) -> Vendor:
    return Vendor(
        name=name,
        label=spec.get("label", name),
        columns={k: tuple(normalise(a) for a in v) for k, v in spec.get("columns", {}).items()},
        signature=tuple(normalise(s) for s in spec.get("signature", ())),
        min_hits=int(spec.get("min_hits", 2)),
    )


def vendors() -> dict[str, Vendor]:
    """Opportunity-export shapes by name (``generic`` last)."""
    cat = _catalogue()
    return {name: _vendor(name, spec) for name, spec in cat.items() if name != "history"}


def history_shapes() -> dict[str, Vendor]:
    """Stage-history export shapes by name."""
    return {name: _vendor(name, spec) for name, spec in _catalogue()["history"].items()}


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


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise MappingError(
            f"{where}: expected `{key}` to be a list of stage names, found {value!r}."
        )
    return [str(v) for v in value]


def load_mapping(mapping: str | Path | dict[str, Any] | Mapping | None) -> Mapping:
    """Read a mapping (YAML file path, dict, or :class:`Mapping`); ``None`` gives an empty one.

    YAML keys: canonical column names (``loss_detail: "Why we lost"``), and the options
    ``won_stages``, ``lost_stages``, ``stages`` (official order), ``dayfirst``, ``decimal``,
    ``sheet``, ``source`` and ``history`` (a nested mapping for the history file).
    """
    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    where = "mapping"
    if isinstance(mapping, (str, Path)):
        path = Path(mapping)
        where = path.name
        if not path.is_file():
            raise MappingError(f"{where}: expected a YAML mapping file, found nothing at {path}.")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise MappingError(
                f"{where}: expected valid YAML, found a syntax error ({first})."
            ) from None
    else:
        data = mapping
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MappingError(
            f'{where}: expected `canonical_name: "Source Column"` lines, found a {type(data).__name__}.'
        )
    result = Mapping(path=str(mapping) if isinstance(mapping, (str, Path)) else None)
    unknown = [k for k in data if k not in MAPPABLE and k not in MAPPING_OPTIONS]
    if unknown:
        raise MappingError(
            f"{where}: expected keys among {', '.join(MAPPABLE + MAPPING_OPTIONS)}; "
            f"found unknown {', '.join(map(str, unknown))}."
        )
    for key, value in data.items():
        if key in MAPPABLE:
            if not isinstance(value, (str, int)) or not str(value).strip():
                raise MappingError(
                    f"{where}: expected `{key}` to name a source column, found {value!r}."
                )
            result.columns[key] = str(value)
    result.won_stages = _str_list(data.get("won_stages"), "won_stages", where)
    result.lost_stages = _str_list(data.get("lost_stages"), "lost_stages", where)
    result.stages = _str_list(data.get("stages"), "stages", where)
    if "dayfirst" in data:
        if not isinstance(data["dayfirst"], bool):
            raise MappingError(
                f"{where}: expected `dayfirst: true` or `false`, found {data['dayfirst']!r}."
            )
        result.dayfirst = data["dayfirst"]
    if "decimal" in data:
        if data["decimal"] not in (".", ","):
            raise MappingError(
                f'{where}: expected `decimal: "."` or `","`, found {data["decimal"]!r}.'
            )
        result.decimal = data["decimal"]
    if data.get("sheet") is not None:
        result.sheet = str(data["sheet"])
    if data.get("source") is not None:
        result.source = str(data["source"])
    hist = data.get("history") or {}
    if not isinstance(hist, dict) or any(k not in HISTORY_MAPPABLE for k in hist):
        raise MappingError(
            f"{where}: expected `history` to map {', '.join(HISTORY_MAPPABLE)} to source columns, "
            f"found {hist!r}."
        )
    result.history = {k: str(v) for k, v in hist.items()}
    return result


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
