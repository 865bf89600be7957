"""The field types of every YAML format (pydantic models read by :func:`sales_rca.resources.load_yaml`)
and checks of one argument against them (``text(value, "title")``, raising :class:`ModelError`).

A validator raises what it expected (``"expected a lower-case id like 'no_decision'"``); the one
formatter, :func:`sales_rca.errors.validation_message`, adds the file, the place and what was found.
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
    TypeAdapter,
    ValidationError,
)

from sales_rca.errors import ModelError, problem, shown, validation_message

#: Every model: unknown keys are errors (a typo never passes silently), values never change after.
STRICT = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class YamlModel(BaseModel):
    """Base of the file formats (:data:`STRICT`)."""

    model_config = STRICT


def expect(test: Callable[[Any], Any], expected: str) -> Callable[[Any], Any]:
    """A validator: a value ``test`` passes, else ``"expected <expected>"``."""

    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError(f"expected {expected}")
        return value

    return check


def one_of(options: Iterable[str]) -> Callable[[Any], Any]:
    """A validator that accepts one of ``options`` only."""
    allowed = tuple(options)
    names = ", ".join(o if o.isidentifier() else repr(o) for o in allowed)
    return expect(lambda value: value in allowed, f"one of {names}")


def unique(*fields: str) -> Callable[[list[Any]], list[Any]]:
    """A validator: no two items of a list share an ``id`` (or each of ``fields``; ``None`` aside)."""

    def check(items: list[Any]) -> list[Any]:
        for field in fields or ("id",):
            values = [v for v in (getattr(i, field) for i in items) if v is not None]
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"expected unique {field}s, found {', '.join(twice)} twice")
        return items

    return check


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
non_blank = expect(lambda value: bool(value.strip()), "non-empty text")
_UNICODE = expect(lambda v: not re.search("[\ud800-\udfff]", v), "Unicode text (no lone surrogate)")
_IDENT = expect(lambda v: re.fullmatch(r"[a-z][a-z0-9_]*", v), "a lower-case id like 'no_decision'")
_KEY = expect(lambda v: re.fullmatch(r"(?s)\S(.*\S)?", v), "an id without surrounding spaces")

#: Field types: ``Text`` (non-blank, kept byte for byte), ``Ident`` (``no_decision``), ``Key``
#: (``W12``: no surrounding spaces), ``Flag`` (``true``/``false`` only: a typo never flips one),
#: ``Count`` (a whole number >= 0) and ``Number`` (finite; booleans are neither); ``Names`` (a
#: list, or one comma-separated text), ``Texts`` (a list, or one text) and ``Scalar`` read a
#: number or a date written in YAML as its text.
Text = Annotated[StrictStr, AfterValidator(non_blank), AfterValidator(_UNICODE)]
Ident = Annotated[StrictStr, AfterValidator(_IDENT)]
Key = Annotated[StrictStr, AfterValidator(_KEY)]
Flag = StrictBool
Count = Annotated[StrictInt, Field(ge=0)]
Number = Annotated[StrictFloat, Field(allow_inf_nan=False)]
Names = Annotated[tuple[StrictStr, ...], BeforeValidator(comma_list)]
Texts = Annotated[tuple[StrictStr, ...], BeforeValidator(listed)]
Scalar = Annotated[StrictStr, BeforeValidator(as_text)]


def _checker(kind: Any, then: Callable[[Any], Any] = lambda v: v) -> Callable[[Any, str], Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def check(value: Any, name: str) -> Any:
        try:
            return then(adapter.validate_python(value))
        except ValidationError as exc:
            raise ModelError(validation_message(exc, where=name, data=value)) from None

    return check


def _once(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


#: ``text`` (non-blank, returned byte for byte), ``ident`` (``no_decision``), ``key`` (``W12``),
#: ``flag`` (a real boolean), ``number`` (finite, not a boolean); ``idents`` and ``keys`` lists of
#: them, duplicates removed, order kept. Each takes the value and the argument's name.
text, ident, key, flag = (_checker(kind) for kind in (Text, Ident, Key, Flag))
number = _checker(Number, float)
idents, keys = _checker(tuple[Ident, ...], _once), _checker(tuple[Key, ...], _once)
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


# --- buyer jobs: the stage -> buyer job mapping (a mapping file's ``buyer_jobs:`` or its own file)

#: Who can check that a stage's exit criterion is met: the buyer (it is written from the buyer's
#: side: "the buyer has agreed the problem in writing") or only the seller ("demo delivered").
VERIFIERS = ("buyer", "seller")


class StageJob(YamlModel):
    """What one stage does for the buyer: the buyer ``job`` it serves (e.g. Gartner's problem
    identification, solution exploration, requirements building, supplier selection, validation,
    consensus creation), its ``exit_criterion`` and who can verify it (``verified_by``, required
    with a criterion so a seller-side step is never taken for a buyer's one)."""

    job: Text | None = None
    exit_criterion: Text | None = None
    verified_by: Annotated[StrictStr, AfterValidator(one_of(VERIFIERS))] | None = None

    def model_post_init(self, context: Any, /) -> None:
        if self.exit_criterion is not None and self.verified_by is None:
            raise ValueError(
                "expected verified_by: buyer or seller next to the exit criterion "
                f"{self.exit_criterion!r}"
            )


#: The stages of a buyer-jobs mapping: stage name (as the CRM spells it) -> :class:`StageJob`.
BuyerJobMap = dict[Annotated[StrictStr, AfterValidator(non_blank)], StageJob]


class BuyerJobsFile(YamlModel):
    """A buyer-jobs file: ``buyer_jobs:`` then one entry per stage (the same block a mapping file
    may hold)."""

    buyer_jobs: BuyerJobMap
