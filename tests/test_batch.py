"""``sales-rca batch``: clients file checks, safe slugs, failure isolation, manifest and index."""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import html
import json
import re
import sys
from pathlib import Path

import pytest
from batch_fixtures import DEMO, NOTEBOOK, BatchRun, write_clients
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_rca.batch import (
    ClientJob,
    Parameter,
    load_batch,
    notebook_parameters,
    run_batch,
    run_client,
    slugify,
    typed_value,
    unique_slugs,
)
from sales_rca.batch.index import index_html
from sales_rca.batch.run import ClientResult
from sales_rca.errors import BatchError

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
EXPORT = str(DEMO / "salesforce_opportunities.csv")
HISTORY = str(DEMO / "salesforce_opportunity_history.csv")
HUBSPOT = str(DEMO / "clients" / "hubspot_deals.xlsx")
#: What the diagnostic gives a client that sets nothing but its export (its neutral defaults).
NEUTRAL = {
    "history_path": "",
    "mapping_path": "",
    "codebook_path": "",
    "official_stages": [],
    "currency": "USD",
    "period": "",
    "session_path": "",
    "baseline": "",
    "benchmark_path": "",
    "show_names": False,
}


def clients_file(tmp_path: Path, clients: list[dict], **top: object) -> Path:
    return write_clients(tmp_path / "clients.yaml", clients, **top)


