"""Batch speed: ``sales-rca batch --jobs 2`` against the plain command lines, on the same 12 clients.

The baseline is what a consultant would script without sales-rca: for each client, the ``papermill``
command line, then ``jupyter nbconvert --to html --no-input``, one client after the other. Both run
the same notebook on the same data (the three demo export shapes, four clients each), in this run.
Prints both wall-clock times and the ratio (target: at least 2.5x on a 2-core machine).

    python benchmarks/bench_batch.py [--clients 12] [--jobs 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from sales_rca import resources

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOK = resources.notebook("diagnostic.ipynb")
DEMO = resources.demo_dir()
SHAPES = [
    {
        "export_path": str(DEMO / "salesforce_opportunities.csv"),
        "history_path": str(DEMO / "salesforce_opportunity_history.csv"),
    },
    {
        "export_path": str(DEMO / "clients" / "hubspot_deals.xlsx"),
        "official_stages": [
            "Appointment Scheduled",
            "Qualified To Buy",
            "Presentation Scheduled",
            "Decision Maker Bought-In",
            "Contract Sent",
        ],
    },
    {
        "export_path": str(DEMO / "clients" / "european_opportunities.csv"),
        "mapping_path": str(DEMO / "clients" / "european_mapping.yaml"),
        "currency": "EUR",
    },
]


def clients(n: int) -> list[dict]:
    return [
        {"name": f"Client {i + 1:02d}", "parameters": dict(SHAPES[i % len(SHAPES)])}
        for i in range(n)
    ]


def run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")


def sequential_command_lines(todo: list[dict], out: Path) -> float:
    """papermill + jupyter nbconvert per client, one after the other."""
    out.mkdir(parents=True)
    start = time.perf_counter()
    for i, client in enumerate(todo):
        params = {"client": client["name"], **client["parameters"]}
        params_file = out / f"params-{i}.yaml"
        params_file.write_text(yaml.safe_dump(params), "utf-8")
        executed = out / f"client-{i}.ipynb"
        run(
            [
                str(BIN / "papermill"),
                str(NOTEBOOK),
                str(executed),
                "-f",
                str(params_file),
                "--no-progress-bar",
                "--cwd",
                str(NOTEBOOK.parent),
            ],
            out,
        )
        run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
            out,
        )
    return time.perf_counter() - start


def sales_rca_batch(todo: list[dict], out: Path, jobs: int) -> float:
    out.mkdir(parents=True)
    clients_file = out / "clients.yaml"
    clients_file.write_text(
        yaml.safe_dump({"notebook": str(NOTEBOOK), "clients": todo}, sort_keys=False), "utf-8"
    )
    start = time.perf_counter()
    run(
        [
            str(BIN / "sales-rca"),
            "batch",
            str(clients_file),
            "--out",
            str(out / "run"),
            "--jobs",
            str(jobs),
            "--quiet",
        ],
        out,
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    todo = clients(args.clients)
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        batch = sales_rca_batch(todo, tmp / "batch", args.jobs)
        plain = sequential_command_lines(todo, tmp / "plain")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"clients: {args.clients}")
    print(
        f"papermill + jupyter nbconvert, sequential : {plain:7.1f} s ({plain / args.clients:.1f} s/client)"
    )
    print(
        f"sales-rca batch --jobs {args.jobs}              : {batch:7.1f} s ({batch / args.clients:.1f} s/client)"
    )
    print(f"speed-up                                  : {plain / batch:7.2f}x (target >= 2.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
