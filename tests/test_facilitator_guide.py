"""The facilitator guide stays true: its links and images exist, its agenda is agenda.yaml's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sales_rca.agenda import load_agenda, total_minutes
from sales_rca.guide import STEP_LABELS, agenda_tables, render_agenda_table, sync_agenda

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "facilitator_guide"
PAGES = (
    "README.md",
    "agenda.md",
    "preparing-data.md",
    "exercises.md",
    "difficult-moments.md",
    "after-the-workshop.md",
)
#: [text](target) and ![alt](target), target up to a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text("utf-8"), flags=re.DOTALL)
    return LINK.findall(text)


def anchors(path: Path) -> set[str]:
    """GitHub-style heading anchors of a Markdown file."""
    out = set()
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            out.add(title)
    return out


def local_targets(path: Path) -> list[tuple[str, Path, str]]:
    """(link as written, file it points to, anchor) for every relative link of ``path``."""
    found = []
    for target in links(path):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        file = (path.parent / file_part).resolve() if file_part else path
        found.append((target, file, anchor))
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_guide_page_exists(page):
    assert (GUIDE / page).is_file()


@pytest.mark.parametrize("page", [*PAGES, "../README.md"])
def test_every_relative_link_and_image_exists(page):
    path = (GUIDE / page).resolve()
    for target, file, anchor in local_targets(path):
        assert file.exists(), f"{path.name}: {target} points to nothing"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file), f"{path.name}: {target} has no such heading"


def test_readme_links_into_the_guide():
    targets = {t for t, _, _ in local_targets(ROOT / "README.md")}
    assert "facilitator_guide/README.md" in targets
    assert "facilitator_guide/preparing-data.md" in targets


def test_every_screenshot_is_used_and_small():
    used = {file.resolve() for page in PAGES for _, file, _ in local_targets(GUIDE / page)}
    images = sorted((GUIDE / "images").glob("*.png"))
    assert images, "no screenshots: run make screenshots"
    for image in images:
        assert image.resolve() in used, f"{image.name} is not shown in the guide"
        assert image.stat().st_size < 400_000, f"{image.name} is over 400 KB"


def test_agenda_tables_match_agenda_yaml():
    text = (GUIDE / "agenda.md").read_text("utf-8")
    tables = agenda_tables(text)
    assert tables == {v: render_agenda_table(v) for v in ("full", "short")}, (
        "agenda.md is out of date: run python -m sales_rca.guide"
    )
    assert sync_agenda(text) == text


def test_full_agenda_is_three_hours_and_short_is_ninety_minutes():
    assert total_minutes("full") == 180
    assert total_minutes("short") == 90
    assert "| 3:00 | **180** | **End** | |" in render_agenda_table("full")
    assert "| 1:30 | **90** | **End** | |" in render_agenda_table("short")


def test_the_short_agenda_leaves_out_segments_without_time():
    short = render_agenda_table("short")
    assert "Break" not in short
    assert "Break" in render_agenda_table("full")


def test_agenda_steps_are_app_steps_with_their_button_labels():
    from sales_rca.ui.steps import STEPS

    steps = {s.step for s in load_agenda() if s.step}
    assert steps <= set(STEP_LABELS)
    for number, (step_id, view) in enumerate(STEPS.items(), start=1):
        # The app's header buttons read "<n>. <title>" (sales_rca.ui.app.WorkshopApp).
        assert STEP_LABELS.get(step_id) == f"{number}. {view.title}"


def test_app_timers_read_the_same_durations():
    from sales_rca.agenda import step_minutes

    for segment in load_agenda():
        if segment.step:
            for version in ("full", "short"):
                assert step_minutes(segment.step, version) == segment.minutes(version)


def test_the_guide_numbers_and_names_steps_as_the_agenda_does():
    from sales_rca.agenda import step_number

    text = "\n".join((GUIDE / page).read_text("utf-8") for page in PAGES)
    buttons = [" ".join(b.split()) for b in re.findall(r"\*\*(\d\. [^*]+)\*\*", text)]
    assert buttons and set(buttons) <= set(STEP_LABELS.values())
    titles = {step_number(s.step): s.title for s in load_agenda() if s.step}
    headings = re.findall(r"^### (.+) \(step (\d)\)$", text, flags=re.MULTILINE)
    assert len(headings) == len(STEP_LABELS)
    for title, number in headings:
        assert titles[int(number)] == title


def test_step_numbers_come_from_the_order_of_the_agenda():
    from sales_rca.agenda import app_steps, step_label, step_ref

    assert list(app_steps()) == ["data", "xray", "coding", "whys", "fishbone", "plays", "summary"]
    assert step_label("plays") == "6. Plays and actions" == STEP_LABELS["plays"]
    assert step_ref("fishbone") == "step 5 (Fishbone and vote)"


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (
            "{id: plays, step: plays, title: Plays, full: 25, short: -5, name: Plays}",
            r"step 1 \(plays\), short: expected a number >= 0, found -5",
        ),
        (
            "{id: plays, step: Plays, title: Plays, full: 25, short: 15}",
            r"step 1 \(plays\), step: expected a lower-case id like 'no_decision', found 'Plays'",
        ),
        (
            "{id: plays, step: plays, title: Plays, full: 25, short: 15, name: P, minutes: 3}",
            r"step 1 \(plays\): expected keys among id, step, title, full, short, name, "
            r"found unknown key 'minutes'",
        ),
        (
            "{id: plays, step: plays, title: Plays, full: '25', short: 15, name: P}",
            r"step 1 \(plays\), full: expected a whole number, found '25'",
        ),
    ],
)
def test_a_broken_agenda_is_refused_in_one_line(tmp_path: Path, segment: str, message: str):
    from sales_rca.agenda import load_agenda
    from sales_rca.errors import AgendaError

    path = tmp_path / "agenda.yaml"
    path.write_text(f"steps:\n  - {segment}\n", "utf-8")
    with pytest.raises(AgendaError, match=rf"^{re.escape(str(path))}: {message}") as err:
        load_agenda(path)
    assert "\n" not in str(err.value)


def test_an_app_step_twice_in_the_agenda_is_refused(tmp_path: Path):
    from sales_rca.errors import AgendaError

    path = tmp_path / "agenda.yaml"
    path.write_text(
        "steps:\n"
        "  - {id: a, step: plays, title: A, full: 5, short: 5, name: P}\n"
        "  - {id: b, step: plays, title: B, full: 5, short: 5, name: P}\n",
        "utf-8",
    )
    with pytest.raises(AgendaError, match="steps: expected unique steps, found plays twice"):
        load_agenda(path)
