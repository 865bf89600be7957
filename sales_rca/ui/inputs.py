"""Input helpers for the workshop views: Enter submits, menus keep their choice, one-line labels."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w


def on_enter(box: w.Text, callback: Callable[..., Any]) -> None:
    """Call ``callback`` when Enter is pressed in ``box``, and never when it merely loses focus.

    ``continuous_update=False`` plus observing ``value`` would also fire on blur, so text typed
    before picking a category would be committed to the old one. With ``continuous_update=True``
    every keystroke is already in the kernel when the browser's submit message arrives, so the
    callback reads what was typed. ``on_submit`` is deprecated in ipywidgets 8 but kept through 8.x.
    """
    box.continuous_update = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        box.on_submit(callback)


def shorten(text: str, limit: int = 70) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut).

    Example:
        >>> shorten("Reps   pitch before they diagnose the problem", 20)
        'Reps pitch before t…'
    """
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def set_options(menu: w.Dropdown, options: Sequence[tuple[str, Any]], value: Any = None) -> bool:
    """Give ``menu`` new ``(label, value)`` options, keeping its choice when it is still there.

    The choice becomes ``value`` if given and present, else the current one, else the first option
    (ipywidgets alone would jump to the first option, or stay empty). Returns True if it changed.
    """
    before = menu.value
    options = list(options)
    if list(menu.options) != options:
        menu.options = options
    values = [v for _, v in options]
    if value is not None and value in values:
        target = value
    elif before in values:
        target = before
    else:
        target = values[0] if values else None
    if menu.value != target:
        menu.value = target
    return target != before
