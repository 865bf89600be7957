"""Start the live workshop: :mod:`sales_rca.ui.server` (Voila with a facilitator key and the
participants' kernel-free join page) on the packaged ``sales_rca/workshops``, offline, code hidden.

The workshop notebooks read their settings from ``SALES_RCA_*`` environment variables, which the
Voila kernels inherit from the server started here. The session file, the only thing written, goes
under the working folder (``out/workshop`` unless ``--session`` names one), never into the package.
It is opened (or created) before the server starts, and holds the facilitator key and the join code,
so a restart keeps both: the facilitator's bookmark and every phone's link still work.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sales_rca import resources
from sales_rca.errors import SalesRcaError
from sales_rca.session import open_or_create
from sales_rca.ui.join import new_join_code

WORKSHOPS = resources.workshops_dir()
DEMO_DATA = resources.demo_file("salesforce_opportunities.csv")
DEMO_HISTORY = resources.demo_file("salesforce_opportunity_history.csv")
#: Sessions go under the working folder (relative: resolved when the server is built).
SESSION_DIR = Path("out") / "workshop"
DEMO_SESSION = SESSION_DIR / "demo.session"
#: Seconds a kernel whose page is gone (no connection) lives on before it is shut down.
KERNEL_GRACE_SECONDS = 300
#: Seconds after a page took the pre-heated kernel before the next one starts.
PREHEAT_DELAY_SECONDS = 10


@dataclass
class WorkshopServer:
    """What ``sales-rca workshop`` starts: the command line, its environment and the URLs.

    :meth:`prepare` opens the session and reads its facilitator key and join code (made on first
    use); until then ``key`` and ``join_code`` are empty.
    """

    command: list[str]
    env: dict[str, str]
    participants: bool = False
    host: str = "127.0.0.1"
    port: int = 8866
    #: The host in the URLs: this machine's LAN address when listening on every interface.
    shown_host: str = "127.0.0.1"
    key: str = ""
    join_code: str | None = None

    @property
    def base(self) -> str:
        return f"http://{self.shown_host}:{self.port}"

    @property
    def url(self) -> str:
        """The facilitator's page, with the key: whoever has this URL drives the workshop."""
        return f"{self.base}/voila/render/workshop.ipynb?token={self.key}"

    @property
    def room_url(self) -> str:
        """The room screen for the projector (facilitator key required, like the app)."""
        return f"{self.base}/room/?token={self.key}"

    @property
    def join_url(self) -> str | None:
        """Where phones join (only with ``--participants`` on a network address)."""
        if not (self.participants and self.join_code) or _is_loopback(self.host):
            return None
        return f"{self.base}/join/?code={self.join_code}"

    @property
    def session(self) -> Path:
        return Path(self.env["SALES_RCA_SESSION"])

    def prepare(self) -> None:
        """Open (or create) the session file, then take its key and join code into the command.

        Raises SalesRcaError in one line when the session file cannot be opened (corrupt,
        truncated, from a newer sales-rca): the workshop never starts on a broken session.
        """
        self.session.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open_or_create(self.session, self.env["SALES_RCA_TITLE"]) as session:
                self.key = session.secret("facilitator_key")
                self.join_code = session.secret("join_code", make=new_join_code)
        except SalesRcaError as exc:
            raise SalesRcaError(
                f"expected a session file sales-rca can open at {self.session}, found: "
                f"{str(exc).rstrip('.')}; move it aside or start with another --session."
            ) from None
        self.env["SALES_RCA_JOIN_CODE"] = self.join_code if self.participants else ""
        self.env["SALES_RCA_JOIN_URL"] = self.join_url or ""
        self.command = [a for a in self.command if not a.startswith("--Voila.token=")]
        self.command.append(f"--Voila.token={self.key}")


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


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
    data_dir: Path | None = None,
    benchmark: Path | None = None,
    review: Path | None = None,
    review_history: Path | None = None,
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
    for label, path in (
        ("--data", data), ("--history", history), ("--mapping", mapping), ("--benchmark", benchmark),
        ("--review", review), ("--review-history", review_history),
    ):  # fmt: skip
        if path is not None and not Path(path).is_file():
            raise SalesRcaError(f"expected {label} to be a file, found nothing at {path}.")
    if review_history is not None and review is None:
        raise SalesRcaError(
            "expected --review NEW_EXPORT with --review-history, found only the history."
        )
    data_dir = Path(data_dir) if data_dir is not None else Path(data).parent
    if not data_dir.is_dir():
        raise SalesRcaError(f"expected --data-dir to be a folder, found nothing at {data_dir}.")
    if agenda not in ("full", "short"):
        raise SalesRcaError(f"expected --agenda full or short, found {agenda!r}.")
    if not (WORKSHOPS / "workshop.ipynb").is_file():
        raise SalesRcaError(f"expected the workshop notebooks in {WORKSHOPS}, found none.")
    session = Path(session or SESSION_DIR / f"{Path(data).stem}.session").resolve()
    shown_host = "127.0.0.1" if _is_loopback(host) else host
    if host in ("0.0.0.0", "::"):
        shown_host = lan_address()
    server = WorkshopServer(
        command=[], env={}, participants=participants, host=host, port=port, shown_host=shown_host
    )
    env = dict(os.environ)
    env.update(
        {
            "SALES_RCA_DATA": str(Path(data).resolve()),
            "SALES_RCA_HISTORY": str(Path(history).resolve()) if history else "",
            "SALES_RCA_MAPPING": str(Path(mapping).resolve()) if mapping else "",
            "SALES_RCA_DATA_DIR": str(data_dir.resolve()),
            "SALES_RCA_SESSION": str(session),
            "SALES_RCA_AGENDA": agenda,
            "SALES_RCA_TITLE": title or "Sales root-cause workshop",
            "SALES_RCA_JOIN_CODE": "",
            "SALES_RCA_JOIN_URL": "",
            "SALES_RCA_BENCHMARK": str(Path(benchmark).resolve()) if benchmark else "",
            "SALES_RCA_REVIEW": str(Path(review).resolve()) if review else "",
            "SALES_RCA_REVIEW_HISTORY": str(Path(review_history).resolve())
            if review_history
            else "",
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
        "sales_rca.ui.server",
        str(WORKSHOPS),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        f"--Voila.port_retries={port_retries}",
        "--template=sales_rca",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--WorkshopServer.session_path={session}",
        # A page's kernel lives as long as the page: one with no connection for the grace period
        # is shut down; an open page (connected) is never culled, however long the discussion.
        f"--MappingKernelManager.cull_idle_timeout={KERNEL_GRACE_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
        # A pre-heated kernel has run the workshop notebook (data loaded, analyses computed)
        # before the page asks for it: the first step is interactive at once, a refresh too.
        # The next one starts a little later, so it does not slow the page just opened.
        "--VoilaConfiguration.preheat_kernel=True",
        "--VoilaConfiguration.default_pool_size=1",
        f"--VoilaKernelManager.fill_delay={PREHEAT_DELAY_SECONDS}",
        "--VoilaKernelManager.preheat_denylist=diagnostic",
    ]
    return server


def check_port_free(host: str, port: int) -> None:
    """Raise a one-line error when ``host:port`` is taken (e.g. a workshop already running)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # As the server binds: a port left in TIME_WAIT by a crashed workshop is free at once.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
    server.prepare()
    print(f"sales-rca workshop: open {server.url}", flush=True)
    print("  (this link carries the facilitator key: keep it to yourself)", flush=True)
    print(f"room screen for the projector: {server.room_url}", flush=True)
    if server.join_url:
        print(f"participants join at {server.join_url} with code {server.join_code}", flush=True)
    elif server.participants:
        print(
            f"participants: phones cannot reach {server.host}; start with --host 0.0.0.0 to let "
            "them join over the local network.",
            flush=True,
        )
    print(f"session file: {server.session}", flush=True)
    try:
        return subprocess.call(server.command, env=server.env)
    except KeyboardInterrupt:
        return 0
