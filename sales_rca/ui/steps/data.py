"""The data step: which export the team looks at, what the import found, and every rejected row."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ipywidgets as w

from sales_rca.ui import components as c
from sales_rca.ui.steps.base import StepView

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def save_upload(upload: w.FileUpload, folder: Path) -> Path | None:
    """Write the uploaded file to ``folder`` under a safe name; ``None`` when nothing was uploaded."""
    if not upload.value:
        return None
    item = upload.value[0]
    name = SAFE_NAME.sub("_", Path(str(item["name"])).name).strip("._") or "upload.csv"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_bytes(bytes(item["content"]))
    return target


class DataView(StepView):
    id = "data"

    def build(self) -> None:
        accept = ".csv,.txt,.tsv,.xlsx,.xls"
        self.upload_data = w.FileUpload(accept=accept, multiple=False, description="Export")
        self.upload_history = w.FileUpload(accept=accept, multiple=False, description="History")
        self.upload_mapping = w.FileUpload(
            accept=".yaml,.yml", multiple=False, description="Mapping"
        )
        self.path_data = c.text_input(
            "or a path on this machine, e.g. exports/acme_opportunities.csv",
            description="Export path",
        )
        self.path_history = c.text_input(
            "optional stage-history export path", description="History path"
        )
        self.load_button = c.button("Load this data", style="primary")
        self.load_button.on_click(self.guard(self._load))
        chooser = w.VBox(
            [
                w.HTML("<h3>Use another export</h3>"),
                w.HBox([self.upload_data, self.upload_history, self.upload_mapping]),
                self.path_data,
                self.path_history,
                self.load_button,
            ]
        )
        self.report = w.HTML()
        self.quarantine = w.HTML()
        self.widget.children = [
            c.heading(
                self.label,
                sub="Is this our pipeline? What did the import keep, and what did it set aside?",
            ),
            self.report,
            self.quarantine,
            w.Accordion(children=[chooser], titles=("Choose or upload a different export",)),
        ]

    def _load(self, _: Any = None) -> None:
        folder = self.bench.settings.upload_dir
        typed = self.bench.settings.resolve  # relative to where the workshop was started
        data = save_upload(self.upload_data, folder) or (
            typed(self.path_data.value.strip()) if self.path_data.value.strip() else None
        )
        if data is None:
            self.show_message("Choose an export file to upload, or type its path.", "error")
            return
        history = save_upload(self.upload_history, folder) or (
            typed(self.path_history.value.strip()) if self.path_history.value.strip() else None
        )
        mapping = save_upload(self.upload_mapping, folder)
        crm = self.bench.use_data(data, history, mapping)
        self.ok(f"Loaded {crm.report.rows_accepted:,} opportunities from {Path(data).name}.")

    def refresh(self) -> None:
        crm = self.bench.crm
        if crm is None:
            err = self.bench.load_error
            msg = str(err) if err is not None else "No export is loaded yet: upload one below."
            self.report.value = f'<div class="srca-error">{c.esc(msg)}</div>'
            self.quarantine.value = ""
            return
        r = crm.report
        o = r.outcomes
        cards = "".join(
            f'<div class="srca-card"><div class="srca-big">{c.esc(value)}</div>{c.esc(label)}</div>'
            for value, label in (
                (f"{r.rows_accepted:,}", "opportunities used"),
                (f"{o['won']:,} / {o['lost']:,} / {o['open']:,}", "won / lost / open"),
                (f"{r.rows_quarantined:,}", "rows set aside"),
                (
                    f"{r.history['events']:,}" if r.history else "none",
                    "stage changes in the history",
                ),
            )
        )
        mapping_rows = "".join(
            f"<tr><td>{c.esc(k.replace('_', ' '))}</td><td>{c.esc(v)}</td></tr>"
            for k, v in r.mapping.items()
        )
        notes = "".join(f'<li class="srca-muted">{c.esc(n)}</li>' for n in r.notes)
        warnings = "".join(f"<li>{c.esc(wn)}</li>" for wn in r.warnings)
        self.report.value = (
            f"<p>File: <b>{c.esc(Path(r.path).name)}</b> · recognised as <b>{c.esc(r.source)}</b>"
            + (
                f" · {c.esc(r.footer_lines_removed)} report footer lines ignored"
                if r.footer_lines_removed
                else ""
            )
            + "</p>"
            + f'<div style="display:flex;gap:1em;flex-wrap:wrap">{cards}</div>'
            + (f"<h3>Check these</h3><ul>{warnings}{notes}</ul>" if warnings or notes else "")
            + f"<details><summary>Which column feeds which field</summary><table>{mapping_rows}</table></details>"
        )
        q = crm.quarantine
        if q.empty:
            self.quarantine.value = '<div class="srca-ok">No row was set aside.</div>'
        else:
            reasons = "".join(
                f"<li>{c.esc(reason)}: {n:,}</li>" for reason, n in r.quarantine_reasons.items()
            )
            self.quarantine.value = (
                f"<h3>Rows set aside ({len(q):,})</h3><ul>{reasons}</ul>"
                + c.html_table(q.drop(columns=["table"]), max_rows=20)
            )
