"""The summary step: what the team decided, and the offline HTML summary written to disk."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import ipywidgets as w

from sales_rca.agenda import step_ref
from sales_rca.report.export import write_summary
from sales_rca.rootcause import WorkshopState
from sales_rca.rootcause.actions import target_text
from sales_rca.ui import components as c
from sales_rca.ui.steps.base import StepView
from sales_rca.ui.steps.fishbone import results_html
from sales_rca.ui.steps.whys import outline_html


def summary_path(folder: Path, title: str) -> Path:
    """Where the summary of a workshop called ``title`` is written: ``<folder>/<slug>-summary.html``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "workshop"
    return folder / f"{slug}-summary.html"


def trees_html(state: WorkshopState) -> str:
    """Every problem's five-whys tree as a nested outline (escaped)."""
    if not state.problems:
        return (
            '<p class="srca-muted">No problem yet: make one from a finding in '
            f"{step_ref('xray')} or {step_ref('coding')}.</p>"
        )
    return "".join(
        f'<div class="srca-card srca-tree"><b>Problem: {c.esc(p.text)}</b>'
        f"{outline_html(state.tree(p.id))}</div>"
        for p in state.problems
    )


def ranking_html(state: WorkshopState) -> str:
    """Root causes ranked by the revealed vote (Borda), with the team's alignment."""
    labels = {k.id: k.label for k in state.categories}
    causes = {k.id: k for k in state.causes}
    if not causes:
        return f'<p class="srca-muted">No causes on the fishbone yet: {step_ref("fishbone")}.</p>'
    result = state.results()
    if result is None:
        items = "".join(
            f"<li>{c.esc(k.text)} <span class='srca-muted'>"
            f"({c.esc(labels.get(k.category, k.category))})</span></li>"
            for k in causes.values()
        )
        return (
            '<p class="srca-muted">The vote is not revealed yet. Causes on the fishbone:</p>'
            f"<ul>{items}</ul>"
        )
    return results_html(state, result)


def plays_html(state: WorkshopState, playbook: Any) -> str:
    """The plays the team picked, with the causes each is meant to fix."""
    if not state.selected_plays:
        return f'<p class="srca-muted">No play selected yet: {step_ref("plays")}.</p>'
    plays = {p.id: p for p in playbook}
    causes = {k.id: k.text for k in (*state.causes, *state.removed_causes)}
    items = []
    for s in state.selected_plays:
        title = plays[s.play_id].title if s.play_id in plays else s.play_id
        fixes = "; ".join(f"“{c.esc(causes[i])}”" for i in s.cause_ids if i in causes)
        items.append(f"<li><b>{c.esc(title)}</b>{' for ' + fixes if fixes else ''}</li>")
    return f"<ul>{''.join(items)}</ul>"


def actions_html(state: WorkshopState) -> str:
    """Committed actions with owners, due dates and targets."""
    if not state.actions:
        return f'<p class="srca-muted">No action committed yet: {step_ref("plays")}.</p>'
    rows = "".join(
        f"<tr><td>{c.esc(a.title)}</td><td>{c.esc(a.owner)}</td>"
        f"<td>{a.due.isoformat() if a.due else ''}</td><td>{c.esc(target_text(a.target))}</td>"
        f"<td>{c.esc(a.status.value)}</td></tr>"
        for a in state.actions
    )
    return (
        "<table data-testid='summary-actions'><thead><tr><th>action</th><th>owner</th><th>due</th>"
        f"<th>target</th><th>status</th></tr></thead><tbody>{rows}</tbody></table>"
    )


class SummaryView(StepView):
    id = "summary"
    live = True

    def build(self) -> None:
        self.decisions = w.HTML()
        self.write_button = c.button("Write the HTML summary", style="primary")
        self.write_button.on_click(self.guard(self._write))
        self.written = w.HTML()
        self.widget.children = [
            c.heading(self.label, sub="What we decided today, and who does what by when."),
            self.decisions,
            w.HBox([self.write_button]),
            self.written,
        ]
        self._drawn_for: int | None = None

    def refresh(self) -> None:
        state = self.session.state()
        if state.event_count == self._drawn_for:
            return
        self._drawn_for = state.event_count
        self.decisions.value = (
            "<h3>Problems and their five whys</h3>"
            + trees_html(state)
            + "<h3>Root causes, ranked</h3>"
            + ranking_html(state)
            + "<h3>Plays we picked</h3>"
            + plays_html(state, self.bench.playbook)
            + "<h3>Actions</h3>"
            + actions_html(state)
        )

    def _write(self, _: Any = None) -> None:
        self.write_button.disabled = True
        c.set_notice(
            self.written,
            "Writing the summary with today's data and decisions (this takes up to a minute)…",
            "ok",
        )
        try:
            state = self.session.state()
            start = time.monotonic()
            paths = self.bench.data_paths()
            out = write_summary(
                self.session.path,
                summary_path(self.bench.settings.summary_dir, state.title),
                data=paths["data"],
                history=paths["history"],
                mapping=paths["mapping"],
                client=state.title,
            )
            took = time.monotonic() - start
        except Exception:
            self.written.value = ""
            raise
        finally:
            self.write_button.disabled = False
        path = str(out.resolve())
        self.written.value = (
            '<div class="srca-ok" role="status">Summary written in '
            f'{took:.1f} s to <code data-testid="summary-path">{c.esc(path)}</code>. It opens '
            "offline in any browser: attach it to the follow-up e-mail.</div>"
        )
