"""Auto-coding of loss texts with a :class:`~sales_rca.coding.codebook.Codebook`.

How it stays fast (no Python loop over rows x patterns):

1. texts are lower-cased, their long numbers collapsed, and deduplicated (``pd.factorize``);
2. distinct texts are cut into pieces at punctuation (no pattern, gap or negation reaches across
   it), the distinct pieces are normalised and coded once each, and their matches are copied to
   every text they occur in (one ``np.repeat``);
3. all distinct pieces are tokenised in one ``re.findall`` over their concatenation, and every word
   gets an integer id (``pd.factorize``); an inverted index maps a word id to its positions;
4. each pattern term is evaluated once over the *vocabulary* (a boolean mask), a pattern's
   candidate positions come from the inverted index, and the following terms are checked with
   numpy over all candidates at once;
5. negation cues are matched the same way; the words they negate (up to the clause end, or back
   to the clause start) are marked with one cumulative sum, and matches touching them are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sales_rca.coding.codebook import (
    CATEGORIES,
    WORD,
    Codebook,
    Gap,
    Pattern,
    Term,
    default_codebook,
)
from sales_rca.coding.typos import corrections

if TYPE_CHECKING:
    from sales_rca.coding.model import LossModel

_TOKEN_RE = re.compile(rf"{WORD}|[.;:!?,()\n]")
_PUNCT = frozenset(".;:!?,()\n")
#: Words that turn to another statement ("price, but timing"), in English.
_CONTRAST = frozenset(
    ["but", "however", "although", "though", "whereas", "while", "yet", "because"]
)
#: Words that end the clause a "before" cue negates ("not about price, but timing").
_CLAUSE_WORDS = _CONTRAST | frozenset(["except", "instead", "rather"])
#: Extra words that start a new clause when looking back from an "after" cue.
_CLAUSE_WORDS_BACK = _CLAUSE_WORDS | frozenset(["and", "so", "then", "also", "plus"])
#: Words that start a new clause for the clause-level reading: a text "mostly about" one category
#: and a second reason stated in a clause of its own (English, German, French).
CLAUSE_BREAKS = (
    _CONTRAST
    | frozenset(["and", "so", "also", "plus", "then"])
    | frozenset(["aber", "und", "sondern", "weil", "mais", "et", "donc", "car"])
)
#: Words a gap (``~N``) never steps over: "was ~1 happy" must not read "was never happy", nor
#: "budget ~2 cut" "budget never got cut" (English, German, French; contracted forms by suffix).
GAP_STOPS = frozenset(
    ["not", "never", "no", "nor", "neither", "nicht", "nie", "kein", "pas", "jamais"]
)
#: Words a "before" cue negates at most / words an "after" cue negates back at most.
WINDOW_BEFORE = 5
WINDOW_AFTER = 4

#: Auxiliaries whose negation is spelt one way ("did not", "didnt", "did n't" -> "didn't").
_AUX = [
    "did",
    "does",
    "do",
    "was",
    "were",
    "is",
    "are",
    "could",
    "would",
    "should",
    "has",
    "have",
    "had",
    "must",
    "need",
]


def _after_aux(suffix: str) -> str:
    """``suffix`` (a literal, so the regex scans fast) right after a whole auxiliary word."""
    behind = "|".join(f"(?<=\\b{w}{suffix})" for w in _AUX)
    return f"{suffix}\\b(?:{behind})"


#: (gate, regex, replacement): a rule runs only when one of its gate strings occurs (speed).
#: Every regex starts with a literal character where it can (lookbehinds after it), which lets
#: the regex engine skip ahead to the candidates instead of trying every position.
_NORMALISE: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("\u2018", "\u2019", "\u00b4", "`"), r"[\u2018\u2019\u00b4`]", "'"),
    # A dash between spaces, and any en or em dash, separates two statements like ";" does
    # ("Lost to Acme - they were cheaper"); a hyphen inside a word does not.
    ((" -", "\u2013", "\u2014"), r"\s+--?\s+|\s*[\u2013\u2014]\s*", " ; "),
    (("w/o",), r"\bw/o\b", " without "),
    (("+",), r"\s\+\s", " and "),
    # French elisions: "l'entreprise", "d'intégration", "n'a", "qu'il" read as two words.
    (("'",), r"'(?:(?<=\b[ldjmnstc]')|(?<=\bqu'))(?=[a-z])", " "),
    (("b/c",), r"\bb/c\b", " because "),
    (("w/",), r"\bw/", " with "),
    ((" & ",), r"(?<=\s)&(?=\s)", " and "),
    (("/",), r"/(?<=[a-z]/)(?=[a-z])", " / "),
    # Runs of 3 or more digits become "0" (done by collapse_numbers, not a regex: speed).
    (tuple("0123456789"), "", "0"),
    (("cannot", "can not"), r"\bcan ?not\b", "can't"),
    (("wont",), r"\bwont\b", "won't"),
    (("cant",), r"\bcant\b", "can't"),
    # One spelling for negated auxiliaries: "did not", "didnt", "did n't" all become "didn't".
    ((" not",), _after_aux(" not"), "n't"),
    (("nt",), _after_aux("nt"), "n't"),
    ((" n't",), _after_aux(" n't"), "n't"),
    (("  ", "\t", "\n", "\r", "\f", "\v"), r"\s\s+|[\t\n\r\f\v]", " "),
)
_SEP = "\x00"
_NORMALISE_RE = [(gate, re.compile(p) if p else None, r) for gate, p, r in _NORMALISE]


def normalise_list(texts: list[str]) -> list[str]:
    """Normalise many texts at once: one regex pass per rule over their concatenation.

    Lower-cases, folds accents, unifies apostrophes and shorthand (w/o, b/c), spells negated
    auxiliaries one way ("did not" -> "didn't"), collapses long numbers and whitespace.
    """
    if not texts:
        return []
    joined = _SEP.join(texts)
    if joined.count(_SEP) != len(texts) - 1:  # a text holds the separator itself
        joined = _SEP.join(t.replace(_SEP, " ") for t in texts)
    if not joined.isascii():
        # Accents are folded text by text: only the texts that are not plain ASCII pay for it.
        joined = _SEP.join(
            t if t.isascii() else fold_accents(t.lower()) for t in joined.split(_SEP)
        )
    joined = joined.lower()
    for gate, rx, repl in _NORMALISE_RE:
        if any(g in joined for g in gate):
            joined = rx.sub(repl, joined) if rx is not None else collapse_numbers(joined)
    # Spaces are single by now: one replace per side trims every text at once.
    joined = joined.replace(" " + _SEP, _SEP).replace(_SEP + " ", _SEP).strip(" ")
    return joined.split(_SEP)


_COMBINING = re.compile(r"[\u0300-\u036f]")
_LIGATURES = str.maketrans({"ß": "ss", "œ": "oe", "æ": "ae", "ø": "o", "ł": "l"})


def collapse_numbers(text: str) -> str:
    """Every run of 3 or more digits becomes ``0`` (``"opp 48213, 120k"`` -> ``"opp 0, 0k"``), so
    texts differing only in ids or amounts are coded once.

    Done on the UTF-8 bytes with numpy (ASCII digits never occur inside a multi-byte character):
    several times faster than a regex over millions of texts.
    """
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    d = np.zeros(len(raw) + 4, dtype=bool)  # two False on each side: no wrap-around
    d[2:-2] = (raw >= 48) & (raw <= 57)
    now, prev, prev2, nxt, nxt2 = d[2:-2], d[1:-3], d[:-4], d[3:-1], d[4:]
    # In a run of 3+ digits the first becomes "0" and the others go; runs of 1-2 digits stay.
    drop = now & prev & (prev2 | nxt)
    if not drop.any():
        return text
    out = raw.copy()
    out[now & ~prev & nxt & nxt2] = 48
    return out[~drop].tobytes().decode("utf-8")


def fold_accents(text: str) -> str:
    """``"décision reportée, gekürzt"`` -> ``"decision reportee, gekurzt"`` (letters kept)."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.translate(_LIGATURES)))


