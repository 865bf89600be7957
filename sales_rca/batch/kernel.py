"""Kernels for the batch: IPC transport (no TCP port race), start-up retries, and warm reuse.

Why: papermill starts every kernel on TCP ports that it picks free and then binds later; kernels
started at the same moment can pick the same port and die (a known papermill race). Unix-domain
sockets in a private folder have no such race. Starting a kernel and importing pandas, plotly and
the analyses costs seconds per client, so a :class:`Kernel` can also be reused for the next client
of the same worker: its namespace is reset before each notebook (``%reset -f``), and a kernel that
failed or died is replaced, never reused.

Only start-up is retried (a notebook error is the client's, and re-running it would hide it).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from traitlets import default

from sales_rca.errors import KernelStartError

log = logging.getLogger("sales_rca.batch")

ENGINE_NAME = "sales-rca"
#: Run before each notebook in a reused kernel: forget the previous client's variables.
RESET_CODE = "get_ipython().run_line_magic('reset', '-f')\nget_ipython().execution_count = 1\n"
#: Batch kernels keep no input history: nobody reads it, and parallel kernels would all write to the
#: same history database (and restarting the execution count would clash with it).
KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False"]
START_ATTEMPTS = 3
START_TIMEOUT = 60.0
#: ``on_cell(k, n)``: the k-th of n code cells starts.
CellHook = Callable[[int, int], None]


class IpcKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel listens on Unix sockets in its own temporary folder."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # Socket paths are "<ip>-<port>"; a short private folder keeps them unique and short.
        return str(Path(tempfile.mkdtemp(prefix="srca-")) / "k")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self.transport == "ipc":
            shutil.rmtree(Path(self.ip).parent, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


class Kernel:
    """One Jupyter kernel for batch runs: started with retries, reused until it fails.

    Example::

        with Kernel(cwd=notebook.parent) as k:
            k.execute(notebook, out1, {"client": "A"})
            k.execute(notebook, out2, {"client": "B"})   # same process, fresh namespace
    """

    def __init__(
        self,
        kernel_name: str = "python3",
        *,
        cwd: str | Path | None = None,
        startup_timeout: float = START_TIMEOUT,
        attempts: int = START_ATTEMPTS,
    ) -> None:
        self.kernel_name = kernel_name
        self.cwd = str(cwd) if cwd else None
        self.startup_timeout = startup_timeout
        self.attempts = attempts
        self.km: IpcKernelManager | None = None
        self.starts = 0

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def start(self) -> None:
        """Start the kernel if none is running; retry start-up failures only."""
        if self.km is not None:
            return
        last: BaseException | None = None
        for attempt in range(1, self.attempts + 1):
            km = IpcKernelManager(kernel_name=self.kernel_name)
            try:
                run_sync(km.start_kernel)(cwd=self.cwd, extra_arguments=KERNEL_ARGUMENTS)
                self._wait_ready(km)
            except Exception as exc:  # any start-up failure: clean up and try again
                last = exc
                log.warning("kernel start %d/%d failed: %s", attempt, self.attempts, exc)
                self._stop(km)
                continue
            self.km = km
            self.starts += 1
            return
        raise KernelStartError(
            f"The {self.kernel_name} kernel did not start after {self.attempts} attempts: {last}"
        )

    def _wait_ready(self, km: IpcKernelManager) -> None:
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)
        finally:
            kc.stop_channels()

    def discard(self) -> None:
        """Shut the kernel down so the next :meth:`execute` starts a fresh one."""
        if self.km is not None:
            km, self.km = self.km, None
            self._stop(km)

    shutdown = discard

    @staticmethod
    def _stop(km: IpcKernelManager) -> None:
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
            else:
                run_sync(km.cleanup_resources)()
        except Exception as exc:  # a kernel that will not stop must not stop the batch
            log.warning("kernel shutdown failed: %s", exc)

    def execute(
        self,
        notebook: str | Path,
        output: str | Path,
        parameters: dict[str, Any],
        *,
        execution_timeout: float | None = None,
        on_cell: CellHook | None = None,
    ) -> Any:
        """Execute ``notebook`` with ``parameters`` into ``output`` through papermill.

        ``on_cell(k, n)`` is called as the k-th of the notebook's n code cells starts (k from 1).
        Raises what papermill raises (``PapermillExecutionError`` for an error in a cell); after
        any error the kernel is discarded, so the next notebook gets a fresh one.
        """
        import papermill

        self.start()
        try:
            return papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=parameters,
                engine_name=ENGINE_NAME,
                kernel_name=self.kernel_name,
                progress_bar=False,
                log_output=False,
                start_timeout=int(self.startup_timeout),
                execution_timeout=execution_timeout,
                km=self.km,
                on_cell=on_cell,
            )
        except BaseException:
            self.discard()
            raise


class _ResettingClient(PapermillNotebookClient):
    """papermill's client on a running kernel: resets the namespace, then runs the cells."""

    def papermill_execute_cells(self) -> None:
        msg_id = self.kc.execute(RESET_CODE, silent=True, store_history=False)
        reply = self.wait_for_reply(msg_id)
        if reply is None or reply["content"].get("status") != "ok":
            raise RuntimeError("the kernel could not reset its namespace before the notebook")
        super().papermill_execute_cells()


class WarmKernelEngine(NBClientEngine):
    """papermill engine that runs a notebook on the already running kernel passed as ``km``."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        on_cell: CellHook | None = kwargs.get("on_cell")
        code = [
            i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code" and c.source.strip()
        ]

        def cell_started(cell: Any, cell_index: int) -> None:
            if on_cell is not None and cell_index in code:
                on_cell(code.index(cell_index) + 1, len(code))

        client = _ResettingClient(
            nb_man,
            km=kwargs["km"],
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=log,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            on_cell_start=cell_started,
        )
        try:
            return client.execute()
        finally:
            if client.kc is not None:
                client.kc.stop_channels()


papermill_engines.register(ENGINE_NAME, WarmKernelEngine)
