"""Pure helpers behind workshop steps 4-5 (no browser, no kernel)."""

from __future__ import annotations

import re

import ipywidgets as w
import pytest

from sales_rca.charts import fishbone_figure
from sales_rca.render import alignment_reading, ranking, why_tree
from sales_rca.rootcause import Workshop
from sales_rca.session import Event
from sales_rca.ui.inputs import entry_box, set_options, shorten
from sales_rca.ui.steps.fishbone import vote_status
from sales_rca.ui.steps.whys import describe_undo, node_choices

XSS = ("<img src=x onerror=alert(1)>", "<script>alert(1)</script>")


@pytest.fixture
def workshop() -> tuple[Workshop, str]:
    w_ = Workshop("Q3")
    p = w_.add_problem(text=f"Deals die at Needs Analysis {XSS[0]}")
    a = w_.add_why(parent_id=p, text=f"Reps pitch {XSS[1]}", note=XSS[0])
    w_.add_why(parent_id=a, text="No discovery framework", root_cause=True)
    b = w_.add_why(parent_id=p, text="Single-threaded")
    w_.link_whys(why_ids=[a, b], relation="and")
    return w_, p


def test_node_choices_list_problem_then_whys_in_outline_order_with_status_and_flag(workshop):
    w_, p = workshop
    labels = [label for label, _ in node_choices(w_.snapshot().tree(p))]
    assert labels[0].startswith("Problem: Deals die")
    # Outline numbers people say out loud, never the internal ids (W2, W3...).
    assert labels[1].startswith("Why 1 · Reps pitch")
    assert "↳ Why 1.1 · No discovery framework [hypothesis] ★ root cause" in labels[2]
    assert labels[3].startswith("Why 2 · Single-threaded")
    assert not any(re.search(r"\b[PW]\d+\b", label) for label in labels)


def test_outline_escapes_every_text_and_shows_and_groups_and_evidence(workshop):
    w_, p = workshop
    html = why_tree(w_.snapshot().tree(p))
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "All of these together (AND)" in html
    assert "★ root cause" in html and "note:" in html


def test_describe_undo_names_what_was_undone():
    event = Event(5, "2025-01-01T00:00:00", "facilitator", "add_why", {"text": "Reps pitch"})
    assert describe_undo(event) == "Undone: the new why “Reps pitch”."
    assert describe_undo(Event(6, "t", None, "reveal", {})) == "Undone: revealing the results."


@pytest.mark.parametrize(
    ("w_value", "words"),
    [
        (0.82, "the team mostly agrees: ready to choose"),
        (0.55, "the team partly agrees"),
        (0.2, "views are far apart: discuss before choosing"),
        (None, "not measured yet"),
    ],
)
def test_alignment_reading_says_in_plain_words_whether_the_team_agrees(w_value, words):
    reading = alignment_reading(w_value)
    assert words in reading
    assert "Kendall" not in reading and not re.search(r"\d", reading)  # the figure stays behind


def voted_workshop() -> Workshop:
    w_ = Workshop("Q3", dots_per_person=3)
    c1 = w_.add_cause(text=XSS[1], category="buyer")
    c2 = w_.add_cause(text="ROI never quantified", category="price")
    for _ in range(2):
        u = w_.join()
        w_.vote(participant=u, cause_id=c1, dots=2)
        w_.vote(participant=u, cause_id=c2, dots=1)
    return w_


def test_vote_status_counts_voters_without_showing_ballots():
    w_ = voted_workshop()
    w_.join()
    text = vote_status(w_.snapshot().redacted("facilitator"))
    assert text == (
        "Round 1 · 3 dots each · 2 of 3 joined have voted · ballots stay hidden until you reveal"
        " · voting on the phones is closed"
    )
    w_.open_voting()
    assert vote_status(w_.snapshot()).endswith("until you reveal")


def test_results_rank_by_dots_say_their_rule_and_keep_the_figure_behind_the_words():
    w_ = voted_workshop()
    w_.reveal()
    state = w_.snapshot()
    html = ranking(state, state.results())
    assert "<script" not in html and "&lt;script&gt;" in html
    assert html.index("&lt;script&gt;") < html.index("ROI never quantified")  # 4 dots beat 2
    assert "Alignment: the team mostly agrees: ready to choose." in html
    assert "Ranked by dots; equal dots by ranking points." in html
    shown = html.split("<details")[0]  # the figure is one click away, never in the sentence
    assert "Kendall" not in shown and "Borda" not in html
    assert "Kendall&#39;s W 1.00" in html


def test_fishbone_figure_shows_typed_html_as_text():
    w_ = voted_workshop()
    state = w_.snapshot()
    fig = fishbone_figure(state.categories, state.causes, problem=XSS[0])
    texts = [a.text for a in fig.layout.annotations]
    assert not any("<script" in t or "<img" in t for t in texts)
    assert any("&lt;img src=x" in t for t in texts)
    assert any("&lt;script&gt;" in t for t in texts)


def test_set_options_keeps_the_choice_when_it_is_still_offered():
    menu = w.Dropdown(options=[("a", "A"), ("b", "B")], value="B")
    assert not set_options(menu, [("a", "A"), ("b", "B"), ("c", "C")])
    assert menu.value == "B"
    assert set_options(menu, [("c", "C")]) and menu.value == "C"
    assert set_options(menu, [("a", "A"), ("c", "C")], "A") and menu.value == "A"
    assert set_options(menu, []) and menu.value is None


def test_shorten_cuts_long_text_to_one_line():
    assert shorten("a\n b", 10) == "a b"
    assert shorten("x" * 30, 10) == "x" * 9 + "…"


def test_an_entry_box_confirms_only_what_its_callback_took():
    box = entry_box("A cause")
    sent: list[dict] = []
    box.send = sent.append  # what goes back to the browser
    taken: list[str] = []

    def place(b):
        if b.value.strip():
            taken.append(b.value)
            b.value = ""  # taken: stored, the box may stay empty

    box.on_submit(place)
    box._message(box, {"event": "submit", "text": "No champion <b>", "id": 1}, [])
    box._message(box, {"event": "submit", "text": "   ", "id": 2}, [])
    assert taken == ["No champion <b>"]  # the whole text, as sent with Enter
    assert sent == [{"event": "stored", "id": 1}, {"event": "kept", "id": 2}]
    editor = entry_box("New wording", keep_text=True)
    editor.on_submit(lambda b: None)
    assert editor.submit("Reworded") and editor.value == "Reworded"
