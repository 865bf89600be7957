"""Pure helpers behind workshop steps 2 (x-ray), 3 (loss coding), 6 (plays and actions) and 7
(summary)."""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from sales_rca.batch.export import write_summary
from sales_rca.coding import (
    agreement,
    code_losses,
    coding_findings,
    default_codebook,
    loss_priorities,
)
from sales_rca.crm import load_crm
from sales_rca.findings import Finding
from sales_rca.pipeline import findings, xray
from sales_rca.render import actions, metric_value, picked_plays
from sales_rca.report import Summary, recommend_plays
from sales_rca.rootcause import Indicator, Recommendation, Workshop, load_playbook, recommend
from sales_rca.rootcause.actions import (
    baseline_metrics,
    metric_label,
    suggest_metric,
    target_from_input,
    target_text,
)
from sales_rca.session import Session
from sales_rca.ui.context import Settings
from sales_rca.ui.serve import DEMO_DATA, DEMO_HISTORY
from sales_rca.ui.steps.base import ProblemButtons
from sales_rca.ui.steps.coding import (
    agreement_html,
    agreement_verdict,
    code_options,
    codes_label,
    queue_ids,
)
from sales_rca.ui.steps.plays import PlaysView, play_reason
from sales_rca.ui.steps.summary import SummaryView, summary_path
from sales_rca.ui.steps.xray import ranked_findings, stalled_deals_frame
from sales_rca.ui.workbench import Workbench

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def demo():
    crm = load_crm(DEMO_DATA, history=DEMO_HISTORY)
    return crm, xray(crm, stages=crm.stages or None), code_losses(crm)


# ---------------------------------------------------------------------- loss coding
def test_code_menu_lists_every_code_with_its_category_in_fishbone_order():
    book = default_codebook()
    options = code_options(book)
    assert sorted(v for _, v in options) == sorted(book.ids)
    assert options[0][0].startswith("Buyer & buying group: ")
    assert ("Price & commercials: Price too high", "price_too_high") in options
    assert codes_label(("price_too_high",), book) == "Price too high"
    assert codes_label((), book) == "no code"


def test_review_queues_keep_a_stable_order_and_list_reviewed_deals(demo):
    _, _, coded = demo
    uncoded = queue_ids(coded, set(), "uncoded")
    assert uncoded == coded.uncoded["opportunity_id"].tolist()
    assert len(queue_ids(coded, set(), "picklist")) == int(
        (coded.deals["basis"] == "picklist").sum()
    )
    # Reviewing a deal does not move it out of its queue: the room does not lose its place.
    assert queue_ids(coded, {uncoded[0]}, "uncoded") == uncoded
    assert queue_ids(coded, {uncoded[3], uncoded[0]}, "reviewed") == [uncoded[0], uncoded[3]]


def test_agreement_figures_carry_the_0_6_and_0_8_verdicts():
    assert agreement_verdict(0.85).startswith("good")
    assert agreement_verdict(0.7).startswith("usable")
    assert agreement_verdict(0.4).startswith("too low")
    assert agreement_verdict(float("nan")) == "not enough deals in common"
    a = pd.DataFrame(
        {
            "opportunity_id": ["1", "2", "3", "4"],
            "categories": [("price",), ("buyer",), (), ("offer",)],
        }
    )
    b = a.assign(categories=[("price",), ("buyer",), (), ("buyer",)])
    html = agreement_html(agreement(a, b), f"{XSS}.csv")
    assert "75%" in html
    assert XSS not in html and "&lt;script&gt;" in html


# ---------------------------------------------------------------------- plays and actions
def test_baselines_are_the_xray_numbers_for_every_stage_and_tested_segment(demo):
    _, x, _ = demo
    metrics = {f.key: f for f in baseline_metrics(x)}
    table = x.stage_table.set_index("stage")
    for stage in table.index:
        assert metrics[f"conversion:{stage}"].value == pytest.approx(table.loc[stage, "conversion"])
        assert metrics[f"median_days:{stage}"].unit == "days"
    assert metrics["win_rate:overall"].value == pytest.approx(x.win_rate)
    assert metrics["win_rate:segment=Enterprise"].segment == "segment=Enterprise"
    # Free-text attributes are not targets (the x-ray did not test them).
    assert not any(k.startswith("win_rate:extra_opportunity_name=") for k in metrics)
    # Numbers come in bands, named in plain words; the key is the driver finding's.
    band = metrics["win_rate:extra_buying_group_size=8-12"]
    assert band.title == "Win rate where buying group size is 8-12"
    assert not any("extra_" in f.title for f in metrics.values())


