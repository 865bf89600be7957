"""``sales-rca batch`` (the diagnostic for many clients) and ``sales-rca export`` (one session)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sales_rca.cli.check import HistoryOpt, MappingOpt
from sales_rca.errors import BatchError


def batch(
    clients: Annotated[
        Path,
        typer.Argument(
            help="The clients file (YAML); `sales-rca demo --out demo --clients` writes an "
            "example, demo/clients.example.yaml."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder: one sub-folder per client.")],
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", help="Clients to run at once on this machine.")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="dask.distributed scheduler address, e.g. tcp://10.0.0.5:8786."
        ),
    ] = None,
    anonymise: Annotated[
        bool, typer.Option("--anonymise", help="Index page without client names or links.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Run the diagnostic notebook for every client; write summaries, manifest.json and index.html.

    Each client gets the file's 'defaults:' and its own 'parameters' only, never another client's
    (without history_path: no history file; an export's own "Date entered" columns are used).
    manifest.json lists, per client, the parameters used and the SHA-256 of every input file.
    Exit code 1 if any client failed (its notebook is kept for debugging), 2 for a bad clients
    file (e.g. a client without export_path).
    """
    from sales_rca.batch import failure_table, run_batch

    report = run_batch(
        clients, out, jobs=jobs, scheduler=scheduler, anonymise=anonymise, progress=not quiet
    )
    ok = len(report.clients) - len(report.failed)
    typer.echo(f"{ok} of {len(report.clients)} clients summarised. Manifest: {report.manifest}")
    if report.failed:
        typer.echo(
            f"\n{len(report.failed)} client(s) failed:\n{failure_table(report.failed)}", err=True
        )
    typer.echo(f"Index: {report.index}")
    if report.benchmark is not None:
        typer.echo(f"Benchmark (anonymised): {report.benchmark}")
    if report.failed:
        raise typer.Exit(1)


def export(
    session: Annotated[Path, typer.Argument(help="The workshop's session file.")],
    html: Annotated[Path | None, typer.Option("--html", help="The HTML summary to write.")] = None,
    brief: Annotated[
        Path | None,
        typer.Option("--brief", help="The one-page CEO brief to write (printable HTML)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="The client's CRM export: adds the x-ray, loss coding and plays."
        ),
    ] = None,
    history: HistoryOpt = None,
    mapping: MappingOpt = None,
    client: Annotated[
        str | None, typer.Option("--client", help="Client name (default: session title).")
    ] = None,
    currency: Annotated[str, typer.Option("--currency", help="Currency of the amounts.")] = "",
    period: Annotated[
        str, typer.Option("--period", help="Label of the period the data covers.")
    ] = "",
    benchmark: Annotated[
        Path | None,
        typer.Option(
            "--benchmark",
            help="benchmark.json of sales-rca batch: how the team compares (with --data).",
        ),
    ] = None,
) -> None:
    """Write the offline HTML summary of one workshop session (with --data: the full diagnostic)
    and/or its one-page CEO brief (--brief)."""
    from sales_rca.batch.export import write_summary

    if html is None and brief is None:
        raise BatchError("expected --html OUT.html or --brief OUT.html (or both), found neither")
    if brief is not None:
        from sales_rca.report.brief import write_brief

        page = write_brief(
            session, brief, data=data, history=history, mapping=mapping, client=client,
            currency=currency,
        )  # fmt: skip
        typer.echo(f"CEO brief: {page}")
    if html is None:
        return
    out = write_summary(
        session,
        html,
        data=data,
        history=history,
        mapping=mapping,
        client=client,
        currency=currency,
        period=period,
        benchmark=benchmark,
    )
    typer.echo(f"Summary: {out}")


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)
    app.command("export")(export)
