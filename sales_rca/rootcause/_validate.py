"""Argument checks of the workshop's operations (:mod:`sales_rca.rootcause.workshop`).

Each checks one value against a field type of :mod:`sales_rca.schema` (the types of the YAML
formats) and raises :class:`ModelError` with the one line of
:func:`sales_rca.errors.validation_message`, e.g. ``"title: expected non-empty text, found ''"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sales_rca.errors import ModelError, problem, shown, validation_message
from sales_rca.schema import Count, Flag, Ident, Key, Number, Text


def _checker(kind: Any, then: Callable[[Any], Any] = lambda v: v) -> Callable[[Any, str], Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def check(value: Any, name: str) -> Any:
        try:
            return then(adapter.validate_python(value))
        except ValidationError as exc:
            raise ModelError(validation_message(exc, where=name, data=value)) from None

    return check


def _once(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))  # duplicates removed, order kept


#: Non-blank text, returned unchanged (stored byte for byte, never trimmed).
text: Callable[[Any, str], str] = _checker(Text)
#: A lower-case identifier such as ``no_decision`` or ``buyer``.
ident: Callable[[Any, str], str] = _checker(Ident)
#: A list of identifiers, duplicates removed, order kept.
idents: Callable[[Any, str], tuple[str, ...]] = _checker(tuple[Ident, ...], _once)
#: An entity id such as ``W12`` (any non-blank text without surrounding spaces).
key: Callable[[Any, str], str] = _checker(Key)
#: A list of entity ids, duplicates removed, order kept.
keys: Callable[[Any, str], tuple[str, ...]] = _checker(tuple[Key, ...], _once)
#: A finite number (booleans are not numbers here).
number: Callable[[Any, str], float] = _checker(Number, float)
#: A real boolean (``"yes"`` or ``1`` are refused, so a typo never flips a flag).
flag: Callable[[Any, str], bool] = _checker(Flag)
_count = _checker(Count)


def optional_text(value: Any, name: str) -> str | None:
    """``None`` stays ``None``; anything else must be non-blank text."""
    return None if value is None else text(value, name)


def count(value: Any, name: str, *, minimum: int = 0) -> int:
    """A whole number at least ``minimum``."""
    if _count(value, name) < minimum:
        raise ModelError(problem("", name, f"a whole number >= {minimum}", shown(value)))
    return value


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """One of ``options``."""
    options = tuple(options)
    if value not in options:
        raise ModelError(problem("", name, f"one of {', '.join(options)}", shown(value)))
    return str(value)
