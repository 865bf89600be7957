"""The workshop's working state behind the views: session store, CRM data and cached analyses.

One :class:`Workbench` per kernel (browser tab). Analyses are computed once per data load and
shared by the views; every edit goes to :class:`sales_rca.session.Session` first.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from sales_rca.crm import CrmData, load_crm
from sales_rca.findings import Finding
from sales_rca.session import Session, open_or_create
from sales_rca.ui.context import Settings, log


def overrides_for_coding(overrides: Any) -> list[dict[str, Any]]:
    """The session's "these are the deal's codes" decisions as coding override records:
    no codes = accept the automatic ones; else replace them with the first and add the rest."""
    records: list[dict[str, Any]] = []
    for o in overrides:
        base = {
            "opportunity_id": o.opportunity_id,
            "who": o.by or "",
            "when": o.at,
            "note": o.note or "",
        }
        if not o.codes:
            records.append({**base, "action": "accept"})
            continue
        records.append({**base, "action": "change", "new_code": o.codes[0]})
        records += [{**base, "action": "add", "code": code} for code in o.codes[1:]]
    return records


class Workbench:
    """Session + data + analyses for one browser tab."""

    def __init__(self, settings: Settings, *, who: str | None = "facilitator") -> None:
        self.settings = settings
        settings.session.parent.mkdir(parents=True, exist_ok=True)
        # The facilitator's tab creates the session on first use; participants join an existing one.
        self.session: Session = (
            open_or_create(settings.session, settings.title)
            if who == "facilitator"
            else Session.open(settings.session, who=who)
        )
        self._lock = threading.RLock()
        self._crm: CrmData | None = None
        self._load_error: BaseException | None = None
        self._cache: dict[str, Any] = {}

    # ---------------------------------------------------------------- data
    def data_paths(self) -> dict[str, str | None]:
        """The export the team is looking at: chosen in the app (kept in the session), else
        the one ``sales-rca workshop`` was started with."""
        saved = self.session.state().settings
        s = self.settings
        return {
            "data": saved.get("data") or (str(s.data) if s.data else None),
            "history": saved.get("history") or (str(s.history) if s.history else None),
            "mapping": saved.get("mapping") or (str(s.mapping) if s.mapping else None),
        }

    @property
    def crm(self) -> CrmData | None:
        """The loaded export, or ``None`` when there is none (or it could not be read)."""
        with self._lock:
            if self._crm is None and self._load_error is None:
                paths = self.data_paths()
                if paths["data"]:
                    try:
                        self._crm = load_crm(
                            paths["data"], history=paths["history"], mapping=paths["mapping"]
                        )
                    except Exception as exc:  # shown by the data view
                        self._load_error = exc
                        log.warning("could not load %s: %s", paths["data"], exc)
            return self._crm

    @property
    def load_error(self) -> BaseException | None:
        _ = self.crm
        return self._load_error

    def use_data(
        self, data: str | Path, history: str | Path | None = None, mapping: str | Path | None = None
    ) -> CrmData:
        """Load another export (raises on unusable files) and remember the choice in the session."""
        crm = load_crm(data, history=history, mapping=mapping)
        with self._lock:
            self._crm, self._load_error = crm, None
            self._cache.clear()
        self.session.set_setting("data", str(data))
        self.session.set_setting("history", str(history) if history else None)
        self.session.set_setting("mapping", str(mapping) if mapping else None)
        return crm

    def cached(self, key: str, compute: Any) -> Any:
        """``compute()`` once per data load."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = compute()
            return self._cache[key]

    # ---------------------------------------------------------------- analyses
    @property
    def xray(self) -> Any:
        from sales_rca.pipeline import xray

        crm = self.crm
        return (
            None
            if crm is None
            else self.cached("xray", lambda: xray(crm, stages=crm.stages or None))
        )

    def findings(self) -> list[Finding]:
        """Every finding the team can turn into a problem: x-ray first, then loss coding."""
        from sales_rca.pipeline import findings as xray_findings

        x = self.xray
        if x is None:
            return []
        out = list(self.cached("xray_findings", lambda: xray_findings(x)))
        out += self.coding_findings()
        return out

    def coding_findings(self) -> list[Finding]:
        from sales_rca.coding import coding_findings

        coded = self.coding
        return [] if coded is None else list(coding_findings(coded))

    @property
    def coding(self) -> Any:
        """Auto-coded loss reasons with the team's overrides applied (``None`` without data)."""
        crm = self.crm
        if crm is None:
            return None
        from sales_rca.coding import apply_overrides, code_losses

        auto = self.cached("coding_auto", lambda: code_losses(crm))
        overrides = self.session.state().code_overrides
        if not overrides:
            return auto
        return apply_overrides(auto, overrides_for_coding(overrides))

    @cached_property
    def playbook(self) -> Any:
        from sales_rca.rootcause import load_playbook

        return load_playbook()
