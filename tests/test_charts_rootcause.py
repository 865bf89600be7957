"""Root-cause figures: the five-whys tree and a fishbone that stays readable at 8 x 8."""

from __future__ import annotations

import itertools

from sales_rca.charts import fishbone_figure, why_tree_figure
from sales_rca.charts.rootcause import fishbone_layout
from sales_rca.rootcause import Workshop, load_categories


def tree_workshop() -> tuple[Workshop, str]:
    w = Workshop("Q3")
    p = w.add_problem(text="38% of lost deals die at Needs Analysis")
    a = w.add_why(parent_id=p, text="<script>alert(1)</script> reps pitch")
    b = w.add_why(parent_id=p, text="Single-threaded")
    w.link_whys(why_ids=[a, b], relation="and")
    w.add_why(parent_id=a, text="No discovery framework", note="5 of 6 calls", root_cause=True)
    c = w.add_why(parent_id=p, text="Price")
    w.update_why(id=c, status="rejected")
    return w, p


def test_tree_figure_shows_every_node_escapes_text_and_marks_and_groups():
    w, p = tree_workshop()
    fig = why_tree_figure(w.snapshot().tree(p), title="Five whys")
    texts = [a.text for a in fig.layout.annotations]
    assert fig.layout.template.layout.font.family  # themed
    assert sum("AND" in t for t in texts) == 1
    assert any("&lt;script&gt;" in t for t in texts)
    assert not any("<script>" in t for t in texts)
    assert any(t.startswith("<s>") and "Price" in t for t in texts)  # rejected is struck through
    root_cause = next(a for a in fig.layout.annotations if "No discovery" in a.text)
    assert root_cause.borderwidth == 4
    assert len(texts) == 1 + 4 + 1  # problem, four whys, one AND label


def test_fishbone_8_by_8_has_no_overlapping_labels_and_fits_the_figure():
    categories = load_categories()
    w = Workshop("Q3")
    for cat in categories:
        for i in range(8):
            w.add_cause(
                text=f"{cat.label}: a fairly long cause description number {i}", category=cat.id
            )
    causes = w.snapshot().causes
    layout = fishbone_layout(categories, causes)
    boxes = list(layout.labels.values())
    assert len(boxes) == 64
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    assert all(box.x0 >= 0 and box.x1 <= layout.width for box in boxes)
    assert all(-layout.half <= box.y0 and box.y1 <= layout.half for box in boxes)
    fig = fishbone_figure(categories, causes, problem="Deals die early", title="Fishbone")
    assert fig.layout.width >= layout.width and fig.layout.height >= 2 * layout.half
    assert fig.layout.xaxis.range == (0, layout.width)
    cause_labels = [a for a in fig.layout.annotations if a.font.size == 13 and a.xanchor == "right"]
    assert len(cause_labels) == 64
    assert all(a.text.count("<br>") <= 1 for a in cause_labels)  # two lines at most


def test_fishbone_colours_categories_by_control_and_highlights_top_causes():
    categories = load_categories()
    w = Workshop("Q3")
    top = w.add_cause(text="<b>No coaching</b>", category="coaching")
    other = w.add_cause(text="Price pressure", category="price")
    fig = fishbone_figure(categories, w.snapshot().causes, points={top: 7}, highlight=[top])
    labels = {a.text: a for a in fig.layout.annotations}
    top_label = next(a for t, a in labels.items() if "No coaching" in t)
    assert top_label.text == "&lt;b&gt;No coaching&lt;/b&gt; (7)"
    assert (
        top_label.font.color
        != next(a for t, a in labels.items() if "Price pressure" in t).font.color
    )
    coaching = next(a for t, a in labels.items() if "Management" in t)
    price = next(a for t, a in labels.items() if "Price &amp; commercials" in t)
    assert coaching.font.color != price.font.color
    assert other in {c.id for c in w.snapshot().causes}


def test_vote_results_figure_draws_the_revealed_order_as_bars_with_its_rule():
    from sales_rca.charts import vote_results_figure
    from sales_rca.rootcause import Cause, Vote, aggregate

    causes = [
        Cause("c1", "<b>No champion</b>", "buyer"),
        Cause("c2", "Discounting late", "price"),
        Cause("c3", "No mutual plan", "process"),
    ]
    votes = [Vote("ann", "c1", 3), Vote("bob", "c2", 2), Vote("bob", "c3", 1)]
    votes += [Vote("cat", "c2", 2), Vote("cat", "c3", 1), Vote("dan", "c1", 3)]
    result = aggregate([c.id for c in causes], votes)
    fig = vote_results_figure(result, causes)
    (bars,) = fig.data
    top_first = list(bars.y)[::-1]
    assert top_first[0].startswith("1. &lt;b&gt;No champion") and "<b>" not in top_first[0]
    assert list(bars.x)[::-1] == [6, 4, 2]  # the bar is what decided the order: dots
    assert "Ranked by dots" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "dots"
