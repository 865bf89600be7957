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

    def cached(self, key: Any, compute: Any) -> Any:
        """``compute()`` once per data load (and per ``key``)."""
        with self._lock:
            if key not in self._cache:
                if isinstance(key, tuple):
                    # Keep one version of a keyed result: drop older keys of the same kind.
                    for old in [k for k in self._cache if isinstance(k, tuple) and k[0] == key[0]]:
                        del self._cache[old]
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
        names = self.names
        out = list(self.cached(("xray_findings", names), lambda: xray_findings(x, names=names)))
        out += self.coding_findings()
        return out

    @property
    def names(self) -> bool:
        """Whether this session shows people's names (off unless the facilitator chose it)."""
        from sales_rca.people import show_names

        return show_names(self.session.state().settings)

    def coding_findings(self) -> list[Finding]:
        from sales_rca.coding import coding_findings

        coded = self.coding
        if coded is None:
            return []
        return list(self.cached(("coding_findings", id(coded)), lambda: coding_findings(coded)))

    @property
    def coding_model_on(self) -> bool:
        """Whether the team lets the model help the rules (session setting ``coding_model``)."""
        return self.session.state().settings.get("coding_model") != "off"

    @property
    def coding_rules(self) -> Any:
        """Losses coded by the rules alone (never changes with the team's codes)."""
        crm = self.crm
        if crm is None:
            return None
        from sales_rca.coding import code_losses

        return self.cached("coding_auto_rules", lambda: code_losses(crm, model=None))

    @property
    def coding_auto(self) -> Any:
        """Auto-coded losses before the team's overrides: rules, plus the model trained on the
        labelled texts and the texts the team has coded (retrained when their codes change)."""
        crm = self.crm
        if crm is None:
            return None
        from sales_rca.coding import code_losses
        from sales_rca.coding.model import team_model

        rules = self.coding_rules
        if not self.coding_model_on:
            return rules
        decisions = self.session.state().code_overrides
        model = self.cached(("coding_model", decisions), lambda: team_model(rules, decisions))
        return self.cached(("coding_auto", id(model)), lambda: code_losses(crm, model=model))

    @property
    def coding(self) -> Any:
        """Auto-coded loss reasons with the team's overrides applied (``None`` without data)."""
        crm = self.crm
        if crm is None:
            return None
        from sales_rca.coding import apply_overrides

        auto = self.coding_auto
        overrides = self.session.state().code_overrides
        if not overrides:
            return auto
        # Recomputed only when the team's overrides change (views redraw often).
        return self.cached(("coding", overrides), lambda: apply_overrides(auto, overrides))

    @cached_property
    def playbook(self) -> Any:
        from sales_rca.rootcause import load_playbook

        return load_playbook()
