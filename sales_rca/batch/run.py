"""Running a batch: one job per client, on this machine (``jobs`` at once) or a dask cluster.

A client's job never raises: whatever goes wrong becomes its ``error`` and the batch goes on. Its
notebook is kept (with the failing cell's traceback) for debugging, but no summary is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

from sales_rca import __version__
from sales_rca.batch.clients import ClientJob, file_sha256, load_batch
from sales_rca.batch.index import write_index, write_manifest
from sales_rca.errors import BatchError
from sales_rca.report.summary import RESULTS_FILE, results_from_notebook

NOTEBOOK_FILE = "diagnostic.ipynb"
SUMMARY_FILE = "summary.html"


@dataclass
class ClientResult:
    """What happened to one client (a row of the manifest).

    ``parameters`` are every parameter the notebook was given (after defaults); ``inputs`` every
    file they name, by parameter: ``{"path": ..., "sha256": ...}``.
    """

    name: str
    slug: str
    status: str  # "ok" or "failed"
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, str | None] = field(default_factory=dict)
    results: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("results")
        return data


@dataclass
class BatchReport:
    """The outcome of a batch: one :class:`ClientResult` per client, in the clients file's order."""

    out: Path
    clients: list[ClientResult]
    manifest: Path
    index: Path
    benchmark: Path | None = None

    @property
    def failed(self) -> list[ClientResult]:
        return [c for c in self.clients if not c.ok]


