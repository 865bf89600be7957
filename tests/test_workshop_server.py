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
from sales_rca.ui.serve import (
    DEMO_DATA,
    KERNEL_GRACE_SECONDS,
    WORKSHOPS,
    build_server,
    check_port_free,
    run,
)


def test_demo_server_is_offline_code_free_and_culls_only_pageless_kernels(tmp_path):
    server = build_server(data=None, demo=True, session=tmp_path / "s.session", port=8899)
    cmd = " ".join(server.command)
    assert "-m sales_rca.ui.server" in cmd
    assert "--VoilaConfiguration.strip_sources=True" in cmd
    assert "--VoilaConfiguration.show_tracebacks=False" in cmd
    assert f"--MappingKernelManager.cull_idle_timeout={KERNEL_GRACE_SECONDS}" in cmd
    assert "--MappingKernelManager.cull_connected=False" in cmd  # an open page keeps its kernel
    assert "--template=sales_rca" in cmd
    assert "--Voila.ip=127.0.0.1" in cmd  # loopback unless asked otherwise
    assert server.env["SALES_RCA_DATA"] == str(DEMO_DATA.resolve())
    assert server.env["SALES_RCA_SESSION"] == str((tmp_path / "s.session").resolve())
    assert server.join_code is None and server.env["SALES_RCA_JOIN_CODE"] == ""
    assert not (tmp_path / "s.session").exists()
    server.prepare()  # opens (creates) the session: the key and the join code live there
    assert len(server.key) >= 24 and "--Voila.token=" + server.key in server.command
    assert server.url == f"http://127.0.0.1:8899/voila/render/workshop.ipynb?token={server.key}"
    again = build_server(data=None, demo=True, session=tmp_path / "s.session", port=8899)
    again.prepare()
    assert again.key == server.key  # a restart keeps the facilitator's link working


def test_a_session_file_that_cannot_be_opened_stops_the_workshop_in_one_line(tmp_path):
    broken = tmp_path / "broken.session"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)  # truncated
    server = build_server(data=DEMO_DATA, session=broken)
    with pytest.raises(SalesRcaError) as err:
        server.prepare()
    message = str(err.value)
    assert message.startswith(f"expected a session file sales-rca can open at {broken}")
    assert "\n" not in message and "move it aside" in message


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


def test_participants_get_a_lan_join_url_and_an_unambiguous_code(tmp_path):
    server = build_server(
        data=DEMO_DATA, participants=True, host="0.0.0.0", session=tmp_path / "s.session"
    )
    server.prepare()
    assert server.join_url == f"{server.base}/join/?code={server.join_code}"
    assert "127.0.0.1" not in server.join_url or server.shown_host == "127.0.0.1"
    assert len(server.join_code) == 6
    assert not set(server.join_code) & set("0O1IL")
    assert server.env["SALES_RCA_JOIN_CODE"] == server.join_code
    loopback = build_server(data=DEMO_DATA, participants=True, session=tmp_path / "s.session")
    loopback.prepare()
    assert loopback.join_url is None  # phones cannot reach 127.0.0.1: never show it to them


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
    moved = replace(server, port=9123, key="K", join_code="AB2C3D", shown_host="10.0.0.5")
    assert moved.url == "http://10.0.0.5:9123/voila/render/workshop.ipynb?token=K"
    assert moved.join_url is None  # built for loopback
    lan = replace(moved, host="0.0.0.0")
    assert lan.join_url == "http://10.0.0.5:9123/join/?code=AB2C3D"
    assert build_server(data=DEMO_DATA, session=tmp_path / "s.session").join_url is None
    assert "--Voila.port_retries=0" in build_server(data=DEMO_DATA, session=tmp_path / "s").command


def test_the_app_lists_exports_only_from_the_data_folder_and_the_uploads(tmp_path):
    exports, uploads = tmp_path / "exports", tmp_path / "out" / "workshop" / "uploads"
    (exports / "2025").mkdir(parents=True)
    uploads.mkdir(parents=True)
    for f in (exports / "acme.csv", exports / "2025" / "q3.xlsx", uploads / "sent.csv"):
        f.write_text("x")
    (exports / "notes.md").write_text("x")
    settings = Settings.from_env(
        {"SALES_RCA_WORKDIR": str(tmp_path), "SALES_RCA_DATA": "exports/acme.csv"}
    )
    assert settings.data_dir == exports
    assert settings.exports() == [
        exports / "2025" / "q3.xlsx",
        exports / "acme.csv",
        uploads / "sent.csv",
    ]
    server = build_server(data=DEMO_DATA, session=tmp_path / "s.session", data_dir=exports)
    assert server.env["SALES_RCA_DATA_DIR"] == str(exports.resolve())
    with pytest.raises(SalesRcaError, match="expected --data-dir to be a folder"):
        build_server(data=DEMO_DATA, session=tmp_path / "s.session", data_dir=tmp_path / "none")
