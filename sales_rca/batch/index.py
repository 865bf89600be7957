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

from sales_rca.report.blocks import Markup, esc, share, table

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
    failed = [r for r in results if not r.ok]
    rows: list[list[Any]] = []
    if anonymise:
        ranked = sorted(ok, key=lambda r: -(r.results.get("win_rate") or 0))
        for i, r in enumerate(ranked):
            res = r.results
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
            res = r.results
            link = Markup(f'<a href="{esc(r.outputs["summary"])}">') + r.name + Markup("</a>")
            rows.append(
                [
                    link,
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
    parts = [
        Markup("<h1>Sales diagnostics</h1>"),
        Markup('<p class="note">')
        + f"{len(ok)} of {len(results)} clients summarised"
        + (f", {len(failed)} failed" if failed else "")
        + (". Anonymised: client names and links withheld." if anonymise else ".")
        + Markup("</p>"),
        table(headers, rows, numeric=[1] if anonymise else [2]),
    ]
    if failed and not anonymise:
        parts.append(Markup("<h2>Failed</h2>"))
        parts.append(
            table(
                ["client", "error", "notebook (for debugging)"],
                [
                    [
                        r.name,
                        r.error or "",
                        Markup(f'<a href="{esc(r.outputs["notebook"])}">')
                        + r.outputs["notebook"]
                        + Markup("</a>")
                        if r.outputs.get("notebook")
                        else "–",
                    ]
                    for r in failed
                ],
            )
        )
    body = "".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Sales diagnostics</title><style>{_CSS}</style></head>"
        f'<body><main class="report">{body}</main></body></html>\n'
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


_CSS = """
body { margin: 0; color: #212121; font: 15px/1.45 "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
.report { max-width: 1200px; margin: 0 auto; padding: 24px 32px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #cfd8dc; vertical-align: top; }
th { background: #eceff1; } td.num, th.num { text-align: right; white-space: nowrap; }
.note { color: #607d8b; } a { color: #1565c0; }
@media print { a { color: inherit; text-decoration: none; } }
"""
