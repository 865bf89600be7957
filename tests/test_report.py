"""The offline HTML summary: self-contained, code hidden, executive summary first, escaped, small."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from batch_fixtures import (
    DEMO,
    XSS,
    demo_batch,
    hostile_batch,
    make_session,
    run_cli,
    run_here,
    scratch,
    write_clients,
)

from sales_rca.report.blocks import Markup, esc, table
from sales_rca.report.html import arrange, plotly_json

OK_CLIENTS = ("northwind-demo-co", "contoso-analytics", "fabrikam-maschinenbau-gmbh")
PLOTLY_BANNER = re.compile(r"plotly\.js v\d+\.\d+\.\d+")
MAX_BYTES = 6 * 1024 * 1024


class Page(HTMLParser):
    """Tags, attributes, text and script bodies of an HTML page, as a browser would see them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.code: list[str] = []  # bodies of scripts a browser would run
        self._script: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = dict(attrs).get("type") or "text/javascript"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is None:
            self.text.append(data)
        elif "javascript" in self._script:
            self.code.append(data)

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def summary(slug: str) -> str:
    return (demo_batch().out / slug / "summary.html").read_text("utf-8")


@pytest.mark.parametrize("slug", OK_CLIENTS)
def test_the_summary_makes_no_outside_request(slug: str) -> None:
    page = Page(summary(slug))
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "data", "poster"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")) or "://" not in value, (tag, value)
        assert not (tag == "link" and attrs.get("rel") == "stylesheet"), attrs
        assert not (tag == "script" and "src" in attrs), attrs
    head = summary(slug)[: summary(slug).index("<script>")]
    assert "@import" not in head and "url(" not in head  # no font or stylesheet downloads
    for word in ("require.js", "requirejs", "MathJax", "cdn.plot.ly", "cdnjs", "fonts.googleapis"):
        assert word not in " ".join(page.text) + head


@pytest.mark.parametrize("slug", OK_CLIENTS)
def test_plotly_js_is_embedded_once_and_every_figure_draws_from_json(slug: str) -> None:
    text = summary(slug)
    assert len(PLOTLY_BANNER.findall(text)) == 1
    page = Page(text)
    figures = [a for t, a in page.tags if t == "script" and a.get("class") == "plotly-figure"]
    assert len(figures) >= 2
    assert all(a.get("type") == "application/json" for a in figures)


@pytest.mark.parametrize("slug", OK_CLIENTS)
def test_the_demo_summaries_stay_under_6_mb(slug: str) -> None:
    assert (demo_batch().out / slug / "summary.html").stat().st_size < MAX_BYTES


def test_code_prompts_and_parameters_are_hidden() -> None:
    text = summary("northwind-demo-co")
    page = Page(text).visible_text
    for code in ("from sales_rca import", "load_crm(", "report.show", "summary.results()"):
        assert code not in page
    assert not re.search(r"(In|Out)\s*\[\s*\d*\s*\]", page)
    assert "salesforce_opportunities.csv" not in text  # the parameters cell is not shown
    assert "injected-parameters" not in text and "application/vnd.sales-rca.results" not in text


def test_the_executive_summary_comes_first_with_numbers_causes_and_actions() -> None:
    text = summary("northwind-demo-co")
    main = text[text.index("<main") :]
    first = re.search(r'<section class="([^"]+)"', main)
    assert first and first.group(1) == "executive-summary"
    exec_part = main[: main.index("</section>")]
    exec_text = Page(exec_part).visible_text
    results = json.loads((demo_batch().out / "northwind-demo-co" / "results.json").read_text())
    assert f"{results['win_rate']:.0%}" in exec_text
    assert "439 deals lost at Needs Analysis" in exec_text  # top finding with its number
    assert "No consensus in the buying group" in exec_text  # the vote's winning cause
    assert "Consensus check before Proposal" in exec_text and "Dana Whitfield" in exec_text
    # details follow the summary: the data check and the x-ray come after it
    assert main.index("executive-summary") < main.index("Data check") < main.index("Pipeline x-ray")


def test_the_summary_is_print_friendly() -> None:
    text = summary("northwind-demo-co")
    css = text[text.index("<style>") : text.index("</style>")]
    assert "@media print" in css
    assert re.search(r"\.executive-summary\s*\{[^}]*break-after:\s*page", css)
    assert re.search(r"\.chart\s*\{[^}]*break-inside:\s*avoid", css)


def test_a_workshop_session_adds_trees_fishbone_ranking_and_actions() -> None:
    text = Page(summary("northwind-demo-co")).visible_text
    assert "The buying group never agrees on the problem" in text
    assert "Reps pitch before they diagnose" in text
    assert "Ranking of causes" in text and "Kendall" in text
    with_session = summary("northwind-demo-co").count('class="plotly-figure"')
    without = summary("fabrikam-maschinenbau-gmbh").count('class="plotly-figure"')
    assert with_session >= without + 2  # a five-whys tree and the fishbone


def test_without_a_session_the_summary_says_so_and_ranks_loss_categories() -> None:
    text = Page(summary("contoso-analytics")).visible_text
    assert "No workshop session given" in text
    assert "weight (loss coding)" in text
    assert "Recommended plays" in text


