"""HTML blocks a diagnostic notebook displays: every value is escaped here, where it becomes HTML.

Each block is an :class:`Html` (IPython shows it through ``_repr_html_``; nbconvert copies that HTML
into the summary as it is; ``resources/templates/summary/summary.css`` styles its classes). Client names, loss texts, why texts and action titles are untrusted: they
pass through :func:`esc` (``html.escape``) and nothing else builds markup from them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sales_rca import display


class Markup(str):
    """Text that is already safe HTML (built here from escaped parts); :func:`esc` leaves it as is.

    Adding anything to it escapes the other side first, so ``Markup("<b>") + name`` stays safe.
    """

    __slots__ = ()

    def __add__(self, other: object) -> Markup:
        return Markup(str.__add__(self, esc(other)))

    def __radd__(self, other: object) -> Markup:
        return Markup(str.__add__(esc(other), self))


def esc(value: Any) -> Markup:
    """``value`` as HTML text: ``&``, ``<``, ``>``, quotes escaped; ``None``/NaN as an en dash."""
    if isinstance(value, Markup):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Markup("–")
    return Markup(html.escape(str(value), quote=True))


@dataclass(frozen=True)
class Html:
    """A block of trusted HTML with a title; shows as HTML in Jupyter and in the summary."""

    html: str
    title: str = ""

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<sales-rca block: {self.title or 'html'}>"


# --- numbers ---------------------------------------------------------------------------------------


def share(value: Any, digits: int = 0) -> str:
    """``0.4431`` -> ``44%`` (a dash when missing)."""
    return display.share(value, digits, blank="–")


def number(value: Any, digits: int = 0) -> str:
    """``12500`` -> ``12,500`` (a dash when missing)."""
    return display.number(value, digits, blank="–")


def money(value: Any, currency: str = "") -> str:
    """``36229000`` -> ``USD 36.2M`` (a dash when missing)."""
    return display.money(value, currency, blank="–")


def metric_value(value: Any, unit: str, currency: str = "") -> str:
    """A finding's value in its unit: shares as %, days with a unit, currency short."""
    if unit == "share":
        return share(value, 1)
    if unit == "currency":
        return money(value, currency)
    if unit == "days":
        return f"{number(value)} days"
    if unit == "deals":
        return f"{number(value)} deals"
    return number(value, 2 if not display.missing(value) and abs(float(value)) < 10 else 0)


# --- building blocks -------------------------------------------------------------------------------


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    css: str = "",
) -> Markup:
    """An HTML table; every header and cell is escaped (unless it is :class:`Markup`).

    ``numeric`` lists the column positions to right-align.
    """
    num = set(numeric)
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{esc(v)}</td>' if i in num else f"<td>{esc(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    cls = f' class="{esc(css)}"' if css else ""
    return Markup(
        f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def bar(fraction: Any, label: str = "") -> Markup:
    """A horizontal bar (CSS, no script) for a share, with its label."""
    f = 0.0 if display.missing(fraction) else max(0.0, min(1.0, float(fraction)))
    return Markup(
        f'<span class="bar"><span class="bar-fill" style="width:{f * 100:.1f}%"></span></span>'
        f'<span class="bar-label">{esc(label)}</span>'
    )


def bullets(items: Iterable[Any], *, css: str = "") -> Markup:
    """An unordered list of escaped items (``Markup`` items are kept)."""
    cls = f' class="{esc(css)}"' if css else ""
    return Markup(f"<ul{cls}>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")


def note(text: Any) -> Markup:
    """A muted one-line note."""
    return Markup(f'<p class="note">{esc(text)}</p>')


def section(title: str, *parts: Any, css: str = "") -> Html:
    """A titled block: ``<section><h2>title</h2>parts…</section>``."""
    cls = f"block {css}".strip()
    body = "".join(esc(p) for p in parts)
    return Html(f'<section class="{esc(cls)}"><h2>{esc(title)}</h2>{body}</section>', title)


def kpis(items: Sequence[tuple[str, str]]) -> Markup:
    """Headline numbers: ``[(label, value), …]`` as large tiles."""
    tiles = "".join(
        f'<div class="kpi"><div class="kpi-value">{esc(v)}</div>'
        f'<div class="kpi-label">{esc(k)}</div></div>'
        for k, v in items
    )
    return Markup(f'<div class="kpis">{tiles}</div>')