def normalise_texts(texts: pd.Series) -> pd.Series:
    """:func:`normalise_list` for a Series (same index); missing values become ``""``."""
    values = texts.astype(object).where(texts.notna(), "").astype(str).tolist()
    return pd.Series(normalise_list(values), index=texts.index, dtype=object)


class _Spans:
    """Sorted, merged half-open token intervals with a vectorised overlap test."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray):
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        if len(starts):
            # Merge overlapping intervals so that ends are sorted too.
            reach = np.maximum.accumulate(ends)
            new = np.ones(len(starts), dtype=bool)
            new[1:] = starts[1:] >= reach[:-1]
            group = np.cumsum(new) - 1
            starts = starts[new]
            ends = np.maximum.reduceat(ends, np.flatnonzero(new)) if len(group) else ends
        self.starts, self.ends = starts, ends

    def overlaps(self, s: np.ndarray, e: np.ndarray) -> np.ndarray:
        """For each span ``[s, e)``: does it overlap any interval?"""
        if not len(self.starts):
            return np.zeros(len(s), dtype=bool)
        i = np.searchsorted(self.starts, e, side="left") - 1  # last interval starting before e
        ok = i >= 0
        return ok & (self.ends[np.maximum(i, 0)] > s)


class _Tokens:
    """Distinct texts as one token array with a vocabulary and an inverted index."""

    def __init__(self, texts: list[str], book: Codebook | None = None):
        toks = _TOKEN_RE.findall("\n".join(texts))
        ids, vocab = pd.factorize(np.asarray(toks, dtype=object), sort=False)
        self.ids: np.ndarray = ids.astype(np.int64)
        self.vocab: np.ndarray = np.asarray(vocab, dtype=object)
        #: ``{typed word: codebook word}`` for the typos read as codebook words.
        self.corrected: dict[str, str] = corrections(self.vocab.tolist(), book) if book else {}
        if self.corrected:
            fixed = pd.Series(self.vocab, dtype=object).replace(self.corrected).to_numpy()
            remap, vocab = pd.factorize(fixed, sort=False)
            self.ids = remap.astype(np.int64)[self.ids]
            self.vocab = np.asarray(vocab, dtype=object)
        self.n = len(self.ids)
        v = pd.Series(self.vocab, dtype=object)
        self._vocab_series = v
        self._index = pd.Index(v)
        punct = v.isin(_PUNCT).to_numpy()
        self.is_word = ~punct
        #: Words a gap may step over: not punctuation, not a negator (:data:`GAP_STOPS`).
        self.gap_ok = ~punct & ~(v.isin(GAP_STOPS) | v.str.endswith("n't")).to_numpy(dtype=bool)
        is_sep = (v == "\n").to_numpy()
        self.text_of = np.cumsum(is_sep[self.ids]) if self.n else np.zeros(0, np.int64)
        #: Position of each text's first token (``n`` for an empty last text).
        self.text_start = np.r_[0, np.flatnonzero(is_sep[self.ids]) + 1]
        self._breaks_fwd = np.flatnonzero((punct | v.isin(_CLAUSE_WORDS).to_numpy())[self.ids])
        self._breaks_back = np.flatnonzero(
            (punct | v.isin(_CLAUSE_WORDS_BACK).to_numpy())[self.ids]
        )
        #: Clause number of every token (clauses never span two texts).
        self.clause_of = np.cumsum((punct | v.isin(CLAUSE_BREAKS).to_numpy())[self.ids])
        self._order = np.argsort(self.ids, kind="stable")
        self._offsets = np.concatenate([[0], np.cumsum(np.bincount(self.ids, minlength=len(v)))])
        self._masks: dict[Term, np.ndarray] = {}

    def mask(self, term: Term) -> np.ndarray:
        """Boolean mask over the vocabulary: which words this term matches."""
        m = self._masks.get(term)
        if m is None:
            m = np.zeros(len(self.vocab), dtype=bool)
            if term.literals:
                idx = self._index.get_indexer(list(term.literals))
                m[idx[idx >= 0]] = True
            if term.regex and len(self.vocab):
                m |= self._vocab_series.str.fullmatch(term.regex).to_numpy(dtype=bool)
            m &= self.is_word
            self._masks[term] = m
        return m

    def _positions(self, m: np.ndarray) -> np.ndarray:
        vids = np.flatnonzero(m)
        if len(vids) > 64:
            return np.flatnonzero(m[self.ids])
        return np.concatenate(
            [self._order[self._offsets[i] : self._offsets[i + 1]] for i in vids]
            or [np.zeros(0, np.int64)]
        )

    def match(self, pattern: Pattern) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (exclusive) token positions of every match of ``pattern``."""
        first = pattern.elements[0]
        assert isinstance(first, Term)
        starts = self._positions(self.mask(first))
        ends = starts + 1
        gap = 0
        for el in pattern.elements[1:]:
            if isinstance(el, Gap):
                gap = el.n
                continue
            if not len(starts):
                break
            m = self.mask(el)
            found = np.full(len(starts), -1, dtype=np.int64)
            alive = np.ones(len(starts), dtype=bool)
            for k in range(gap + 1):
                pos = ends + k
                inside = pos < self.n
                tok = self.ids[np.minimum(pos, self.n - 1)]
                hit = alive & inside & (found < 0) & m[tok]
                found[hit] = pos[hit] + 1
                alive &= inside & self.gap_ok[tok]
            keep = found >= 0
            starts, ends = starts[keep], found[keep]
            gap = 0
        return starts, ends

    def covered(self, patterns: Iterable[Pattern]) -> _Spans:
        """The token spans covered by any match of ``patterns``."""
        found = [self.match(p) for p in patterns]
        if not found:
            return _Spans(np.zeros(0, np.int64), np.zeros(0, np.int64))
        return _Spans(np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found]))

    def negated(self, before: Iterable[Pattern], after: Iterable[Pattern]) -> np.ndarray:
        """Cumulative count of negated tokens (length n+1) for O(1) span checks."""
        diff = np.zeros(self.n + 1, dtype=np.int64)
        for p in before:
            s, e = self.match(p)
            if len(s):
                nxt = np.searchsorted(self._breaks_fwd, e)
                stop = np.append(self._breaks_fwd, self.n)[nxt]
                stop = np.minimum(stop, e + WINDOW_BEFORE)
                np.add.at(diff, s, 1)
                np.add.at(diff, np.maximum(stop, e), -1)
        for p in after:
            s, e = self.match(p)
            if len(s):
                prev = np.searchsorted(self._breaks_back, s) - 1
                start = np.append(self._breaks_back, -1)[prev] + 1
                start = np.maximum(start, s - WINDOW_AFTER)
                np.add.at(diff, np.minimum(start, s), 1)
                np.add.at(diff, e, -1)
        flags = np.cumsum(diff)[: self.n] > 0
        return np.concatenate([[0], np.cumsum(flags)])


