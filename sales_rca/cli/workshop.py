"""``sales-rca workshop``: serve the live workshop app with Voila."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def workshop(
    data: Annotated[Path | None, typer.Option("--data", help="The CRM export to work on.")] = None,
    history: Annotated[Path | None, typer.Option("--history", help="Stage-history export.")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="The only folder the app lists exports from (default: the folder of --data).",
        ),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Column mapping (YAML).")
    ] = None,
    session: Annotated[
        Path | None,
        typer.Option(
            "--session", help="Session file: everything the team decides (created if new)."
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Use the demo export and a demo session.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8866,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on; 0.0.0.0 lets phones on the same network join."
        ),
    ] = "127.0.0.1",
    participants: Annotated[
        bool,
        typer.Option(
            "--participants",
            help="Show a join URL and code so participants vote from their phones.",
        ),
    ] = False,
    agenda: Annotated[
        str, typer.Option("--agenda", help="Timer durations: full (3 hours) or short (90 minutes).")
    ] = "full",
    title: Annotated[str | None, typer.Option("--title", help="Title of a new session.")] = None,
    benchmark: Annotated[
        Path | None,
        typer.Option(
            "--benchmark", help="benchmark.json of sales-rca batch: how the team compares."
        ),
    ] = None,
    review: Annotated[
        Path | None,
        typer.Option(
            "--review",
            help="A newer export: the summary step opens the 90-day review of the actions on it.",
        ),
    ] = None,
    review_history: Annotated[
        Path | None,
        typer.Option("--review-history", help="The newer export's stage history (for --review)."),
    ] = None,
) -> None:
    """Serve the live workshop app (Voila) and print its URL."""
    from sales_rca.ui.serve import build_server, run

    server = build_server(
        data=data,
        history=history,
        mapping=mapping,
        session=session,
        demo=demo,
        port=port,
        host=host,
        participants=participants,
        agenda=agenda,
        title=title,
        data_dir=data_dir,
        benchmark=benchmark,
        review=review,
        review_history=review_history,
    )
    raise typer.Exit(run(server))


def register(app: typer.Typer) -> None:
    app.command("workshop")(workshop)
