"""The building blocks of every YAML format sales-rca reads: a strict base model and field types.

Each format (CRM mapping, codebook, fishbone, playbook, clients file, agenda) is a pydantic model
of these, read by :func:`sales_rca.resources.load_yaml`. A validator raises what it expected
(``ValueError("expected a lower-case id like 'no_decision'")``); the one formatter,
:func:`sales_rca.errors.validation_message`, adds the file, the place and what was found.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

#: Every model: unknown keys are errors (a typo never passes silently), values never change after.
STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class YamlModel(BaseModel):
    """Base of the file formats (:data:`STRICT`)."""

    model_config = STRICT


def _check(test: Callable[[Any], bool], expected: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError(f"expected {expected}")
        return value

    return check


def one_of(options: Iterable[str]) -> Callable[[Any], Any]:
    """A validator that accepts one of ``options`` only."""
    allowed = tuple(options)
    names = ", ".join(o if o.isidentifier() else repr(o) for o in allowed)
    return _check(lambda value: value in allowed, f"one of {names}")


def unique(field: str = "id") -> Callable[[list[Any]], list[Any]]:
    """A validator: no two items of a list share a ``field`` (``None`` aside)."""

    def check(items: list[Any]) -> list[Any]:
        values = [v for v in (getattr(i, field) for i in items) if v is not None]
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ValueError(f"expected unique {field}s, found {', '.join(twice)} twice")
        return items

    return check


def _encodes(value: str) -> bool:
    try:
        return bool(value.encode("utf-8"))
    except UnicodeEncodeError:
        return False


def as_text(value: Any) -> Any:
    """A number or date YAML read where text was meant (``2026``, ``2026-09-30``) -> its text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value.isoformat() if isinstance(value, dt.date) else value


def listed(value: Any) -> Any:
    """One text stands for a list of one; ``None`` for none; list items as text."""
    if value is None or isinstance(value, str):
        return [] if value is None else [value]
    return [as_text(v) for v in value] if isinstance(value, list | tuple) else value


def comma_list(value: Any) -> Any:
    """``"Won, Signed"`` -> ``["Won", "Signed"]``; otherwise as :func:`listed`."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return listed(value)


#: A validator: text with more than spaces.
non_blank = _check(lambda value: bool(value.strip()), "non-empty text")
_UNICODE = _check(_encodes, "valid Unicode text (no lone surrogate)")
_IDENT = _check(lambda v: re.fullmatch(r"[a-z][a-z0-9_]*", v), "a lower-case id like 'no_decision'")
_KEY = _check(lambda v: re.fullmatch(r"(?s)\S(.*\S)?", v), "an id without surrounding spaces")

#: Non-blank text, stored byte for byte (never trimmed).
Text = Annotated[StrictStr, AfterValidator(non_blank), AfterValidator(_UNICODE)]
#: A lower-case identifier such as ``no_decision`` or ``buyer``.
Ident = Annotated[StrictStr, AfterValidator(_IDENT)]
#: An entity id such as ``W12`` (any non-blank text without surrounding spaces).
Key = Annotated[StrictStr, AfterValidator(_KEY)]
#: ``true`` or ``false`` (``"yes"`` or ``1`` are refused, so a typo never flips a flag).
Flag = StrictBool
#: A whole number >= 0 (booleans are not numbers here).
Count = Annotated[StrictInt, Field(ge=0)]
#: A finite number (booleans are not numbers here).
Number = Annotated[StrictFloat, Field(allow_inf_nan=False)]
#: Names (stages, columns): a list, or one comma-separated text; numbers and dates read as text.
Names = Annotated[tuple[StrictStr, ...], BeforeValidator(comma_list)]
#: Texts (examples, picklist values): a list, or one text for a list of one.
Texts = Annotated[tuple[StrictStr, ...], BeforeValidator(listed)]
#: A scalar as text: a number or a date written in YAML reads as its text.
Scalar = Annotated[StrictStr, BeforeValidator(as_text)]