@dataclass(frozen=True)
class _Hits:
    text: np.ndarray  # index into the distinct texts
    code: np.ndarray  # index into codebook.codes
    evidence: np.ndarray  # matched words, ", "-joined when several


@dataclass(frozen=True)
class _Matches:
    """Every single match (before grouping): text, code, token span, clause and strength."""

    text: np.ndarray
    code: np.ndarray
    start: np.ndarray
    end: np.ndarray
    clause: np.ndarray
    strength: np.ndarray  # evidence weight of the match (1 each)
    pos: np.ndarray  # reading order within the text (ties broken by the category named first)
    phrase: np.ndarray  # the matched words, as an index into ``names``
    names: np.ndarray  # the distinct matched phrases (not one per match)


def _match_all(tokens: _Tokens, codebook: Codebook) -> _Matches:
    neg = tokens.negated(codebook.negate_before, codebook.negate_after)
    t_all, c_all, s_all, e_all, w_all = [], [], [], [], []
    for ci, code in enumerate(codebook.codes):
        blocked = tokens.covered(code.unless) if code.unless else None
        n_strong = len(code.strong_patterns)
        for pi, p in enumerate(code.all_patterns):
            s, e = tokens.match(p)
            if not len(s):
                continue
            ok = (neg[e] - neg[s]) == 0
            if blocked is not None:
                ok &= ~blocked.overlaps(s, e)
            s, e = s[ok], e[ok]
            t_all.append(tokens.text_of[s])
            c_all.append(np.full(len(s), ci, dtype=np.int64))
            s_all.append(s)
            e_all.append(e)
            # Every match is one piece of evidence: a category named in a clause counts once
            # for that clause, however long its pattern (longer phrases did not read better on
            # the labelled texts, and "lost to Gong on price" states two reasons); a weak
            # pattern (a topic named, not a reason stated) counts half.
            weight = STRONG if pi < n_strong else WEAK
            w_all.append(np.full(len(s), weight, dtype=np.int64))
    if not t_all:
        return _empty_matches(np.zeros(0, object))
    s = np.concatenate(s_all)
    e = np.concatenate(e_all)
    # Single-word matches (most of them) read straight from the vocabulary.
    phrase = tokens.vocab[tokens.ids[s]].copy()
    # Longer matches: each distinct sequence of words is joined once.
    length = e - s
    for k in np.unique(length[length > 1]).tolist():
        rows = np.flatnonzero(length == k)
        words = tokens.ids[s[rows][:, None] + np.arange(k)]
        inverse, first = distinct_rows(words)
        joined = [" ".join(tokens.vocab[seq].tolist()) for seq in words[first]]
        phrase[rows] = np.asarray(joined, dtype=object)[inverse]
    ids, names = pd.factorize(phrase, sort=False)
    return _Matches(
        text=np.concatenate(t_all),
        code=np.concatenate(c_all),
        start=s,
        end=e,
        clause=tokens.clause_of[s],
        strength=np.concatenate(w_all),
        pos=s,
        phrase=ids.astype(np.int64),
        names=np.asarray(names, dtype=object),
    )


