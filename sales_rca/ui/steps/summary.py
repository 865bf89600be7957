"""The summary step: what the team decided (the same HTML as the summary's workshop section), and
the offline HTML summary written to disk."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import ipywidgets as w

from sales_rca import render
from sales_rca.batch.clients import slugify
from sales_rca.batch.export import write_summary
from sales_rca.ui import components as c
from sales_rca.ui.context import report_error
from sales_rca.ui.steps.base import StepView


def summary_path(folder: Path, title: str) -> Path:
    """Where the summary of a workshop called ``title`` is written: ``<folder>/<slug>-summary.html``."""
    return folder / f"{slugify(title)}-summary.html"


class SummaryView(StepView):
    id = "summary"
    live = True

    def build(self) -> None:
        self.decisions = w.HTML()
        self.write_button = c.button("Write the HTML summary", style="primary")
        self.write_button.on_click(self.guard(self._start_writing))
        self.progress = w.IntProgress(
            value=0, min=0, max=1, layout=w.Layout(width="16em", visibility="hidden")
        )
        self.written = w.HTML()
        #: The 90-day review on a newer export (``sales-rca workshop --review``).
        self.review = w.HTML()
        self._review_started = False
        self.csv_button = c.button(
            "Export the actions (CSV)", tooltip="For a CRM or a tracker; opens safely in Excel"
        )
        self.csv_button.on_click(self.guard(self._export_actions))
        self.names = w.Checkbox(
            value=False,
            description="Name reps and managers in the summary",
            indent=False,
            layout=w.Layout(width="auto"),
        )
        #: The background job writing the summary (the room's live updates go on meanwhile).
        self.job: threading.Thread | None = None
        self.widget.children = [
            c.heading(self.label, sub="What we decided today, and who does what by when."),
            self.review,
            self.decisions,
            w.HBox(
                [self.write_button, self.progress, self.csv_button, self.names],
                layout=w.Layout(align_items="center", flex_flow="row wrap"),
            ),
            self.written,
        ]
        self._drawn_for: int | None = None

    def refresh(self) -> None:
        self._start_review()
        state = self.session.state()
        if state.event_count == self._drawn_for:
            return
        self._drawn_for = state.event_count
        self.decisions.value = render.decisions(state, self.bench.playbook)

    def _start_review(self) -> None:
        """Review the actions on the newer export in the background (it reads and x-rays it)."""
        settings = self.bench.settings
        if settings.review is None or self._review_started:
            return
        self._review_started = True
        c.set_notice(
            self.review, f"Reviewing the actions on {settings.review.name}: a moment…", "ok"
        )

        def work() -> None:
            from sales_rca.crm import load_crm
            from sales_rca.impact.review import review_actions, review_text

            try:
                assert settings.review is not None
                crm = load_crm(settings.review, history=settings.review_history)
                state = self.session.state()
                reviews = review_actions(
                    state.actions, crm, stages=crm.stages or None, session_start=state.created_at
                )
                rows = [
                    (r.action.title, "done" if r.done else "not done", review_text(r), r.verdict)
                    for r in reviews
                ]
                self.review.value = render.fragment("app.review", settings.review.name, rows)
            except Exception as exc:
                report_error(
                    exc, lambda text: c.set_notice(self.review, f"No review: {text}", "error")
                )

        threading.Thread(target=work, name="srca-review", daemon=True).start()

    def _export_actions(self, _: Any = None) -> None:
        from sales_rca.csvsafe import write_csv
        from sales_rca.rootcause.actions import actions_table

        state = self.session.state()
        out = summary_path(self.bench.settings.summary_dir, state.title).with_name(
            f"{slugify(state.title)}-actions.csv"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        table = actions_table(state, self.bench.playbook)
        write_csv(table, out)
        self.written.value = render.fragment(
            "app.file_written", f"{len(table)} actions written to", str(out.resolve())
        )

    def _start_writing(self, _: Any = None) -> None:
        """Start writing the summary in a background job and return at once: the job holds no
        UI lock, so participants' votes keep arriving while the diagnostic runs."""
        if self.job is not None and self.job.is_alive():
            return
        title = self.session.state().title
        paths = self.bench.data_paths()
        out = summary_path(self.bench.settings.summary_dir, title)
        self._about = " with today's data and decisions (up to a minute)" if paths["data"] else ""
        self.write_button.disabled = True
        self.progress.value, self.progress.max = 0, 1
        self.progress.layout.visibility = "visible"
        self._step("starting", 0, 0)
        self.job = threading.Thread(
            target=self._write, args=(out, paths, title), name="srca-summary", daemon=True
        )
        self.job.start()

    def _step(self, what: str, step: int, steps: int) -> None:
        """Show where the job is (called from the job's thread: widgets only, no session)."""
        where = f" step {step} of {steps}:" if steps else ""
        if steps:
            self.progress.max = steps
            self.progress.value = min(step, steps)
        c.set_notice(self.written, f"Writing the summary{self._about}…{where} {what}.", "ok")

    def _write(self, out: Path, paths: dict[str, str | None], title: str) -> None:
        start = time.monotonic()
        try:
            written = write_summary(
                self.session.path,
                out,
                data=paths["data"],
                history=paths["history"],
                mapping=paths["mapping"],
                client=title,
                names=self.names.value,
                progress=self._step,
            )
        except Exception as exc:
            report_error(
                exc, lambda text: c.set_notice(self.written, f"No summary written: {text}", "error")
            )
            return
        finally:
            self.progress.layout.visibility = "hidden"
            self.write_button.disabled = False
        self.progress.value = self.progress.max
        took = time.monotonic() - start
        self.written.value = render.fragment("app.summary_written", took, str(written.resolve()))
