"""``manifest.json`` and ``index.html`` of a batch output folder.

The manifest is for machines and audits, the proof of which data produced which summary: the
clients file and notebook with their SHA-256 and, per client, its status, error, timings, the
parameters the notebook was given (after defaults), every input file they name with its SHA-256, and
output paths. The index is for the consultant: a link to every summary and a cross-client table
(win rate, conversion at each stage, top root-cause categories). Anonymised, it names no client and
links nothing, so it can be shared as a benchmark.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sales_rca import render
from sales_rca.render import link, share

if TYPE_CHECKING:
    from sales_rca.batch.run import ClientResult

MANIFEST_FILE = "manifest.json"
INDEX_FILE = "index.html"
MANIFEST_FORMAT = "sales-rca-batch"


def write_manifest(out: Path, results: Sequence[ClientResult], meta: dict[str, Any]) -> Path:
    """Write ``out/manifest.json``; paths of outputs are relative to ``out``."""
    data = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        **meta,
        "ok": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "clients": [r.to_dict() for r in results],
    }
    path = out / MANIFEST_FILE
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def _conversion(results: dict[str, Any]) -> str:
    stages = [s for s in results.get("stages", []) if s.get("conversion") is not None]
    if not stages:
        return "– (no stage history)"
    return " · ".join(f"{s['stage']} {share(s['conversion'])}" for s in stages)


def _most_lost(results: dict[str, Any]) -> str:
    stages = [s for s in results.get("stages", []) if s.get("lost_here")]
    if not stages:
        return "–"
    worst = max(stages, key=lambda s: s["lost_here"])
    lost = (results.get("deals") or {}).get("lost") or 0
    part = f" ({share(worst['lost_here'] / lost)} of lost)" if lost else ""
    return f"{worst['stage']}{part}"


def _categories(results: dict[str, Any]) -> str:
    cats = results.get("top_categories", [])
    if not cats:
        return "–"
    return "; ".join(f"{c['label']} ({share(c['weight'])})" for c in cats)


def _deals(results: dict[str, Any]) -> str:
    d = results.get("deals", {})
    return f"{d.get('won', 0):,} / {d.get('lost', 0):,} / {d.get('open', 0):,}"


def index_html(results: Sequence[ClientResult], *, anonymise: bool = False) -> str:
    """The index page (self-contained, no script)."""
    ok = [r for r in results if r.ok and r.results]
    found = {id(r): r.results or {} for r in ok}
    failed = [r for r in results if not r.ok]
    rows: list[list[Any]] = []
    if anonymise:
        ranked = sorted(ok, key=lambda r: -(found[id(r)].get("win_rate") or 0))
        for i, r in enumerate(ranked):
            res = found[id(r)]
            rows.append(
                [
                    f"Client {_letters(i)}",
                    share(res.get("win_rate")),
                    _deals(res),
                    _conversion(res),
                    _most_lost(res),
                    _categories(res),
                ]
            )
        headers = [
            "client",
            "win rate",
            "won / lost / open",
            "conversion by stage",
            "most deals lost at",
            "top root-cause categories",
        ]
    else:
        for r in ok:
            res = found[id(r)]
            rows.append(
                [
                    link(r.outputs["summary"] or "", r.name),
                    res.get("period") or "–",
                    share(res.get("win_rate")),
                    _deals(res),
                    _conversion(res),
                    _most_lost(res),
                    _categories(res),
                ]
            )
        headers = [
            "client",
            "period",
            "win rate",
            "won / lost / open",
            "conversion by stage",
            "most deals lost at",
            "top root-cause categories",
        ]
    failures = [
        [r.name, r.error or "", link(r.outputs["notebook"] or "", r.outputs["notebook"] or "")]
        if r.outputs.get("notebook")
        else [r.name, r.error or "", None]
        for r in failed
    ]
    return render.fragment(
        "index.page",
        render.stylesheet(),
        headers,
        rows,
        [1] if anonymise else [2],
        len(ok),
        len(results),
        failures,
        anonymise,
    )


def write_index(out: Path, results: Sequence[ClientResult], *, anonymise: bool = False) -> Path:
    """Write ``out/index.html``."""
    path = out / INDEX_FILE
    path.write_text(index_html(results, anonymise=anonymise), encoding="utf-8")
    return path


def _letters(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s
