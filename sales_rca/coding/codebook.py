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
        weak: ["pricing"]          # a topic named, not a reason stated (see below)
        languages:                 # patterns in other languages (accents folded: "décision")
          de: ["zu teuer"]
          fr: ["trop cher"]
    negation:
      before: ["not about", "no issues? with"]      # negates the words after it
      after: ["was|were not ~1 issue|problem"]       # negates the words before it

Pattern syntax (matched word by word, case-insensitive, on normalised text):

- ``price`` a word; ``pric*`` any word starting with ``pric``; ``cut|cuts|slashed`` alternatives;
- ``budget ~2 cut*`` a phrase: ``~N`` allows up to N other words in between;
- ``/q[1-4]/`` a regular expression that must match one whole word.

``weak`` patterns name a topic without saying it was the reason ("the POC", "legal", "features"):
they count half as much as a pattern when choosing a text's primary category, and a category
only weakly named is never kept as a second reason.

Patterns in other languages go under ``languages`` (``de``, ``fr``, ...); they are matched on every
text (no language detection is needed: a German phrase does not occur in English notes). Accents
are folded before matching, so ``entscheidung verschoben`` and ``decision reportee`` are written
without them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, InstanceOf, StrictStr
from pydantic.dataclasses import dataclass as model

from sales_rca import resources
from sales_rca.errors import CodebookError, problem
from sales_rca.rootcause.fishbone import CATEGORY_IDS
from sales_rca.rootcause.fishbone import CATEGORY_LABELS as CATEGORY_LABELS  # re-exported
from sales_rca.schema import (
    STRICT,
    Count,
    Flag,
    Ident,
    Texts,
    YamlModel,
    listed,
    one_of,
    unique,
)

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
        raise _bad(text, "a word, phrase or /regex/", "an empty pattern")
    elements: list[Element] = []
    for raw in source.split():
        gap = _GAP_RE.fullmatch(raw)
        if gap:
            if not elements or isinstance(elements[-1], Gap):
                raise _bad(text, "a gap ~N between two words", repr(text))
            elements.append(Gap(int(gap.group(1))))
            continue
        elements.append(_parse_term(raw, text))
    if isinstance(elements[-1], Gap):
        raise _bad(text, "a gap ~N between two words", repr(text))
    return Pattern(text=str(text), elements=tuple(elements))


def _bad(text: str, expected: str, found: str) -> CodebookError:
    return CodebookError(
        problem("", f"pattern {text!r}", expected, found), expected=expected, found=found
    )


def _parse_term(raw: str, text: str) -> Term:
    if raw.startswith("/") and raw.endswith("/") and len(raw) > 2:
        rx = raw[1:-1]
        try:
            re.compile(rx)
        except re.error as exc:
            raise _bad(
                text, "a /regex/ that compiles", f"/{rx}/, which does not compile ({exc})"
            ) from None
        return Term(text=raw, regex=rx)
    literals: set[str] = set()
    globs: list[str] = []
    for alt in raw.split("|"):
        if not alt or not _GLOB_RE.fullmatch(alt) or alt == "*":
            raise _bad(
                text,
                "words of letters, digits, ' and &, with an optional trailing * (or a /regex/)",
                f"{alt!r}, which is not a word",
            )
        if "*" in alt:
            globs.append(re.escape(alt).replace(r"\*", "[a-z0-9'&]*"))
        else:
            literals.add(alt)
    return Term(text=raw, literals=frozenset(literals), regex="|".join(globs) or None)


def _pattern(value: Any) -> Any:
    """A pattern's text parsed into a :class:`Pattern` for a model field."""
    try:
        return parse_pattern(value) if isinstance(value, str) else value
    except CodebookError as exc:
        raise ValueError(f"expected {exc.expected}, found {exc.found}") from None


def _language(value: str) -> str:
    """A language key of a code's ``languages``: a two-letter code such as ``de`` or ``fr``."""
    if not re.fullmatch(r"[a-z]{2}", value):
        raise ValueError(f"expected a two-letter language code such as de or fr, found {value!r}")
    return value


#: Patterns of a code or a negation cue: a list of texts, or one text.
Patterns = Annotated[
    tuple[Annotated[InstanceOf[Pattern], BeforeValidator(_pattern)], ...],
    BeforeValidator(listed),
]


@model(config=STRICT)
class Code:
    """One loss reason in the codebook (its label defaults to its id in words)."""

    id: Ident
    category: Annotated[str, AfterValidator(one_of(CATEGORIES))]
    patterns: Annotated[Patterns, Field(min_length=1)]
    label: StrictStr = ""
    definition: Annotated[StrictStr, AfterValidator(str.strip)] = ""
    within_control: Flag = False
    include: Texts = ()
    exclude: Texts = ()
    picklist: Texts = ()
    unless: Patterns = ()
    weak: Patterns = ()
    languages: dict[Annotated[str, AfterValidator(_language)], Patterns] = Field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        if not self.label.strip():
            object.__setattr__(self, "label", self.id.replace("_", " ").capitalize())

    @property
    def all_patterns(self) -> tuple[Pattern, ...]:
        """The code's patterns, its patterns in other languages, then its weak patterns."""
        return self.strong_patterns + self.weak

    @property
    def strong_patterns(self) -> tuple[Pattern, ...]:
        """The code's patterns followed by its patterns in other languages (not the weak ones)."""
        return self.patterns + tuple(p for ps in self.languages.values() for p in ps)


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


class _Negation(YamlModel):
    before: Patterns = ()
    after: Patterns = ()


class CodebookFile(YamlModel):
    """A codebook YAML file: its codes (each id once) and the negation cues."""

    version: Count | None = None
    codes: Annotated[list[Code], Field(min_length=1), AfterValidator(unique())]
    negation: _Negation | None = None

    def codebook(self, source: str) -> Codebook:
        negation = self.negation or _Negation()
        return Codebook(
            codes=tuple(self.codes),
            negate_before=negation.before,
            negate_after=negation.after,
            source=source,
        )


def codebook_from_dict(data: Any, *, source: str = "<memory>") -> Codebook:
    """Validate a parsed YAML document and build a :class:`Codebook`.

    Raises :class:`CodebookError` for unknown categories, duplicate ids, missing fields and
    patterns that do not compile, naming the code at fault.
    """
    return resources.validate(CodebookFile, data, source, error=CodebookError).codebook(source)


def load_codebook(path: str | Path | None = None) -> Codebook:
    """Load and validate a codebook YAML file (``None``: the default codebook).

    Example::

        book = load_codebook()            # sales_rca/resources/codebook.yaml
        book["price_too_high"].category   # 'price'
    """
    book = resources.load_yaml(
        CodebookFile, path, default="codebook.yaml", error=CodebookError, what="codebook file"
    )
    return book.codebook("default codebook" if path is None else str(path))


@cache
def default_codebook() -> Codebook:
    """The packaged default codebook (loaded once)."""
    return load_codebook()
