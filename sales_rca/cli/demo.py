"""``sales-rca demo``: (re)generate the synthetic demo CRM export into a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sales_rca.demo import DEMO_END, DEMO_OPPORTUNITIES, DEMO_SEED, DEMO_START
from sales_rca.errors import SalesRcaError


def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write into (created if new; files replaced).")
    ],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = DEMO_SEED,
    opportunities: Annotated[
        int, typer.Option("--opportunities", help="Number of opportunities (at least 10).")
    ] = DEMO_OPPORTUNITIES,
    start: Annotated[
        str, typer.Option("--start", help="First creation date (YYYY-MM-DD).")
    ] = DEMO_START,
    end: Annotated[
        str,
        typer.Option("--end", help="Snapshot date, at least 90 days after --start (YYYY-MM-DD)."),
    ] = DEMO_END,
    clients: Annotated[
        bool,
        typer.Option(
            "--clients",
            help="Also write the two other demo clients (clients/: a HubSpot xlsx, a European CSV "
            "and its mapping; fixed seeds) and clients.example.yaml, the clients file of all three.",
        ),
    ] = False,
) -> None:
    """Write a synthetic Salesforce export (opportunities and stage history CSVs) into --out.

    Every company, person and deal is made up. With the default options the files are, byte for
    byte, the demo data that `sales-rca workshop --demo` uses. With --clients,
    `sales-rca batch OUT/clients.example.yaml --out out/demo` runs the diagnostic for all three
    demo clients.
    """
    from sales_rca.demo import write_demo

    if opportunities < 10:
        raise SalesRcaError(f"expected --opportunities to be at least 10, found {opportunities}.")
    try:
        paths = write_demo(
            out, seed=seed, opportunities=opportunities, start=start, end=end, clients=clients
        )
    except ValueError as exc:
        raise SalesRcaError(
            "expected --start and --end to be dates (YYYY-MM-DD) at least 90 days apart, "
            f"found {start} and {end} ({exc})."
        ) from None
    for path in paths:
        typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
