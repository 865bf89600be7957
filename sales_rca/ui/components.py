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


class LazyTabs:
    """Tabs whose pages reach the browser only when first opened.

    A browser builds every page of a ``Tab`` it is sent, hidden ones included, and draws every
    figure on them: a view with eight chart tabs would open in seconds. Here each tab holds an
    empty box until it is selected; the page (built in Python beforehand) then moves in.
    ``tab`` is the widget to place; ``page(i)`` is the page behind tab ``i``.
    """

    def __init__(self) -> None:
        self.tab = w.Tab()
        self._pages: list[w.Widget] = []
        self.tab.observe(self._open, names="selected_index")

    def set_pages(self, pages: Sequence[tuple[str, w.Widget]]) -> None:
        """Replace the tabs with ``pages`` (title, widget); the selected tab stays if it exists."""
        selected = self.tab.selected_index
        self._pages = [page for _, page in pages]
        self.tab.children = [w.Box(layout=w.Layout(width="100%")) for _ in pages]
        self.tab.titles = tuple(title for title, _ in pages)
        if selected is not None and selected < len(pages):
            self.tab.selected_index = selected
        self._open()

    def page(self, index: int) -> w.Widget:
        return self._pages[index]

    @property
    def selected(self) -> int | None:
        index = self.tab.selected_index
        return index if index is not None and index < len(self._pages) else None

    def _open(self, _: Any = None) -> None:
        index = self.selected
        if index is not None:
            holder = self.tab.children[index]
            if not holder.children:
                holder.children = [self._pages[index]]


class ChartWarmer:
    """Loads the browser's chart library while the first step is being read.

    The browser's plotly renderer loads plotly.js the first time a chart is drawn, about a second
    on a 2-core laptop: without this, the first step with a chart would open a second late. Once
    the page has drawn and is idle, the workshop page's script clicks the hidden button
    (``.srca-warm``; see the Voila template), and a tiny chart is drawn out of sight.
    """

    def __init__(self) -> None:
        self.trigger = w.Button(description="warm", layout=w.Layout(display="none"))
        self.trigger.add_class("srca-warm")
        self.trigger.on_click(self._warm)
        self.chart = w.Output().add_class("srca-offscreen")
        self.widget = w.Box([self.trigger, self.chart], layout=w.Layout(height="0px"))

    def _warm(self, _: Any = None) -> None:
        import plotly.graph_objects as go

        if not self.chart.outputs:
            fig = go.Figure(go.Bar(x=[1], y=[1]))
            fig.update_layout(width=120, height=60, xaxis_visible=False, yaxis_visible=False)
            show_figure(self.chart, fig, height=60)
        self.widget.children = [self.chart]  # once


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
