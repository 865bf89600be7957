"""The built wheel installs, and its commands work from any folder, writing only under that folder.

The wheel is built with the project's own backend (hatchling, from the test extra) without build
isolation, so nothing is downloaded; it is installed with ``--no-deps`` into a fresh virtual
environment in a temporary folder. Then, from another temporary folder, ``sales-rca workshop --demo``
is served until its first page is rendered, ``sales-rca demo`` writes a small export and
``sales-rca batch`` runs the installed example clients file; every output must land under that
folder and nothing may change inside the fresh environment.

Why the dependencies come from this test environment: installing them into the fresh one would
download hundreds of megabytes (jupyterlab, scipy, ...). Instead its site-packages gets a ``.pth``
file naming this environment's site-packages, so the dependencies resolve from there while
``sales_rca`` comes from the wheel (the fresh site-packages is searched first, and a path line in a
``.pth`` file does not process that folder's own ``.pth`` files, so the editable install of the
checkout stays invisible; a test checks where ``sales_rca`` is imported from). The dependencies'
Jupyter data files (Voila's and nbconvert's base templates), which a real install has in its own
prefix, stay in this environment's ``share/jupyter``: ``JUPYTER_PATH`` names it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from suite_paths import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

DEMO_CLIENTS = ("contoso-analytics", "fabrikam-maschinenbau-gmbh", "northwind-demo-co")
#: This environment's pip (23.2+: ``--python`` installs into another environment).
PIP = (sys.executable, "-m", "pip")
SERVE_TIMEOUT = 180  # seconds until the workshop's first page must be served (a busy 2-core box)


class Installed:
    """A fresh virtual environment holding only the wheel (dependencies via a ``.pth`` file)."""

    def __init__(self, venv: Path, wheel: Path) -> None:
        self.venv = venv
        self.wheel = wheel
        self.python = venv / "bin" / "python"
        self.sales_rca = venv / "bin" / "sales-rca"
        self.site_packages = Path(
            subprocess.check_output(
                [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                text=True,
            ).strip()
        )

    def env(self) -> dict[str, str]:
        drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "JUPYTER_PATH"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
        return env

    def run(
        self, *args: str | Path, cwd: Path, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file of the environment (size, mtime), bytecode caches aside (Python's own)."""
        return {
            str(p.relative_to(self.venv)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in self.venv.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    pytest.importorskip("hatchling", reason="the test extra's hatchling: pip install -e '.[test]'")
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    built = subprocess.run(
        [*PIP, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", dist, ROOT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("sales_rca-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    add = subprocess.run(
        [*PIP, "--python", venv / "bin" / "python", "install", "--quiet", "--no-deps", wheel],
        capture_output=True,
        text=True,
        check=False,
    )
    assert add.returncode == 0, add.stdout + add.stderr
    env = Installed(venv, wheel)
    (env.site_packages / "_sales_rca_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    return env


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty folder, outside the checkout, to run the installed commands from."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_the_wheel_ships_notebooks_templates_resources_and_demo_data(installed: Installed) -> None:
    import zipfile

    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for name in (
        "sales_rca/workshops/diagnostic.ipynb",
        "sales_rca/workshops/workshop.ipynb",
        "sales_rca/resources/join/index.html",
        "sales_rca/resources/join/join.js",
        "sales_rca/resources/codebook.yaml",
        "sales_rca/resources/fishbone.yaml",
        "sales_rca/resources/templates/summary/index.html.j2",
        "sales_rca/resources/templates/sales-rca.css",
        "sales_rca/resources/templates/html/blocks.html.j2",
        "sales_rca/resources/templates/html/decisions.html.j2",
        "sales_rca/resources/templates/html/index.html.j2",
        "sales_rca/resources/jupyter/voila/templates/sales_rca/index.html.j2",
        "sales_rca/resources/demo/salesforce_opportunities.csv",
        "sales_rca/resources/demo/salesforce_opportunity_history.csv",
        "sales_rca/resources/demo/clients.example.yaml",
        "sales_rca/resources/demo/clients/hubspot_deals.xlsx",
        "sales_rca/resources/demo/clients/european_opportunities.csv",
        "sales_rca/resources/demo/clients/european_mapping.yaml",
    ):
        assert name in names, name
    assert not [n for n in names if not n.startswith(("sales_rca/", "sales_rca-"))]


def test_sales_rca_is_imported_from_the_wheel_not_the_checkout(
    installed: Installed, work: Path
) -> None:
    code = "import sales_rca; print(sales_rca.__file__); print(sales_rca.demo_path('x.csv'))"
    result = installed.run(installed.python, "-c", code, cwd=work)
    assert result.returncode == 0, result.stderr
    module, demo = (Path(line) for line in result.stdout.split())
    assert module.is_relative_to(installed.site_packages)
    assert demo == installed.site_packages / "sales_rca" / "resources" / "demo" / "x.csv"


def test_the_installed_workshop_serves_the_demo_and_writes_only_under_the_working_folder(
    installed: Installed, work: Path, tmp_path: Path
) -> None:
    before = installed.files()
    port = _free_port()
    log = tmp_path / "workshop.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(installed.sales_rca), "workshop", "--demo", "--port", str(port)],
            cwd=work,
            env=installed.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Voila and its kernels stop together
        )
    try:
        page = _first_page(server, log)
    finally:
        _stop(server)
    text = log.read_text()
    assert "application/vnd.jupyter.widget-view+json" in page, text  # the app was displayed
    assert "srca-offline" in page  # sales-rca's own Voila template (its connection watch)
    assert "could not load" not in text and "Traceback" not in text, text
    session = work / "out" / "workshop" / "demo.session"
    assert f"session file: {session.resolve()}" in text
    assert session.is_file()
    assert sorted(p.name for p in work.iterdir()) == ["out"]
    assert installed.files() == before


def test_the_installed_batch_runs_the_example_clients_into_the_working_folder(
    installed: Installed, work: Path
) -> None:
    before = installed.files()
    found = installed.run(
        installed.python,
        "-c",
        "from sales_rca import resources; print(resources.demo_clients_file())",
        cwd=work,
    )
    clients = Path(found.stdout.strip())
    assert clients.is_relative_to(installed.site_packages) and clients.is_file(), found.stderr

    demo = installed.run(
        installed.sales_rca, "demo", "--out", "demo", "--opportunities", "200", cwd=work
    )
    assert demo.returncode == 0, demo.stderr
    assert sorted(p.name for p in (work / "demo").iterdir()) == [
        "salesforce_opportunities.csv",
        "salesforce_opportunity_history.csv",
    ]

    batch = installed.run(
        installed.sales_rca, "batch", clients, "--out", "./out", "--jobs", "1", "--quiet", cwd=work
    )
    assert batch.returncode == 0, batch.stdout + batch.stderr
    out = work / "out"
    for slug in DEMO_CLIENTS:
        assert (out / slug / "summary.html").is_file(), slug
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert Path(manifest["notebook"]).is_relative_to(installed.site_packages)
    assert [c["status"] for c in manifest["clients"]] == ["ok"] * len(DEMO_CLIENTS)
    assert (out / "index.html").is_file()
    assert sorted(p.name for p in work.iterdir()) == ["demo", "out"]
    assert installed.files() == before


# --- helpers ---------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_page(server: subprocess.Popen, log: Path) -> str:
    """The workshop page at the URL the command printed, once Voila has rendered it."""
    deadline = time.monotonic() + SERVE_TIMEOUT
    url = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"sales-rca workshop exited with {server.returncode}:\n{log.read_text()}")
        if url is None:
            lines = [x for x in log.read_text().splitlines() if "sales-rca workshop: open " in x]
            url = lines[0].split("open ", 1)[1].strip() if lines else None
        if url is not None:
            try:
                # Voila streams the page while the notebook runs: the whole body is the rendered app.
                with urllib.request.urlopen(
                    url, timeout=max(1.0, deadline - time.monotonic())
                ) as r:
                    return r.read().decode("utf-8")
            except (urllib.error.URLError, ConnectionError):
                pass  # not listening yet
        time.sleep(0.25)  # poll interval
    pytest.fail(f"no workshop page within {SERVE_TIMEOUT} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server started here (its process group: Voila and its kernels)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
