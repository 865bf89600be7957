"""The workshop's web server: Voila for the facilitator, a kernel-free page for participants.

``python -m sales_rca.ui.server`` takes Voila's own options (``sales-rca workshop`` builds them,
see :mod:`sales_rca.ui.serve`) and adds what a room on shared Wi-Fi needs:

- **A facilitator key.** Voila's token: the facilitator's URL carries it (``?token=...``, then a
  cookie). Without it the workshop page, any listing and every kernel API answer 403 and start
  nothing; there is no login form to guess at. Only ``workshop.ipynb`` renders.
- **Participants without kernels.** ``/join/`` is a static page and ``/join/api/*`` a small JSON
  API over :class:`sales_rca.ui.join.Room`: no key needed, no kernel started, nothing else reachable.
- **Kernels that live as long as their page.** The page's own shutdown beacon works (the
  ``_xsrf`` cookie it sends is set here), kernels without a connection are culled after
  ``--MappingKernelManager.cull_idle_timeout`` and at most :data:`MAX_FACILITATOR_KERNELS` pages
  run at once.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from traitlets import Integer, Unicode
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from sales_rca import resources
from sales_rca.errors import SalesRcaError
from sales_rca.ui.join import JoinError, Room
from sales_rca.ui.screen import RoomScreen

#: Kernels that may run at once: the pre-heated one waiting for the next page, the facilitator's
#: laptop, a second tab, a spare (the room screen and the phones need none).
MAX_FACILITATOR_KERNELS = 4
#: The page served to facilitators; nothing else renders.
WORKSHOP_NOTEBOOK = "workshop.ipynb"
COOKIE = "srca_me"
COOKIE_DAYS = 7


class _KeyRequired:
    """Unauthenticated requests get a plain 403, not a login form."""

    def get_login_url(self) -> str:
        raise tornado.web.HTTPError(403, "the facilitator key is missing or wrong")


class FacilitatorPage(_KeyRequired, TornadoVoilaHandler):
    """``/voila/render/workshop.ipynb`` for the key holder only, a bounded number of times."""

    @tornado.web.authenticated
    async def get(self, path: str | None = None) -> None:
        if path != WORKSHOP_NOTEBOOK:
            raise tornado.web.HTTPError(404)
        manager = self.kernel_manager
        kernels = list(manager.list_kernel_ids())
        if len(kernels) >= MAX_FACILITATOR_KERNELS:
            # Pages closed without their beacon (a crashed tab) leave kernels with no connection.
            pooled = _pooled_kernels(manager)
            for kernel_id in kernels:
                if kernel_id not in pooled and manager._kernel_connections.get(kernel_id, 0) == 0:
                    await manager.shutdown_kernel(kernel_id)
            if len(list(manager.list_kernel_ids())) >= MAX_FACILITATOR_KERNELS:
                raise tornado.web.HTTPError(
                    503, f"the workshop is already open in {MAX_FACILITATOR_KERNELS} tabs"
                )
        # The page's shutdown beacon sends the _xsrf cookie: make sure it exists.
        self.xsrf_token  # noqa: B018
        await super().get(path)


def _pooled_kernels(manager: Any) -> set[str]:
    """The pre-heated kernels waiting for a page (they have no connection yet, and must keep it
    that way until one takes them)."""
    found: set[str] = set()
    for pool in getattr(manager, "_pools", {}).values():
        for item in pool:
            if item.done() and not item.cancelled() and item.exception() is None:
                found.add(item.result().get("kernel_id", ""))
    return found


class FacilitatorTree(_KeyRequired, TornadoVoilaTreeHandler):
    """The listing Voila would show: the key holder is sent to the workshop page instead."""

    @tornado.web.authenticated
    def get(self, path: str = "") -> None:
        self.redirect(self.base_url + f"voila/render/{WORKSHOP_NOTEBOOK}")


class JoinPage(tornado.web.StaticFileHandler):
    """The participant page's files; ``/join/`` is ``index.html`` and sets the _xsrf cookie."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'",
        )
        self.xsrf_token  # noqa: B018


class JoinApi(tornado.web.RequestHandler):
    """``/join/api/<action>``: JSON in, JSON out, the participant named by a signed cookie."""

    room: Room

    def initialize(self, room: Room) -> None:
        self.room = room

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        # Another site cannot make a phone's browser act: a POST carries the page's _xsrf token.
        if self.request.method == "POST":
            self.check_xsrf_cookie()

    def _token(self) -> str | None:
        return self.get_cookie(COOKIE)

    def _body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise JoinError("The page sent something unreadable: reload it.") from None
        if not isinstance(data, dict):
            raise JoinError("The page sent something unreadable: reload it.")
        return data

    async def _answer(self, work: Callable[[], Any]) -> None:
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, work)
        except JoinError as exc:
            self.set_status(exc.status)
            self.finish({"error": str(exc)})
            return
        except SalesRcaError as exc:  # the workshop refused it (e.g. too many dots): say why
            self.set_status(409)
            self.finish({"error": str(exc).rstrip(".") + "."})
            return
        except Exception:  # never a traceback on a phone; the log has it
            self.log_exception(*sys.exc_info())
            self.set_status(500)
            self.finish({"error": "The workshop could not save that: try again in a moment."})
            return
        if token := result.pop("token", None):
            self.set_cookie(
                COOKIE,
                token,
                httponly=True,
                samesite="Strict",
                expires_days=COOKIE_DAYS,
                path="/join/",
            )
        self.finish(result)

    async def get(self, action: str) -> None:
        if action != "state":
            raise tornado.web.HTTPError(404)
        await self._answer(lambda: self.room.view(self._token()))

    async def post(self, action: str) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "join": self._join,
            "vote": lambda b: {
                "state": self.room.vote(self._token(), str(b.get("cause", "")), _int(b.get("dots")))
            },
            "rank": lambda b: {"state": self.room.rank(self._token(), _list(b.get("causes")))},
            "cause": lambda b: {
                "state": self.room.propose(
                    self._token(), str(b.get("category", "")), str(b.get("text", ""))
                ),
                "message": "Sent: it appears on the screen once the facilitator adds it.",
            },
        }
        if action not in handlers:
            raise tornado.web.HTTPError(404)
        try:
            body = self._body()
        except JoinError as exc:
            self.set_status(exc.status)
            self.finish({"error": str(exc)})
            return
        await self._answer(lambda: handlers[action](body))

    def _join(self, body: dict[str, Any]) -> dict[str, Any]:
        token, view = self.room.join(
            str(body.get("code") or ""),
            str(body.get("name") or ""),
            self._token(),
            self.request.remote_ip or "",
        )
        return {"state": view, "token": token, "message": f"Welcome, {view.get('me', '')}."}