#: Characters that end a clause. No pattern, gap or negation window reaches across them, so the
#: pieces of text between them are coded once each, however many texts share them ("too
#: expensive", "went dark after the demo"), and their matches are then copied to the texts.
_PIECE_BREAKS = str.maketrans(dict.fromkeys(".;:!?,()\n", "\n"))


_CONTROLS = str.maketrans(dict.fromkeys("\t\n\r\f\v", " "))


def _prepare(texts: list[str]) -> list[str]:
    """The cheap part of :func:`normalise_list`, done on every distinct text: lower case, one
    line, long numbers collapsed. The rest is done on the distinct pieces (:func:`_pieces`),
    far fewer; no rule of :func:`normalise_list` reaches across a piece break."""
    if not texts:
        return []
    joined = _SEP.join(texts)
    if joined.count(_SEP) != len(texts) - 1:  # a text holds the separator itself
        joined = _SEP.join(t.replace(_SEP, " ") for t in texts)
    return collapse_numbers(joined.lower().translate(_CONTROLS)).split(_SEP)


def _pieces(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The distinct pieces of ``texts`` (see :data:`_PIECE_BREAKS`), normalised, then per
    occurrence of a piece (in text order, pieces in reading order) the piece and the text it
    occurs in. ``texts`` are one line each (see :func:`_prepare`)."""
    joined = _SEP.join(texts).translate(_PIECE_BREAKS)
    # Which text each piece is in: count the text separators among the breaks, in C over the
    # encoded bytes (bytes 0 and 10 never occur inside a multi-byte UTF-8 character).
    raw = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    kind = raw[(raw == 0) | (raw == 10)]
    piece_text = np.r_[0, np.cumsum(kind == 0)].astype(np.int64)
    flat = np.asarray(joined.replace(_SEP, "\n").split("\n"), dtype=object)
    codes, uniques = pd.factorize(flat, sort=False)
    # Normalised, pieces that differ only in spelling ("did not", "didn't") become one.
    again, pieces = pd.factorize(np.asarray(normalise_list(list(uniques)), dtype=object))
    occ_piece = again[codes].astype(np.int64)
    return [str(p) for p in pieces], occ_piece, piece_text


def _to_texts(
    m: _Matches, tokens: _Tokens, occ_piece: np.ndarray, occ_text: np.ndarray
) -> _Matches:
    """Matches in distinct pieces -> matches in the texts those pieces occur in."""
    if not len(m.text) or not len(occ_piece):
        return _empty_matches(m.names)
    first_tok = tokens.text_start[m.text]
    local = m.start - first_tok
    clause = m.clause - tokens.clause_of[np.minimum(first_tok, max(tokens.n - 1, 0))]
    stride, c_stride = int(local.max()) + 1, int(clause.max()) + 1
    order = np.argsort(m.text, kind="stable")
    per_piece = np.bincount(m.text, minlength=int(occ_piece.max()) + 1)
    offsets = np.concatenate([[0], np.cumsum(per_piece)[:-1]])
    count = per_piece[occ_piece]
    occ = np.repeat(np.arange(len(occ_piece), dtype=np.int64), count)
    within = np.arange(len(occ), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    src = order[offsets[occ_piece[occ]] + within]
    return _Matches(
        text=occ_text[occ],
        code=m.code[src],
        start=m.start[src],
        end=m.end[src],
        # Occurrences are numbered in reading order, so this orders clauses and words in a text.
        clause=occ * c_stride + clause[src],
        strength=m.strength[src],
        pos=occ * stride + local[src],
        phrase=m.phrase[src],
        names=m.names,
    )


def _empty_matches(names: np.ndarray) -> _Matches:
    e = np.zeros(0, np.int64)
    return _Matches(e, e, e, e, e, e, e, e, names)


#: Evidence of a match of a code's pattern, and of a weak pattern (a topic named, not a reason).
STRONG, WEAK = 2, 1


@dataclass(frozen=True)
class Reading:
    """The clause-level reading of distinct texts (dense arrays, one row per text).

    ``score[t, k]``: evidence for category ``k`` (per clause, the strongest match, summed);
    ``wins[t, k]``: category ``k`` is the strongest reading of at least one clause;
    ``strong[t, k]``: category ``k`` is stated by a (not weak) pattern somewhere in the text;
    ``primary[t]``: the category the text is mostly about (-1: no rule matched).
    """

    score: np.ndarray
    wins: np.ndarray
    first: np.ndarray
    primary: np.ndarray
    strong: np.ndarray


def read_clauses(m: _Matches, cat_of_code: np.ndarray, n: int) -> Reading:
    """Score categories clause by clause and pick each text's primary category."""
    k = len(CATEGORIES)
    score = np.zeros((n, k), dtype=np.float64)
    wins = np.zeros((n, k), dtype=bool)
    first = np.full((n, k), np.iinfo(np.int64).max, dtype=np.int64)
    strong = np.zeros((n, k), dtype=bool)
    if len(m.text):
        cat = cat_of_code[m.code]
        key = m.clause * k + cat
        order = np.lexsort((-m.strength, key))
        key_s = key[order]
        head = np.r_[True, key_s[1:] != key_s[:-1]]
        best = m.strength[order][head]  # strongest match per (clause, category)
        kc = key_s[head]
        clause, kcat = kc // k, kc % k
        ktext = m.text[order][head]
        c_head = np.r_[True, clause[1:] != clause[:-1]]
        c_max = np.maximum.reduceat(best, np.flatnonzero(c_head))
        won = best == c_max[np.cumsum(c_head) - 1]
        np.add.at(score, (ktext, kcat), best)
        wins[ktext[won], kcat[won]] = True
        np.minimum.at(first, (m.text, cat), m.pos)
        is_strong = m.strength >= STRONG
        strong[m.text[is_strong], cat[is_strong]] = True
    # Most evidence wins; on a tie the category named first.
    rank = score - 1e-10 * np.minimum(first, 10**9)
    primary = np.where(score.max(axis=1) > 0, rank.argmax(axis=1), -1) if n else np.zeros(0)
    return Reading(score, wins, first, primary.astype(np.int64), strong)


@dataclass(frozen=True)
class Decision:
    """Which categories each distinct text keeps, and how sure the coding is."""

    keep: np.ndarray  # (n, k) bool
    primary: np.ndarray  # (n,) category index or -1
    basis: np.ndarray  # "rules", "model" or ""
    confidence: np.ndarray  # model probability of the primary category (NaN without a model)
    proba: np.ndarray | None  # (n, k) model probabilities, None without a model


#: With a model: a rule category with a model probability below this is not kept as a second
#: reason; a text no rule codes gets the model's category only from this probability up.
SECONDARY_FLOOR = 0.25
FILL_FROM = 0.35
#: Weight of the model against the rules' evidence when choosing the primary category.
MODEL_WEIGHT = 1.0
#: The model overrules the rules' primary category when it gives another category at least
#: ``OVERRULE_FROM`` and the rules' choice less than ``OVERRULE_BELOW`` (a pattern read out of
#: context: "exit clause we couldn't give" is not a product gap).
OVERRULE_FROM = 0.6
OVERRULE_BELOW = 0.1
#: A category no rule found is kept as a second reason when the model gives it at least this.
MODEL_SECOND_FROM = 0.8
#: These thresholds were chosen on the tuning sets (tests/data/loss_texts_labelled.csv and
#: loss_texts_voices_a.csv); the held-out sets report the result (README, "How well the loss coding reads").


#: A text no rule codes is left to the model only with at least this many words of 3+ letters:
#: a one-word note the rules do not know ("other", "lost", "n/a") goes to the review queue.
FILL_MIN_WORDS = 2
_CONTENT_WORD = re.compile(r"[a-z]{3,}")


def decide(
    reading: Reading, proba: np.ndarray | None, fillable: np.ndarray | None = None
) -> Decision:
    """Primary category + clearly stated second reasons per text, with the model when given.

    Rules only: the primary category is the one with most evidence; another category is kept
    when a pattern (not only a weak one) states it and it is the strongest reading of a clause.
    With a model, the primary is chosen among the rule categories by evidence + model
    probability unless the model is sure of another one and finds the rules' implausible
    (``OVERRULE_*``); a second reason the model finds implausible is dropped, one it is very sure
    of is added (``MODEL_SECOND_FROM``); a text no rule codes takes the model's category when it
    is sure enough and has ``FILL_MIN_WORDS`` words.
    """
    n, k = reading.score.shape
    primary = reading.primary.copy()
    has_rules = primary >= 0
    basis = np.where(has_rules, "rules", "").astype(object)
    confidence = np.full(n, np.nan)
    if proba is not None and n:
        top = reading.score.max(axis=1, keepdims=True)
        evidence = np.divide(reading.score, top, out=np.zeros_like(reading.score), where=top > 0)
        combined = np.where(reading.score > 0, evidence + MODEL_WEIGHT * proba, -np.inf)
        primary = np.where(has_rules, combined.argmax(axis=1), -1)
        # The model overrules the rules' reading when it is sure of another category and finds
        # the rules' choice implausible (a pattern read out of context).
        best = proba.argmax(axis=1)
        p_rule = proba[np.arange(n), np.maximum(primary, 0)]
        overrule = has_rules & (proba.max(axis=1) >= OVERRULE_FROM) & (p_rule < OVERRULE_BELOW)
        primary[overrule] = best[overrule]
        fill = ~has_rules & (proba.max(axis=1) >= FILL_FROM)
        if fillable is not None:
            fill &= fillable
        primary[fill] = proba[fill].argmax(axis=1)
        basis[fill] = "model"
        coded = primary >= 0
        confidence[coded] = proba[np.flatnonzero(coded), primary[coded]]
    keep = np.zeros((n, k), dtype=bool)
    rows = np.flatnonzero(primary >= 0)
    keep[rows, primary[rows]] = True
    # A second reason must be stated (not only a topic named) and read strongest in a clause.
    second = reading.wins & reading.strong
    if proba is not None:
        second &= proba >= SECONDARY_FLOOR
    keep |= second & (primary >= 0)[:, None]
    if proba is not None:
        # a second reason the rules missed, when the model is sure of it
        keep |= (proba >= MODEL_SECOND_FROM) & (primary >= 0)[:, None]
    return Decision(keep, primary, basis, confidence, proba)


def _group(m: _Matches, mask: np.ndarray) -> _Hits:
    """Matches kept by ``mask``, one hit per (text, code) listing each distinct phrase."""
    t, c, pos, phrases = m.text[mask], m.code[mask], m.pos[mask], m.phrase[mask]
    if not len(t):
        empty = np.zeros(0, np.int64)
        return _Hits(empty, empty, np.zeros(0, dtype=object))
    order = np.lexsort((pos, c, t))
    t, c, phrases = t[order], c[order], phrases[order]
    first = np.ones(len(t), dtype=bool)
    first[1:] = (t[1:] != t[:-1]) | (c[1:] != c[:-1])
    starts = np.flatnonzero(first)
    return _Hits(text=t[first], code=c[first], evidence=_join_phrases(phrases, m.names, starts))


def _join_phrases(pid: np.ndarray, names: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per group (``starts`` of runs in ``pid``): its distinct phrases, ``", "``-joined.

    Groups are keyed by their phrase ids, so each distinct list of phrases is joined once.
    """
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(pid)]))
    # A phrase said twice in a text is listed once, where it is first said.
    seen = pd.Series(group * (len(names) + 1) + pid).duplicated().to_numpy()
    pid, group = pid[~seen], group[~seen]
    sizes = np.bincount(group, minlength=len(starts))
    firsts = np.r_[0, np.cumsum(sizes)[:-1]]
    evidence = np.asarray(names, dtype=object)[pid[firsts]]
    for k in np.unique(sizes[sizes > 1]).tolist():
        rows = np.flatnonzero(sizes == k)
        ids = pid[firsts[rows][:, None] + np.arange(k)]
        inverse, first = distinct_rows(ids)
        joined = [", ".join(names[j] for j in combo) for combo in ids[first].tolist()]
        evidence[rows] = np.asarray(joined, dtype=object)[inverse]
    return evidence


def _category_index(book: Codebook) -> np.ndarray:
    pos = {c: i for i, c in enumerate(CATEGORIES)}
    return np.asarray([pos[code.category] for code in book.codes], dtype=np.int64)


def _matches(texts: list[str], codebook: Codebook) -> _Matches:
    """Every match in distinct texts: each distinct piece is read once (see :func:`_pieces`)."""
    pieces, occ_piece, occ_text = _pieces(texts)
    tokens = _Tokens(pieces, codebook)
    return _to_texts(_match_all(tokens, codebook), tokens, occ_piece, occ_text)


def _code_distinct(texts: list[str], codebook: Codebook) -> _Hits:
    """Every code found in the distinct texts (no clause-level selection: ``match_texts``)."""
    m = _matches(texts, codebook)
    return _group(m, np.ones(len(m.text), dtype=bool))


def _code_selected(
    texts: list[str], codebook: Codebook, model: LossModel | None
) -> tuple[_Hits, Decision]:
    """Code distinct texts: clause-level reading, primary + clearly stated second reasons."""
    m = _matches(texts, codebook)
    cat_of_code = _category_index(codebook)
    reading = read_clauses(m, cat_of_code, len(texts))
    proba = model.predict_proba(texts) if model is not None and texts else None
    fillable = None
    if proba is not None:
        fillable = np.zeros(len(texts), dtype=bool)
        rows = np.flatnonzero(reading.primary < 0)
        clean = normalise_list([texts[i] for i in rows.tolist()])
        fillable[rows] = [len(_CONTENT_WORD.findall(t)) >= FILL_MIN_WORDS for t in clean]
    decision = decide(reading, proba, fillable)
    kept = decision.keep[m.text, cat_of_code[m.code]] if len(m.text) else np.zeros(0, bool)
    return _group(m, kept), decision


def match_texts(texts: Iterable[str] | pd.Series, codebook: Codebook | None = None) -> pd.DataFrame:
    """Every code found in every text, long form: ``row, code, category, evidence``.

    ``row`` is the index label of ``texts``. A text with no code has no row.
    """
    book = codebook or default_codebook()
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    rows, hits = _code_series(series, book)
    ids = book.ids
    cats = book.category_of()
    out = pd.DataFrame(
        {
            "row": rows,
            "code": [ids[i] for i in hits[1]],
            "evidence": hits[2],
        }
    )
    out["category"] = out["code"].map(cats)
    return out[["row", "code", "category", "evidence"]]


def _factorize_texts(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer code per row and the distinct texts (missing values read as "")."""
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), sort=False)
    if (codes < 0).any():  # missing values: one more distinct text, ""
        codes = np.where(codes < 0, len(uniques), codes)
        return codes, [*map(str, uniques), ""]
    return codes, [str(u) for u in uniques]


