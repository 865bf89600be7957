"""Start the live workshop: Voila on the packaged ``sales_rca/workshops``, offline, code hidden,
kernels never culled.

The workshop notebooks read their settings from ``SALES_RCA_*`` environment variables, which the
Voila kernels inherit from the server started here. The session file, the only thing written, goes
under the working folder (``out/workshop`` unless ``--session`` names one), never into the package.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sales_rca import resources
from sales_rca.errors import SalesRcaError

WORKSHOPS = resources.workshops_dir()
DEMO_DATA = resources.demo_file("salesforce_opportunities.csv")
DEMO_HISTORY = resources.demo_file("salesforce_opportunity_history.csv")
#: Sessions go under the working folder (relative: resolved when the server is built).
SESSION_DIR = Path("out") / "workshop"
DEMO_SESSION = SESSION_DIR / "demo.session"
#: Letters and digits that cannot be misread on a projector (no 0/O, 1/I/L).
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass
class WorkshopServer:
    """What ``sales-rca workshop`` starts: the command line, its environment and the URLs."""

    command: list[str]
    env: dict[str, str]
    join_code: str | None
    host: str = "127.0.0.1"
    port: int = 8866
    #: The host in the URLs: this machine's LAN address when listening on every interface.
    shown_host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.shown_host}:{self.port}/voila/render/workshop.ipynb"

    @property
    def join_url(self) -> str | None:
        """Where participants join (only with a join code)."""
        return self.url.replace("/workshop.ipynb", "/participant.ipynb") if self.join_code else None


def join_code(length: int = 6) -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(length))


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent), else loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def template_path() -> Path:
    """The folder holding ``voila/templates/sales_rca`` (added to JUPYTER_PATH)."""
    return resources.jupyter_dir()


def build_server(
    *,
    data: Path | None,
    history: Path | None = None,
    mapping: Path | None = None,
    session: Path | None = None,
    demo: bool = False,
    port: int = 8866,
    host: str = "127.0.0.1",
    participants: bool = False,
    agenda: str = "full",
    title: str | None = None,
    port_retries: int = 0,
) -> WorkshopServer:
    """Check the options and build the Voila command (nothing is started, nothing written).

    ``port_retries`` lets Voila try that many other ports when ``port`` is taken (then its log line
    "Voilà is running at: URL" tells which); the command line keeps 0, to say a port is taken.
    """
    if demo:
        data = data or DEMO_DATA
        history = history or DEMO_HISTORY
        session = session or DEMO_SESSION
        title = title or "Northwind Demo Co. — why do our deals die?"
    if data is None:
        raise SalesRcaError(
            "expected --data PATH (a CRM export) or --demo, found neither; "
            "run `sales-rca workshop --demo` to try it on the demo data."
        )
    for label, path in (("--data", data), ("--history", history), ("--mapping", mapping)):
        if path is not None and not Path(path).is_file():
            raise SalesRcaError(f"expected {label} to be a file, found nothing at {path}.")
    if agenda not in ("full", "short"):
        raise SalesRcaError(f"expected --agenda full or short, found {agenda!r}.")
    if not (WORKSHOPS / "workshop.ipynb").is_file():
        raise SalesRcaError(f"expected the workshop notebooks in {WORKSHOPS}, found none.")
    session = Path(session or SESSION_DIR / f"{Path(data).stem}.session").resolve()
    shown_host = "127.0.0.1" if host in ("127.0.0.1", "localhost") else host
    if host in ("0.0.0.0", "::"):
        shown_host = lan_address()
    code = join_code() if participants else None
    server = WorkshopServer(
        command=[], env={}, join_code=code, host=host, port=port, shown_host=shown_host
    )
    env = dict(os.environ)
    env.update(
        {
            "SALES_RCA_DATA": str(Path(data).resolve()),
            "SALES_RCA_HISTORY": str(Path(history).resolve()) if history else "",
            "SALES_RCA_MAPPING": str(Path(mapping).resolve()) if mapping else "",
            "SALES_RCA_SESSION": str(session),
            "SALES_RCA_AGENDA": agenda,
            "SALES_RCA_TITLE": title or "Sales root-cause workshop",
            "SALES_RCA_JOIN_CODE": code or "",
            "SALES_RCA_JOIN_URL": server.join_url or "",
            # Voila runs the kernels in the (installed) notebooks' folder: paths typed in the app
            # are relative to the folder the workshop was started in.
            "SALES_RCA_WORKDIR": str(Path.cwd()),
            "JUPYTER_PATH": os.pathsep.join(
                p for p in (str(template_path()), os.environ.get("JUPYTER_PATH", "")) if p
            ),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
    )
    server.env = env
    server.command = [
        sys.executable,
        "-m",
        "voila",
        str(WORKSHOPS),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        f"--Voila.port_retries={port_retries}",
        "--template=sales_rca",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        # A long discussion must never lose its kernel.
        "--MappingKernelManager.cull_idle_timeout=0",
        "--MappingKernelManager.cull_connected=False",
    ]
    return server


def check_port_free(host: str, port: int) -> None:
    """Raise a one-line error when ``host:port`` is taken (e.g. a workshop already running)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            raise SalesRcaError(
                f"expected port {port} on {host} to be free, found it in use (is a workshop "
                "already running?); stop it or choose another with --port."
            ) from None


def run(server: WorkshopServer) -> int:
    """Start Voila in the foreground and return its exit code (Ctrl+C stops it).

    The port is checked before anything is written; then the session's folder is created.
    """
    check_port_free(server.host, server.port)
    Path(server.env["SALES_RCA_SESSION"]).parent.mkdir(parents=True, exist_ok=True)
    print(f"sales-rca workshop: open {server.url}", flush=True)
    if server.join_url:
        print(f"participants join at {server.join_url} with code {server.join_code}", flush=True)
    print(f"session file: {server.env['SALES_RCA_SESSION']}", flush=True)
    try:
        return subprocess.call(server.command, env=server.env)
    except KeyboardInterrupt:
        return 0