def room_files() -> dict[str, tuple[Any, str]]:
    """The room screen's files (name: where it is, its type); nothing else is served at /room/."""
    import plotly

    room = resources.packaged("resources", "room")
    return {
        "index.html": (room / "index.html", "text/html; charset=utf-8"),
        "room.js": (room / "room.js", "text/javascript; charset=utf-8"),
        "sales-rca.css": (resources.template_dir() / "sales-rca.css", "text/css; charset=utf-8"),
        "plotly.min.js": (
            Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
            "text/javascript; charset=utf-8",
        ),
    }


class _RoomHandler(_KeyRequired, JupyterHandler):
    """The room screen is the facilitator's: it needs the key (the facilitator page's cookie, or
    ``?token=``), like the workshop page; phones on the Wi-Fi get 403."""

    @property
    def content_security_policy(self) -> str:
        # plotly.js injects its own <style> elements for the charts.
        return (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'"
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Plain words, no server template: e.g. "403: the facilitator key is missing or wrong".
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        exc = kwargs.get("exc_info", (None, None))[1]
        reason = getattr(exc, "log_message", None) or self._reason
        self.finish(f"{status_code}: {reason}")

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")


class RoomFile(_RoomHandler):
    """``/room/`` (the page), its script, the stylesheet and plotly.js."""

    files: ClassVar[dict[str, tuple[Any, str]]] = {}

    @tornado.web.authenticated
    def get(self, name: str = "") -> None:
        if not self.files:
            RoomFile.files = room_files()
        found = self.files.get(name or "index.html")
        if found is None:
            raise tornado.web.HTTPError(404)
        path, kind = found
        self.set_header("Content-Type", kind)
        self.finish(path.read_bytes())


class RoomApi(_RoomHandler):
    """``/room/api/state``: what the projector shows now (:mod:`sales_rca.ui.screen`)."""

    screen: RoomScreen

    def initialize(self, screen: RoomScreen) -> None:
        self.screen = screen

    @tornado.web.authenticated
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        try:
            view = await asyncio.get_running_loop().run_in_executor(None, self.screen.view)
        except Exception:  # the page keeps the last picture; the log has the details
            self.log_exception(*sys.exc_info())
            self.set_status(500)
            self.finish({"error": "The room screen could not be drawn."})
            return
        self.finish(json.dumps(view, allow_nan=False))


class Ping(tornado.web.RequestHandler):
    """``/sales-rca/ping``: the server answers, with when it started (a restart changes it)."""

    started = f"{time.time():.6f}"

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish({"started": self.started})


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise JoinError("Expected a number of dots.") from None


def _list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise JoinError("Expected your ranking as a list of causes.")
    return [str(v) for v in value]


class WorkshopServer(Voila):
    """Voila with a facilitator key and the participants' page."""

    name = "sales-rca-workshop"
    session_path = Unicode("", config=True, help="The workshop's session file.")
    max_kernels = Integer(MAX_FACILITATOR_KERNELS, config=True)

    def init_handlers(self) -> list:
        handlers = []
        for handler in super().init_handlers():
            pattern, cls, *rest = handler
            if pattern.rstrip("/").endswith("/login"):
                continue  # no login form to guess at: the key is in the facilitator's URL
            if cls is TornadoVoilaHandler:
                cls = FacilitatorPage
            elif cls is TornadoVoilaTreeHandler:
                cls = FacilitatorTree
            handlers.append((pattern, cls, *rest))
        join: list = [(r"/sales-rca/ping", Ping)]
        if self.session_path:
            room = Room(self.session_path)
            join += [
                (r"/room/api/state", RoomApi, {"screen": RoomScreen(self.session_path)}),
                (r"/room/([a-z.-]*)", RoomFile),
                (r"/room", tornado.web.RedirectHandler, {"url": "/room/"}),
                (r"/join/api/([a-z]+)", JoinApi, {"room": room}),
                (r"/join/(sales-rca\.css)", JoinPage, {"path": str(resources.template_dir())}),
                (
                    r"/join/(.*)",
                    JoinPage,
                    {
                        "path": str(resources.packaged("resources", "join")),
                        "default_filename": "index.html",
                    },
                ),
                (r"/join", tornado.web.RedirectHandler, {"url": "/join/"}),
            ]
        return join + handlers


def main(argv: list[str] | None = None) -> None:
    WorkshopServer.launch_instance(argv)


if __name__ == "__main__":
    main()
