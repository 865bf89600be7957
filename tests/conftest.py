"""Shared test fixtures: paths to the test corpus, the demo data and the public datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
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
