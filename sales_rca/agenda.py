"""The workshop's run of show: ``resources/agenda.yaml``, the one source of its durations.

The app's exercise timers (:mod:`sales_rca.ui`) and the facilitator guide's agenda tables
(:mod:`sales_rca.guide`) both read it through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from sales_rca import resources
from sales_rca.errors import SalesRcaError

VERSIONS = ("full", "short")


@dataclass(frozen=True)
class Segment:
    """One segment of the run of show (``step`` is ``None`` for segments without an app step)."""

    id: str
    step: str | None
    title: str
    full: int
    short: int

    def minutes(self, version: str) -> int:
        return self.short if checked(version) == "short" else self.full


@cache
def _segments() -> tuple[Segment, ...]:
    text = resources.read_text("agenda.yaml")
    return tuple(Segment(**item) for item in yaml.safe_load(text)["steps"])


def load_agenda() -> list[Segment]:
    """The segments of ``resources/agenda.yaml``, in order."""
    return list(_segments())


def checked(version: str) -> str:
    """``version`` if it is ``full`` or ``short``; else a one-line error."""
    if version not in VERSIONS:
        raise SalesRcaError(
            f"expected an agenda version among {', '.join(VERSIONS)}, found {version!r}."
        )
    return version


def total_minutes(version: str) -> int:
    """Length of the ``full`` or ``short`` run, in minutes."""
    return sum(s.minutes(version) for s in _segments())


def step_minutes(step: str, version: str = "full") -> int:
    """Minutes the agenda gives an app step (the exercise timer's starting value)."""
    return sum(s.minutes(version) for s in _segments() if s.step == step)
