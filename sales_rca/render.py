"""The one way sales-rca makes HTML: jinja2 templates with autoescape, and one stylesheet.

Every fragment the workshop app, the offline summary and the batch index show is a macro of a
template in ``sales_rca/resources/templates/html`` (``blocks``: tables, KPI tiles, notes, notices;
``decisions``: the team's why trees, ranking, actions and plays; ``data``: the data check;
``report``: the executive summary; ``app``: pieces only the app shows; ``index``: the batch page),
called through :func:`fragment` or the named functions below. Autoescape is on, so a CRM value or a typed text is escaped wherever it lands; only
:class:`markupsafe.Markup` (what a template made) passes as HTML. A missing value (``None``, NaN)
shows as :data:`sales_rca.display.MISSING` everywhere.

Example::

    >>> from sales_rca import render
    >>> str(render.note("<b>3</b> deals"))
    '<p class="srca-note">&lt;b&gt;3&lt;/b&gt; deals</p>'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import jinja2
from markupsafe import Markup

from sales_rca import display, resources
from sales_rca.display import MISSING

if TYPE_CHECKING:
    import pandas as pd

    from sales_rca.crm import ImportReport
    from sales_rca.rootcause import Play, WhyTree, WorkshopState
    from sales_rca.rootcause.voting import VoteResult

#: The stylesheet every page and the app use, in ``sales_rca/resources/templates``.
STYLESHEET = "sales-rca.css"


def share(value: Any, digits: int = 0) -> str:
    """``0.4431`` -> ``44%`` (:data:`MISSING` when unknown)."""
    return display.share(value, digits, blank=MISSING)


def number(value: Any, digits: int = 0) -> str:
    """``12500`` -> ``12,500`` (:data:`MISSING` when unknown)."""
    return display.number(value, digits, blank=MISSING)


def money(value: Any, currency: str = "") -> str:
    """``36229000`` -> ``USD 36.2M`` (:data:`MISSING` when unknown)."""
    return display.money(value, currency, blank=MISSING)


def metric_value(value: Any, unit: str, currency: str = "") -> str:
    """A finding's value in its unit, e.g. ``44.3%``, ``25 days`` (:data:`MISSING` when unknown)."""
    return display.metric_value(value, unit, currency, blank=MISSING)


def date(value: Any) -> str:
    """``2027-03-31`` (:data:`MISSING` when unknown)."""
    return display.date(value, blank=MISSING)


def _target(target: Any, currency: str = "") -> str:
    """An action's target as the app words it (``rootcause.actions.target_text``)."""
    from sales_rca.rootcause.actions import target_text  # not at import: render stays light

    return target_text(target, currency)


def _shown(value: Any) -> Any:
    """What ``{{ value }}`` prints: the value, or the missing mark for no value at all."""
    return MISSING if display.unknown(value) else value


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment of every sales-rca fragment (autoescape on, undefined is an error)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resources.template_dir() / "html"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    env.filters.update(
        share=share,
        number=number,
        money=money,
        metric=metric_value,
        date=date,
        target=_target,
        label=display.label,
        value=display.value_text,
    )
    env.globals["Tile"] = Tile
    return env


def fragment(name: str, /, *args: Any, **kwargs: Any) -> Markup:
    """The HTML of the macro ``name`` (``"template.macro"``) called with these arguments (each
    escaped where it lands), e.g. ``fragment("blocks.note", "3 deals")``."""
    template, _, macro = name.rpartition(".")
    return Markup(
        getattr(environment().get_template(f"{template}.html.j2").module, macro)(*args, **kwargs)
    )


def join(parts: Iterable[Any]) -> Markup:
    """Fragments one after another (text among them is escaped)."""
    return Markup("").join(parts)


@cache
def stylesheet() -> Markup:
    """The one stylesheet (``sales-rca.css``), for a ``<style>`` element."""
    return Markup((resources.template_dir() / STYLESHEET).read_text("utf-8"))


def style() -> Markup:
    """The stylesheet as a ``<style>`` element (the app shows it in a widget)."""
    return fragment("blocks.style", stylesheet())


