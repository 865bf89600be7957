"""The data step: which export the team looks at, what the import found (the summary's data
check), and every rejected row."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ipywidgets as w

from sales_rca import render
from sales_rca.display import value_text
from sales_rca.ui import components as c
from sales_rca.ui.inputs import set_options
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
        # Only the exports of the data folder (and the uploads): no free path box reads the disk.
        self.path_data = w.Dropdown(description="Export", layout=w.Layout(width="100%"))
        self.path_history = w.Dropdown(description="History", layout=w.Layout(width="100%"))
        self._list_exports()
        self.load_button = c.button("Load this data", style="primary")
        self.load_button.on_click(self.guard(self._load))
        chooser = w.VBox(
            [
                c.heading("Use another export", 3),
                w.HBox([self.upload_data, self.upload_history, self.upload_mapping]),
                self.path_data,
                self.path_history,
                self.load_button,
            ]
        )
        self.report = w.HTML()
        # "System, not people": names stay off unless the facilitator chooses, for this session.
        self.names = w.Checkbox(
            value=self.bench.names,
            description="Show reps' and managers' names in this session",
            indent=False,
            layout=w.Layout(width="auto"),
        )
        self.names.observe(self._names_changed, "value")
        people_box = w.VBox(
            [
                w.HTML(
                    render.note(
                        "Off by default: findings, charts and menus describe a rep's or a "
                        "manager's deals instead of naming them. The summary stays without "
                        "names unless you choose otherwise when you write it."
                    )
                ),
                self.names,
            ]
        )
        self.widget.children = [
            c.heading(
                self.label,
                sub="Is this our pipeline? What did the import keep, and what did it set aside?",
            ),
            self.report,
            w.Accordion(children=[chooser], titles=("Choose or upload a different export",)),
            w.Accordion(children=[people_box], titles=("People's names",)),
        ]

    def _load(self, _: Any = None) -> None:
        folder = self.bench.settings.upload_dir
        listed = set(self.bench.settings.exports())
        data = save_upload(self.upload_data, folder) or self._picked(self.path_data, listed)
        if data is None:
            self.show_message("Choose an export in the list, or upload one.", "error")
            return
        history = save_upload(self.upload_history, folder) or self._picked(
            self.path_history, listed
        )
        mapping = save_upload(self.upload_mapping, folder)
        crm = self.bench.use_data(data, history, mapping)
        self._list_exports()
        self.on_show()
        self.ok(f"Loaded {crm.report.rows_accepted:,} opportunities from {Path(data).name}.")

    @staticmethod
    def _picked(menu: w.Dropdown, listed: set[Path]) -> Path | None:
        value = menu.value
        return Path(value) if value and Path(value) in listed else None

    def _list_exports(self) -> None:
        settings = self.bench.settings
        roots = [r for r in (settings.data_dir, settings.upload_dir) if r is not None]

        def label(path: Path) -> str:
            for root in roots:
                if path.is_relative_to(root):
                    return str(path.relative_to(root))
            return path.name

        files = [(label(p), str(p)) for p in settings.exports()]
        set_options(self.path_data, [("(choose an export)", ""), *files])
        set_options(self.path_history, [("(no stage history)", ""), *files])

    def _names_changed(self, change: dict[str, Any]) -> None:
        from sales_rca.people import ON, SHOW_NAMES

        if bool(change["new"]) == self.bench.names:
            return

        def save() -> None:
            self.session.set_setting(SHOW_NAMES, ON if change["new"] else None)
            self.ok(
                "Names are shown in this session: findings, charts and menus name people."
                if change["new"]
                else "Names are hidden again: people are described, not named."
            )

        self.guard(save)()

    def on_show(self) -> None:
        """The room sees its own pipeline in a few numbers: is this our data?"""
        crm = self.bench.crm
        if crm is None:
            return
        r = crm.report
        o = r.outcomes
        dates = crm.opportunities.get("created_date")
        span = ""
        if dates is not None and dates.notna().any():
            span = f"created {render.date(dates.min())} to {render.date(dates.max())}"
        tiles = [
            render.Tile("deals in the analysis", render.number(r.rows_accepted), span),
            render.Tile("won", render.number(o.get("won", 0))),
            render.Tile("lost", render.number(o.get("lost", 0))),
            render.Tile("still open", render.number(o.get("open", 0))),
        ]
        if r.rows_quarantined:
            tiles.append(
                render.Tile(
                    "rows set aside", render.number(r.rows_quarantined), "each with its reason"
                )
            )
        self.push_screen("Is this our pipeline?", html=render.kpis(tiles, testid="room-kpis"))

    def _set_aside(self, crm: Any) -> Any:
        """The rows set aside as the room may read them: the file's own columns and the reason,
        without the CRM id, and without the people's columns unless names are shown."""
        from sales_rca.people import PEOPLE_FIELDS

        mapping = crm.report.mapping
        hidden = {mapping.get("opportunity_id")}
        if not self.bench.names:
            hidden |= {mapping.get(f) for f in PEOPLE_FIELDS}
        q = crm.quarantine.drop(columns=["table"])
        q = q.drop(columns=[c for c in q.columns if c in hidden])
        shown = q.drop(columns=["source_row"]).map(value_text)  # "None" reads "not recorded"
        shown.insert(0, "row in the file", q["source_row"])
        return shown

    def refresh(self) -> None:
        if self.names.value != self.bench.names:  # another tab changed it
            self.names.value = self.bench.names
        crm = self.bench.crm
        if crm is None:
            err = self.bench.load_error
            msg = str(err) if err is not None else "No export is loaded yet: upload one below."
            self.report.value = render.notice(msg, "error")
            return
        rows = render.frame_table(self._set_aside(crm), max_rows=20) if len(crm.quarantine) else ""
        self.report.value = render.data_check(
            crm.report, file=Path(crm.report.path).name, rows=rows
        )
