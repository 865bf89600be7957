"""The facilitator guide's agenda tables, rendered from ``resources/agenda.yaml``.

``agenda.yaml`` is the one source of the workshop's durations: the app's exercise timers read it,
and the tables in ``facilitator_guide/agenda.md`` are generated from it between markers such as
``<!-- agenda:full -->`` and ``<!-- /agenda:full -->``. After changing a duration, run::

    python -m sales_rca.guide           # rewrite the tables in facilitator_guide/agenda.md
    python -m sales_rca.guide --check   # exit 1 if they are out of date (a test does the same)
"""

from __future__ import annotations

import argparse
import re
import sys
from functools import partial
from pathlib import Path

from sales_rca.agenda import VERSIONS, app_steps, checked, load_agenda, step_label
from sales_rca.errors import SalesRcaError

#: The label of each app step's button in the workshop header (``sales_rca.ui.steps``).
STEP_LABELS = {step: step_label(step) for step in app_steps()}
#: The guide's agenda in a checkout (a developer tool: the facilitator guide is not package data,
#: so an installed wheel has no such file and this module is only imported, never run, there).
AGENDA_MD = Path(__file__).resolve().parents[1] / "facilitator_guide" / "agenda.md"


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def render_agenda_table(version: str) -> str:
    """The run of show as a Markdown table: clock time, minutes, segment and app step.

    Segments with no time in this version (the short run has no break) are left out.

    Example:
        >>> print(render_agenda_table("short").splitlines()[0])
        | start | minutes | segment | app step |
    """
    checked(version)
    lines = ["| start | minutes | segment | app step |", "|---|---:|---|---|"]
    start = 0
    for s in load_agenda():
        minutes = s.minutes(version)
        if minutes == 0:
            continue
        step = f"**{STEP_LABELS.get(s.step, s.step)}**" if s.step else "(no app step)"
        lines.append(f"| {_clock(start)} | {minutes} | {s.title} | {step} |")
        start += minutes
    lines.append(f"| {_clock(start)} | **{start}** | **End** | |")
    return "\n".join(lines)


def _block(version: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- agenda:{version} -->\n)(.*?)(<!-- /agenda:{version} -->)", re.DOTALL)


def _put_table(match: re.Match[str], table: str) -> str:
    return f"{match.group(1)}{table}\n{match.group(3)}"


def agenda_tables(markdown: str) -> dict[str, str]:
    """The tables found between the agenda markers of ``markdown``, by version."""
    found = {}
    for version in VERSIONS:
        match = _block(version).search(markdown)
        if match:
            found[version] = match.group(2).strip()
    return found


def sync_agenda(markdown: str) -> str:
    """``markdown`` with every agenda block replaced by the table rendered from ``agenda.yaml``."""
    for version in VERSIONS:
        pattern = _block(version)
        if not pattern.search(markdown):
            raise SalesRcaError(
                f"expected markers <!-- agenda:{version} --> and <!-- /agenda:{version} --> "
                "in the agenda, found none."
            )
        table = render_agenda_table(version)
        markdown = pattern.sub(partial(_put_table, table=table), markdown)
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate the agenda tables of the facilitator guide."
    )
    parser.add_argument("path", nargs="?", type=Path, default=AGENDA_MD, help="agenda.md to update")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if out of date")
    args = parser.parse_args(argv)
    if not args.path.is_file():
        print(
            f"expected the facilitator guide's agenda at {args.path}, found nothing; run this in "
            "a sales-rca checkout or name the agenda.md to update.",
            file=sys.stderr,
        )
        return 2
    text = args.path.read_text("utf-8")
    new = sync_agenda(text)
    if args.check:
        if new != text:
            print(
                f"{args.path}: agenda tables differ from agenda.yaml; run python -m sales_rca.guide"
            )
            return 1
        return 0
    if new != text:
        args.path.write_text(new, "utf-8")
        print(f"updated {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
