"""Five whys done right: a problem at the root, branching whys, AND/OR siblings, evidence, status.

A tree is a :class:`Problem` plus the :class:`Why` nodes below it. Each why names its parent (the
problem or another why); siblings are alternatives (OR) unless they share an ``and_group``, which
means they only explain their parent together (AND). A why can only be ``verified`` with evidence:
a note or a :class:`~sales_rca.findings.Finding` from the x-ray or loss coding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from sales_rca.errors import ModelError
from sales_rca.findings import Finding


class Status(StrEnum):
    """How far the team trusts a why: a guess, backed by some data, proven, or ruled out."""

    HYPOTHESIS = "hypothesis"
    SUPPORTED = "supported"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Relation(StrEnum):
    """How siblings explain their parent: all together (AND) or each on its own (OR)."""

    AND = "and"
    OR = "or"


@dataclass(frozen=True)
class Evidence:
    """A note the team wrote, or a finding (a number from the data) it cites. Exactly one is set."""

    id: str
    note: str | None = None
    finding: Finding | None = None
    by: str | None = None
    at: str | None = None

    def __post_init__(self) -> None:
        if (self.note is None) == (self.finding is None):
            raise ModelError(
                "expected evidence to be either a note or a finding, found both or none"
            )

    @property
    def kind(self) -> str:
        """``"note"`` or ``"finding"``."""
        return "note" if self.finding is None else "finding"

    @property
    def label(self) -> str:
        """One line to show: the note, or the finding's title."""
        return self.note if self.finding is None else self.finding.title  # type: ignore[return-value]


@dataclass(frozen=True)
class Problem:
    """The root of a five-whys tree, e.g. "38% of lost deals die at Needs Analysis"."""

    id: str
    text: str
    evidence: tuple[Evidence, ...] = ()
    by: str | None = None
    at: str | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings cited as evidence for the problem."""
        return tuple(e.finding for e in self.evidence if e.finding is not None)


@dataclass(frozen=True)
class Why:
    """One answer to "why?" under a problem or another why."""

    id: str
    parent_id: str
    problem_id: str
    text: str
    status: Status = Status.HYPOTHESIS
    root_cause: bool = False
    and_group: str | None = None
    evidence: tuple[Evidence, ...] = ()
    removed_with: str | None = None
    by: str | None = None
    at: str | None = None

    @property
    def removed(self) -> bool:
        """True once the why (or a why above it, named by ``removed_with``) was removed."""
        return self.removed_with is not None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The findings cited as evidence for this why."""
        return tuple(e.finding for e in self.evidence if e.finding is not None)


def check_status(
    why: Why, status: Status, root_cause: bool, evidence: tuple[Evidence, ...]
) -> None:
    """Raise :class:`ModelError` if ``why`` may not have this status / root-cause flag / evidence."""
    if status is Status.VERIFIED and not evidence:
        raise ModelError(
            f"why {why.id} cannot be verified without evidence: attach a finding or a note first",
            expected="at least one piece of evidence",
            found="none",
        )
    if root_cause and status is Status.REJECTED:
        raise ModelError(
            f"why {why.id} is rejected, so it cannot be a root cause: unflag it or change its status",
            expected="a why that is not rejected",
            found="rejected",
        )


def validate_tree(problem: Problem, whys: Iterable[Why]) -> None:
    """Check that ``whys`` form one tree under ``problem``: one root, no cycles, no orphans.

    Raises:
        ModelError: naming the first offending why.
    """
    nodes = {w.id: w for w in whys}
    if problem.id in nodes:
        raise ModelError(f"expected one root, found why {problem.id} with the problem's id")
    for why in nodes.values():
        if why.parent_id != problem.id and why.parent_id not in nodes:
            raise ModelError(
                f"why {why.id} is an orphan: its parent {why.parent_id} is not in the tree of "
                f"problem {problem.id}",
                expected="a parent in the tree",
                found=why.parent_id,
            )
    for why in nodes.values():
        seen = {why.id}
        current = why
        while current.parent_id != problem.id:
            current = nodes[current.parent_id]
            if current.id in seen:
                raise ModelError(
                    f"why {why.id} is in a cycle ({' -> '.join(sorted(seen))}): a why cannot be "
                    "its own ancestor",
                    expected="a tree",
                    found="a cycle",
                )
            seen.add(current.id)


def would_cycle(whys: dict[str, Why], why_id: str, new_parent_id: str) -> bool:
    """True if moving ``why_id`` under ``new_parent_id`` would make it its own ancestor."""
    current: str | None = new_parent_id
    while current is not None and current in whys:
        if current == why_id:
            return True
        current = whys[current].parent_id
    return False


