"""Batch kernels: IPC transport (no TCP port race), start-up retried and nothing else, warm reuse
that never leaks one client's variables into the next."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbformat.v4 import new_code_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

from sales_rca.batch.kernel import IpcKernelManager, Kernel
from sales_rca.errors import KernelStartError, SalesRcaError

pytestmark = pytest.mark.notebook


def notebook(path: Path, *sources: str) -> Path:
    cells = [new_code_cell(sources[0]), *(new_code_cell(s) for s in sources[1:])]
    cells[0].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def outputs(path: Path) -> list[str]:
    nb = json.loads(path.read_text("utf-8"))
    return [
        "".join(o.get("text", "")) or "".join(o.get("data", {}).get("text/plain", ""))
        for c in nb["cells"]
        for o in c.get("outputs", [])
    ]


def test_kernels_talk_over_unix_sockets_not_tcp_ports() -> None:
    km = IpcKernelManager(kernel_name="python3")
    try:
        assert km.transport == "ipc"
        assert Path(km.ip).parent.is_dir()  # a private folder per kernel: socket paths never clash
        assert km.ip != IpcKernelManager(kernel_name="python3").ip
    finally:
        run_sync(km.cleanup_resources)()
    assert not Path(km.ip).parent.exists()


def test_a_reused_kernel_starts_each_notebook_with_a_fresh_namespace(tmp_path: Path) -> None:
    first = notebook(tmp_path / "a.ipynb", "value = 'A'", "secret = value * 2")
    second = notebook(
        tmp_path / "b.ipynb", "value = 'B'", "print(sorted(k for k in ('secret',) if k in dir()))"
    )
    cells: list[tuple[int, int]] = []
    with Kernel(cwd=tmp_path) as kernel:
        kernel.execute(first, tmp_path / "a.out.ipynb", {"value": "client A"})
        kernel.execute(
            second,
            tmp_path / "b.out.ipynb",
            {"value": "client B"},
            on_cell=lambda *c: cells.append(c),
        )
        assert kernel.starts == 1  # the same kernel ran both
    assert outputs(tmp_path / "b.out.ipynb") == ["[]\n"]
    assert cells == [(1, 3), (2, 3), (3, 3)]  # its two cells after papermill's parameters cell


def test_a_cell_error_is_not_retried_and_the_kernel_is_replaced(tmp_path: Path) -> None:
    counter = tmp_path / "runs.txt"
    failing = notebook(
        tmp_path / "fail.ipynb",
        f"path = {str(counter)!r}",
        "open(path, 'a').write('run\\n')",
        "raise ValueError('bad data')",
    )
    with Kernel(cwd=tmp_path) as kernel:
        with pytest.raises(PapermillExecutionError, match="bad data"):
            kernel.execute(failing, tmp_path / "fail.out.ipynb", {})
        assert kernel.km is None  # a kernel that failed is never reused
        ok = notebook(tmp_path / "ok.ipynb", "x = 1", "print(x)")
        kernel.execute(ok, tmp_path / "ok.out.ipynb", {})
        assert kernel.starts == 2
    assert counter.read_text() == "run\n"  # executed once: errors in cells are not retried
    assert (tmp_path / "fail.out.ipynb").exists()  # kept for debugging


def test_start_up_failures_are_retried(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = IpcKernelManager.start_kernel
    calls: list[int] = []

    async def flaky(self: IpcKernelManager, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Address already in use")
        await real(self, **kwargs)

    monkeypatch.setattr(IpcKernelManager, "start_kernel", flaky)
    with Kernel(cwd=tmp_path) as kernel:
        kernel.start()
        assert kernel.km is not None and kernel.km.has_kernel
    assert len(calls) == 2


def test_a_kernel_that_never_starts_gives_up_after_the_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    async def broken(self: IpcKernelManager, **kwargs: object) -> None:
        calls.append(1)
        raise RuntimeError("kernel died before replying")

    monkeypatch.setattr(IpcKernelManager, "start_kernel", broken)
    with pytest.raises(KernelStartError, match=r"3 attempts.*kernel died"):
        Kernel(attempts=3).start()
    assert len(calls) == 3
    assert issubclass(KernelStartError, SalesRcaError)  # one line for the user, no traceback
