"""Argument checks shared by the root-cause models; each raises :class:`ModelError` in one line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from sales_rca import resources
from sales_rca.errors import ModelError

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text(value: Any, name: str) -> str:
    """Return ``value`` unchanged if it is non-blank text (stored byte for byte, never trimmed)."""
    if not isinstance(value, str) or not value.strip():
        raise ModelError(
            f"expected {name} to be non-empty text, found {_shown(value)}",
            expected="non-empty text",
            found=_shown(value),
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ModelError(
            f"expected {name} to be valid Unicode text, found an unpaired surrogate at {exc.start}",
            expected="valid Unicode",
            found="unpaired surrogate",
        ) from None
    return value


def optional_text(value: Any, name: str) -> str | None:
    """``None`` stays ``None``; anything else must be non-blank text."""
    return None if value is None else text(value, name)


def ident(value: Any, name: str) -> str:
    """A lower-case identifier such as ``no_decision`` or ``buyer``."""
    if not isinstance(value, str) or not _IDENT.match(value):
        raise ModelError(
            f"expected {name} to be a lower-case id like 'no_decision', found {_shown(value)}",
            expected="lower-case id",
            found=_shown(value),
        )
    return value


def idents(values: Any, name: str) -> tuple[str, ...]:
    """A list of identifiers, duplicates removed, order kept."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ModelError(f"expected {name} to be a list of ids, found {_shown(values)}")
    return tuple(dict.fromkeys(ident(v, name) for v in values))


def key(value: Any, name: str) -> str:
    """An entity id such as ``W12`` (any non-blank text without surrounding spaces)."""
    if not isinstance(value, str) or not value or value.strip() != value:
        raise ModelError(
            f"expected {name} to be an id, found {_shown(value)}",
            expected="id",
            found=_shown(value),
        )
    return value


def keys(values: Any, name: str) -> tuple[str, ...]:
    """A list of entity ids, duplicates removed, order kept."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ModelError(f"expected {name} to be a list of ids, found {_shown(values)}")
    return tuple(dict.fromkeys(key(v, name) for v in values))


def number(value: Any, name: str) -> float:
    """A finite number (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(
            f"expected {name} to be a finite number, found {_shown(value)}",
            expected="finite number",
            found=_shown(value),
        )
    return float(value)


def count(value: Any, name: str, *, minimum: int = 0) -> int:
    """A whole number at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModelError(
            f"expected {name} to be a whole number >= {minimum}, found {_shown(value)}",
            expected=f"whole number >= {minimum}",
            found=_shown(value),
        )
    return value


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    """One of ``options``."""
    options = tuple(options)
    if value not in options:
        raise ModelError(
            f"expected {name} to be one of {', '.join(options)}; found {_shown(value)}",
            expected=", ".join(options),
            found=_shown(value),
        )
    return str(value)


def flag(value: Any, name: str) -> bool:
    """A real boolean (``"yes"`` or ``1`` are refused, so a typo never flips a flag)."""
    if not isinstance(value, bool):
        raise ModelError(f"expected {name} to be true or false, found {_shown(value)}")
    return value


def load_yaml(path: str | Path | None, default: str, what: str) -> tuple[Any, str]:
    """``(data, source)`` from the YAML file at ``path``, or the packaged resource ``default``.

    Raises ModelError naming the file when it cannot be read or is not YAML.
    """
    if path is None:
        source = f"the packaged {default}"
        raw = resources.read_text(default)
    else:
        source = str(path)
        try:
            raw = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ModelError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(raw), source
    except yaml.YAMLError as exc:
        raise ModelError(f"expected {source} to be YAML, found a syntax error: {exc}") from None