def _code_series(series: pd.Series, book: Codebook) -> tuple[np.ndarray, tuple]:
    """Code a series; returns the index labels of hit rows and (text, code, evidence) arrays."""
    raw_codes, raw_uniques = _factorize_texts(series)
    norm_codes, norm_uniques = pd.factorize(np.asarray(_prepare(raw_uniques), dtype=object))
    hits = _code_distinct(list(norm_uniques), book)
    text_of_row = norm_codes[raw_codes]  # distinct-text index per input row
    # Expand hits on distinct texts to input rows with a sort + searchsorted join.
    order = np.argsort(text_of_row, kind="stable")
    sorted_texts = text_of_row[order]
    lo = np.searchsorted(sorted_texts, hits.text, side="left")
    hi = np.searchsorted(sorted_texts, hits.text, side="right")
    counts = hi - lo
    hit_rep = np.repeat(np.arange(len(hits.text)), counts)
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    row_pos = order[np.arange(len(hit_rep)) + starts] if len(hit_rep) else np.zeros(0, np.int64)
    # Keep rows in input order, codes in codebook order.
    o = np.lexsort((hits.code[hit_rep], row_pos))
    row_pos, hit_rep = row_pos[o], hit_rep[o]
    labels = series.index.to_numpy()[row_pos]
    return labels, (hits.text[hit_rep], hits.code[hit_rep], hits.evidence[hit_rep])