# --- slugs -----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_client_name_becomes_a_slug_inside_the_output_folder(name: str) -> None:
    out = Path("/tmp/sales-rca-out").resolve()
    slug = slugify(name)
    assert SLUG.match(slug) and len(slug) <= 48
    assert (out / slug).resolve().parent == out


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Müller & Söhne GmbH", "muller-sohne-gmbh"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", "client"),
        ("C:\\Windows\\System32", "c-windows-system32"),
        ("   ", "client"),
        ("CON", "con-client"),
        ("株式会社", "client"),
    ],
)
def test_names_that_would_escape_or_break_a_folder_get_a_safe_slug(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_clients_with_the_same_slug_get_numbered_slugs() -> None:
    assert unique_slugs(["Acme", "ACME", "acme!", "Other"]) == ["acme", "acme-2", "acme-3", "other"]


def test_a_given_slug_is_kept_and_others_avoid_it() -> None:
    assert unique_slugs(["Acme", "Acme Corp"], ["acme-corp", None]) == ["acme-corp", "acme-corp-2"]
    assert unique_slugs(["Acme", "Beta"], [None, "acme"]) == ["acme-2", "acme"]


@pytest.mark.parametrize("slug", ["../evil", "a/b", ".hidden", "UPPER", "x" * 49, "-dash", "nul"])
def test_an_unsafe_given_slug_is_refused_before_anything_runs(tmp_path: Path, slug: str) -> None:
    path = clients_file(
        tmp_path, [{"name": "A", "slug": slug, "parameters": {"export_path": EXPORT}}]
    )
    with pytest.raises(BatchError, match="slug"):
        load_batch(path)


def test_two_clients_given_the_same_slug_is_an_error(tmp_path: Path) -> None:
    clients = [{"name": n, "slug": "same", "parameters": {"export_path": EXPORT}} for n in "AB"]
    with pytest.raises(BatchError, match="same"):
        load_batch(clients_file(tmp_path, clients))


# --- parameters ------------------------------------------------------------------------------------


def test_the_notebook_declares_the_documented_parameters() -> None:
    spec = load_batch(DEMO / "clients.example.yaml")
    assert list(spec.parameters) == [
        "client",
        "export_path",
        "history_path",
        "mapping_path",
        "codebook_path",
        "official_stages",
        "currency",
        "period",
        "session_path",
        "baseline",
        "benchmark_path",
        "show_names",
    ]
    assert spec.parameters["official_stages"].type == "list[str]"
    assert spec.parameters["show_names"].type == "bool"  # the summary names nobody by default


@pytest.mark.parametrize(
    "name", ["expor_path", "export path", "__import__('os')", "x=1", "1st", "class", "import os;x"]
)
def test_unknown_or_non_identifier_parameter_names_stop_the_batch_before_it_runs(
    tmp_path: Path, name: str
) -> None:
    path = clients_file(tmp_path, [{"name": "A", "parameters": {"export_path": EXPORT, name: "x"}}])
    out = tmp_path / "out"
    with pytest.raises(BatchError, match=re.escape(repr(name))) as info:
        run_batch(path, out, progress=False)
    assert "export_path" in str(info.value)  # the message lists the declared names
    assert not out.exists()


def test_a_parameter_in_defaults_is_checked_too(tmp_path: Path) -> None:
    path = clients_file(
        tmp_path, [{"name": "A", "parameters": {"export_path": EXPORT}}], defaults={"colour": "red"}
    )
    with pytest.raises(BatchError, match=r"defaults.*'colour'"):
        load_batch(path)


@pytest.mark.parametrize(
    ("clients", "message"),
    [
        ([{"name": "A", "export_path": EXPORT}], "unknown key"),
        ([{"parameters": {"export_path": EXPORT}}], "clients item 1, name: expected a value"),
        ([{"name": "A", "parameters": ["export_path"]}], "mapping"),
        ([], "non-empty list"),
        (["just a name"], "mapping"),
    ],
)
def test_malformed_clients_files_are_explained(tmp_path: Path, clients: list, message: str) -> None:
    with pytest.raises(BatchError, match=message):
        load_batch(clients_file(tmp_path, clients))


def test_an_unknown_top_level_key_is_an_error(tmp_path: Path) -> None:
    path = clients_file(tmp_path, [{"name": "A"}], jobs=3)
    with pytest.raises(BatchError, match=r"unknown key.*jobs"):
        load_batch(path)


def test_values_are_typed_as_the_notebook_declares() -> None:
    text, stages = Parameter("currency", "str"), Parameter("official_stages", "list[str]")
    assert typed_value("EUR", text) == "EUR"
    assert typed_value(2026, text) == "2026"
    assert typed_value(dt.date(2026, 9, 30), text) == "2026-09-30"
    assert typed_value(None, text) == ""
    assert typed_value("Qualify, Demo ,Proposal", stages) == ["Qualify", "Demo", "Proposal"]
    assert typed_value(["Qualify", 2], stages) == ["Qualify", "2"]
    for bad, param in [(True, text), ({"a": 1}, text), (3, stages), ([{"a": 1}], stages)]:
        with pytest.raises(BatchError, match=param.name):
            typed_value(bad, param)


def test_paths_are_resolved_against_the_clients_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n")
    path = clients_file(tmp_path, [{"name": "A", "parameters": {"export_path": "data/x.csv"}}])
    (job,) = load_batch(path).jobs(tmp_path / "out")
    assert job.parameters["export_path"] == str((tmp_path / "data" / "x.csv").resolve())
    assert job.parameters["client"] == "A"
    assert job.problem is None


def test_the_notebook_defaults_name_no_client_data() -> None:
    declared = notebook_parameters(NOTEBOOK)
    for name in ("client", "export_path", "history_path", "mapping_path", "session_path"):
        assert declared[name].default == '""', f"{name} defaults to {declared[name].default}"
    assert {n: ast.literal_eval(declared[n].default) for n in NEUTRAL} == NEUTRAL


def test_a_client_inherits_only_the_defaults_never_another_clients_values(tmp_path: Path) -> None:
    session = tmp_path / "a.session"
    session.write_bytes(b"")
    first = {
        "export_path": EXPORT,
        "history_path": HISTORY,
        "mapping_path": str(DEMO / "clients" / "european_mapping.yaml"),
        "official_stages": ["Qualify", "Demo"],
        "session_path": str(session),
        "currency": "GBP",
    }
    path = clients_file(
        tmp_path,
        [
            {"name": "A", "parameters": first},
            {"name": "B", "parameters": {"export_path": HUBSPOT}},
        ],
        defaults={"period": "FY2026 H2"},
    )
    a, b = load_batch(path).jobs(tmp_path / "out")
    assert a.parameters == {"client": "A", **NEUTRAL, **first, "period": "FY2026 H2"}
    assert b.parameters == {
        "client": "B",
        **NEUTRAL,
        "export_path": HUBSPOT,
        "period": "FY2026 H2",
    }
    assert list(b.parameters) == list(notebook_parameters(NOTEBOOK))  # every one, explicitly
    assert b.inputs == {"export_path": HUBSPOT}


def test_a_client_without_an_export_is_refused_before_anything_runs(tmp_path: Path) -> None:
    path = clients_file(
        tmp_path,
        [
            {"name": "A", "parameters": {"export_path": EXPORT}},
            {"name": "Globex", "parameters": {"history_path": HISTORY}},
        ],
    )
    out = tmp_path / "out"
    with pytest.raises(BatchError, match=r"client 2 \(Globex\): expected export_path") as info:
        run_batch(path, out, progress=False)
    assert "found nothing" in str(info.value)
    assert not out.exists()


@pytest.mark.notebook
def test_the_notebook_without_an_export_stops_with_one_clear_line(tmp_path: Path) -> None:
    job = ClientJob("X", "x", str(NOTEBOOK), str(tmp_path / "x"), parameters={"client": "X"})
    result = run_client(job)
    assert not result.ok
    assert re.fullmatch(
        r"cell \d+: CrmImportError: expected export_path to name a CRM export, found nothing; "
        r"set it in the clients file or with -p export_path PATH",
        result.error or "",
    ), result.error


def test_a_baseline_is_recorded_by_the_results_file_read_from_it(tmp_path: Path) -> None:
    (tmp_path / "before").mkdir()
    (tmp_path / "before" / "results.json").write_text("{}")
    params = {"export_path": EXPORT, "baseline": "before"}
    (job,) = load_batch(clients_file(tmp_path, [{"name": "A", "parameters": params}])).jobs(
        tmp_path / "out"
    )
    assert job.parameters["baseline"] == str(tmp_path / "before")
    assert job.inputs == {
        "export_path": EXPORT,
        "baseline": str(tmp_path / "before" / "results.json"),
    }


def test_a_missing_input_file_fails_only_that_client(tmp_path: Path) -> None:
    path = clients_file(
        tmp_path, [{"name": "A", "parameters": {"export_path": str(tmp_path / "nope.csv")}}]
    )
    (job,) = load_batch(path).jobs(tmp_path / "out")
    assert "nope.csv" in job.problem


# --- the demo batch (run once, through the command line) -----------------------------------------


def test_a_failing_client_never_stops_the_others(demo_batch: BatchRun) -> None:
    run = demo_batch
    status = {c["slug"]: c["status"] for c in run.manifest["clients"]}
    assert status == {
        "northwind-demo-co": "ok",
        "contoso-analytics": "ok",
        "fabrikam-maschinenbau-gmbh": "ok",
        "broken-export-ltd": "failed",
    }


def test_the_batch_exits_1_with_a_table_of_what_failed_and_why(demo_batch: BatchRun) -> None:
    run = demo_batch
    assert run.returncode == 1
    assert "1 client(s) failed" in run.stderr
    row = next(line for line in run.stderr.splitlines() if line.startswith("broken-export-ltd"))
    assert "Broken Export Ltd" in row and "CrmImportError" in row
    assert f"Index: {run.out / 'index.html'}" in run.stdout


def test_a_failed_client_keeps_its_notebook_but_gets_no_summary(demo_batch: BatchRun) -> None:
    run = demo_batch
    folder = run.out / "broken-export-ltd"
    nb = json.loads((folder / "diagnostic.ipynb").read_text("utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "CrmImportError"
    assert not (folder / "summary.html").exists()
    assert not (folder / "results.json").exists()
    assert run.client("broken-export-ltd")["outputs"]["summary"] is None


def test_the_manifest_records_status_error_timings_hashes_and_outputs(demo_batch: BatchRun) -> None:
    run = demo_batch
    m = run.manifest
    assert (m["format"], m["ok"], m["failed"], m["jobs"]) == ("sales-rca-batch", 3, 1, 2)
    north = run.client("northwind-demo-co")
    assert north["error"] is None
    assert set(north["timings"]) == {"execute_s", "render_s", "total_s"}
    assert all(v >= 0 for v in north["timings"].values())
    export = north["inputs"]["export_path"]
    assert export["sha256"] == hashlib.sha256(Path(export["path"]).read_bytes()).hexdigest()
    assert set(north["inputs"]) == {"export_path", "history_path", "session_path"}
    for key in ("notebook", "summary", "results"):
        assert (run.out / north["outputs"][key]).is_file()
    broken = run.client("broken-export-ltd")
    assert broken["error"].startswith("cell ") and "CrmImportError" in broken["error"]


def test_manifest_lists_input_hashes(demo_batch: BatchRun) -> None:
    run = demo_batch
    m = run.manifest
    assert m["notebook_sha256"] == hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest()
    assert m["clients_file_sha256"] == hashlib.sha256(run.clients_file.read_bytes()).hexdigest()
    declared = list(notebook_parameters(NOTEBOOK))
    for client in m["clients"]:
        params = client["parameters"]
        assert list(params) == declared  # the parameters used, after defaults
        named = {k: v for k, v in params.items() if k.endswith("_path") and v}
        assert {k: e["path"] for k, e in client["inputs"].items()} == named
        for entry in client["inputs"].values():
            assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()
    contoso = run.client("contoso-analytics")["parameters"]
    assert (contoso["client"], contoso["currency"]) == ("Contoso Analytics", "USD")
    assert contoso["official_stages"][0] == "Appointment Scheduled"


def data_check(folder: Path) -> str:
    """The visible text of the summary's data check section."""
    page = (folder / "summary.html").read_text("utf-8")
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    start = text.index("Data check")
    return text[start : text.index("Columns used", start)]


def injected(folder: Path) -> str:
    nb = json.loads((folder / "diagnostic.ipynb").read_text("utf-8"))
    (cell,) = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


def test_client_without_history_gets_no_history(demo_batch: BatchRun) -> None:
    from sales_rca.crm import load_crm

    run = demo_batch
    for slug in ("contoso-analytics", "fabrikam-maschinenbau-gmbh"):
        client = run.client(slug)
        assert client["parameters"]["history_path"] == ""
        assert "history_path" not in client["inputs"]
        assert 'history_path = ""' in injected(run.out / slug)
    # HubSpot's own "Date entered <stage>" columns are Contoso's stage history, not drivers.
    crm = load_crm(HUBSPOT)
    assert crm.report.history["source"] == "stage date columns"
    assert not [c for c in crm.opportunities.columns if c.startswith("extra_date_entered")]
    check = data_check(run.out / "contoso-analytics")
    assert f"Stage history {crm.report.history['events']:,} stage entries" in check
    results = json.loads((run.out / "contoso-analytics" / "results.json").read_text("utf-8"))
    assert any(s.get("conversion") is not None for s in results["stages"])
    assert not [f["key"] for f in results["findings"] if "date_entered" in f["key"]]  # no leak
    assert "Stage history none given" in data_check(run.out / "fabrikam-maschinenbau-gmbh")


def test_a_client_with_its_own_history_uses_its_own(demo_batch: BatchRun) -> None:
    run = demo_batch
    north = run.client("northwind-demo-co")
    assert north["parameters"]["history_path"] == HISTORY
    assert north["inputs"]["history_path"]["path"] == HISTORY
    assert 'history_path = "' + HISTORY + '"' in injected(run.out / "northwind-demo-co")


def test_the_summary_quarantine_figure_is_what_the_import_reports(demo_batch: BatchRun) -> None:
    from sales_rca.crm import load_crm

    run = demo_batch
    for client in run.manifest["clients"]:
        if client["status"] != "ok":
            continue
        p = client["parameters"]
        crm = load_crm(
            p["export_path"], history=p["history_path"] or None, mapping=p["mapping_path"] or None
        )
        r = crm.report
        assert r.rows_in == r.rows_accepted + r.rows_quarantined
        # every quarantined row (the history's too) is in the figure the summary shows
        assert len(crm.quarantine) == r.rows_quarantined, client["slug"]
        check = data_check(run.out / client["slug"])
        assert (
            f"{r.rows_in:,} in, {r.rows_accepted:,} accepted, {len(crm.quarantine):,} quarantined"
            in check
        )
        events = f"{r.history['events']:,} stage entries" if r.history else "none given"
        assert f"Stage history {events}" in check


def test_the_index_links_every_summary_and_compares_clients(demo_batch: BatchRun) -> None:
    run = demo_batch
    page = (run.out / "index.html").read_text("utf-8")
    for slug in ("northwind-demo-co", "contoso-analytics", "fabrikam-maschinenbau-gmbh"):
        assert f'href="{slug}/summary.html"' in page
    assert "broken-export-ltd/summary.html" not in page
    assert 'href="broken-export-ltd/diagnostic.ipynb"' in page  # failed: notebook to debug
    results = json.loads((run.out / "northwind-demo-co" / "results.json").read_text("utf-8"))
    needs = next(s for s in results["stages"] if s["stage"] == "Needs Analysis")
    assert f"Needs Analysis {needs['conversion']:.0%}" in page  # conversion at each stage
    assert f"{results['win_rate']:.0%}" in page
    assert html.escape(results["top_categories"][0]["label"]) in page


def test_an_anonymised_index_names_no_client_and_links_nothing(demo_batch: BatchRun) -> None:
    run = demo_batch
    results = []
    for c in run.manifest["clients"]:
        r = ClientResult(c["name"], c["slug"], c["status"], c["error"], outputs=c["outputs"])
        if r.ok:
            r.results = json.loads((run.out / c["outputs"]["results"]).read_text("utf-8"))
        results.append(r)
    page = index_html(results, anonymise=True)
    for c in run.manifest["clients"]:
        assert c["name"] not in page and c["slug"] not in page
    assert "href=" not in page
    assert "Client A" in page and "Client C" in page and "Client D" not in page


# --- running on a dask cluster ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.notebook
def test_the_same_jobs_run_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    path = clients_file(
        tmp_path,
        [
            {
                "name": "Contoso",
                "parameters": {"export_path": str(DEMO / "clients" / "hubspot_deals.xlsx")},
            },
            {"name": "Missing", "parameters": {"export_path": str(tmp_path / "missing.csv")}},
        ],
    )
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        report = run_batch(
            path, tmp_path / "out", scheduler=cluster.scheduler_address, progress=False
        )
    assert [c.status for c in report.clients] == ["ok", "failed"]
    assert (tmp_path / "out" / "contoso" / "summary.html").is_file()
    assert "missing.csv" in report.clients[1].error
    assert json.loads(report.manifest.read_text())["scheduler"] == cluster.scheduler_address


def test_the_default_notebook_is_the_diagnostic() -> None:
    from sales_rca.batch.clients import DEFAULT_NOTEBOOK

    assert DEFAULT_NOTEBOOK == NOTEBOOK


def test_a_scheduler_without_dask_says_in_one_line_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sales_rca.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "batch",
                "no-such-clients.yaml",
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                "tcp://x:1",
            ]
        )
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'sales-rca[distributed]'" in err
    assert not (tmp_path / "out").exists()  # nothing was read or written first