def test_untested_groups_and_unknown_numbers_are_not_offered_as_targets():
    from types import SimpleNamespace

    groups = pd.DataFrame(
        {
            "attribute": ["extra_team_size", "extra_team_size", "region"],
            "group": ["1-3", "4-9", "EMEA"],
            "win_rate": [0.5, 0.3, 0.4],
            "tested": [True, False, pd.NA],
        }
    )
    stages = pd.DataFrame(
        {
            "stage": ["Qualify"],
            "conversion": [float("nan")],
            "median_days": [4.0],
            "lost_here": pd.array([pd.NA], dtype="Int64"),  # no loss stage: unknown, not 0
        }
    )
    x = SimpleNamespace(win_rate=0.4, stage_table=stages, drivers=SimpleNamespace(groups=groups))
    keys = [f.key for f in baseline_metrics(x)]
    assert keys == ["win_rate:overall", "median_days:Qualify", "win_rate:extra_team_size=1-3"]


def test_a_play_indicator_suggests_the_matching_metric_on_the_teams_data():
    metrics = [
        Finding("conversion:Qualification", "c", "conversion", 0.9, "share", stage="Qualification"),
        Finding(
            "conversion:Needs Analysis", "c", "conversion", 0.8, "share", stage="Needs Analysis"
        ),
        Finding("median_days:Proposal", "m", "median_days", 12, "days", stage="Proposal"),
        Finding("median_days:Negotiation", "m", "median_days", 30, "days", stage="Negotiation"),
        Finding("win_rate:overall", "w", "win_rate", 0.44, "share"),
        Finding(
            "win_rate:competitor=Acme", "w", "win_rate", 0.3, "share", segment="competitor=Acme"
        ),
        Finding(
            "code_share:no_decision",
            "n",
            "code_share",
            0.1,
            "share",
            source="coding",
            details={"code": "no_decision"},
        ),
    ]

    def pick(metric, scope, at=None, direction="up"):
        f = suggest_metric(Indicator(metric, scope, direction, at), metrics)
        return None if f is None else f.key

    assert pick("conversion", "stage", "discovery / needs analysis") == "conversion:Needs Analysis"
    assert pick("conversion", "stage", "stage where most deals die") == "conversion:Needs Analysis"
    assert (
        pick("median_days", "stage", "stage with the longest stalls", "down")
        == "median_days:Negotiation"
    )
    assert pick("win_rate", "overall") == "win_rate:overall"
    assert pick("win_rate", "segment", "main competitor") == "win_rate:competitor=Acme"
    assert pick("code_share", "code", "no_decision", "down") == "code_share:no_decision"
    assert pick("stall_rate", "overall") is None


def test_a_target_typed_in_percent_keeps_the_xray_baseline():
    f = Finding(
        "conversion:Needs Analysis", "c", "conversion", 0.807, "share", stage="Needs Analysis"
    )
    t = target_from_input(f, 90)
    assert (t.baseline, t.target, t.stage, t.finding_key) == (0.807, 0.9, "Needs Analysis", f.key)
    assert target_text(t) == "conversion at Needs Analysis: 80.7% → 90.0%"
    days_finding = Finding("median_days:X", "Median days in X", "median_days", 25.2, "days")
    days = target_from_input(days_finding, 15)
    assert days.target == 15 and days.direction == "down"
    assert metric_label(days_finding) == "Median days in X: 25 days"
    assert target_text(days) == "median days: 25 days → 15 days"
    assert metric_value(math.nan, "share") == "–"


