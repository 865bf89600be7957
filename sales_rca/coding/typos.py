"""Typo tolerance: words a codebook does not know are read as the codebook word they misspell.

"secuirty", "budgte" and "opstponed" are one edit (a swap of two letters counts as one) away from
"security", "budget" and "postponed". A word is corrected only when all of these hold:

- it is not a word of the codebook already (no literal matches it, no ``word*`` pattern covers it);
- it has at least 5 letters (shorter words are too close to too many others);
- the nearest codebook word is 1 edit away (2 edits when both words have 8 letters or more), and
  no other codebook word is as near (an ambiguous typo is left alone);
- neither word is the other with letters added at the end ("report" / "reporte", "budge" /
  "budget"): that is another form of a word far more often than a typo;
- it starts with the same letter, or with the first two letters swapped ("opstponed");
- it is not a word the packaged labelled loss notes use at least twice ("context" is a word, not
  a typo of "content"; see :func:`known_words`).

The distance is the optimal string alignment distance from rapidfuzz (C speed); candidates are
compared only with codebook words of a compatible first letter and length, so large vocabularies
stay cheap.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from rapidfuzz.distance import OSA
from rapidfuzz.process import cdist

from sales_rca.coding.codebook import Codebook, Pattern, Term

#: Shortest word that is ever corrected, and the length from which two edits are allowed.
MIN_LENGTH = 5
TWO_EDITS_FROM = 8
_ALPHA = re.compile(r"[a-z]+")


def _terms(patterns: Iterable[Pattern]) -> Iterable[Term]:
    for p in patterns:
        for el in p.elements:
            if isinstance(el, Term):
                yield el


class _Vocabulary(NamedTuple):
    literals: frozenset[str]  # whole words of the codebook
    prefixes: frozenset[str]  # the stems of its ``word*`` patterns
    globs: re.Pattern[str] | None  # one regex of every ``word*`` and /regex/ term


_VOCABULARY: dict[int, tuple[Codebook, _Vocabulary]] = {}


def vocabulary(book: Codebook) -> _Vocabulary:
    """The codebook's words and stems (targets for correction) and one regex of its globs."""
    cached = _VOCABULARY.get(id(book))
    if cached is not None and cached[0] is book:
        return cached[1]
    patterns = [
        *book.negate_before,
        *book.negate_after,
        *(p for code in book.codes for p in (*code.all_patterns, *code.unless)),
    ]
    literals: set[str] = set()
    prefixes: set[str] = set()
    regexes: set[str] = set()
    for term in _terms(patterns):
        literals |= {w for w in term.literals if _ALPHA.fullmatch(w)}
        prefixes |= {
            a[:-1]
            for a in term.text.split("|")
            if a.endswith("*") and len(a) > MIN_LENGTH and _ALPHA.fullmatch(a[:-1])
        }
        if term.regex:
            regexes.add(term.regex)
    rx = re.compile("|".join(f"(?:{r})" for r in sorted(regexes))) if regexes else None
    found = _Vocabulary(frozenset(literals), frozenset(prefixes), rx)
    if len(_VOCABULARY) > 16:
        _VOCABULARY.clear()
    _VOCABULARY[id(book)] = (book, found)
    return found


def corrections(words: Iterable[str], book: Codebook) -> dict[str, str]:
    """``{misspelt word: codebook word}`` for the words of ``words`` that read as a typo.

    Example::

        corrections(["secuirty", "budgte", "report", "cat"], default_codebook())
        # {"secuirty": "security", "budgte": "budget"}  ("report" is another word)
    """
    literals, prefixes, globs = vocabulary(book)
    known = known_words()
    cands = sorted(
        {
            w
            for w in words
            if len(w) >= MIN_LENGTH
            and w not in literals
            and w not in known
            and _ALPHA.fullmatch(w)
            and not (globs is not None and globs.fullmatch(w))
        }
    )
    if not cands or not literals:
        return {}
    out = _nearest(cands, sorted(t for t in literals if len(t) >= MIN_LENGTH - 1))
    # A misspelt stem ("compettior" for "competit*"): compare the word's first letters with the
    # stem and keep the rest of the word as typed.
    rest = [w for w in cands if w not in out]
    for cut in (0, 1, -1):
        heads: dict[str, list[str]] = {}
        for w in rest:
            for stem_len in {len(p) for p in prefixes}:
                n = stem_len + cut
                if MIN_LENGTH <= n < len(w):
                    heads.setdefault(w[:n], []).append(w)
        found = _nearest(list(heads), sorted(prefixes), max_edits=1)
        for head, stem in found.items():
            for w in heads[head]:
                out.setdefault(w, stem + w[len(head) :])
        rest = [w for w in rest if w not in out]
    return out


#: How often the labelled notes must use a word for it to count as a word (typos are one-offs).
KNOWN_FROM = 2


def known_words() -> frozenset[str]:
    """Words the packaged labelled loss notes use at least :data:`KNOWN_FROM` times (without
    the texts an evaluation scores, inside :func:`known_without`)."""
    return _OVERRIDE.get() or _known(())


@lru_cache(maxsize=4)  # the packaged notes, and the few sets an evaluation scores
def _known(exclude: tuple[str, ...]) -> frozenset[str]:
    from sales_rca.coding.autocode import normalise_list
    from sales_rca.coding.model import training_set

    texts = normalise_list(training_set()["text"].tolist())
    banned = set(normalise_list(list(exclude)))
    counts = Counter(_ALPHA.findall(" ".join(t for t in texts if t not in banned)))
    return frozenset(w for w, n in counts.items() if n >= KNOWN_FROM)


_OVERRIDE: ContextVar[frozenset[str] | None] = ContextVar("known_words", default=None)


@contextmanager
def known_without(texts: Iterable[str]) -> Iterator[None]:
    """Inside the block, the known words leave out ``texts`` (an evaluation's own texts must not
    vouch for their words)."""
    token = _OVERRIDE.set(_known(tuple(texts)))
    try:
        yield
    finally:
        _OVERRIDE.reset(token)


def _nearest(words: list[str], targets: list[str], max_edits: int = 2) -> dict[str, str]:
    """``{word: the one target nearest to it}`` within the allowed edits (see the module)."""
    by_first: dict[str, list[str]] = {}
    for t in targets:
        by_first.setdefault(t[0], []).append(t)
        if len(t) > 1 and t[1] != t[0]:
            by_first.setdefault(t[1], []).append(t)  # reached by a swap of the first two letters
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[0], []).append(w)
    out: dict[str, str] = {}
    for first, ws in groups.items():
        ts = by_first.get(first, [])
        if not ts:
            continue
        dist = cdist(ws, ts, scorer=OSA.distance, score_cutoff=2, dtype=np.int32, workers=1)
        t_len = np.fromiter((len(t) for t in ts), dtype=np.int64, count=len(ts))
        for i, w in enumerate(ws):
            limit = min(max_edits, 2 if len(w) >= TWO_EDITS_FROM else 1)
            row = dist[i]
            ok = (row <= np.where(t_len >= TWO_EDITS_FROM, limit, 1)) & (
                np.abs(t_len - len(w)) <= limit
            )
            if not ok.any():
                continue
            best = row[ok].min()
            hits = np.flatnonzero(ok & (row == best))
            near = [
                ts[j]
                for j in hits
                if (ts[j][0] == w[0] or ts[j][:2] == w[1::-1])
                and not (ts[j].startswith(w) or w.startswith(ts[j]))
            ]
            if len(near) == 1:
                out[w] = near[0]
    return out
