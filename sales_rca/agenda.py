"""The workshop's run of show, ``resources/agenda.yaml``: the one source of its durations and of the
app steps' order, numbers and names (step 6 is the sixth segment with an app step), read by the
app (buttons, headings, timers) and the facilitator guide (:mod:`sales_rca.guide`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic.dataclasses import dataclass as model

from sales_rca import resources
from sales_rca.errors import AgendaError, SalesRcaError, problem
from sales_rca.schema import STRICT, Count, Ident, Text, YamlModel, unique

VERSIONS = ("full", "short")


@model(config=STRICT)
class Segment:
    """One segment of the run of show: ``step`` is the app step it runs in (``None`` for a break
    or the welcome), ``name`` that step's name on its button (else its ``title``)."""

    id: Ident
    step: Ident | None
    title: Text
    full: Count
    short: Count
    name: Text | None = None

    def minutes(self, version: str) -> int:
        return self.short if checked(version) == "short" else self.full


class Agenda(YamlModel):
    """``agenda.yaml``: the segments, in the order they run."""

    steps: Annotated[list[Segment], Field(min_length=1), AfterValidator(unique("id", "step"))]


def load_agenda(path: str | Path | None = None) -> list[Segment]:
    """The segments of ``agenda.yaml`` (``path``, else the packaged one), in order.

    Raises:
        AgendaError: the file is not a valid run of show (one line says where and what).
    """
    return list(_segments(path))


@cache
def _segments(path: str | Path | None = None) -> tuple[Segment, ...]:
    agenda = resources.load_yaml(Agenda, path, default="agenda.yaml", error=AgendaError)
    return tuple(agenda.steps)


def checked(version: str) -> str:
    """``version`` if it is ``full`` or ``short``; else a one-line error."""
    if version not in VERSIONS:
        raise SalesRcaError(
            problem("", "", f"an agenda version among {', '.join(VERSIONS)}", repr(version))
        )
    return version


def total_minutes(version: str) -> int:
    """Length of the ``full`` or ``short`` run, in minutes."""
    return sum(s.minutes(version) for s in _segments())


def step_minutes(step: str, version: str = "full") -> int:
    """Minutes the agenda gives an app step (the exercise timer's starting value)."""
    return sum(s.minutes(version) for s in _segments() if s.step == step)


def app_steps() -> dict[str, str]:
    """The app's steps (id: the name on its button), in the order the workshop runs them."""
    return {s.step: s.name or s.title for s in _segments() if s.step}


def step_number(step: str) -> int:
    """``step_number("plays")`` -> ``6``: its place among the app's steps."""
    steps = list(app_steps())
    if step not in steps:
        raise SalesRcaError(problem("", "", f"an app step among {', '.join(steps)}", repr(step)))
    return steps.index(step) + 1


def step_label(step: str) -> str:
    """``"6. Plays and actions"``: the step's button and heading."""
    return f"{step_number(step)}. {app_steps()[step]}"


def step_ref(step: str) -> str:
    """``"step 6 (Plays and actions)"``: the step as a sentence points to it."""
    return f"step {step_number(step)} ({app_steps()[step]})"
