"""People in the data: which attributes name a person, and whether a session shows their names.

The guide's ground rule is "system, not people": findings, charts, the target-metric menu and the
summary describe a rep's or a manager's deals ("one rep's deals") instead of naming them, unless
the facilitator switches names on for the session (the ``show_names`` setting, read by
:func:`show_names` only). Whatever formats text takes the choice as a keyword, ``names=False``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from sales_rca.crm.vendors import normalise, vendors

#: Canonical fields that hold a person (DESIGN.md, "Canonical tables").
PEOPLE_FIELDS: tuple[str, ...] = ("owner", "manager")
#: The session setting that shows names, and its value when on.
SHOW_NAMES = "show_names"
ON = "true"
#: Words that end a column name holding a person (besides the vendors' owner/manager headers).
_PERSON_ENDINGS = (
    "owner", "rep", "representative", "manager", "salesperson", "seller", "agent", "executive",
    "ae", "sdr", "bdr", "csm", "closer", "setter", "team lead", "created by",
    "modified by", "assigned to", "owned by", "sold by", "coach", "supervisor", "employee",
)  # fmt: skip
#: Header endings that name a group of people, not a person (HubSpot's team is its manager).
_GROUPS_OF_PEOPLE = ("team", "role", "unit", "territory")
#: Words after the person that still name them ("owner name", "rep email").
_PERSON_SUFFIXES = ("", " name", " full name", " id", " email", " alias")
#: The noun a sentence uses for one person of a field.
_NOUNS = {"owner": "rep", "manager": "manager"}


def _normalise(column: Any) -> str:
    """A column's name as the vendors' headers are compared (:func:`.crm.vendors.normalise`)."""
    return normalise(str(column).removeprefix("extra_"))


@cache
def _vendor_people_headers() -> frozenset[str]:
    """Every vendor's header alias of ``owner`` and ``manager`` (``crm_vendors.yaml``)."""
    return frozenset(
        alias
        for vendor in vendors().values()
        for field in PEOPLE_FIELDS
        for alias in vendor.columns.get(field, ())
        if not alias.endswith(_GROUPS_OF_PEOPLE)  # a team or a unit is not one person
    )


def is_people(column: Any) -> bool:
    """True when ``column`` holds people: ``owner``, ``manager``, or an extra column named like a
    person (``extra_created_by``, ``extra_sales_rep``, ``extra_previous_owner``,
    ``extra_account_executive_email``); a practice of people (``extra_manager_coaching``) or a
    place (``extra_owner_region``) is not."""
    name = str(column)
    if name in PEOPLE_FIELDS:
        return True
    if not name.startswith("extra_"):
        return False
    words = _normalise(name)
    if words in _vendor_people_headers():
        return True
    return any(
        words == end + suffix or words.endswith(" " + end + suffix)
        for end in _PERSON_ENDINGS
        for suffix in _PERSON_SUFFIXES
    )


def noun(column: Any) -> str:
    """What one person of ``column`` is called in a sentence: ``rep``, ``manager``, ``person``."""
    name = str(column)
    if name in _NOUNS:
        return _NOUNS[name]
    words = _normalise(name).split()
    for w in reversed(words):
        if w in ("rep", "representative", "salesperson", "seller", "ae", "sdr", "bdr", "owner"):
            return "rep"
        if w in ("manager", "supervisor", "coach"):
            return "manager"
    return "person"


def plural(word: str) -> str:
    """``rep`` -> ``reps``, ``territory`` -> ``territories``, ``person`` -> ``people``."""
    if word == "person":
        return "people"
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy", "uy")):
        return word[:-1] + "ies"
    return word if word.endswith("s") else word + "s"


def between(column: Any) -> str:
    """How a sentence compares the people of ``column``: ``between reps``, ``between managers``,
    ``by created by`` -> ``between people (created by)``."""
    who = noun(column)
    if who != "person":
        return f"between {plural(who)}"
    from sales_rca.display import phrase

    return f"between people ({phrase(column)})"


def hidden(column: Any, names: bool) -> bool:
    """True when values of ``column`` must not be shown: a people column with names off."""
    return not names and is_people(column)


def show_names(settings: Mapping[str, str | None]) -> bool:
    """Whether the session shows people's names (its ``show_names`` setting; off by default).

    ``settings`` is :attr:`sales_rca.rootcause.WorkshopState.settings`. Turn names on with
    ``session.set_setting(SHOW_NAMES, ON)`` and off with ``set_setting(SHOW_NAMES, None)``.
    """
    return (settings.get(SHOW_NAMES) or "").strip().lower() == ON


def pseudonym(value: Any) -> str:
    """A stable code for a person (the same name, the same code; the name cannot be read back),
    used in finding keys so they are the same whether names are shown or not."""
    digest = hashlib.sha256(str(value).strip().encode("utf-8")).hexdigest()
    return f"#{digest[:8]}"


def segment_value(column: Any, value: Any) -> str:
    """A group's value as a finding's key and segment hold it: a person's is a pseudonym."""
    return pseudonym(value) if is_people(column) else str(value)


def aliases(column: Any, values: Iterable[Any]) -> dict[str, str]:
    """Each person in ``values`` -> ``"Rep A"``, ``"Rep B"``... in an order that does not follow
    their names (by pseudonym), so charts and tables can tell people apart without naming them.
    A blank stays ``not recorded``."""
    from sales_rca.display import NOT_RECORDED, recorded

    people = sorted({str(v) for v in values if recorded(v)}, key=pseudonym)
    word = noun(column).capitalize()
    out = {p: f"{word} {_letters(i)}" for i, p in enumerate(people)}
    return {**out, **{str(v): NOT_RECORDED for v in values if not recorded(v)}}


def _letters(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def group_text(column: Any, value: Any, *, names: bool = False, alias: str | None = None) -> str:
    """A group's value as the room reads it: the value in words, or for a person with names off
    ``alias`` (e.g. ``"the lowest-rate rep"``, default ``"one rep"``)."""
    from sales_rca.display import value_text

    if hidden(column, names):
        return alias or f"one {noun(column)}"
    return value_text(value)


__all__ = [
    "ON",
    "PEOPLE_FIELDS",
    "SHOW_NAMES",
    "aliases",
    "between",
    "group_text",
    "hidden",
    "is_people",
    "noun",
    "plural",
    "pseudonym",
    "segment_value",
    "show_names",
]
