"""``sales-rca check``: the data check of a CRM export, as text or JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from sales_rca.crm import CrmData, load_crm
from sales_rca.csvsafe import write_csv

DataPath = Annotated[Path, typer.Argument(help="The CRM export: CSV, XLSX or Salesforce .xls.")]
HistoryOpt = Annotated[
    Path | None, typer.Option("--history", help="Stage-history export (one row per stage change).")
]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", help='YAML file: canonical_name: "Source Column".')
]
SourceOpt = Annotated[
    str,
    typer.Option(
        "--source",
        help="Vendor shape: auto, salesforce, hubspot, pipedrive, dynamics, zoho, generic.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]


def load_from_cli(
    path: Path, history: Path | None, mapping: Path | None, source: str = "auto"
) -> CrmData:
    """The one place CLI commands load an export (same options, same errors)."""
    return load_crm(path, history=history, mapping=mapping, source=source)


def check_summary(crm: CrmData) -> dict[str, Any]:
    """The ``--json`` object of ``sales-rca check``."""
    r = crm.report
    data = r.to_dict()
    data["path"] = str(r.path)
    return data


def format_check(crm: CrmData) -> str:
    """A readable data check for a terminal."""
    r = crm.report
    o = r.outcomes
    lines = [
        f"Data check: {r.path}",
        f"  Detected shape : {r.source}"
        + (f" ({r.delimiter}-separated, {r.encoding})" if r.delimiter else "")
        + (f" (sheet {r.sheet!r})" if r.sheet else ""),
        f"  Rows           : {r.rows_in:,} in, {r.rows_accepted:,} accepted, "
        f"{r.rows_quarantined:,} quarantined",
        f"  Outcomes       : {o.get('won', 0):,} won, {o.get('lost', 0):,} lost, {o.get('open', 0):,} open",
        f"  Amount missing : {r.amount_missing:,}",
    ]
    if r.footer_lines_removed:
        lines.append(f"  Report footer  : {r.footer_lines_removed} lines removed (not data)")
    if r.quarantine_reasons:
        lines.append("  Quarantined because:")
        lines += [f"    - {reason}: {n:,}" for reason, n in r.quarantine_reasons.items()]
    duplicates = _duplicates_line(r.duplicates)
    if duplicates:
        lines.append(f"  Duplicates     : {duplicates}")
    lines.append("  Columns used:")
    lines += [f"    {canonical:<15} <- {source}" for canonical, source in r.mapping.items()]
    if r.extra_columns:
        kinds = Counter(r.extra_types.get(c, "text") for c in r.extra_columns)
        read_as = ", ".join(
            f"{kinds[k]} {label}"
            for k, label in (("number", "numbers"), ("date", "dates"), ("text", "text"))
            if kinds[k]
        )
        lines.append(f"  Kept as extra  : {len(r.extra_columns)} columns ({read_as})")
    if r.history:
        h = r.history
        lines.append(
            f"  Stage history  : {h['events']:,} stage entries for {h['opportunities_with_history']:,} "
            f"opportunities ({h['rows_quarantined']:,} rows quarantined)"
        )
    for w in r.warnings:
        lines.append(f"  Warning: {w}")
    for note in r.notes:
        lines.append(f"  Note: {note}")
    return "\n".join(lines)


def _duplicates_line(d: dict[str, int]) -> str:
    """``ImportReport.duplicates`` in words; empty when nothing repeats."""
    parts = []
    exact, kept = d.get("exact_rows", 0), d.get("exact_rows_kept", 0)
    if exact:
        parts.append(
            f"exact repeats of an earlier row: {exact:,}, "
            + ("kept (no id column to tell them apart)" if kept else "quarantined")
        )
    if d.get("conflicting_rows", 0):
        parts.append(
            f"ids reused with other content: {d.get('conflicting_ids', 0):,} "
            f"({d['conflicting_rows']:,} {'row' if d['conflicting_rows'] == 1 else 'rows'} "
            "quarantined, the first row of each id kept)"
        )
    return "; ".join(parts)


def check(
    path: DataPath,
    history: HistoryOpt = None,
    mapping: MappingOpt = None,
    source: SourceOpt = "auto",
    quarantine_out: Annotated[
        Path | None,
        typer.Option("--quarantine-out", help="Write the quarantined rows to this CSV."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a CRM export: detected shape, columns used, quarantined rows, warnings."""
    crm = load_from_cli(path, history, mapping, source)
    if quarantine_out is not None:
        quarantine_out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(crm.quarantine, quarantine_out)
    if as_json:
        typer.echo(json.dumps(check_summary(crm), default=str, indent=2))
    else:
        typer.echo(format_check(crm))


def register(app: typer.Typer) -> None:
    app.command("check")(check)
