"""Argument checks of the workshop's operations (:mod:`sales_rca.rootcause.workshop`).

Each checks one value against a field type of :mod:`sales_rca.schema` (the types of the YAML
formats) and raises :class:`ModelError` with the one-line message of
:func:`sales_rca.errors.validation_message`, e.g. ``"title: expected non-empty text, found ''"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sales_rca.errors import ModelError, problem, shown, validation_message
from sales_rca.schema import Count, Flag, Ident, Key, Number, Text

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {
    kind: TypeAdapter(kind)
    for kind in (Text, Ident, Key, Flag, Count, Number, tuple[Ident, ...], tuple[Key, ...])
}


def _check(kind: Any, value: Any, name: str) -> Any:
    try:
        return _ADAPTERS[kind].validate_python(value)
    except ValidationError as exc:
        raise ModelError(validation_message(exc, where=name, data=value)) from None


def text(value: Any, name: str) -> str:
    """Return ``value`` unchanged if it is non-blank text (stored byte for byte, never trimmed)."""
    return _check(Text, value, name)


def optional_text(value: Any, name: str) -> str | None:
    """``None`` stays ``None``; anything else must be non-blank text."""
    return None if value is None else text(value, name)


def ident(value: Any, name: str) -> str:
    """A lower-case identifier such as ``no_decision`` or ``buyer``."""
    return _check(Ident, value, name)


def idents(values: Any, name: str) -> tuple[str, ...]:
    """A list of identifiers, duplicates removed, order kept."""
    return tuple(dict.fromkeys(_check(tuple[Ident, ...], values, name)))


def key(value: Any, name: str) -> str:
    """An entity id such as ``W12`` (any non-blank text without surrounding spaces)."""
    return _check(Key, value, name)


def keys(values: Any, name: str) -> tuple[str, ...]:
    """A list of entity ids, duplicates removed, order kept."""
    return tuple(dict.fromkeys(_check(tuple[Key, ...], values, name)))


def number(value: Any, name: str) -> float:
    """A finite number (booleans are not numbers here)."""
    return float(_check(Number, value, name))


def count(value: Any, name: str, *, minimum: int = 0) -> int:
    """A whole number at least ``minimum``."""
    n = _check(Count, value, name)
    if n < minimum:
        raise ModelError(problem("", name, f"a whole number >= {minimum}", shown(value)))
    return n


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """One of ``options``."""
    options = tuple(options)
    if value not in options:
        raise ModelError(problem("", name, f"one of {', '.join(options)}", shown(value)))
    return str(value)


def flag(value: Any, name: str) -> bool:
    """A real boolean (``"yes"`` or ``1`` are refused, so a typo never flips a flag)."""
    return _check(Flag, value, name)
