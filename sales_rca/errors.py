"""Errors a user can cause, each with a one-line message: what was expected, what was found, what to do.

The CLI prints ``str(error)`` and exits 2; it never shows a traceback for these. Every message about
a file's content has one shape, ``"FILE: <where>: expected <what>, found <what>"``, made by
:func:`problem`; :func:`validation_message` turns a pydantic validation error (every YAML format is
a pydantic model, read by :func:`sales_rca.resources.load_yaml`) into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import ValidationError


class SalesRcaError(Exception):
    """Base class of every error sales-rca raises for bad input."""

    def __init__(self, message: str, *, expected: str | None = None, found: str | None = None):
        # Messages are shown as one line: collapse any newline a caller let through.
        super().__init__(" ".join(str(message).split()))
        self.expected = expected
        self.found = found


class CrmImportError(SalesRcaError):
    """A CRM export (or its stage history) cannot be used at all."""


class MappingError(CrmImportError):
    """A mapping file is malformed or names columns the export does not have."""


class CodebookError(SalesRcaError):
    """A loss-reason codebook is malformed."""


class SessionError(SalesRcaError):
    """A workshop session file or export cannot be opened or written."""


class ModelError(SalesRcaError):
    """A root-cause model rule was broken (e.g. verifying a why without evidence)."""


class BatchError(SalesRcaError):
    """A batch definition (clients file) or its parameters are invalid."""


class PipelineError(SalesRcaError):
    """A pipeline x-ray cannot be taken with the arguments given (e.g. a bad stage order)."""


class AgendaError(SalesRcaError):
    """The workshop's run of show (``agenda.yaml``) is malformed."""


# --- the one message style ---------------------------------------------------------------------

#: What a field expected, for pydantic's error types whose own wording a room would not use.
_EXPECTED = {
    "string_type": "text",
    "string_too_short": "non-empty text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dataclass_type": "a mapping",
    "dataclass_args_type": "a mapping",
}
_EXTRA = ("extra_forbidden", "unexpected_keyword_argument")


def problem(source: str, where: str, expected: str, found: str) -> str:
    """The one-line message of every check: ``"FILE: <where>: expected <what>, found <what>"``
    (``source`` and ``where`` are left out when empty)."""
    head = ": ".join(p for p in (source, where) if p)
    return f"{head + ': ' if head else ''}expected {expected}, found {found}"


def shown(value: Any) -> str:
    """A found value as a message shows it: ``nothing``, ``a mapping``, ``an empty list``, or its
    ``repr`` cut to 60 characters."""
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "an empty list" if not value else f"a list of {len(value)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validation_message(
    exc: ValidationError, source: str = "", *, model: Any = None, data: Any = None, where: str = ""
) -> str:
    """The first problem of a pydantic :class:`~pydantic.ValidationError` in the one-line style.

    ``source`` names the file; ``data`` (what was validated) lets a list item be named by its
    position and id (``play 3 (champion_test)``); ``model`` (what it was validated as) lists the
    keys allowed where an unknown key was found; ``where`` goes in front of the location found
    (e.g. the name of the argument checked).

    Example: ``"fish.yaml: category 2 (price), within_control: expected true or false, found 'yes'"``.
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    if first["type"] in _EXTRA:
        loc = loc[:-1]
        unknown = [
            repr(e["loc"][-1]) for e in errors if e["type"] in _EXTRA and e["loc"][:-1] == loc
        ]
        keys = _keys_at(model, loc)
        expected = f"keys among {', '.join(keys)}" if keys else "known keys"
        found = f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
    else:
        expected, found = _expected_found(first)
    return problem(source, ", ".join(p for p in (where, _where(loc, data)) if p), expected, found)


def _expected_found(error: Any) -> tuple[str, str]:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "a value", "nothing"
    if kind in ("value_error", "assertion_error"):
        # Our validators say "expected X" or "expected X, found Y".
        message = str(ctx.get("error", error["msg"])).removeprefix("expected ")
        expected, sep, found = message.partition(", found ")
        return expected, found if sep else shown(value)
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return ("a non-empty list" if n == 1 else f"at least {n} items"), shown(value)
    if kind == "literal_error":
        options = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"one of {options}", shown(value)
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"a number {'>=' if kind == 'greater_than_equal' else '>'} {bound}", shown(value)
    expected = _EXPECTED.get(kind) or str(error["msg"]).removeprefix("Input should be ")
    return expected, shown(value)


def _where(loc: tuple[str | int, ...], data: Any) -> str:
    """``("plays", 2, "indicator", "at")`` -> ``"play 3 (champion_test), indicator.at"``."""
    segments: list[str] = []
    keys: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list | tuple) and 0 <= part < len(node) else None
            name = node.get("id") or node.get("name") if isinstance(node, Mapping) else None
            owner = keys.pop() if keys else ""
            if not (isinstance(name, str | int) and str(name).strip()):  # "patterns item 2"
                segments.append(".".join([*keys, f"{owner} item {part + 1}".strip()]))
                keys = []
                continue
            if keys:
                segments.append(".".join(keys))
                keys = []
            segments.append(f"{_singular(owner or 'item')} {part + 1} ({name})")
        else:
            node = node.get(part) if isinstance(node, Mapping) else None
            keys.append(str(part))
    if keys:
        segments.append(".".join(keys))
    return ", ".join(segments)


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _keys_at(model: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model allows at ``loc`` (field names, or their aliases)."""
    kind = model
    for part in loc:
        kind = _unwrap(kind)
        fields = getattr(kind, "__pydantic_fields__", None)
        if fields is not None:
            kind = next((f.annotation for n, f in fields.items() if part in (n, f.alias)), None)
            continue
        args = get_args(kind)
        origin = get_origin(kind)
        if isinstance(part, int) and origin in (list, tuple) and args:
            kind = args[0]
        elif origin is dict and len(args) == 2:
            kind = args[1]
        else:
            return []
    fields = getattr(_unwrap(kind), "__pydantic_fields__", None) or {}
    return [f.alias or name for name, f in fields.items()]


def _unwrap(kind: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind = get_args(kind)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(kind) if a is not type(None)]
            if len(args) != 1:
                return kind
            kind = args[0]
        else:
            return kind
