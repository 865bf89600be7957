"""`sales-rca workshop`: the Voila command it builds, and the one-line errors it gives."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from sales_rca import resources
from sales_rca.errors import SalesRcaError
from sales_rca.ui.context import Settings
from sales_rca.ui.serve import DEMO_DATA, WORKSHOPS, build_server, check_port_free, run


def test_demo_server_is_offline_code_free_and_never_culls(tmp_path):
    server = build_server(data=None, demo=True, session=tmp_path / "s.session", port=8899)
    cmd = " ".join(server.command)
    assert "--VoilaConfiguration.strip_sources=True" in cmd
    assert "--VoilaConfiguration.show_tracebacks=False" in cmd
    assert "--MappingKernelManager.cull_idle_timeout=0" in cmd
    assert "--template=sales_rca" in cmd
    assert "--Voila.ip=127.0.0.1" in cmd  # loopback unless asked otherwise
    assert server.url == "http://127.0.0.1:8899/voila/render/workshop.ipynb"
    assert server.env["SALES_RCA_DATA"] == str(DEMO_DATA.resolve())
    assert server.env["SALES_RCA_SESSION"] == str((tmp_path / "s.session").resolve())
    assert server.join_code is None and server.env["SALES_RCA_JOIN_CODE"] == ""


def test_the_demo_serves_the_packaged_notebooks_and_writes_under_the_working_folder(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    server = build_server(data=None, demo=True)
    assert resources.workshops_dir() == WORKSHOPS and str(WORKSHOPS) in server.command
    assert resources.demo_file("salesforce_opportunities.csv") == DEMO_DATA
    session = Path(server.env["SALES_RCA_SESSION"])
    assert session == (tmp_path / "out" / "workshop" / "demo.session").resolve()
    assert Path(server.env["SALES_RCA_WORKDIR"]) == tmp_path.resolve()
    assert list(tmp_path.iterdir()) == []  # building the command writes nothing


def test_the_session_folder_is_made_only_when_the_server_starts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda command, env: started.append(command) or 0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = build_server(data=None, demo=True, port=port)
    assert run(server) == 0
    assert started == [server.command]
    assert (tmp_path / "out" / "workshop").is_dir()


def test_paths_in_the_app_are_relative_to_where_the_workshop_was_started(tmp_path):
    settings = Settings.from_env(
        {"SALES_RCA_WORKDIR": str(tmp_path), "SALES_RCA_DATA": "exports/acme.csv"}
    )
    assert settings.data == tmp_path / "exports" / "acme.csv"
    assert settings.session == tmp_path / "out" / "workshop" / "session.sqlite"
    assert settings.upload_dir == tmp_path / "out" / "workshop" / "uploads"
    assert settings.resolve("typed.csv") == tmp_path / "typed.csv"
    assert settings.resolve(tmp_path / "abs.csv") == tmp_path / "abs.csv"


def test_participants_get_a_join_url_and_an_unambiguous_code(tmp_path):
    server = build_server(data=DEMO_DATA, participants=True, session=tmp_path / "s.session")
    assert server.join_url.endswith("/voila/render/participant.ipynb")
    assert len(server.join_code) == 6
    assert not set(server.join_code) & set("0O1IL")
    assert server.env["SALES_RCA_JOIN_CODE"] == server.join_code


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"data": None}, "expected --data PATH (a CRM export) or --demo"),
        ({"data": "missing.csv"}, "expected --data to be a file, found nothing at missing.csv"),
        ({"data": DEMO_DATA, "agenda": "long"}, "expected --agenda full or short, found 'long'"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, options, message):
    with pytest.raises(SalesRcaError) as err:
        build_server(session=tmp_path / "s.session", **options)
    assert message in str(err.value)


def test_a_port_in_use_is_reported_before_anything_starts_or_is_written(tmp_path, cli):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SalesRcaError, match=f"expected port {port} on 127.0.0.1 to be free"):
            check_port_free("127.0.0.1", port)
        result = cli("workshop", "--demo", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "choose another with --port" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no out/workshop left behind


def test_voila_may_look_for_a_free_port_and_the_urls_follow_the_one_it_bound(tmp_path):
    server = build_server(
        data=DEMO_DATA, participants=True, session=tmp_path / "s.session", port_retries=30
    )
    assert "--Voila.port_retries=30" in server.command
    moved = replace(server, port=9123)
    assert moved.url == "http://127.0.0.1:9123/voila/render/workshop.ipynb"
    assert moved.join_url == "http://127.0.0.1:9123/voila/render/participant.ipynb"
    assert build_server(data=DEMO_DATA, session=tmp_path / "s.session").join_url is None
    assert "--Voila.port_retries=0" in build_server(data=DEMO_DATA, session=tmp_path / "s").command
