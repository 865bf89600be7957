"""Write the offline HTML summary of one workshop session, with or without the client's data.

It lives in ``batch`` (not ``report``) because with data it runs the diagnostic like one batch
client: ``batch`` uses ``report``, never the other way round.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sales_rca.batch.clients import DEFAULT_NOTEBOOK, ClientJob, slugify
from sales_rca.batch.run import ProgressHook, no_progress, run_client
from sales_rca.errors import BatchError


def write_summary(
    session: str | Path,
    out: str | Path,
    *,
    data: str | Path | None = None,
    history: str | Path | None = None,
    mapping: str | Path | None = None,
    client: str | None = None,
    currency: str = "",
    period: str = "",
    benchmark: str | Path | None = None,
    names: bool = False,
    progress: ProgressHook = no_progress,
) -> Path:
    """Write ``out``: the summary of the session at ``session``.

    Without ``data``: what the team decided (trees, fishbone, ranking, plays, actions), in a few
    seconds and without a kernel. With ``data``: the full diagnostic (data check, x-ray, loss coding
    with the team's coding decisions, hypotheses) executed like one ``sales-rca batch`` client.
    ``benchmark`` (a ``benchmark.json``) adds how the team compares with other clients (with
    ``data``). ``names``: reps and managers named (default: described, whatever the session
    showed). ``progress(what, step, steps)`` hears of each step (see :func:`~sales_rca.batch.run.run_client`).

    Raises:
        BatchError: an input file is missing or the diagnostic failed (the message says why).
    """
    from sales_rca.report.html import render_html, session_notebook
    from sales_rca.report.sections import session_state

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        progress("reading the session", 1, 2)
        notebook = session_notebook(
            session_state(str(session)), client=client, currency=currency, names=names
        )
        progress("writing the HTML file", 2, 2)
        render_html(notebook, out)
        return out
    state = session_state(str(session))
    if state is None:  # a session path was given, so there is a state
        raise BatchError(f"expected a workshop session at {session}, found none.")

    client_name = client or state.title
    parameters: dict[str, str | bool] = {
        "client": client_name,
        "export_path": str(Path(data).resolve()),
        "history_path": str(Path(history).resolve()) if history else "",
        "mapping_path": str(Path(mapping).resolve()) if mapping else "",
        "session_path": str(Path(session).resolve()),
        "currency": currency,
        "period": period,
        "benchmark_path": str(Path(benchmark).resolve()) if benchmark else "",
        "show_names": names,
    }
    inputs = {k: str(v) for k, v in parameters.items() if k.endswith("_path") and v}
    missing = [v for v in inputs.values() if not Path(v).is_file()]
    if missing:
        raise BatchError(f"expected an input file at {missing[0]}, found nothing.")
    with tempfile.TemporaryDirectory(prefix="sales-rca-export-") as tmp:
        slug = slugify(client_name)
        job = ClientJob(
            name=client_name,
            slug=slug,
            notebook=str(DEFAULT_NOTEBOOK),
            out_dir=str(Path(tmp) / slug),
            parameters=parameters,
            inputs=inputs,
        )
        result = run_client(job, progress=progress)
        if not result.ok:
            raise BatchError(f"the diagnostic failed for {data}: {result.error}")
        (Path(tmp) / slug / "summary.html").replace(out)
    return out
