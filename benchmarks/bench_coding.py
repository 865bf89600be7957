"""Benchmark: auto-code 1,000,000 loss texts with the default codebook.

Prints texts/s for the vectorised engine and the ratio against a naive loop (for each text, for
each pattern of each code and each negation cue, ``re.search``) on a 20,000-text slice, then the
time to train the loss model on 5,000 labelled texts (target: under 2 s) and to code 20,000 texts
with the rules and the model.

The texts combine 1-3 fragments (pick-list words, rep shorthand, negations) with ids, amounts and
dates, so most texts are distinct and deduplication is not the only thing that helps.
Run: ``python benchmarks/bench_coding.py [n]``.
"""

from __future__ import annotations

import re
import sys
import time

import numpy as np
import pandas as pd

from sales_rca.coding import code_texts, default_codebook
from sales_rca.coding.autocode import normalise_texts
from sales_rca.coding.model import train_model, training_set

FRAGMENTS = [
    "went dark after the demo",
    "too expensive",
    "price was not the issue",
    "lost to competitor on features",
    "no budget this year",
    "budget cut after reorg",
    "EB never engaged",
    "single threaded through IT",
    "champion left the company",
    "POC failed on performance",
    "security review failed (no SOC 2)",
    "couldn't integrate with their ERP",
    "no decision, kept slipping",
    "status quo - staying with spreadsheets",
    "building in-house",
    "procurement asked for a bigger discount",
    "legal redlines on liability",
    "ROI not proven to the CFO",
    "timing, revisit next FY",
    "project put on hold",
    "rep left, handover was messy",
    "pushed for EOQ and they backed off",
    "no case study for their industry",
    "duplicate opp",
    "not about price, it was the roadmap",
    "no next step after proposal",
    "incumbent matched our price",
    "RFP was wired for the incumbent",
    "manager never reviewed the deal",
    "poor discovery, pitched too early",
    "nice to have, no urgency",
    "n/a",
    "Other",
]
EXTRAS = [
    "",
    "see opp {id}",
    "{amt}k ARR",
    "call on {d}/{m}",
    "ticket #{id}",
    "Q{q} {y}",
    "({n} users)",
]


def make_texts(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 4, size=n)
    frag = rng.integers(0, len(FRAGMENTS), size=(n, 3))
    extra = rng.integers(0, len(EXTRAS), size=n)
    nums = rng.integers(1, 99999, size=(n, 3))
    seps = ["; ", ", ", ". ", " - ", " and "]
    sep = rng.integers(0, len(seps), size=n)
    out = []
    for i in range(n):
        parts = [FRAGMENTS[j] for j in frag[i, : k[i]]]
        text = seps[sep[i]].join(parts)
        e = EXTRAS[extra[i]].format(
            id=nums[i, 0],
            amt=nums[i, 1] % 500,
            d=nums[i, 2] % 28 + 1,
            m=nums[i, 0] % 12 + 1,
            q=nums[i, 1] % 4 + 1,
            y=2020 + nums[i, 2] % 6,
            n=nums[i, 2] % 900,
        )
        out.append(f"{text} {e}".strip() if i % 3 else f"{e} {text}".strip())
    return out


def naive(texts: list[str]) -> int:
    """Per-row, per-pattern ``re.search`` with the same patterns (negation cues searched too)."""
    book = default_codebook()
    codes = [[re.compile(p.to_regex()) for p in c.all_patterns] for c in book.codes]
    cues = [re.compile(p.to_regex()) for p in (*book.negate_before, *book.negate_after)]
    norm = normalise_texts(pd.Series(texts)).tolist()
    coded = 0
    for t in norm:
        _negated = [bool(rx.search(t)) for rx in cues]
        found = [any(rx.search(t) for rx in pats) for pats in codes]
        coded += any(found)
    return coded


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    texts = make_texts(n)
    distinct = len(set(texts))
    default_codebook()  # load once, outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    out = code_texts(texts)
    fast, cpu = time.perf_counter() - t0, time.process_time() - c0
    coded = int(out["coded"].sum())
    print(f"texts: {n:,} ({distinct:,} distinct), coded: {coded:,} ({coded / n:.1%})")
    print(f"vectorised: {fast:.2f} s wall ({cpu:.2f} s CPU), {n / fast:,.0f} texts/s")

    sl = texts[:20_000]
    t0 = time.perf_counter()
    naive(sl)
    slow = time.perf_counter() - t0
    t0 = time.perf_counter()
    code_texts(sl)
    fast_sl = time.perf_counter() - t0
    print(f"naive re.search loop on 20,000 texts: {slow:.2f} s, {len(sl) / slow:,.0f} texts/s")
    print(f"vectorised on the same 20,000 texts: {fast_sl:.2f} s, {len(sl) / fast_sl:,.0f} texts/s")
    print(
        f"speed-up vs naive (texts/s, 1M run vs naive slice): {(n / fast) / (len(sl) / slow):,.1f}x"
    )
    print(f"speed-up vs naive (same 20,000 texts): {slow / fast_sl:,.1f}x")
    bench_model(sl)


def model_texts(n: int, seed: int = 11) -> tuple[list[str], list[tuple[str, ...]]]:
    """``n`` labelled texts: the packaged ones, resampled, each with an id or amount added."""
    base = training_set()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), size=n)
    extra = rng.integers(0, len(EXTRAS), size=n)
    nums = rng.integers(1, 99999, size=n)
    texts = []
    for i, e, k in zip(pick.tolist(), extra.tolist(), nums.tolist(), strict=True):
        tail = EXTRAS[e].format(
            id=k, amt=k % 500, d=k % 28 + 1, m=k % 12 + 1, q=k % 4 + 1, y=2020 + k % 6, n=k % 900
        )
        texts.append(f"{base['text'].iat[i]} {tail}".strip())
    return texts, [base["categories"].iat[i] for i in pick.tolist()]


def bench_model(sl: list[str]) -> None:
    texts, labels = model_texts(5_000)
    t0 = time.perf_counter()
    model = train_model(texts, labels)
    train = time.perf_counter() - t0
    print(f"model: trained on {len(texts):,} texts in {train:.2f} s (target < 2 s)")
    t0 = time.perf_counter()
    code_texts(sl, model=model)
    both = time.perf_counter() - t0
    print(f"rules + model on {len(sl):,} texts: {both:.2f} s, {len(sl) / both:,.0f} texts/s")


if __name__ == "__main__":
    main()
