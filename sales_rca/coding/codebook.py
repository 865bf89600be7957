"""The loss-reason codebook: codes a facilitator can read and edit, their patterns, and checks.

A codebook is YAML (the default is ``sales_rca/resources/codebook.yaml``)::

    codes:
      - id: price_too_high
        label: Price too high
        category: price            # one of CATEGORIES
        within_control: false
        definition: The buyer found our price too high for what they saw.
        include: ["too expensive", "pricing was 30% over the other quote"]
        exclude: ["price was fine, lost on features"]
        patterns: ["too expensive", "overpric*", "price|prices|pricing"]
        picklist: ["Price", "Too expensive"]
    negation:
      before: ["not about", "no issues? with"]      # negates the words after it
      after: ["was|were not ~1 issue|problem"]       # negates the words before it

Pattern syntax (matched word by word, case-insensitive, on normalised text):

- ``price`` a word; ``pric*`` any word starting with ``pric``; ``cut|cuts|slashed`` alternatives;
- ``budget ~2 cut*`` a phrase: ``~N`` allows up to N other words in between;
- ``/q[1-4]/`` a regular expression that must match one whole word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sales_rca import resources
from sales_rca.categories import CATEGORY_IDS
from sales_rca.categories import CATEGORY_LABELS as CATEGORY_LABELS  # re-exported
from sales_rca.errors import CodebookError

#: Fishbone category ids and labels (one source: resources/fishbone.yaml).
CATEGORIES: tuple[str, ...] = CATEGORY_IDS

#: One word as the tokeniser sees it (apostrophes and ``&`` stay inside: "didn't", "t&cs").
WORD = r"[a-z0-9]+(?:['&][a-z0-9]+)*"
_WORD_RE = re.compile(WORD)
#: The packaged default codebook.
DEFAULT_CODEBOOK_PATH = resources.resource("codebook.yaml")
_GAP_RE = re.compile(r"~(\d)")
_GLOB_RE = re.compile(r"[a-z0-9'&*]+")


@dataclass(frozen=True)
class Term:
    """One word slot of a pattern: a set of literal words and/or one regex over a whole word."""

    text: str
    literals: frozenset[str] = frozenset()
    regex: str | None = None


@dataclass(frozen=True)
class Gap:
    """Up to ``n`` other words between two terms."""

    n: int


Element = Term | Gap


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern: terms (and gaps) that must follow each other in one text."""

    text: str
    elements: tuple[Element, ...]

    def to_regex(self) -> str:
        """The same pattern as a plain ``re`` regex over normalised text (for tools and checks)."""
        parts: list[str] = []
        for el in self.elements:
            if isinstance(el, Gap):
                parts.append(rf"(?:\s+{WORD}){{0,{el.n}}}")
                continue
            alts = sorted(re.escape(w) for w in el.literals)
            if el.regex:
                alts.append(f"(?:{el.regex})")
            body = f"(?:{'|'.join(alts)})"
            parts.append(body if not parts else r"\s+" + body)
        return r"(?<![a-z0-9'&])" + "".join(parts) + r"(?![a-z0-9'&])"


def parse_pattern(text: str) -> Pattern:
    """Parse one pattern string; raises :class:`CodebookError` when it cannot be used."""
    source = str(text).strip().lower()
    if not source:
        raise CodebookError("Empty pattern: write a word, phrase or /regex/.")
    elements: list[Element] = []
    for raw in source.split():
        gap = _GAP_RE.fullmatch(raw)
        if gap:
            if not elements or isinstance(elements[-1], Gap):
                raise CodebookError(f"Pattern {text!r}: a gap ~N must stand between two words.")
            elements.append(Gap(int(gap.group(1))))
            continue
        elements.append(_parse_term(raw, text))
    if isinstance(elements[-1], Gap):
        raise CodebookError(f"Pattern {text!r}: a gap ~N must stand between two words.")
    return Pattern(text=str(text), elements=tuple(elements))


def _parse_term(raw: str, text: str) -> Term:
    if raw.startswith("/") and raw.endswith("/") and len(raw) > 2:
        rx = raw[1:-1]
        try:
            re.compile(rx)
        except re.error as exc:
            raise CodebookError(
                f"Pattern {text!r}: regex /{rx}/ does not compile ({exc}); fix or remove it."
            ) from exc
        return Term(text=raw, regex=rx)
    literals: set[str] = set()
    globs: list[str] = []
    for alt in raw.split("|"):
        if not alt or not _GLOB_RE.fullmatch(alt) or alt == "*":
            raise CodebookError(
                f"Pattern {text!r}: {alt!r} is not a word; use letters, digits, ' & and a "
                "trailing * (or /regex/ for anything else)."
            )
        if "*" in alt:
            globs.append(re.escape(alt).replace(r"\*", "[a-z0-9'&]*"))
        else:
            literals.add(alt)
    return Term(text=raw, literals=frozenset(literals), regex="|".join(globs) or None)


@dataclass(frozen=True)
class Code:
    """One loss reason in the codebook."""

    id: str
    label: str
    category: str
    definition: str = ""
    within_control: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    picklist: tuple[str, ...] = ()
    unless: tuple[Pattern, ...] = ()