def test_without_causes_plays_follow_the_most_frequent_loss_categories(demo):
    _, _, coded = demo
    wanted = loss_priorities(coded)
    # Price is not third any more: notes that match no rule no longer fall back to the pick-list.
    assert [p.category for p in wanted] == ["buyer", "process", "offer"]
    # A weight is the share of coded lost deals citing the category: the number step 3 shows.
    shares = {
        f.category: f.value for f in coding_findings(coded) if f.key == f"code_share:{f.category}"
    }
    assert [p.weight for p in wanted] == [shares[p.category] for p in wanted]
    assert 0.45 <= wanted[0].weight <= 0.60  # about half the coded demo losses cite the buyer
    assert wanted[0].codes == ("buying_group_disagreement", "budget_cut", "bad_timing")
    play = load_playbook()[0]
    rec = Recommendation(play, 1.0, (), ("buyer",), ("no_decision",))
    assert play_reason(rec, coded) == "Addresses buyer & buying group; loss codes: No decision made"


def test_the_plays_step_and_the_summary_give_the_same_priorities_and_baselines(tmp_path: Path):
    settings = Settings(data=DEMO_DATA, history=DEMO_HISTORY, session=tmp_path / "demo.session")
    bench = Workbench(settings)
    view = PlaysView(bench, lambda text, kind: None)
    room, _ = view._recommendations(bench.session.state())  # no causes yet: loss categories
    x, coded = bench.xray, bench.coding
    evidence = [*findings(x), *coding_findings(coded)]
    summary = Summary.build(client="Demo", xray=x, findings=evidence, top_findings=[], losses=coded)
    wanted = loss_priorities(coded)
    assert [(c.id, c.weight, c.source) for c in summary.categories] == [
        (p.category, p.weight, "loss coding") for p in wanted
    ]
    assert summary.categories[0].id == "buyer"
    assert room == recommend(load_playbook(), wanted, limit=6)
    assert room[:3] == recommend_plays(load_playbook(), losses=coded)[0]  # the diagnostic's plays
    assert {k: f.value for k, f in view._metrics.items()} == {
        f.key: f.value for f in summary.metrics
    }


def test_the_summary_measures_targets_on_the_baselines_the_room_chose_from(demo):
    _, x, coded = demo
    evidence = [*findings(x), *coding_findings(coded)]
    offered = {f.key: f for f in baseline_metrics(x, coding_findings(coded))}  # the plays step
    summary = Summary.build(client="Demo", xray=x, findings=evidence, top_findings=[])
    assert {f.key: f.value for f in summary.metrics} == {k: f.value for k, f in offered.items()}
    assert {f["key"] for f in summary.to_dict()["metrics"]} == set(offered)
    # An action on a number that is not a ranked finding still shows before and after.
    target = target_from_input(offered["conversion:Needs Analysis"], 90)
    w_ = Workshop("Q3")
    action = w_.add_action(title="Discovery call plan", owner="Ana", target=target)
    earlier = [replace(offered["conversion:Needs Analysis"], value=0.5)]
    again = Summary.build(
        client="Demo",
        xray=x,
        findings=evidence,
        top_findings=[],
        state=w_.snapshot(),
        baseline=earlier,
    )
    assert again.progress == {action: (0.5, target.baseline)}
    assert target_text(target) in again.html()  # worded as the plays step words it


# ---------------------------------------------------------------------- summary
def _state_with_hostile_text():
    w = Workshop("Q3 <b>review</b>")
    cause = w.add_cause(text=f"Reps skip discovery {XSS}", category="process")
    w.select_play(play_id="buying_group_consensus", cause_ids=[cause])
    w.add_action(title=XSS, owner="<img src=x onerror=alert(1)>", due="2027-03-31", cause_id=cause)
    return w.snapshot()


def test_the_decisions_show_typed_text_as_text():
    state = _state_with_hostile_text()
    html = actions(state) + picked_plays(state, load_playbook())
    assert XSS not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "2027-03-31" in html
    assert "Build consensus across the buying group" in html


