"""``sales-rca batch``: the diagnostic notebook executed with papermill for many clients.

Per client: ``DIR/<slug>/diagnostic.ipynb`` (kept when it fails), ``summary.html`` and
``results.json`` (when it succeeds); for the batch: ``DIR/manifest.json`` and ``DIR/index.html``.
See :mod:`.clients` for the clients file, :mod:`.kernel` for how kernels are started and reused,
:mod:`.run` for where jobs run (local processes or a dask cluster).

Example:
    >>> from sales_rca import resources
    >>> report = run_batch(resources.demo_clients_file(), "out/demo", jobs=2)   # doctest: +SKIP
    >>> [c.status for c in report.clients]
"""

from __future__ import annotations

from sales_rca.batch.clients import (
    BatchSpec,
    ClientJob,
    Parameter,
    load_batch,
    notebook_parameters,
    slugify,
    typed_value,
    unique_slugs,
)
from sales_rca.batch.run import BatchReport, ClientResult, failure_table, run_batch, run_client

__all__ = [
    "BatchReport",
    "BatchSpec",
    "ClientJob",
    "ClientResult",
    "Parameter",
    "failure_table",
    "load_batch",
    "notebook_parameters",
    "run_batch",
    "run_client",
    "slugify",
    "typed_value",
    "unique_slugs",
]
