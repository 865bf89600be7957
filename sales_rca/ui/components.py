"""Small building blocks the workshop views share: escaped HTML, tables, figures, notices.

Every piece of text that comes from a CRM or was typed by a person goes through :func:`esc`
before it becomes HTML; widgets that show plain text (Label, Text, Dropdown) need no escaping.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as w
import pandas as pd
from IPython.display import display

from sales_rca.charts import apply_theme
from sales_rca.display import missing, number, share
from sales_rca.display import money as money  # re-exported for the views


def esc(value: Any) -> str:
    """HTML-escape any value (``None`` and NaN become an empty string)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def html_table(
    frame: pd.DataFrame,
    *,
    formats: dict[str, Callable[[Any], str]] | None = None,
    numeric: Iterable[str] = (),
    max_rows: int = 50,
    caption: str | None = None,
) -> str:
    """An escaped HTML table of ``frame`` (first ``max_rows`` rows)."""
    formats = formats or {}
    numeric = set(numeric) | {c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
    head = "".join(
        f'<th class="{"num" if c in numeric else ""}">{esc(str(c).replace("_", " "))}</th>'
        for c in frame.columns
    )
    rows = []
    for _, row in frame.head(max_rows).iterrows():
        cells = []
        for c in frame.columns:
            value = row[c]
            text = formats[c](value) if c in formats and not missing(value) else value
            cells.append(f'<td class="{"num" if c in numeric else ""}">{esc(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(frame) > max_rows:
        more = f'<p class="srca-muted">Showing {max_rows} of {len(frame):,} rows.</p>'
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    table = f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div style="overflow-x:auto">{table}</div>{more}'


def pct(value: Any) -> str:
    return share(value)


num = number  # the tables' names for the shared formatters


def figure(fig: Any, *, height: int | None = None) -> w.Output:
    """An Output widget showing a plotly figure (rendered by the bundled plotly extension)."""
    out = w.Output(layout=w.Layout(width="100%"))
    apply_theme(fig, height=height)
    with out:
        display(fig)
    return out


def notice(text: str = "", kind: str = "ok") -> w.HTML:
    """A coloured one-line message (``kind`` is ok or error); ``text`` is escaped."""
    widget = w.HTML()
    set_notice(widget, text, kind)
    return widget


def set_notice(widget: w.HTML, text: str, kind: str = "ok") -> None:
    widget.value = f'<div class="srca-{kind}" role="status">{esc(text)}</div>' if text else ""


def heading(text: str, level: int = 2, sub: str | None = None) -> w.HTML:
    extra = f'<p class="srca-muted">{esc(sub)}</p>' if sub else ""
    return w.HTML(f"<h{level}>{esc(text)}</h{level}>{extra}")


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
