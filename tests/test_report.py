"""The offline HTML summary: self-contained, code hidden, executive summary first, escaped, small."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from batch_fixtures import (
    DEMO,
    XSS,
    BatchRun,
    make_session,
    run_here,
    scratch,
    write_clients,
)
from markupsafe import Markup
from markupsafe import escape as esc

from sales_rca.findings import Finding
from sales_rca.render import table
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


def summary(run: BatchRun, slug: str) -> str:
    return (run.out / slug / "summary.html").read_text("utf-8")


@pytest.mark.parametrize("slug", OK_CLIENTS)
def test_the_summary_makes_no_outside_request(slug: str, demo_batch: BatchRun) -> None:
    page = Page(summary(demo_batch, slug))
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "data", "poster"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")) or "://" not in value, (tag, value)
        assert not (tag == "link" and attrs.get("rel") == "stylesheet"), attrs
        assert not (tag == "script" and "src" in attrs), attrs
    head = summary(demo_batch, slug)[: summary(demo_batch, slug).index("<script>")]
    assert "@import" not in head and "url(" not in head  # no font or stylesheet downloads
    for word in ("require.js", "requirejs", "MathJax", "cdn.plot.ly", "cdnjs", "fonts.googleapis"):
        assert word not in " ".join(page.text) + head


@pytest.mark.parametrize("slug", OK_CLIENTS)
def test_plotly_js_is_embedded_once_and_every_figure_draws_from_json(
    slug: str, demo_batch: BatchRun
) -> None:
    text = summary(demo_batch, slug)
    assert len(PLOTLY_BANNER.findall(text)) == 1
    page = Page(text)
    figures = [a for t, a in page.tags if t == "script" and a.get("class") == "plotly-figure"]
    assert len(figures) >= 2
    assert all(a.get("type") == "application/json" for a in figures)


@pytest.mark.parametrize("slug", OK_CLIENTS)
def test_the_demo_summaries_stay_under_6_mb(slug: str, demo_batch: BatchRun) -> None:
    assert (demo_batch.out / slug / "summary.html").stat().st_size < MAX_BYTES


def test_code_prompts_and_parameters_are_hidden(demo_batch: BatchRun) -> None:
    text = summary(demo_batch, "northwind-demo-co")
    page = Page(text).visible_text
    for code in ("from sales_rca import", "load_crm(", "report.show", "summary.results()"):
        assert code not in page
    assert not re.search(r"(In|Out)\s*\[\s*\d*\s*\]", page)
    assert "salesforce_opportunities.csv" not in text  # the parameters cell is not shown
    assert "injected-parameters" not in text and "application/vnd.sales-rca.results" not in text


def test_the_executive_summary_comes_first_with_numbers_causes_and_actions(
    demo_batch: BatchRun,
) -> None:
    text = summary(demo_batch, "northwind-demo-co")
    main = text[text.index("<main") :]
    # The CEO's one page first (the client has a workshop session), then the executive summary.
    sections = re.findall(r'<section class="([^"]+)"', main)
    assert sections[:2] == ["ceo-brief", "executive-summary"], sections[:3]
    start = main.index('<section class="executive-summary"')
    exec_part = main[start : main.index("</section>", start)]
    exec_text = Page(exec_part).visible_text
    results = json.loads((demo_batch.out / "northwind-demo-co" / "results.json").read_text())
    assert f"{results['win_rate']:.0%}" in exec_text
    assert "Needs Analysis: 439 deals lost here" in exec_text  # top finding with its number
    assert "No consensus in the buying group" in exec_text  # the vote's winning cause
    assert "Consensus check before Proposal" in exec_text and "Dana Whitfield" in exec_text
    # details follow the summary: the data check and the x-ray come after it
    assert main.index("executive-summary") < main.index("Data check") < main.index("Pipeline x-ray")


def test_the_summary_is_print_friendly(demo_batch: BatchRun) -> None:
    text = summary(demo_batch, "northwind-demo-co")
    css = text[text.index("<style>") : text.index("</style>")]
    assert "@media print" in css
    assert re.search(r"\.executive-summary\s*\{[^}]*break-after:\s*page", css)
    assert re.search(r"\.chart\s*\{[^}]*break-inside:\s*avoid", css)


def test_a_workshop_session_adds_trees_fishbone_ranking_and_actions(demo_batch: BatchRun) -> None:
    text = Page(summary(demo_batch, "northwind-demo-co")).visible_text
    assert "The buying group never agrees on the problem" in text
    assert "Reps pitch before they diagnose" in text
    assert "Ranking of causes" in text and "Kendall" in text
    with_session = summary(demo_batch, "northwind-demo-co").count('class="plotly-figure"')
    without = summary(demo_batch, "fabrikam-maschinenbau-gmbh").count('class="plotly-figure"')
    assert with_session >= without + 2  # a five-whys tree and the fishbone


def test_without_a_session_the_summary_says_so_and_ranks_loss_categories(
    demo_batch: BatchRun,
) -> None:
    text = Page(summary(demo_batch, "contoso-analytics")).visible_text
    assert "No workshop session given" in text
    assert "weight (loss coding)" in text
    assert "Recommended plays" in text


@pytest.mark.parametrize("payload", XSS)
def test_untrusted_text_appears_as_text_never_as_markup(
    payload: str, hostile_batch: BatchRun
) -> None:
    run = hostile_batch
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


def test_a_rerun_with_a_baseline_shows_each_action_metric_before_and_after(
    demo_batch: BatchRun,
) -> None:
    from sales_rca.demo import generate, write_salesforce_export

    before_run = demo_batch.out / "northwind-demo-co"  # the team's session, on the demo data
    tmp = scratch("baseline")
    export, history = write_salesforce_export(generate(400, seed=4), tmp / "data-q3")
    session = demo_batch.client("northwind-demo-co")["inputs"]["session_path"]["path"]
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


def test_export_writes_the_summary_of_one_session(tmp_path: Path, cli: Any) -> None:
    session = make_session(tmp_path / "s.session", text=" <i>")
    out = tmp_path / "deep" / "summary.html"
    done = cli("export", str(session), "--html", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text("utf-8")
    assert len(PLOTLY_BANNER.findall(text)) == 1
    visible = Page(text).visible_text
    assert "Q3 loss review <i>" in visible and "Consensus check before Proposal <i>" in visible
    assert not any(tag == "i" for tag, _ in Page(text).tags)


@pytest.mark.notebook
def test_export_with_data_runs_the_full_diagnostic(tmp_path: Path, cli: Any) -> None:
    session = make_session(tmp_path / "s.session")
    out = tmp_path / "summary.html"
    done = cli(
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


def test_export_of_a_missing_session_is_one_line_and_exit_2(tmp_path: Path, cli: Any) -> None:
    done = cli("export", str(tmp_path / "none.session"), "--html", str(tmp_path / "x.html"))
    assert done.returncode == 2
    assert (
        done.stderr.startswith("sales-rca: error:") and len(done.stderr.strip().splitlines()) == 1
    )


# --- the x-ray block and the top findings, on small hand-made data -------------------------------


def visible(html: str) -> str:
    return Page(html).visible_text


def no_amounts_xray():
    """The eight story deals without any amount; one won deal per stage sets a stall threshold."""
    from pipeline_fixtures import story_crm

    from sales_rca.pipeline import xray

    crm = story_crm()
    crm.opportunities["amount"] = float("nan")
    return xray(crm, stall_min_won=1)


def test_without_amounts_the_summary_shows_a_dash_never_a_zero() -> None:
    from sales_rca.pipeline import findings
    from sales_rca.report import Summary, xray_overview

    x = no_amounts_xray()
    block = Page(xray_overview(x, currency="USD").html)
    rows = [r.split(" | ") for r in _table_rows(xray_overview(x).html, "stages")]
    assert [r[4] for r in rows] == ["–"] * 4  # value lost
    assert "the export has no amounts" in block.visible_text
    hygiene = _table_rows(xray_overview(x).html, "hygiene")
    slow = next(r for r in hygiene if r.startswith("slow"))
    assert slow.split(" | ")[1:3] == ["1", "–"]  # one slow deal, its value unknown
    assert "USD 0" not in block.visible_text and " 0 |" not in " | ".join(hygiene)
    evidence = findings(x)
    summary = Summary.build(client="Acme", xray=x, findings=evidence, top_findings=evidence[:3])
    kpi = re.search(r"([^>]*)</div><div class=\"kpi-label\">value at risk", summary.html())
    assert kpi and kpi.group(1) == "–"


def _table_rows(html: str, css: str) -> list[str]:
    """The body rows of the table with class ``css``, cells joined by " | "."""
    part = html[html.index(f'<table class="{css}">') :]
    part = part[: part.index("</table>")]
    body = part[part.index("<tbody>") :]
    return [
        " | ".join(Page(c).visible_text for c in re.findall(r"<td[^>]*>(.*?)</td>", row))
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def driver_xray():
    """Buying group size drives winning; days in stage is a consequence and must be left out."""
    from pipeline_fixtures import make_crm

    from sales_rca.pipeline import xray

    rows = []
    for size, won, lost in ((2, 30, 10), (4, 24, 16), (7, 16, 24), (10, 10, 30), (14, 8, 32)):
        rows += [(size, "won")] * won + [(size, "lost")] * lost
    crm = make_crm(
        [
            {
                "opportunity_id": str(i),
                "outcome": o,
                "stage": "Closed Won" if o == "won" else "Closed Lost",
                "extra_buying_group_size": float(n),
                "extra_days_in_stage": float(i % 17),
                "extra_coaching_flag": "Formal" if i % 2 else "Informal",
            }
            for i, (n, o) in enumerate(rows)
        ]
    )
    return xray(crm, stages=["Qualify"])


def test_the_drivers_table_uses_plain_names_and_words_never_columns_or_p_values() -> None:
    from sales_rca.report import xray_overview
    from sales_rca.report.sections import driver_rows, left_out

    x = driver_xray()
    html = xray_overview(x).html
    text = visible(html)
    assert "extra_" not in html
    _, rows = driver_rows(x)
    first = rows[0]
    assert first[0] == "Buying group size" and first[-1] == "clear"
    assert first[1].startswith("14: ") or first[1].startswith("10-14: ")  # the worst band
    for word in ("p_value", "p =", "True", "False", "significant", "nan"):
        assert word not in text, word
    assert "Left out, and why" in text
    (reason,) = [r for r in left_out(x) if r.startswith("Days in stage")]
    assert reason in text and "measured in time over the deal's life" in reason


def test_driver_strength_says_in_words_how_clear_a_driver_is() -> None:
    from sales_rca.report.sections import driver_strength

    base = {"flags": [], "explained_by": None, "significant": True, "unit": None, "units": None}
    assert driver_strength(base) == "clear"
    assert driver_strength({**base, "significant": False}) == "no clear difference"
    assert (
        driver_strength({**base, "explained_by": "deal_type"}, {"deal_type": "deal type"})
        == "explained by deal type"
    )
    assert (
        driver_strength({**base, "explained_by": "extra_lead_source"}) == "explained by lead source"
    )
    few = {**base, "flags": ["few_clusters"], "unit": "manager", "units": 4}
    assert driver_strength(few) == "too few managers to tell (only 4)"
    territory = {**few, "unit": "extra_territory", "units": 6}
    assert driver_strength(territory) == "too few territories to tell (only 6)"
    assert driver_strength({**base, "flags": ["small_sample"]}) == "too few deals to tell"


def test_stage_table_shows_conversion_with_its_range_and_unknown_days_as_a_dash() -> None:
    from pipeline_fixtures import story_crm

    from sales_rca.pipeline import xray
    from sales_rca.report.sections import stage_rows

    headers, rows = stage_rows(xray(story_crm()))
    assert headers[2] == "moved on (95% range)"
    by_stage = {r[0]: r for r in rows}
    assert by_stage["Needs Analysis"][2] == "60% (23-88%)"
    assert by_stage["Proposal"][6:] == ("3", "–")  # p75 unknown: too many still in the stage


def finding(key: str, kind: str, strength: str = "strong", **kw) -> Finding:
    return Finding(key, key, kw.pop("metric", "lost_here"), 1.0, kind=kind, strength=strength, **kw)


def test_top_findings_are_distinct_facts_in_ranked_order_at_most_two_of_a_kind() -> None:
    from sales_rca.report import top_findings

    ranked = [
        finding("win_rate:overall", "overall", "context", metric="win_rate"),
        finding("lost_here:A", "stage"),
        finding("lost_here:B", "stage"),
        finding("lost_here:A", "stage"),  # the same key again
        finding("lost_here:C", "stage"),
        finding("stalled_value", "stall", metric="stalled_value"),
        finding("paths:x", "path", "context", metric="path_share"),
        finding("win_rate:owner=X", "driver", "caution", metric="win_rate"),
        finding("hygiene:dead", "hygiene", metric="dead_deals"),
        finding("code_share:price", "", metric="code_share", source="coding"),
    ]
    top = top_findings(ranked, n=5)
    assert [f.key for f in top] == [
        "lost_here:A",
        "lost_here:B",
        "stalled_value",
        "hygiene:dead",
        "code_share:price",  # strong before the lead
    ]
    keys = [f.key for f in top_findings(ranked, n=8)]
    assert len(keys) == len(set(keys))
    assert keys[-2:] == ["win_rate:owner=X", "lost_here:C"]  # a third stage only to fill up
    assert "win_rate:overall" not in keys and "paths:x" not in keys


def test_top_findings_on_the_demo_are_distinct_and_varied() -> None:
    from collections import Counter

    from sales_rca.crm import load_crm
    from sales_rca.pipeline import findings, xray
    from sales_rca.report import hypotheses, question, top_findings

    crm = load_crm(
        DEMO / "salesforce_opportunities.csv",
        history=DEMO / "salesforce_opportunity_history.csv",
    )
    top = top_findings(findings(xray(crm)), n=5)
    assert len({f.key for f in top}) == len(top) == 5
    assert max(Counter(f.kind for f in top).values()) <= 2
    assert all(f.strength != "context" for f in top)
    text = visible(hypotheses(top).html)
    assert "Why: " not in text  # every finding has its own question
    for f in top:
        assert question(f) in text and "extra_" not in question(f)


@pytest.mark.parametrize(
    ("f", "asked"),
    [
        (
            Finding("stalled_value", "t", "stalled_deals", 3, details={"by_stage": {"Demo": 3}}),
            "Why do open deals stall, most of them at Demo?",
        ),
        (Finding("hygiene:dead", "t", "dead_deals", 3), "stay open in the pipeline"),
        (Finding("hygiene:past_due", "t", "past_due_deals", 3), "close dates that have already"),
        (Finding("trend:quarter_end", "t", "quarter_end_share", 0.3), "bunch at the end of the"),
        (
            Finding(
                "win_rate:extra_buying_group_size=8-12",
                "t",
                "win_rate",
                0.31,
                segment="extra_buying_group_size=8-12",
                details={"label": "buying group size", "group": "8-12"},
            ),
            "Why do deals where buying group size is 8-12 win less often?",
        ),
        (
            Finding("win_rate:extra_x_y=Z", "t", "win_rate", 0.3, segment="extra_x_y=Z"),
            "Why is the win rate lower where x y is Z?",
        ),
        (
            Finding(
                "trend:win_rate",
                "t",
                "win_rate",
                0.4,
                kind="trend",
                details={"before": 0.5, "recent": 0.4},
            ),
            "Why did the win rate fall on recently created deals?",
        ),
    ],
)
def test_every_finding_raises_its_own_question(f: Finding, asked: str) -> None:
    from sales_rca.report import question

    assert asked in question(f)