def code_texts(
    texts: Iterable[str] | pd.Series,
    codebook: Codebook | None = None,
    *,
    model: LossModel | None = None,
) -> pd.DataFrame:
    """Code each text: one row per input text (same index) with

    - ``primary_category``: the category the text is mostly about (``""`` when uncoded);
    - ``codes``: code ids (codebook order) of the primary category and of second reasons the text
      states in a clause of their own; empty when no rule matched;
    - ``categories``: their fishbone categories (category order), or the model's category;
    - ``evidence``: ``{code: matched words}``;
    - ``basis``: ``rules``, ``model`` (no rule matched; the model's category) or ``""``;
    - ``confidence``: the model's probability for the primary category (NaN without a model);
    - ``coded``: whether the text has a category.

    ``model`` (a :class:`~sales_rca.coding.model.LossModel`) weighs the rule categories, drops
    second reasons it finds implausible and codes texts no rule matches when it is sure enough.

    Example::

        code_texts(["Too expensive, and they went with Gong"])["categories"][0]
        # ('price', 'competition')
    """
    book = codebook or default_codebook()
    series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    raw_codes, raw_uniques = _factorize_texts(series)
    norm_codes, norm_uniques = pd.factorize(np.asarray(_prepare(raw_uniques), dtype=object))
    distinct = [str(u) for u in norm_uniques]
    hits, decision = _code_selected(distinct, book, model)
    n_distinct = len(distinct)
    codes_of, cats_of, ev_of = _per_text(hits, book, n_distinct)
    labels = np.asarray([*CATEGORIES, ""], dtype=object)
    primary = labels[decision.primary]  # -1 reads as ""
    model_rows = np.flatnonzero(decision.basis == "model")
    if len(model_rows):
        cats = np.empty(len(model_rows), dtype=object)
        cats[:] = [(str(primary[i]),) for i in model_rows]
        cats_of[model_rows] = cats
    take = norm_codes[raw_codes] if len(raw_codes) else np.zeros(0, np.int64)
    out = pd.DataFrame(
        {
            "primary_category": primary[take] if n_distinct else [],
            "codes": codes_of[take] if n_distinct else [],
            "categories": cats_of[take] if n_distinct else [],
            "evidence": ev_of[take] if n_distinct else [],
            "basis": decision.basis[take] if n_distinct else [],
            "confidence": decision.confidence[take] if n_distinct else [],
        },
        index=series.index,
    )
    out["coded"] = out["categories"].map(len).astype(bool) if len(out) else pd.Series(dtype=bool)
    return out