@dataclass(frozen=True)
class Html:
    """A block of HTML with a title; shows as HTML in Jupyter and in the summary."""

    html: str
    title: str = ""

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<sales-rca block: {self.title or 'html'}>"


class Tile(NamedTuple):
    """A headline number: its value, what it counts, an optional note and kind (a CSS mark)."""

    label: str
    value: Any
    note: str = ""
    kind: str = ""


# --- blocks: the pieces every page uses ----------------------------------------------------------


def table(
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Iterable[int] = (),
    css: str = "",
    caption: str = "",
    testid: str = "",
) -> Markup:
    """An HTML table; every header and cell is escaped (unless it is :class:`Markup`).

    ``numeric`` lists the column positions to right-align.
    """
    return fragment(
        "blocks.table",
        headers,
        [list(r) for r in rows],
        numeric=set(numeric),
        css=css,
        caption=caption,
        testid=testid,
    )


def frame_table(
    frame: pd.DataFrame,
    *,
    formats: dict[str, Callable[[Any], str]] | None = None,
    numeric: Iterable[str] = (),
    max_rows: int = 50,
    caption: str = "",
) -> Markup:
    """The first ``max_rows`` rows of ``frame`` as a table, scrolling sideways when wide:
    columns by their plain labels (:func:`sales_rca.display.phrase`), ``True`` / ``False`` as
    yes / no; ``formats`` maps columns to formatters for known values."""
    import pandas as pd

    formats = formats or {}
    wanted = set(numeric)
    columns = list(frame.columns)
    right = [
        i for i, c in enumerate(columns) if c in wanted or pd.api.types.is_numeric_dtype(frame[c])
    ]
    rows = [
        [
            formats[c](v)
            if c in formats and not display.unknown(v)
            else display.value_text(bool(v))
            if isinstance(v, bool) or type(v).__name__ == "bool_"
            else v
            for c, v in zip(columns, row, strict=True)
        ]
        for row in frame.head(max_rows).itertuples(index=False)
    ]
    headers = [display.phrase(c) for c in columns]
    return fragment(
        "blocks.frame_table",
        table(headers, rows, numeric=right, caption=caption),
        shown=min(max_rows, len(frame)),
        total=len(frame),
    )


def note(text: Any) -> Markup:
    """A muted note."""
    return fragment("blocks.note", text)


def heading(text: Any, level: int = 2, sub: Any = "") -> Markup:
    """A heading, with an optional muted line under it."""
    return fragment("blocks.heading", text, level, sub)


def notice(text: Any, kind: str = "ok") -> Markup:
    """A coloured one-line message (``kind`` is ok or error); empty without text."""
    return fragment("blocks.notice", text, kind)


def kpis(tiles: Iterable[Sequence[Any]], *, testid: str = "") -> Markup:
    """Headline numbers as tiles: ``[(label, value), …]`` or :class:`Tile`."""
    return fragment("blocks.kpis", [Tile(*t) for t in tiles], testid=testid)


def bullets(items: Iterable[Any], *, css: str = "") -> Markup:
    """An unordered list (each item escaped unless it is :class:`Markup`)."""
    return fragment("blocks.bullets", list(items), css=css)


def bar(fraction: Any, label: Any = "") -> Markup:
    """A horizontal bar (CSS, no script) for a share, with its label."""
    f = 0.0 if display.missing(fraction) else max(0.0, min(1.0, float(fraction)))
    return fragment("blocks.bar", f * 100, label)


def link(href: str, text: Any) -> Markup:
    """A link (``href`` and text escaped)."""
    return fragment("blocks.link", href, text)


def section(title: str, *parts: Any, css: str = "") -> Html:
    """A titled block of the summary: ``<section><h2>title</h2>parts…</section>``."""
    return Html(fragment("blocks.section", title, join(parts), css=css), title)


# --- the team's decisions: the room and the summary show the same HTML ---------------------------

