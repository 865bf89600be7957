"""Small building blocks the workshop views share: figures, notices, headings, buttons, inputs.

HTML comes from the templates of :mod:`sales_rca.render` (autoescape: every text from a CRM or
typed by a person is escaped by construction); widgets that show plain text (Label, Text,
Dropdown) need no escaping.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import ipywidgets as w

from sales_rca import render
from sales_rca.charts import apply_theme
from sales_rca.charts.theme import PLOTLY_MIME, figure_json


def figure(fig: Any, *, height: int | None = None) -> w.Output:
    """An Output widget showing a plotly figure (rendered by the bundled plotly extension)."""
    out = w.Output(layout=w.Layout(width="100%"))
    show_figure(out, fig, height=height)
    out.add_class("srca-figure")
    FIGURES[out] = fig  # "Show on the room screen" finds the figure behind the widget
    return out


#: The plotly figure each :func:`figure` widget shows (gone with its widget).
FIGURES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def figure_in(widget: Any) -> Any:
    """The first figure shown in ``widget`` or inside it (a tab's page), else ``None``."""
    found = FIGURES.get(widget)
    if found is not None:
        return found
    for child in getattr(widget, "children", ()):
        if (inner := figure_in(child)) is not None:
            return inner
    return None


def show_figure(out: w.Output, fig: Any, *, height: int | None = None) -> None:
    """Draw ``fig`` in ``out``, replacing what it showed.

    The output is set as data, not captured with ``with out: display(...)``: a capture made from
    the live-update thread can land outside the widget and leave it empty (a vanished figure).
    """
    apply_theme(fig, height=height)
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {PLOTLY_MIME: figure_json(fig), "text/plain": "a chart"},
            "metadata": {},
        },
    )


def notice(text: str = "", kind: str = "ok") -> w.HTML:
    """A coloured one-line message (``kind`` is ok or error); ``text`` is escaped."""
    widget = w.HTML()
    set_notice(widget, text, kind)
    return widget


def set_notice(widget: w.HTML, text: str, kind: str = "ok") -> None:
    widget.value = render.notice(text, kind)


def heading(text: str, level: int = 2, sub: str | None = None) -> w.HTML:
    return w.HTML(render.heading(text, level, sub or ""))


def html(name: str, /, *args: Any, **kwargs: Any) -> w.HTML:
    """An HTML widget showing the fragment ``name`` (:func:`sales_rca.render.fragment`)."""
    return w.HTML(render.fragment(name, *args, **kwargs))


def button(
    description: str, *, style: str = "", tooltip: str | None = None, width: str = "auto"
) -> w.Button:
    return w.Button(
        description=description,
        button_style=style,
        tooltip=tooltip or description,
        layout=w.Layout(width=width, min_width="8em"),
    )


def text_input(
    placeholder: str, *, description: str = "", width: str = "100%", area: bool = False
) -> w.Widget:
    cls = w.Textarea if area else w.Text
    return cls(
        placeholder=placeholder,
        description=description,
        continuous_update=False,
        layout=w.Layout(width=width),
        style={"description_width": "initial"},
    )


def options(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Dropdown options as (label, value); labels are shown as plain text by the widget."""
    return [(str(label), value) for label, value in pairs]