def test_the_summary_file_is_named_after_the_workshop_and_escapes_typed_text(tmp_path: Path):
    assert summary_path(tmp_path, "Northwind — why do deals die?").name == (
        "northwind-why-do-deals-die-summary.html"
    )
    assert summary_path(tmp_path, "../../etc").parent == tmp_path
    session = Session.create(tmp_path / "hostile.session", "Q3 <b>review</b>")
    cause = session.add_cause(f"Reps skip discovery {XSS}", "process")
    session.select_play("buying_group_consensus", [cause])
    session.add_action(XSS, "<img src=x onerror=alert(1)>", due="2027-03-31", cause_id=cause)
    out = write_summary(session.path, summary_path(tmp_path, session.state().title))
    html = out.read_text(encoding="utf-8")
    assert XSS not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def summary_view(tmp_path: Path, data: Path | None = None) -> tuple[SummaryView, Any]:
    """The summary step of an app on a session in ``tmp_path`` (no browser, no Voila)."""
    from sales_rca.ui.context import Settings
    from sales_rca.ui.workbench import Workbench

    settings = Settings(
        data=data,
        history=DEMO_HISTORY if data else None,
        session=tmp_path / "w.session",
        title="Q3 review",
        summary_dir=tmp_path,
    )
    app = SimpleNamespace(ui_lock=threading.RLock(), messages=[])
    bench = Workbench(settings)
    cause = bench.session.add_cause("Reps skip discovery", "process")
    bench.session.add_action("Discovery call checklist", "Ana", cause_id=cause)
    view = SummaryView(bench, lambda text, kind: app.messages.append((kind, text)), app)
    return view, app


def free_elsewhere(lock: Any) -> bool:
    """Whether another thread (the live-update poller, say) can take ``lock`` right now."""
    took: list[bool] = []

    def take() -> None:
        took.append(lock.acquire(timeout=2))
        if took[-1]:
            lock.release()

    t = threading.Thread(target=take)
    t.start()
    t.join()
    return took == [True]


def test_the_summary_is_written_in_the_background_without_the_ui_lock(tmp_path, monkeypatch):
    from sales_rca.ui.steps import summary as step

    view, app = summary_view(tmp_path)
    running, go_on = threading.Event(), threading.Event()
    seen: list[tuple[str, int, int, bool]] = []

    def slow_write(*args: Any, progress: Any, **kwargs: Any) -> Path:
        running.set()
        assert go_on.wait(30)

        def spy(what: str, k: int, n: int) -> None:
            seen.append((what, k, n, free_elsewhere(app.ui_lock)))
            progress(what, k, n)

        return write_summary(*args, progress=spy, **kwargs)

    monkeypatch.setattr(step, "write_summary", slow_write)
    bars: list[int] = []
    view.progress.observe(lambda change: bars.append(change["new"]), "value")
    view.write_button.click()  # returns at once: the job runs in its own thread
    assert running.wait(10)
    assert free_elsewhere(app.ui_lock), "live updates must not wait for the summary"
    assert view.write_button.disabled
    assert view.progress.layout.visibility == "visible"
    assert "Writing the summary" in view.written.value
    go_on.set()
    view.job.join(60)
    assert not view.job.is_alive()
    assert [(k, n) for _, k, n, _ in seen] == [(1, 2), (2, 2)]  # no kernel: session only
    assert all(free for *_, free in seen)
    assert bars and bars == sorted(bars) and bars[-1] == view.progress.max
    out = summary_path(tmp_path, "Q3 review")
    assert out.is_file() and "Discovery call checklist" in out.read_text("utf-8")
    assert str(out.resolve()) in view.written.value
    assert not view.write_button.disabled
    assert view.progress.layout.visibility == "hidden"
    assert app.messages == [("ok", "")]  # the step reports; the app's notice line stays quiet


def test_a_summary_that_fails_says_so_in_the_step_in_plain_words(tmp_path, monkeypatch):
    from sales_rca.errors import BatchError
    from sales_rca.ui.steps import summary as step

    view, _ = summary_view(tmp_path)

    def failing(*args: Any, progress: Any, **kwargs: Any) -> Path:
        progress("running the diagnostic", 3, 9)
        raise BatchError("the diagnostic failed for acme.csv: cell 3: CrmImportError: no rows")

    monkeypatch.setattr(step, "write_summary", failing)
    view.write_button.click()
    view.job.join(30)
    assert "No summary written: the diagnostic failed for acme.csv" in view.written.value
    assert "srca-error" in view.written.value
    assert not view.write_button.disabled

    monkeypatch.setattr(step, "write_summary", lambda *a, **k: 1 / 0)
    view.write_button.click()
    view.job.join(30)
    assert "No summary written: Something went wrong" in view.written.value
    assert "ZeroDivisionError" not in view.written.value


