"""Batch runs shared by the batch, report and notebook tests: each runs once per test session.

Running notebooks costs seconds, so the demo batch (three demo clients, one with a workshop
session, plus one broken client) runs once, through the real command line with ``--jobs 2``, and
every test module reads its output: tests take the session-scoped fixtures ``demo_batch`` and
``hostile_batch`` (tests/conftest.py), which also mark them ``notebook``.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sales_rca import resources

ROOT = Path(__file__).resolve().parents[1]
DEMO = resources.demo_dir()
NOTEBOOK = resources.notebook("diagnostic.ipynb")
SALES_RCA = Path(sys.executable).parent / "sales-rca"
XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
HUBSPOT_STAGES = [
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
]


@dataclass(frozen=True)
class BatchRun:
    """A finished ``sales-rca batch`` run: its folder, exit code, output and manifest."""

    out: Path
    returncode: int
    stdout: str
    stderr: str
    clients_file: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out / "manifest.json").read_text("utf-8"))

    def client(self, slug: str) -> dict[str, Any]:
        return next(c for c in self.manifest["clients"] if c["slug"] == slug)


def scratch(name: str) -> Path:
    """A temporary folder removed when the test session ends."""
    path = Path(tempfile.mkdtemp(prefix=f"sales-rca-{name}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``sales-rca ARGS`` in a subprocess, as a user runs it."""
    return subprocess.run(
        [str(SALES_RCA), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def make_session(path: Path, *, text: str = "", finding: Any = None) -> Path:
    """A workshop session with one problem, two whys, two causes, a revealed vote and an action.

    ``text`` is appended to every text the team types (use it for hostile input).
    """
    from sales_rca.rootcause import TargetMetric
    from sales_rca.session import Session

    with Session.create(path, f"Q3 loss review{text}") as s:
        p = s.add_problem(f"Deals die at Needs Analysis{text}", finding=finding)
        w1 = s.add_why(p, f"The buying group never agrees on the problem{text}", root_cause=True)
        s.add_why(
            w1, f"Reps pitch before they diagnose{text}", status="supported", note=f"calls{text}"
        )
        c1 = s.add_cause(f"No consensus in the buying group{text}", "buyer", why_ids=[w1])
        c2 = s.add_cause(f"Managers do not coach discovery{text}", "coaching")
        ana, ben = s.join("Ana"), s.join(f"Ben{text}")
        s.vote(c1, 2, participant=ana)
        s.vote(c2, 1, participant=ana)
        s.vote(c1, 1, participant=ben)
        s.vote(c2, 2, participant=ben)
        s.reveal()
        target = TargetMetric(
            metric="lost_here",
            baseline=439,
            target=300,
            unit="deals",
            stage="Needs Analysis",
            finding_key="lost_here:Needs Analysis",
        )
        s.add_action(
            f"Consensus check before Proposal{text}",
            f"Dana Whitfield{text}",
            due=dt.date(2026, 12, 31),
            cause_id=c1,
            target=target,
        )
    return path


def write_clients(path: Path, clients: list[dict[str, Any]], **top: Any) -> Path:
    """Write a clients file (absolute paths) and return its path."""
    data = {"notebook": str(NOTEBOOK), **top, "clients": clients}
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return path


def run_here(clients_file: Path, out: Path) -> BatchRun:
    """``run_batch`` in this process (no command-line start-up), one client at a time."""
    from sales_rca.batch import failure_table, run_batch

    report = run_batch(clients_file, out, progress=False)
    code = 1 if report.failed else 0
    return BatchRun(out, code, "", failure_table(report.clients), clients_file)


def run_demo_batch() -> BatchRun:
    """The three demo clients (Salesforce with a session, HubSpot xlsx, European CSV with a
    mapping) and one client whose export is empty, run with ``sales-rca batch --jobs 2``."""
    tmp = scratch("demo-batch")
    session = make_session(tmp / "northwind.session")
    clients = [
        {
            "name": "Northwind Demo Co.",
            "parameters": {
                "export_path": str(DEMO / "salesforce_opportunities.csv"),
                "history_path": str(DEMO / "salesforce_opportunity_history.csv"),
                "session_path": str(session),
                "period": "FY2025-26",
            },
        },
        {
            "name": "Contoso Analytics",
            "parameters": {
                "export_path": str(DEMO / "clients" / "hubspot_deals.xlsx"),
                "official_stages": HUBSPOT_STAGES,
            },
        },
        {
            "name": "Fabrikam Maschinenbau GmbH",
            "parameters": {
                "export_path": str(DEMO / "clients" / "european_opportunities.csv"),
                "mapping_path": str(DEMO / "clients" / "european_mapping.yaml"),
                "currency": "EUR",
            },
        },
        {
            "name": "Broken Export Ltd",
            "parameters": {"export_path": str(ROOT / "tests" / "data" / "crm" / "empty.csv")},
        },
    ]
    clients_file = write_clients(tmp / "clients.yaml", clients, defaults={"currency": "USD"})
    out = tmp / "out"
    done = run_cli("batch", str(clients_file), "--out", str(out), "--jobs", "2")
    return BatchRun(out, done.returncode, done.stdout, done.stderr, clients_file)


def run_hostile_batch() -> BatchRun:
    """One client whose name, loss texts, account and owner names and session texts all carry
    script and event-handler payloads."""
    import pandas as pd

    from sales_rca.demo import generate, write_salesforce_export

    tmp = scratch("hostile")
    demo = generate(300, seed=5)
    opps = demo.opportunities
    lost = opps["Stage"] == "Closed Lost"
    payloads = pd.Series([f"lost on price {XSS[i % 2]}" for i in range(int(lost.sum()))])
    opps.loc[lost, "Loss Reason Detail"] = payloads.to_numpy()
    opps.loc[opps.index[:40], "Opportunity Owner"] = f"Rep {XSS[1]}"
    opps.loc[opps.index[:40], "Account Name"] = f"Account {XSS[0]}"
    export, history = write_salesforce_export(demo, tmp)
    session = make_session(tmp / "hostile.session", text=f" {XSS[0]} {XSS[1]}")
    clients = [
        {
            "name": f"Evil {XSS[0]} {XSS[1]} Corp",
            "parameters": {
                "export_path": str(export),
                "history_path": str(history),
                "session_path": str(session),
            },
        }
    ]
    return run_here(write_clients(tmp / "clients.yaml", clients), tmp / "out")