def _error_text(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        # papermill numbers cells from 1 in its message; keep the error itself on one line
        return f"cell {exc.exec_count or exc.cell_index}: {exc.ename}: {' '.join(str(exc.evalue).split())}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: ``progress(what, step, steps)``: step ``step`` of ``steps`` starts, e.g.
#: ("running the diagnostic", 3, 14); ``steps`` is 0 while not known yet.
ProgressHook = Callable[[str, int, int], None]


def no_progress(what: str, step: int, steps: int) -> None:
    """The default :data:`ProgressHook`: tell nobody."""


def run_client(
    job: ClientJob,
    kernel: Any = None,
    *,
    execution_timeout: float | None = 600,
    progress: ProgressHook = no_progress,
) -> ClientResult:
    """Execute one client's notebook, then write its results and HTML summary.

    ``kernel`` is a :class:`~sales_rca.batch.kernel.Kernel` to reuse; without one, a kernel is
    started for this client and shut down after it. ``progress`` hears of each step: the start
    (step 0, of a number not known yet), each code cell, then writing the HTML file. Never raises.
    """
    from sales_rca.batch.kernel import Kernel
    from sales_rca.report.html import render_html

    out = Path(job.out_dir)
    result = ClientResult(job.name, job.slug, "failed", parameters=dict(job.parameters))
    result.inputs = {name: {"path": path, "sha256": ""} for name, path in job.inputs.items()}
    start = time.perf_counter()
    try:
        for entry in result.inputs.values():
            entry["sha256"] = file_sha256(entry["path"])
        out.mkdir(parents=True, exist_ok=True)
        # A re-run into the same folder must not leave the previous run's summary behind.
        for stale in (SUMMARY_FILE, RESULTS_FILE):
            (out / stale).unlink(missing_ok=True)
        if job.problem:
            raise BatchError(job.problem)
        notebook_out = out / NOTEBOOK_FILE
        own = kernel is None
        kernel = kernel or Kernel(cwd=Path(job.notebook).parent)
        steps = 0
        progress("starting the diagnostic", 0, steps)

        def cell(k: int, n: int) -> None:
            nonlocal steps
            steps = n + 1  # the cells, then the HTML file
            progress("running the diagnostic", k, steps)

        try:
            t0 = time.perf_counter()
            kernel.execute(
                job.notebook,
                notebook_out,
                job.parameters,
                execution_timeout=execution_timeout,
                on_cell=cell,
            )
            result.timings["execute_s"] = round(time.perf_counter() - t0, 3)
        finally:
            result.outputs["notebook"] = (
                f"{job.slug}/{NOTEBOOK_FILE}" if notebook_out.exists() else None
            )
            if own:
                kernel.shutdown()
                _close_thread_loop()  # in a worker thread (dask, the app's summary job)
        import nbformat

        nb = nbformat.read(notebook_out, as_version=4)
        results = results_from_notebook(nb)
        if results is None:
            raise BatchError(
                "the notebook ran but displayed no results (is its 'results' cell there?)"
            )
        (out / RESULTS_FILE).write_text(json.dumps(results, indent=1, ensure_ascii=False), "utf-8")
        result.outputs["results"] = f"{job.slug}/{RESULTS_FILE}"
        t0 = time.perf_counter()
        progress("writing the HTML file", steps, steps)
        render_html(nb, out / SUMMARY_FILE)
        result.timings["render_s"] = round(time.perf_counter() - t0, 3)
        result.outputs["summary"] = f"{job.slug}/{SUMMARY_FILE}"
        result.results = results
        result.status = "ok"
    except Exception as exc:
        result.error = _error_text(exc)
        (out / SUMMARY_FILE).unlink(missing_ok=True)
        result.outputs["summary"] = None
    result.outputs.setdefault("notebook", None)
    result.timings["total_s"] = round(time.perf_counter() - start, 3)
    return result


# --- where jobs run --------------------------------------------------------------------------------

_WORKER_KERNEL: Any = None


def _run_in_worker(job: ClientJob) -> ClientResult:
    """Run a job in a pool worker on the worker's own kernel, kept warm for its next client."""
    global _WORKER_KERNEL
    if _WORKER_KERNEL is None:
        from sales_rca.batch.kernel import Kernel

        _WORKER_KERNEL = Kernel(cwd=Path(job.notebook).parent)
        # Shut the kernel down when the worker process exits (pool shutdown).
        Finalize(_WORKER_KERNEL, _WORKER_KERNEL.shutdown, exitpriority=10)
    return run_client(job, _WORKER_KERNEL)


def _close_thread_loop() -> None:
    """Close the event loop the kernel client opened in this worker thread (a thread's loop is
    never closed by anyone else, and would leak when the thread ends). On a dask worker, a job
    with a kernel of its own leaves nothing running after it."""
    if threading.current_thread() is threading.main_thread():
        return
    with contextlib.suppress(RuntimeError):
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if not loop.is_running():
            loop.close()
            asyncio.set_event_loop(None)


def _local(jobs: list[ClientJob], n: int, done: Callable[[ClientResult], None]) -> None:
    if n <= 1:
        from sales_rca.batch.kernel import Kernel

        with Kernel(cwd=Path(jobs[0].notebook).parent) as kernel:
            for job in jobs:
                done(run_client(job, kernel))
        return
    # spawn: a forked child would inherit the parent's threads (progress bar) and event loop.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=context) as pool:
        futures = [pool.submit(_run_in_worker, job) for job in jobs]
        for future in as_completed(futures):
            done(future.result())


#: What ``--scheduler`` needs (an optional extra, not installed by ``pip install sales-rca``).
DISTRIBUTED_EXTRA = "pip install 'sales-rca[distributed]'"


def require_distributed() -> None:
    """Raise a one-line :class:`BatchError` naming the extra to install when dask is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise BatchError(
            "expected dask.distributed for --scheduler, found it not installed; "
            f"install it with: {DISTRIBUTED_EXTRA}"
        ) from None


def _dask(jobs: list[ClientJob], address: str, done: Callable[[ClientResult], None]) -> None:
    require_distributed()
    from distributed import Client
    from distributed import as_completed as dask_completed

    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise BatchError(f"Cannot reach the dask scheduler at {address}: {exc}") from None
    with client:
        futures = client.map(
            run_client, jobs, pure=False, key=[f"sales-rca-{j.slug}" for j in jobs]
        )
        for future in dask_completed(futures):
            done(future.result())


def run_batch(
    clients_file: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    anonymise: bool = False,
    progress: bool = True,
) -> BatchReport:
    """Run the diagnostic for every client of ``clients_file`` into ``out``.

    Writes ``out/<slug>/diagnostic.ipynb`` (kept when it fails), ``out/<slug>/summary.html`` and
    ``results.json`` (only when it succeeds), ``out/manifest.json`` (per client: the parameters used
    and the SHA-256 of every input file) and ``out/index.html``.

    Raises:
        BatchError: the clients file or its parameters are invalid (before anything runs).
    """
    if jobs < 1:
        raise BatchError(f"--jobs must be at least 1, found {jobs}.")
    if scheduler:
        require_distributed()  # before anything is read or written
    spec = load_batch(clients_file)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    planned = spec.jobs(out)
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    by_slug: dict[str, ClientResult] = {}
    bar = _progress(len(planned), progress)

    def done(result: ClientResult) -> None:
        by_slug[result.slug] = result
        bar.set_postfix_str(f"{result.slug}: {result.status}", refresh=False)
        bar.update(1)

    try:
        if scheduler:
            _dask(planned, scheduler, done)
        else:
            _local(planned, min(jobs, len(planned)), done)
    finally:
        bar.close()
    results = [by_slug[j.slug] for j in planned if j.slug in by_slug]
    meta = {
        "clients_file": str(Path(clients_file).resolve()),
        "clients_file_sha256": file_sha256(clients_file),
        "notebook": str(spec.notebook),
        "notebook_sha256": file_sha256(spec.notebook),
        "sales_rca_version": __version__,
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 3),
        "jobs": jobs,
        "scheduler": scheduler,
        "host": os.uname().nodename if hasattr(os, "uname") else "",
    }
    manifest = write_manifest(out, results, meta)
    index = write_index(out, results, anonymise=anonymise)
    benchmark = _write_benchmark(out, results, spec.vocabulary)
    return BatchReport(
        out=out, clients=results, manifest=manifest, index=index, benchmark=benchmark
    )


def _write_benchmark(
    out: Path, results: list[ClientResult], vocabulary: dict[str, dict[str, list[str]]]
) -> Path:
    """``out/benchmark.json``: the anonymised portfolio of the clients that ran
    (:mod:`sales_rca.impact.benchmark`)."""
    from sales_rca.impact.benchmark import BENCHMARK_FILE, Vocabulary, write_benchmark

    words = Vocabulary.default(vocabulary.get("stages"), vocabulary.get("segments"))
    done = [r.results for r in results if r.ok and r.results is not None]
    return write_benchmark(out / BENCHMARK_FILE, done, words)


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="client", desc="clients", disable=not enabled, leave=True)


def failure_table(results: Iterable[ClientResult]) -> str:
    """The failed clients as a plain-text table: slug, client, error (one line each)."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return ""
    slug_w = max(4, *(len(r.slug) for r in failed))
    name_w = min(30, max(6, *(len(r.name) for r in failed)))
    lines = [f"{'slug':<{slug_w}}  {'client':<{name_w}}  error"]
    lines.append(f"{'-' * slug_w}  {'-' * name_w}  -----")
    for r in failed:
        lines.append(f"{r.slug:<{slug_w}}  {r.name[:name_w]:<{name_w}}  {r.error or ''}")
    return "\n".join(lines)
