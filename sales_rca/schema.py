"""The building blocks of every YAML format sales-rca reads: a strict base model and field types.

Each format (CRM mapping, codebook, fishbone, playbook, clients file, agenda) is a pydantic model
built from these, read by :func:`sales_rca.resources.load_yaml`, which turns a validation error into
the one-line message of :func:`sales_rca.errors.validation_message`. A validator says what it
expected (``ValueError("expected a lower-case id like 'no_decision'")``); the formatter adds the
file, the place and what was found.
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

_IDENT = re.compile(r"[a-z][a-z0-9_]*")


class YamlModel(BaseModel):
    """Base of the file formats (:data:`STRICT`)."""

    model_config = STRICT


def one_of(options: Iterable[str]) -> Callable[[str], str]:
    """A validator that accepts one of ``options`` only."""
    allowed = tuple(options)
    names = ", ".join(o if o.isidentifier() else repr(o) for o in allowed)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {names}")
        return value

    return check


def unique_ids(items: list[Any]) -> list[Any]:
    """A validator: every item of a list has its own ``id``."""
    ids = [i.id for i in items]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"expected unique ids, found {', '.join(twice)} twice")
    return items


def non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("expected non-empty text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"expected valid Unicode text, found an unpaired surrogate at {exc.start}"
        ) from None
    return value


def _ident(value: str) -> str:
    if not _IDENT.fullmatch(value):
        raise ValueError("expected a lower-case id like 'no_decision'")
    return value


def _key(value: str) -> str:
    if not value or value.strip() != value:
        raise ValueError("expected an id without surrounding spaces")
    return value


def _texts(value: Any) -> Any:
    """``None`` -> no texts; a number or date in a list of names -> its text (YAML reads ``2026``
    and ``2026-09-30`` as a number and a date)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [as_text(v) for v in value]
    return value


def comma_list(value: Any) -> Any:
    """``"Won, Signed"`` -> ``["Won", "Signed"]``; otherwise as :func:`_texts`."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return _texts(value)


def listed(value: Any) -> Any:
    """One text stands for a list of one (``patterns: "too expensive"``)."""
    if isinstance(value, str):
        return [value]
    return _texts(value)


def as_text(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


#: Non-blank text, stored byte for byte (never trimmed).
Text = Annotated[StrictStr, AfterValidator(non_blank)]
#: A lower-case identifier such as ``no_decision`` or ``buyer``.
Ident = Annotated[StrictStr, AfterValidator(_ident)]
#: An entity id such as ``W12`` (any non-blank text without surrounding spaces).
Key = Annotated[StrictStr, AfterValidator(_key)]
#: ``true`` or ``false`` (``"yes"`` or ``1`` are refused, so a typo never flips a flag).
Flag = StrictBool
#: A whole number >= 0 (booleans are not numbers here).
Count = Annotated[StrictInt, Field(ge=0)]
#: A finite number (booleans are not numbers here).
Number = Annotated[StrictFloat, Field(allow_inf_nan=False)]
#: Names (stages, columns): a list, or one comma-separated text; numbers and dates read as text.
Names = Annotated[tuple[StrictStr, ...], BeforeValidator(comma_list)]
#: Texts (examples, patterns): a list, or one text for a list of one; numbers read as text.
Texts = Annotated[tuple[StrictStr, ...], BeforeValidator(listed)]
#: A scalar as text: a number or a date written in YAML reads as its text.
Scalar = Annotated[StrictStr, BeforeValidator(as_text)]