#: From this Kendall's W on, the team's rankings agree well enough to choose.
AGREES = 0.7
#: Below this W the team should talk before choosing.
DISAGREES = 0.5


def alignment_reading(w_value: float | None) -> str:
    """The team's alignment in words the room understands, e.g. ``the team mostly agrees: ready
    to choose``; the figure (Kendall's W) stays behind the words (:func:`alignment_details`)."""
    from sales_rca.rootcause.voting import alignment_label

    if w_value is None:
        return "not measured yet: it needs at least two ballots on two or more causes"
    words = alignment_label(w_value)
    if w_value >= AGREES:
        return f"{words}: ready to choose"
    if w_value >= DISAGREES:
        return f"{words}: check the top causes together before choosing"
    return f"{words}: discuss before choosing"


def alignment_details(w_value: float | None) -> str:
    """The figure behind :func:`alignment_reading` (``""`` when not measured)."""
    from sales_rca.rootcause.voting import alignment_figure

    return alignment_figure(w_value)


def why_tree(tree: WhyTree) -> Markup:
    """A five-whys tree as a nested outline: status, root-cause flag, AND groups, evidence."""
    return fragment("decisions.why_tree", tree)


def trees(state: WorkshopState) -> Markup:
    """Every problem's five-whys tree."""
    return fragment("decisions.trees", state)


def ranking(state: WorkshopState, result: VoteResult | None = None) -> Markup:
    """The revealed ranking (places in the round's order, said in words: dots or ranking points;
    dots, voters and ranking points shown) with the team's alignment in words, its figure one
    click away; before a reveal (``result`` ``None``), the causes on the fishbone."""
    labels = {c.id: c.label for c in state.categories}
    if result is None:
        return fragment("decisions.ranking", state, None, labels=labels)
    causes = {c.id: c for c in state.causes}
    rows = [
        (r.place, c.text, labels.get(c.category, c.category), r.points, r.voters, f"{r.borda:g}")
        for r in result.causes
        if (c := causes.get(r.cause_id)) is not None
    ]
    agrees = result.alignment is not None and result.alignment >= AGREES
    reading = alignment_reading(result.alignment)
    return fragment(
        "decisions.ranking",
        state,
        result,
        rows,
        reading=reading,
        agrees=agrees,
        figure=alignment_details(result.alignment),
    )


def actions(
    state: WorkshopState,
    *,
    progress: dict[str, tuple[float | None, float | None]] | None = None,
    currency: str = "",
) -> Markup:
    """Committed actions: owner, due date, status and target metric (with before / after from a
    baseline run when ``progress`` is given)."""
    return fragment("decisions.actions", state, progress=progress, currency=currency)


def play_card(play: Play, why: str, *, chosen: bool = False, open_: bool = False) -> Markup:
    """A proven play: what it is, why it fits, its leading indicator, 30/60/90-day steps and
    its evidence (``open_``: the steps unfolded)."""
    return fragment("decisions.play_card", play, why, chosen=chosen, open=open_)


def picked_plays(state: WorkshopState, playbook: Iterable[Play]) -> Markup:
    """The plays the team picked, with the causes each is meant to fix."""
    causes = {k.id: k.text for k in (*state.causes, *state.removed_causes)}
    return fragment("decisions.picked_plays", state, {p.id: p for p in playbook}, causes)


def decisions(state: WorkshopState, playbook: Iterable[Play], *, currency: str = "") -> Markup:
    """What the team decided: its five-whys trees, the ranked causes, the plays it picked and
    its actions (the app's last step and the summary show the same)."""
    return fragment(
        "decisions.decisions",
        trees(state),
        ranking(state, state.results()),
        picked_plays(state, playbook),
        actions(state, currency=currency),
    )


def data_check(report: ImportReport, *, file: str = "", rows: str = "") -> Markup:
    """What the import read: rows kept and set aside (and why), outcomes, warnings, the columns
    used. The app adds ``file`` (the export's name) and ``rows`` (the rows set aside, as HTML)."""
    return fragment("data.data_check", report, file=file, rows=rows)