@dataclass(frozen=True)
class Codebook:
    """Codes in order plus the negation cues that cancel a match."""

    codes: tuple[Code, ...]
    negate_before: tuple[Pattern, ...] = ()
    negate_after: tuple[Pattern, ...] = ()
    source: str = "<memory>"
    _by_id: dict[str, Code] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.codes})

    def __getitem__(self, code_id: str) -> Code:
        try:
            return self._by_id[code_id]
        except KeyError:
            raise CodebookError(
                f"Unknown code {code_id!r}: expected one of the codebook's ids "
                f"({', '.join(sorted(self._by_id)[:8])}, ...)."
            ) from None

    def __contains__(self, code_id: object) -> bool:
        return code_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.codes]

    def category_of(self) -> dict[str, str]:
        """``{code id: category}``."""
        return {c.id: c.category for c in self.codes}

    def picklist_map(self) -> dict[str, str]:
        """``{normalised pick-list value: code id}``."""
        return {normalise_label(v): c.id for c in self.codes for v in c.picklist}


def normalise_label(value: str) -> str:
    """Lower-case, single-spaced form of a pick-list value or code name."""
    return " ".join(str(value).lower().replace("_", " ").split())


_CODE_ID_RE = re.compile(r"[a-z][a-z0-9_]*")


def codebook_from_dict(data: Any, *, source: str = "<memory>") -> Codebook:
    """Validate a parsed YAML document and build a :class:`Codebook`.

    Raises :class:`CodebookError` for unknown categories, duplicate ids, missing fields and
    patterns that do not compile, naming the code at fault.
    """
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list) or not data["codes"]:
        raise CodebookError(
            f"Codebook {source}: expected a mapping with a non-empty 'codes' list, found "
            f"{type(data).__name__}."
        )
    codes: list[Code] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["codes"], start=1):
        if not isinstance(raw, dict):
            raise CodebookError(f"Codebook {source}: code #{i} is not a mapping.")
        cid = str(raw.get("id", "")).strip()
        where = f"Codebook {source}, code {cid or f'#{i}'}"
        if not _CODE_ID_RE.fullmatch(cid):
            raise CodebookError(f"{where}: id must be lower_snake_case, found {cid!r}.")
        if cid in seen:
            raise CodebookError(f"{where}: duplicate id {cid!r}; every code needs its own id.")
        seen.add(cid)
        category = str(raw.get("category", "")).strip()
        if category not in CATEGORIES:
            raise CodebookError(
                f"{where}: unknown category {category!r}; expected one of {', '.join(CATEGORIES)}."
            )
        patterns = _strings(raw.get("patterns"), where, "patterns")
        if not patterns:
            raise CodebookError(f"{where}: needs at least one pattern.")
        try:
            parsed = [parse_pattern(p) for p in patterns]
            unless = [parse_pattern(p) for p in _strings(raw.get("unless"), where, "unless")]
        except CodebookError as exc:
            raise CodebookError(f"{where}: {exc}") from None
        codes.append(
            Code(
                id=cid,
                label=str(raw.get("label") or cid.replace("_", " ").capitalize()),
                category=category,
                definition=str(raw.get("definition", "")).strip(),
                within_control=bool(raw.get("within_control", False)),
                include=tuple(_strings(raw.get("include"), where, "include")),
                exclude=tuple(_strings(raw.get("exclude"), where, "exclude")),
                patterns=tuple(parsed),
                picklist=tuple(_strings(raw.get("picklist"), where, "picklist")),
                unless=tuple(unless),
            )
        )
    negation = data.get("negation") or {}
    if not isinstance(negation, dict):
        raise CodebookError(f"Codebook {source}: 'negation' must map before/after to lists.")
    cues: dict[str, tuple[Pattern, ...]] = {}
    for side in ("before", "after"):
        where = f"Codebook {source}, negation.{side}"
        raw_cues = _strings(negation.get(side), where, side)
        try:
            cues[side] = tuple(parse_pattern(p) for p in raw_cues)
        except CodebookError as exc:
            raise CodebookError(f"{where}: {exc}") from None
    return Codebook(
        codes=tuple(codes),
        negate_before=cues["before"],
        negate_after=cues["after"],
        source=source,
    )


def _strings(value: Any, where: str, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise CodebookError(f"{where}: '{name}' must be a list of strings.")
    return [str(v) for v in value]


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Load and validate a codebook YAML file (``None``: the default codebook).

    Example::

        book = load_codebook()            # sales_rca/resources/codebook.yaml
        book["price_too_high"].category   # 'price'
    """
    if path is None:
        text = DEFAULT_CODEBOOK_PATH.read_text(encoding="utf-8")
        source = "default codebook"
    else:
        p = Path(path)
        if not p.is_file():
            raise CodebookError(f"Codebook file not found: {p} (expected a YAML file).")
        text = p.read_text(encoding="utf-8")
        source = str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CodebookError(f"Codebook {source} is not valid YAML: {exc}") from None
    return codebook_from_dict(data, source=source)


_DEFAULT: Codebook | None = None


def default_codebook() -> Codebook:
    """The packaged default codebook (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_codebook()
    return _DEFAULT