@dataclass(frozen=True)
class WhyTree:
    """One problem and its live whys, validated on construction. Read-only helpers for views."""

    problem: Problem
    whys: tuple[Why, ...] = ()

    def __post_init__(self) -> None:
        validate_tree(self.problem, self.whys)

    def children(self, node_id: str) -> tuple[Why, ...]:
        """The whys directly under ``node_id`` (the problem or a why), in the order added."""
        return tuple(w for w in self.whys if w.parent_id == node_id)

    def branches(self, node_id: str) -> list[tuple[Why, ...]]:
        """The children of ``node_id`` as alternatives (OR): each item is one why, or an AND group."""
        groups: dict[str, list[Why]] = {}
        order: list[str] = []
        for why in self.children(node_id):
            group = why.and_group or why.id
            if group not in groups:
                groups[group] = []
                order.append(group)
            groups[group].append(why)
        return [tuple(groups[g]) for g in order]

    def depth(self, why_id: str) -> int:
        """1 for a why directly under the problem, 2 below that, and so on."""
        by_id = {w.id: w for w in self.whys}
        depth, current = 1, by_id[why_id]
        while current.parent_id != self.problem.id:
            current = by_id[current.parent_id]
            depth += 1
        return depth

    def root_causes(self) -> tuple[Why, ...]:
        """The whys the team flagged as root causes."""
        return tuple(w for w in self.whys if w.root_cause)

    def numbers(self) -> dict[str, str]:
        """Outline numbers people say out loud: ``{"W3": "1", "W7": "1.1", "W9": "2"}``; the
        problem is ``""``. Numbers follow the outline order, so they can change when a why is
        removed: they name a why on screen, the ids stay internal."""
        out: dict[str, str] = {self.problem.id: ""}

        def visit(node_id: str, prefix: str) -> None:
            n = 0
            for branch in self.branches(node_id):
                for why in branch:
                    n += 1
                    out[why.id] = f"{prefix}{n}"
                    visit(why.id, f"{prefix}{n}.")

        visit(self.problem.id, "")
        return out

    def name(self, node_id: str) -> str:
        """``"the problem"`` or ``"why 1.2"``: a node as a sentence names it."""
        number = self.numbers().get(node_id)
        return "the problem" if not number else f"why {number}"

    def walk(self) -> Iterator[tuple[int, Why]]:
        """Depth-first (depth, why) pairs in outline order."""

        def visit(node_id: str, depth: int) -> Iterator[tuple[int, Why]]:
            for branch in self.branches(node_id):
                for why in branch:
                    yield depth, why
                    yield from visit(why.id, depth + 1)

        yield from visit(self.problem.id, 1)

    def to_markdown(self) -> str:
        """The tree as a nested Markdown outline; user text is escaped so it renders as typed."""
        lines = [f"## Problem: {_md(self.problem.text)}", ""]
        lines += [f"- Evidence: {_evidence_md(e)}" for e in self.problem.evidence]

        def visit(node_id: str, indent: str) -> None:
            for branch in self.branches(node_id):
                inner = indent
                if len(branch) > 1:
                    lines.append(f"{indent}- **All of these together (AND):**")
                    inner = indent + "  "
                for why in branch:
                    flag = " · **root cause**" if why.root_cause else ""
                    lines.append(f"{inner}- Why? {_md(why.text)} _[{why.status.value}]_{flag}")
                    lines.extend(f"{inner}  - Evidence: {_evidence_md(e)}" for e in why.evidence)
                    visit(why.id, inner + "  ")

        visit(self.problem.id, "")
        alternatives = len(self.branches(self.problem.id))
        if alternatives > 1:
            lines.insert(1, f"_{alternatives} alternative explanations (OR)_")
        return "\n".join(lines) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def _md(text: str) -> str:
    # Backslash-escaping ASCII punctuation is valid CommonMark: it renders as the literal character,
    # so "<script>" typed by a participant shows as text instead of becoming HTML.
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _evidence_md(evidence: Evidence) -> str:
    if evidence.finding is None:
        return _md(evidence.note or "")
    f = evidence.finding
    about = ", ".join(x for x in (f.stage, f.category, f.segment) if x)
    deals = f"; {len(f.opportunity_ids)} deals" if f.opportunity_ids else ""
    value = f"{f.value:.1%}" if f.unit == "share" else f"{f.value:g} {f.unit}".strip()
    detail = f" ({_md(f.metric)} = {_md(value)}{'; ' + _md(about) if about else ''}{deals})"
    return _md(f.title) + detail
