"""The code base stays clean under the project's ruff rules (pyproject.toml)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from suite_paths import ROOT

PATHS = ["sales_rca", "tests", "benchmarks", "facilitator_guide"]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("ruff", path=str(ROOT / ".venv" / "bin")) or shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    return subprocess.run(
        [exe, *args, *PATHS], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_no_problem():
    result = ruff("check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_ruff_formatted():
    result = ruff("format", "--check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_notebooks_in_git_carry_no_outputs():
    for nb in sorted((ROOT / "sales_rca" / "workshops").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        assert not [c for c in cells if c.get("outputs")], f"{nb.name} has outputs"
        assert not [c for c in cells if c.get("execution_count")], f"{nb.name} has execution counts"
