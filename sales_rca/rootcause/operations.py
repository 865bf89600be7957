"""Every change a workshop accepts, defined once: one typed model per operation.

A model names the operation's ``kind`` (the event kind a session stores), its fields with types and
defaults (the event's JSON arguments, and the signature of ``Workshop.<kind>`` and
``Session.<kind>``) and ``undo``, its plain words after an undo ("Undone: the new why"). Building
one checks the arguments' shape (unknown, missing or ill-typed fields raise :class:`ModelError`);
rules that need the workshop are its handler's. Adding an operation is one model here and one
handler in :class:`~sales_rca.rootcause.workshop.Workshop`.

Example:
    >>> OPERATIONS["add_why"].undo, AddWhy.parse({"parent_id": "P1", "text": "Pitching"}).status
    ('the new why', 'hypothesis')
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, field
from types import MappingProxyType
from typing import (
    Annotated,
    Any,
    ClassVar,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    TypeVar,
    dataclass_transform,
)

from pydantic import ConfigDict, PlainValidator, ValidationError
from pydantic.dataclasses import dataclass

from sales_rca import schema as check
from sales_rca.errors import ModelError
from sales_rca.findings import Finding
from sales_rca.rootcause.actions import TargetMetric

P = ParamSpec("P")
R = TypeVar("R")


class Keep(enum.Enum):
    """The default of a field whose ``None`` means "clear": leave the value as it is."""

    KEEP = "keep"

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep.KEEP
_registry: dict[str, type[Operation[Any]]] = {}
#: Every operation by kind (a session's event kinds, besides ``create`` and ``undo``).
OPERATIONS: Mapping[str, type[Operation[Any]]] = MappingProxyType(_registry)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Operation(Generic[R]):
    """Base of the models (each a frozen, validating dataclass); ``R`` is what applying returns.

    Class arguments: ``kind``; ``undo`` (``None`` for a change that is not an edit, which undo
    skips); ``new_id``, the id prefix of an operation that creates something (it returns the id);
    ``sparse`` to store only the fields given (a field at its default ``None`` / :data:`KEEP` is
    "unchanged").
    """

    kind: ClassVar[str]
    undo: ClassVar[str | None]
    new_id: ClassVar[str | None]
    sparse: ClassVar[bool]
    #: Fields that default to the session's author (a participant's own ballot).
    by_author: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(
        cls,
        *,
        kind: str,
        undo: str | None = None,
        new_id: str | None = None,
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        if kind in _registry:
            raise TypeError(f"operation {kind!r} is defined twice")
        cls.kind, cls.undo, cls.new_id, cls.sparse = kind, undo, new_id, sparse
        dataclass(frozen=True, config=ConfigDict(strict=True, extra="forbid"))(cls)
        _registry[kind] = cls

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Operation[R]:
        """The operation stored as ``data`` (an event's JSON arguments); raises ``ModelError``."""
        if not isinstance(data, Mapping):
            raise ModelError(f"expected the data of {cls.kind} to be a mapping, found {data!r:.60}")
        return _build(cls, (), dict(data))

    def to_data(self) -> dict[str, Any]:
        """The fields to store, in declaration order (JSON-ready once dumped)."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        data = {f.name: getattr(self, f.name) for f in fields}
        if self.sparse:
            data = {f.name: data[f.name] for f in fields if data[f.name] is not f.default}
        return data


def _build(model: type[Operation[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return model(*args, **kwargs)
    except ValidationError as exc:
        err = exc.errors()[0]
    loc, names = list(err["loc"]), list(inspect.signature(model).parameters)
    if loc and isinstance(loc[0], int) and loc[0] < len(names):  # a positional argument
        loc[0] = names[loc[0]]
    where, kind = ".".join(str(p) for p in loc), model.kind
    if err["type"] == "missing":
        raise ModelError(f"expected {kind} to have {where}, found none", expected=where) from None
    if err["type"].startswith("unexpected_"):
        expected = ", ".join(f.name for f in dataclasses.fields(model)) or "no fields"  # type: ignore[arg-type]
        message = f"expected the fields of {kind} ({expected}), found {where!r}"
        raise ModelError(message, expected=expected, found=where) from None
    wanted, found = err["msg"].removeprefix("Input should be "), f"{err.get('input')!r:.60}"
    message = f"expected {where} of {kind} to be {wanted}, found {found}"
    raise ModelError(message, expected=wanted, found=found) from None


def operation(model: Callable[P, Operation[R]]) -> Callable[Concatenate[Any, P], R]:
    """A method with ``model``'s signature (for ``help()`` and type checkers alike) that builds
    the operation and hands it to its owner's ``_perform(op)`` (a Workshop's or a Session's)."""
    op_model: type[Operation[R]] = model  # type: ignore[assignment]

    def method(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        result: R = self._perform(_build(op_model, args, kwargs))
        return result

    signature = inspect.signature(op_model)
    own = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[own, *signature.parameters.values()],
        return_annotation="str" if op_model.new_id else "None",
    )
    method.__name__ = method.__qualname__ = op_model.kind
    method.__doc__ = op_model.__doc__
    return method


# ---------------------------------------------------------------------- values with their own checks
def _finding(value: Any) -> Finding | None:
    if value is None or isinstance(value, Finding):
        return value
    if not isinstance(value, Mapping):
        raise ModelError(f"expected a finding, found {value!r:.60}")
    try:
        finding = Finding.from_dict(dict(value))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(
            f"expected a finding with key, title, metric and value, found {exc}"
        ) from None
    check.text(finding.key, "finding key")
    check.text(finding.title, "finding title")
    check.number(finding.value, "finding value")
    return finding


def _target(value: Any) -> TargetMetric | None:
    if value is None or isinstance(value, TargetMetric):
        return value
    if not isinstance(value, Mapping):
        raise ModelError(f"expected a target metric, found {value!r:.60}")
    known = {f.name for f in dataclasses.fields(TargetMetric)}
    extra = sorted(set(value) - known)
    if extra:
        raise ModelError(
            f"expected target fields among {', '.join(sorted(known))}, found {extra[0]}"
        )
    data = dict(value)
    return TargetMetric(
        metric=check.text(data.get("metric"), "target metric"),
        baseline=check.number(data.get("baseline"), "target baseline"),
        target=check.number(data.get("target"), "target value"),
        unit=data.get("unit") or "",
        stage=check.optional_text(data.get("stage"), "target stage"),
        segment=check.optional_text(data.get("segment"), "target segment"),
        category=check.optional_text(data.get("category"), "target category"),
        finding_key=check.optional_text(data.get("finding_key"), "target finding_key"),
    )


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ModelError(f"expected a due date like 2025-03-31, found {value!r:.60}")


def _or_keep(convert: Callable[[Any], Any]) -> PlainValidator:
    return PlainValidator(lambda value: value if value is KEEP else convert(value))


#: A finding (or its JSON dict), checked; ``None`` for none.
FindingArg = Annotated[Finding | None, PlainValidator(_finding)]
#: A target metric (or its JSON dict), checked; ``None`` for none.
TargetArg = Annotated[TargetMetric | None, PlainValidator(_target)]
#: A due date, as a date or ``"2025-03-31"``; ``None`` for none.
DueArg = Annotated[dt.date | str | None, PlainValidator(_date)]

#: A new due date, ``None`` to clear it, :data:`KEEP` to leave it.
DueChange = Annotated[dt.date | str | Keep | None, _or_keep(_date)]
#: A new target metric, ``None`` to clear it, :data:`KEEP` to leave it.
TargetChange = Annotated[TargetMetric | Keep | None, _or_keep(_target)]


# ---------------------------------------------------------------------- the operations
class Join(Operation[str], kind="join", undo="adding a ballot", new_id="U"):
    """Add a participant, named or anonymous (``name=None``); returns their id for ``who=``."""

    id: str | None = field(default=None, kw_only=True)
    name: str | None = None


class Rename(Operation[None], kind="rename", undo="the new title"):
    """Change the workshop's title."""

    title: str


class AddProblem(Operation[str], kind="add_problem", undo="the new problem", new_id="P"):
    """Add a problem statement (a five-whys root); a finding's numbers become its evidence."""

    id: str | None = field(default=None, kw_only=True)
    text: str
    _: KW_ONLY
    finding: FindingArg = None
    note: str | None = None


class UpdateProblem(Operation[None], kind="update_problem", undo="the problem's new wording"):
    """Reword a problem statement."""

    id: str
    text: str


class AddWhy(Operation[str], kind="add_why", undo="the new why", new_id="W"):
    """Add a why under a problem or a live why; returns its id."""

    id: str | None = field(default=None, kw_only=True)
    parent_id: str
    text: str
    _: KW_ONLY
    status: str = "hypothesis"
    root_cause: bool = False
    finding: FindingArg = None
    note: str | None = None


class UpdateWhy(Operation[None], kind="update_why", undo="the change to a why", sparse=True):
    """Change a why's text, status, root-cause flag or parent (verified needs evidence)."""

    id: str
    _: KW_ONLY
    text: str | None = None
    status: str | None = None
    root_cause: bool | None = None
    parent_id: str | None = None


class RemoveWhy(Operation[None], kind="remove_why", undo="removing a why"):
    """Hide a why and its branch (soft: ``restore_why`` or undo bring it back)."""

    id: str


class RestoreWhy(Operation[None], kind="restore_why", undo="bringing back a why"):
    """Bring back a removed why and the branch removed with it."""

    id: str


class AttachEvidence(
    Operation[str],
    kind="attach_evidence",
    undo="the evidence just attached",
    new_id="E",
    sparse=True,
):
    """Attach one note or one finding to a problem or why; returns the evidence id."""

    id: str | None = field(default=None, kw_only=True)
    node_id: str
    _: KW_ONLY
    note: str | None = None
    finding: FindingArg = None


class DetachEvidence(Operation[None], kind="detach_evidence", undo="removing evidence"):
    """Remove one piece of evidence (a verified why keeps at least one)."""

    node_id: str
    evidence_id: str


class LinkWhys(Operation[None], kind="link_whys", undo="the AND / OR link"):
    """Mark sibling whys as needing each other (``"and"``) or as alternatives (``"or"``)."""

    why_ids: Sequence[str]
    relation: Literal["and", "or"] = "and"


class AddCause(Operation[str], kind="add_cause", undo="the new cause", new_id="C"):
    """Place a cause on a fishbone category, linked to whys and loss codes; returns its id."""

    id: str | None = field(default=None, kw_only=True)
    text: str
    category: str
    _: KW_ONLY
    why_ids: Sequence[str] = ()
    codes: Sequence[str] = ()


class UpdateCause(Operation[None], kind="update_cause", undo="the change to a cause", sparse=True):
    """Change a cause's text, category, linked whys or codes."""

    id: str
    _: KW_ONLY
    text: str | None = None
    category: str | None = None
    why_ids: Sequence[str] | None = None
    codes: Sequence[str] | None = None


class RemoveCause(Operation[None], kind="remove_cause", undo="removing a cause"):
    """Take a cause off the fishbone (soft); its votes stop counting."""

    id: str


class ProposeCause(Operation[str], kind="propose_cause", undo="the suggested cause", new_id="C"):
    """A participant suggests a cause: it waits for the facilitator (:class:`ApproveCause`)."""

    id: str | None = field(default=None, kw_only=True)
    text: str
    category: str


class ApproveCause(
    Operation[None], kind="approve_cause", undo="adding the suggested cause", sparse=True
):
    """Put a suggested cause on the fishbone, reworded or moved if given."""

    id: str
    _: KW_ONLY
    text: str | None = None
    category: str | None = None


class MergeCauses(Operation[None], kind="merge_causes", undo="the merge of causes"):
    """Fold duplicate causes (live or suggested) into one: their whys, codes and votes join it
    (dots on a duplicate count for the cause it merged into), and they leave the fishbone."""

    into: str
    ids: Sequence[str]


class RemoveParticipant(Operation[None], kind="remove_participant", undo="removing a participant"):
    """Take a participant out: their ballot of an open round no longer counts."""

    id: str


class OpenVoting(Operation[None], kind="open_voting"):
    """Let the phones vote in the current round."""


class CloseVoting(Operation[None], kind="close_voting"):
    """Stop the phones voting (the facilitator may still record ballots)."""


class StartRound(Operation[None], kind="start_round", undo="the new voting round", sparse=True):
    """Start a new silent voting round (ballots cleared and hidden again)."""

    dots_per_person: int | None = None


class Vote(Operation[None], kind="vote", undo="a vote"):
    """Set the dots ``participant`` (default: the session's author) puts on a cause; 0 removes."""

    by_author = ("participant",)
    participant: str | None = field(default=None, kw_only=True)
    cause_id: str
    dots: int = 1


class Rank(Operation[None], kind="rank", undo="a ranking"):
    """Record a ranking of causes, best first (replaces the participant's earlier one)."""

    by_author = ("participant",)
    participant: str | None = field(default=None, kw_only=True)
    cause_ids: Sequence[str]


class Reveal(Operation[None], kind="reveal", undo="revealing the results"):
    """Reveal the current round's ballots and results to everyone."""


class SelectPlay(Operation[None], kind="select_play", undo="picking a play"):
    """Pick a play for some causes (picking it again updates the causes)."""

    play_id: str
    cause_ids: Sequence[str] = ()


class UnselectPlay(Operation[None], kind="unselect_play", undo="dropping a play"):
    """Drop a picked play."""

    play_id: str


class AddAction(Operation[str], kind="add_action", undo="the new action", new_id="A"):
    """Commit to an action with owner, due date, cause, play and target metric; returns its id."""

    id: str | None = field(default=None, kw_only=True)
    title: str
    owner: str
    _: KW_ONLY
    due: DueArg = None
    cause_id: str | None = None
    play_id: str | None = None
    target: TargetArg = None


class UpdateAction(
    Operation[None], kind="update_action", undo="the change to an action", sparse=True
):
    """Change an action; ``None`` clears due / cause / play / target, an omitted field stays."""

    id: str
    _: KW_ONLY
    title: str | None = None
    owner: str | None = None
    due: DueChange = KEEP
    status: str | None = None
    cause_id: str | Keep | None = KEEP
    play_id: str | Keep | None = KEEP
    target: TargetChange = KEEP


class RemoveAction(Operation[None], kind="remove_action", undo="deleting an action"):
    """Delete an action (soft: undo brings it back)."""

    id: str


class OverrideCode(Operation[None], kind="override_code", undo="the team's codes for a deal"):
    """Store the team's loss codes for one deal (an empty list means "none of the codes")."""

    opportunity_id: str
    codes: Sequence[str]
    _: KW_ONLY
    note: str | None = None


class ClearOverride(Operation[None], kind="clear_override", undo="going back to automatic codes"):
    """Go back to the automatic codes for one deal."""

    opportunity_id: str


class SetSetting(Operation[None], kind="set_setting"):
    """Remember an app setting with the session (the open step...); ``None`` forgets it.

    Settings are not edits: undo skips them."""

    key: str
    value: str | None