def _per_text(hits: _Hits, book: Codebook, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes, categories and evidence per distinct text (hits are sorted by text, then code)."""
    ids = book.ids
    codes_of = np.empty(n, dtype=object)
    cats_of = np.empty(n, dtype=object)
    ev_of = np.empty(n, dtype=object)
    codes_of[:] = [()] * n
    cats_of[:] = [()] * n
    ev_of[:] = [{}] * n  # shared empty dict for uncoded texts; never mutated
    if not len(hits.text):
        return codes_of, cats_of, ev_of
    starts = np.flatnonzero(np.r_[True, hits.text[1:] != hits.text[:-1]])
    texts = hits.text[starts]
    # Each distinct combination of codes is turned into tuples once, then broadcast.
    if len(ids) <= 62:
        bits = np.left_shift(np.int64(1), hits.code.astype(np.int64))
        combo_key = np.bitwise_or.reduceat(bits, starts)
        combos, inverse = np.unique(combo_key, return_inverse=True)
        combo_codes = [tuple(ids[i] for i in range(len(ids)) if (int(m) >> i) & 1) for m in combos]
    else:
        stops = [*starts[1:].tolist(), len(hits.code)]
        seqs = [tuple(hits.code[a:b].tolist()) for a, b in zip(starts.tolist(), stops, strict=True)]
        keys = pd.Series(seqs, dtype=object)
        inverse, uniq = pd.factorize(keys)
        combo_codes = [tuple(ids[i] for i in u) for u in uniq]
    combo_cats = [categories_of(cs, book) for cs in combo_codes]
    tmp = np.empty(len(combo_codes), dtype=object)
    tmp[:] = combo_codes
    codes_of[texts] = tmp[inverse]
    tmp[:] = combo_cats
    cats_of[texts] = tmp[inverse]
    ev_of[texts] = _evidence_dicts(hits, np.asarray(ids, dtype=object), starts)
    return codes_of, cats_of, ev_of


def _evidence_dicts(hits: _Hits, ids: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``{code: evidence}`` per run of hits (``starts``); one dict per distinct run, shared by
    the texts that have it (as identical input texts already share one; never mutated)."""
    eid, _ = pd.factorize(hits.evidence, sort=False)
    pair = hits.code.astype(np.int64) * (int(eid.max()) + 1) + eid
    sizes = np.diff(np.r_[starts, len(pair)])
    out = np.empty(len(starts), dtype=object)
    names, evs = ids[hits.code], hits.evidence
    for k in np.unique(sizes).tolist():
        rows = np.flatnonzero(sizes == k)
        at = starts[rows][:, None] + np.arange(k)
        inverse, first = distinct_rows(pair[at])
        made = np.empty(len(first), dtype=object)
        made[:] = [
            dict(zip(names[a : a + k].tolist(), evs[a : a + k].tolist(), strict=True))
            for a in starts[rows[first]].tolist()
        ]
        out[rows] = made[inverse]
    return out


def distinct_rows(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a 2-d array of non-negative ints: the distinct-row number of each row and the first
    row of each distinct row (hashing column by column: far faster than ``np.unique(axis=0)``)."""
    key = np.zeros(len(mat), dtype=np.int64)
    for col in mat.T:
        key, _ = pd.factorize(key * (int(col.max()) + 1) + col, sort=False)
    inverse = key.astype(np.int64)
    first = np.full(int(inverse.max()) + 1 if len(inverse) else 0, len(mat), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(mat), dtype=np.int64))
    return inverse, first


def categories_of(codes: Iterable[str], codebook: Codebook) -> tuple[str, ...]:
    """The fishbone categories of ``codes``, in category order, each once."""
    cat = codebook.category_of()
    found = {cat[c] for c in codes if c in cat}
    return tuple(c for c in CATEGORIES if c in found)
