"""``sales-rca session``: create, show, export and import workshop session files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from sales_rca.rootcause import WorkshopState
from sales_rca.session import Session

session_app = typer.Typer(
    name="session",
    help="Create, show, export and import workshop session files.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="The session file (SQLite), e.g. out/acme.session.")]


@session_app.command("new")
def new(
    file: FileArg,
    title: Annotated[str, typer.Option("--title", help="Workshop title shown on every screen.")],
    dots: Annotated[int, typer.Option("--dots", help="Dots per participant in a vote.")] = 3,
) -> None:
    """Create a new, empty session file (an existing file is never overwritten)."""
    with Session.create(file, title, dots_per_person=dots) as s:
        typer.echo(f"Created session {s.session_id} at {s.path}")


def show_summary(state: WorkshopState) -> dict[str, Any]:
    """The ``--json`` object of ``sales-rca session show``: the state plus a few counts."""
    data = state.to_dict()
    data["counts"] = {
        "problems": len(state.problems),
        "whys": len(state.whys),
        "causes": len(state.causes),
        "participants": len(state.participants),
        "voters": len(state.voters),
        "actions": len(state.actions),
    }
    return data


def format_state(state: WorkshopState) -> str:
    """A readable summary of a session for a terminal."""
    lines = [
        f"Session: {state.title}",
        f"  Events       : {state.event_count}",
        f"  Participants : {', '.join(p.label for p in state.participants) or 'none'}",
        "",
    ]
    for problem in state.problems:
        lines.append(state.tree(problem.id).to_markdown())
    if state.causes:
        lines.append("Fishbone:")
        labels = {c.id: c.label for c in state.categories}
        for category, causes in state.fishbone().items():
            for cause in causes:
                lines.append(f"  [{labels[category]}] {cause.id}: {cause.text}")
        lines.append("")
    result = state.results()
    if result is None:
        lines.append(
            f"Vote round {state.round}: {len(state.voters)} voted, results hidden until revealed"
        )
    else:
        w = "n/a" if result.alignment is None else f"{result.alignment:.2f}"
        lines.append(f"Vote round {state.round} (alignment W = {w}, {result.alignment_label}):")
        for r in result.causes:
            lines.append(f"  {r.place}. {r.cause_id}  Borda {r.borda:g}  dots {r.points}")
    if state.actions:
        lines.append("")
        lines.append("Actions:")
        for a in state.actions:
            due = f" by {a.due.isoformat()}" if a.due else ""
            lines.append(f"  {a.id}: {a.title} ({a.owner}{due}) [{a.status.value}]")
    return "\n".join(lines)


@session_app.command("show")
def show(
    file: FileArg,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the state as one JSON object.")
    ] = False,
) -> None:
    """Show what a session holds (ballots stay hidden until the facilitator reveals them)."""
    with Session.open(file) as s:
        state = s.state()
    if as_json:
        typer.echo(json.dumps(show_summary(state), ensure_ascii=False, indent=1))
    else:
        typer.echo(format_state(state))


@session_app.command("export")
def export(
    file: FileArg,
    out: Annotated[Path, typer.Argument(help="The JSON file to write.")],
) -> None:
    """Export every event of a session to a JSON file."""
    with Session.open(file) as s:
        path = s.export_json(out)
        typer.echo(f"Exported {s.event_count} events to {path}")


@session_app.command("actions")
def actions(
    file: FileArg,
    out: Annotated[Path, typer.Argument(help="The CSV file to write (opens safely in Excel).")],
) -> None:
    """Write the team's actions as CSV: owner, due date, cause, play, target metric."""
    from sales_rca.csvsafe import write_csv
    from sales_rca.rootcause import load_playbook
    from sales_rca.rootcause.actions import actions_table

    with Session.open(file) as s:
        table = actions_table(s.state(), load_playbook())
    write_csv(table, out)
    typer.echo(f"Wrote {len(table)} actions to {out}")


@session_app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="A JSON export from `sales-rca session export`.")],
    file: FileArg,
) -> None:
    """Create a session file from a JSON export (every event is checked first)."""
    with Session.import_json(source, file) as s:
        typer.echo(f"Imported {s.event_count} events into {s.path}")


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")
