"""Errors a user can cause, each with a one-line message: what was expected, what was found, what to do.

The CLI prints ``str(error)`` and exits 2; it never shows a traceback for these. A message about a
file's content reads ``"FILE: <where>: expected <what>, found <what>"`` (:func:`problem`, and
:func:`validation_message` for the pydantic model of every YAML format).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, get_args

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


class KernelStartError(BatchError):
    """A Jupyter kernel for a notebook run could not be started (after the retries)."""


class PipelineError(SalesRcaError):
    """A pipeline x-ray cannot be taken with the arguments given (e.g. a bad stage order)."""


class AgendaError(SalesRcaError):
    """The workshop's run of show (``agenda.yaml``) is malformed."""


# --- the one message style ---------------------------------------------------------------------

_EXTRA = ("extra_forbidden", "unexpected_keyword_argument")
#: The room's words where pydantic's ("a valid tuple", "an instance of Category") are not.
_SAID = {"string_type": "text", "bool_type": "true or false", "int_type": "a whole number"}
_SAID |= dict.fromkeys(("tuple_type", "list_type"), "a list")
_SAID |= dict.fromkeys(("dict_type", "model_type", "dataclass_type"), "a mapping")
_SAID["is_instance_of"] = "text"


def problem(source: str, where: str, expected: str, found: str) -> str:
    """The one line of every check: ``"FILE: <where>: expected <what>, found <what>"``."""
    head = ": ".join(p for p in (source, where) if p)
    return f"{head + ': ' if head else ''}expected {expected}, found {found}"


def shown(value: Any) -> str:
    """A found value in a message: ``nothing``, ``a mapping``, ``a list of 3``, else its ``repr``."""
    if value is None or isinstance(value, Mapping | list | tuple):
        kind = "nothing" if value is None else "a mapping" if isinstance(value, Mapping) else ""
        return kind or (f"a list of {len(value)}" if value else "an empty list")
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validation_message(
    exc: ValidationError, source: str = "", *, model: Any = None, data: Any = None, where: str = ""
) -> str:
    """The first problem of a pydantic ``ValidationError`` as one line, e.g. ``"fish.yaml: category
    2 (price), within_control: expected true or false, found 'yes'"``: ``data`` (what was
    validated) names list items by position and id, ``model`` lists the keys allowed in place of
    an unknown one, ``where`` goes in front (e.g. an argument's name)."""
    errors = exc.errors(include_url=False)
    kind, loc, ctx = errors[0]["type"], errors[0]["loc"], errors[0].get("ctx", {})
    expected = _SAID.get(kind) or str(errors[0]["msg"]).removeprefix("Input should be ")
    found = shown(errors[0].get("input"))
    if kind in _EXTRA:
        loc = loc[:-1]
        unknown = [
            repr(e["loc"][-1]) for e in errors if e["type"] in _EXTRA and e["loc"][:-1] == loc
        ]
        expected = f"keys among {', '.join(_keys_at(model, loc))}"
        found = f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
    elif kind == "missing":
        expected, found = "a value", "nothing"
    elif kind == "value_error":  # our validators say "expected X" or "expected X, found Y"
        expected, sep, given = str(ctx["error"]).removeprefix("expected ").partition(", found ")
        found = given if sep else found
    elif kind == "too_short":
        expected = "a non-empty list" if ctx.get("min_length") == 1 else expected
    elif kind == "greater_than_equal":
        expected = f"a number >= {ctx['ge']}"
    return problem(source, ", ".join(p for p in (where, _where(loc, data)) if p), expected, found)


def _where(loc: tuple[str | int, ...], data: Any) -> str:
    """``("plays", 2, "indicator", "at")`` -> ``"play 3 (champion_test), indicator.at"``: a list
    item with an id or name is named by them, any other by its position (``"patterns item 2"``)."""
    segments: list[str] = []
    keys: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, str):
            node = node.get(part) if isinstance(node, Mapping) else None
            keys.append(part)
            continue
        node = node[part] if isinstance(node, list | tuple) and 0 <= part < len(node) else None
        name = node.get("id") or node.get("name") if isinstance(node, Mapping) else None
        owner = keys.pop() if keys else "item"
        if isinstance(name, str | int) and str(name).strip():
            segments += [".".join(keys)] if keys else []
            segments.append(f"{_singular(owner)} {part + 1} ({name})")
        else:
            segments.append(".".join([*keys, f"{owner} item {part + 1}"]))
        keys = []
    return ", ".join([*segments, ".".join(keys)] if keys else segments)


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _keys_at(model: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model allows at ``loc``: its fields, or the fields of the model inside."""
    kind = _model_in(model)
    for part in loc:
        field = kind.__pydantic_fields__.get(part) if kind is not None else None
        kind = _model_in(field.annotation) if field is not None else kind  # else a dict key
    return list(kind.__pydantic_fields__) if kind is not None else ["known keys"]


def _model_in(kind: Any) -> Any:
    """The pydantic model (or dataclass) a type is or holds: ``list[Play] | None`` -> ``Play``."""
    if hasattr(kind, "__pydantic_fields__"):
        return kind
    return next((m for arg in get_args(kind) if (m := _model_in(arg)) is not None), None)