@pytest.mark.parametrize("payload", XSS)
def test_untrusted_text_appears_as_text_never_as_markup(payload: str) -> None:
    run = hostile_batch()
    assert run.returncode == 0, run.stderr
    (client,) = run.manifest["clients"]
    for name in (client["outputs"]["summary"], "index.html"):
        text = (run.out / name).read_text("utf-8")
        assert payload not in text  # nowhere raw: not in HTML, not in a script's JSON
        page = Page(text)
        assert payload in page.visible_text  # shown to the reader as the text typed
        assert not any(t == "img" and "onerror" in a for t, a in page.tags)
        assert not any("alert(1)" in code for code in page.code)
    visible = Page((run.out / client["outputs"]["summary"]).read_text("utf-8")).visible_text
    for typed in (
        f"Evil {XSS[0]} {XSS[1]} Corp",  # client name
        "lost on price",  # loss texts are quoted
        "Deals die at Needs Analysis",  # problem
        "The buying group never agrees",  # why
        "Consensus check before Proposal",  # action title
    ):
        assert typed in visible
    assert visible.count(payload) >= 5


def test_figure_json_cannot_close_its_script_element() -> None:
    text = plotly_json({"layout": {"title": "</script><script>alert(1)</script> & \u2028"}})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["layout"]["title"].startswith("</script>")


def test_blocks_escape_everything_that_is_not_markup() -> None:
    cell = "<b onclick=x>"
    assert esc(cell) == "&lt;b onclick=x&gt;"
    assert "<b onclick" not in table(["h<"], [[cell]])
    assert Markup("<td>") + cell == "<td>&lt;b onclick=x&gt;"
    assert esc(Markup("<b>ok</b>")) == "<b>ok</b>"


def test_hidden_cells_are_dropped_and_the_summary_cell_moves_first() -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    for tag in ("parameters", "injected-parameters", "", "summary", "results", "notebook-only"):
        cell = nbformat.v4.new_code_cell(tag)
        cell.metadata["tags"] = [tag] if tag else []
        nb.cells.append(cell)
    assert [c.source for c in arrange(nb).cells] == ["summary", ""]


def test_a_rerun_with_a_baseline_shows_each_action_metric_before_and_after() -> None:
    from sales_rca.demo import generate, write_salesforce_export

    before_run = demo_batch().out / "northwind-demo-co"  # the team's session, on the demo data
    tmp = scratch("baseline")
    export, history = write_salesforce_export(generate(400, seed=4), tmp / "data-q3")
    session = demo_batch().client("northwind-demo-co")["inputs"]["session_path"]["path"]
    params = {
        "export_path": str(export),
        "history_path": str(history),
        "session_path": session,
        "baseline": str(before_run),
    }
    run = run_here(
        write_clients(tmp / "q3.yaml", [{"name": "Acme", "parameters": params}]), tmp / "q3"
    )
    assert run.returncode == 0, run.stderr

    def lost_at_needs_analysis(folder: Path) -> float:
        results = json.loads((folder / "results.json").read_text())
        return next(
            f["value"] for f in results["findings"] if f["key"] == "lost_here:Needs Analysis"
        )

    before, after = lost_at_needs_analysis(before_run), lost_at_needs_analysis(tmp / "q3" / "acme")
    assert before != after
    (action,) = json.loads((tmp / "q3" / "acme" / "results.json").read_text())["actions"]
    assert (action["before"], action["after"]) == (before, after)
    text = Page((tmp / "q3" / "acme" / "summary.html").read_text()).visible_text
    assert "before" in text and "after" in text
    assert f"{before:,.0f} deals" in text and f"{after:,.0f} deals" in text


def test_a_baseline_folder_without_results_is_a_clear_error(tmp_path: Path) -> None:
    from sales_rca.errors import BatchError
    from sales_rca.report import load_baseline

    with pytest.raises(BatchError, match=r"no results\.json"):
        load_baseline(tmp_path)


def test_export_writes_the_summary_of_one_session(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s.session", text=" <i>")
    out = tmp_path / "deep" / "summary.html"
    done = run_cli("export", str(session), "--html", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text("utf-8")
    assert len(PLOTLY_BANNER.findall(text)) == 1
    visible = Page(text).visible_text
    assert "Q3 loss review <i>" in visible and "Consensus check before Proposal <i>" in visible
    assert not any(tag == "i" for tag, _ in Page(text).tags)


@pytest.mark.notebook
def test_export_with_data_runs_the_full_diagnostic(tmp_path: Path) -> None:
    session = make_session(tmp_path / "s.session")
    out = tmp_path / "summary.html"
    done = run_cli(
        "export",
        str(session),
        "--html",
        str(out),
        "--data",
        str(DEMO / "clients" / "hubspot_deals.xlsx"),
        "--client",
        "Contoso",
    )
    assert done.returncode == 0, done.stderr
    visible = Page(out.read_text("utf-8")).visible_text
    assert "Contoso" in visible and "Pipeline x-ray" in visible and "Ranking of causes" in visible


def test_export_of_a_missing_session_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = run_cli("export", str(tmp_path / "none.session"), "--html", str(tmp_path / "x.html"))
    assert done.returncode == 2
    assert (
        done.stderr.startswith("sales-rca: error:") and len(done.stderr.strip().splitlines()) == 1
    )
