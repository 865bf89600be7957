"""The ``sales-rca`` command line. Each command group lives in its own module here.

Errors a user can cause (:class:`sales_rca.errors.SalesRcaError`) are printed as one line on
stderr with exit code 2; never a traceback.
"""

from __future__ import annotations

import sys

import typer

from sales_rca.errors import SalesRcaError

app = typer.Typer(
    name="sales-rca",
    help="Find the root causes of lost and stalled deals from a CRM export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Find the root causes of lost and stalled deals from a CRM export."""


def _register() -> None:
    # Imported here so `sales-rca --help` stays fast and each module owns its commands.
    from sales_rca.cli import check

    check.register(app)
    from sales_rca.cli import batch as batch_cli

    batch_cli.register(app)
    from sales_rca.cli import xray as xray_cli

    xray_cli.register(app)
    from sales_rca.cli import impact as impact_cli

    impact_cli.register(app)
    from sales_rca.cli import session as session_cli

    session_cli.register(app)
    from sales_rca.cli import code as code_cli

    code_cli.register(app)
    from sales_rca.cli import workshop as workshop_cli

    workshop_cli.register(app)
    from sales_rca.cli import demo as demo_cli

    demo_cli.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sales-rca`` console script."""
    try:
        app(args=argv, prog_name="sales-rca", standalone_mode=True)
    except SalesRcaError as exc:
        print(f"sales-rca: error: {exc}", file=sys.stderr)
        sys.exit(2)
