"""Shared test fixtures: paths to the test corpus, the demo data and the public datasets, the
command line run in this process, and the batch runs (once per test session)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from batch_fixtures import BatchRun, run_demo_batch, run_hostile_batch
from suite_paths import CRM_CORPUS, DEMO_DIR, REAL_DATA, ROOT  # noqa: F401  (re-exported for tests)


@pytest.fixture
def corpus() -> Path:
    """Folder of odd and broken CRM exports (see tests/data/crm/make_corpus.py)."""
    return CRM_CORPUS


@pytest.fixture
def real_data() -> Path:
    """The public datasets in ../shared/data/real; tests using it skip when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip("public datasets not present at ../shared/data/real")
    return REAL_DATA


@dataclass(frozen=True)
class CliResult:
    """What a ``sales-rca`` command did: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """``cli("check", path, cwd=folder)``: ``sales-rca ARGS`` through ``main(argv)`` in this process
    (no interpreter start-up); one smoke test per entry point spawns the real ``sales-rca``."""
    from sales_rca.cli import main

    def run(*args: str | Path, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else int(done.code is not None)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


#: Fixtures that execute notebooks: a test using one is marked ``notebook`` (not in ``make test-fast``).
NOTEBOOK_FIXTURES = frozenset({"demo_batch", "hostile_batch"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NOTEBOOK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.notebook)


@pytest.fixture(scope="session")
def demo_batch() -> BatchRun:
    """The demo batch (see :func:`batch_fixtures.run_demo_batch`), run once per test session."""
    return run_demo_batch()


@pytest.fixture(scope="session")
def hostile_batch() -> BatchRun:
    """One client whose every text carries script payloads, run once per test session."""
    return run_hostile_batch()


@pytest.fixture(autouse=True)
def _kernels_only_in_notebook_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test that starts a Jupyter kernel must be marked ``notebook`` (so test-fast stays fast)."""
    if request.node.get_closest_marker("notebook") is not None:
        return
    from sales_rca.batch.kernel import Kernel

    def refuse(self: Kernel) -> None:
        raise AssertionError("this test starts a Jupyter kernel: mark it @pytest.mark.notebook")

    monkeypatch.setattr(Kernel, "start", refuse)
