"""The summary step: what the team decided (the same HTML as the summary's workshop section), and
the offline HTML summary written to disk."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import ipywidgets as w

from sales_rca import render
from sales_rca.report.export import write_summary
from sales_rca.ui import components as c
from sales_rca.ui.steps.base import StepView


def summary_path(folder: Path, title: str) -> Path:
    """Where the summary of a workshop called ``title`` is written: ``<folder>/<slug>-summary.html``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "workshop"
    return folder / f"{slug}-summary.html"


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
        self.decisions.value = render.decisions(state, self.bench.playbook)

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
        self.written.value = render.fragment("app.summary_written", took, path)