@pytest.mark.notebook
def test_with_data_the_summary_counts_the_diagnostics_cells_as_it_runs(tmp_path):
    view, _ = summary_view(tmp_path, data=DEMO_DATA)
    steps: list[int] = []
    view.progress.observe(lambda change: steps.append(change["new"]), "value")
    view.write_button.click()
    view.job.join(300)
    assert "Summary written" in view.written.value, view.written.value
    assert view.progress.max > 5 and steps[-1] == view.progress.max  # one step per code cell
    assert steps == sorted(steps)
    assert "Pipeline x-ray" in summary_path(tmp_path, "Q3 review").read_text("utf-8")


# ---------------------------------------------------------------------- x-ray (step 2)
def xray_finding(key: str, strength: str, source: str = "xray") -> Finding:
    return Finding(key, f"title of {key}", "lost_here", 1.0, source=source, strength=strength)


def test_xray_buttons_list_strong_evidence_then_leads_then_background_and_no_coding():
    findings = [
        xray_finding("a", "strong"),
        xray_finding("b", "context"),
        xray_finding("c", "caution"),
        xray_finding("d", "strong"),
        xray_finding("code_share:price", "strong", source="coding"),
    ]
    assert [f.key for f in ranked_findings(findings)] == ["a", "d", "c", "b"]
    assert len(ranked_findings([xray_finding(str(i), "strong") for i in range(30)])) == 20


def fake_view(used: tuple[str, ...] = ()):
    """Just enough of a step view for the list: a session whose problems use ``used``, a guard,
    a record of what was pushed to the room screen."""
    from types import SimpleNamespace

    problem = SimpleNamespace(findings=[SimpleNamespace(key=k) for k in used])
    state = SimpleNamespace(problems=[problem])
    pushed: list = []
    return SimpleNamespace(
        id="xray",
        app=None,
        session=SimpleNamespace(state=lambda: state),
        guard=lambda fn: fn,
        push_screen=lambda heading, **kw: pushed.append((heading, kw)),
        pushed=pushed,
    )


def test_findings_are_one_ranked_list_with_one_control_leads_marked_background_last():
    view = fake_view(used=("a",))
    buttons = ProblemButtons(view)
    buttons.draw(
        [
            xray_finding("a", "strong"),
            xray_finding("c", "caution"),
            xray_finding("b", "context"),
        ]
    )
    listing = buttons.listing.value
    assert listing.index("title of a") < listing.index("title of c") < listing.index("Background")
    assert listing.index("Background") < listing.index("title of b")
    assert "lead, not proof" in listing and "too few" in listing
    assert "already a problem" in listing  # "a" is used: marked in the list...
    # ...and left out of the one menu; a single button acts on the chosen finding.
    assert [label for label, _ in buttons.choice.options] == ["2. title of c", "3. title of b"]
    makes = [
        b
        for b in buttons.controls.children
        if getattr(b, "description", "") == ("Make this a problem")
    ]
    assert len(makes) == 1
    # The room screen gets the ranked short list (no background numbers, the lead marked).
    ((heading, kw),) = view.pushed
    assert heading == "What the data says"
    assert "title of c (lead, not proof)" in kw["html"] and "title of b" not in kw["html"]


def test_the_stalled_deals_table_reads_in_words_with_dashes_for_unknowns(demo):
    _, x, _ = demo
    frame = stalled_deals_frame(x)
    assert list(frame.columns[:5]) == [
        "deal",
        "stage",
        "status",
        "days in stage",
        "normal up to (days)",
    ]
    assert set(frame["status"]) == {"slow (value at risk)", "dead (clean up)"}
    assert set(frame["close date passed"]) <= {"yes", "no", "–"}
    assert not frame.map(lambda v: v is True or v is False or v in ("True", "False")).any().any()


def test_the_app_and_the_summary_show_the_same_xray_tables(demo):
    from sales_rca.report import sections

    _, x, _ = demo
    html = sections.stage_table_block(x) + sections.hygiene_block(x) + sections.drivers_block(x)
    html += sections.trend_block(x)
    for text in (
        "81% (79-82%)",
        "slow: the value at risk",
        "Left out, and why",
        "too early to read",
    ):
        assert text in html
    assert "extra_" not in html and "p =" not in html and "True" not in html
