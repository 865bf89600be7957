"""Benchmark: import a 1,000,000-row Salesforce-style CSV with ``load_crm``.

Prints wall time, rows/s and peak RSS of the import (measured in a fresh child process), and the
speed ratio against a straightforward per-row parsing loop on a 50,000-row slice, run in the same
script. Targets (issue 2): under 15 s and under 2.5 GB peak on a 2-core machine.

    .venv/bin/python benchmarks/bench_crm.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

STAGES = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
]


def make_csv(path: Path, rows: int, seed: int = 1) -> None:
    """A 12-column Salesforce report export with currency strings and US dates."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    close = created + pd.to_timedelta(rng.integers(5, 200, rows), unit="D")
    amount = rng.gamma(2.0, 15000.0, rows).round(2)
    frame = pd.DataFrame(
        {
            "Opportunity ID": [f"0065g{i:010d}AAA" for i in range(rows)],
            "Opportunity Name": [f"Deal {i}" for i in range(rows)],
            "Account Name": [f"Account {i % 20000}" for i in range(rows)],
            "Opportunity Owner": [f"Rep {i % 150}" for i in range(rows)],
            "Stage": np.array(STAGES)[rng.integers(0, len(STAGES), rows)],
            "Amount": ["USD " + f"{a:,.2f}" for a in amount],
            "Created Date": [f"{d.month}/{d.day}/{d.year}" for d in created],
            "Close Date": [f"{d.month}/{d.day}/{d.year}" for d in close],
            "Type": np.array(["New Business", "Existing Business", "Renewal"])[
                rng.integers(0, 3, rows)
            ],
            "Lead Source": np.array(["Web", "Partner", "Outbound", "Event"])[
                rng.integers(0, 4, rows)
            ],
            "Region": np.array(["NA", "EMEA", "APAC"])[rng.integers(0, 3, rows)],
            "Loss Reason": np.array(["", "Price", "No Decision", "Competitor", "Other"])[
                rng.integers(0, 5, rows)
            ],
        }
    )
    frame.to_csv(path, index=False, quoting=csv.QUOTE_ALL)


def naive_import(path: Path, limit: int) -> int:
    """What a straightforward script would do: csv.DictReader, one row at a time."""
    money = re.compile(r"[^\d.\-]")
    rows = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as fh:
        for i, rec in enumerate(csv.DictReader(fh)):
            if i >= limit:
                break
            oid = rec["Opportunity ID"].strip()
            if not oid or oid in seen:
                continue
            seen.add(oid)
            stage = rec["Stage"].strip()
            outcome = (
                "won" if stage == "Closed Won" else "lost" if stage == "Closed Lost" else "open"
            )
            try:
                amount = float(money.sub("", rec["Amount"]))
            except ValueError:
                amount = None
            created = dt.datetime.strptime(rec["Created Date"], "%m/%d/%Y")
            close = dt.datetime.strptime(rec["Close Date"], "%m/%d/%Y")
            rows.append((oid, stage, outcome, amount, created, close, rec["Account Name"]))
    pd.DataFrame(rows)
    return len(rows)


CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from sales_rca.crm import load_crm
crm = load_crm(sys.argv[1])
elapsed = time.perf_counter() - t0
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024, "rows": crm.report.rows_in,
                  "accepted": crm.report.rows_accepted, "warnings": crm.report.warnings}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--slice", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "salesforce_1m.csv"
        t0 = time.perf_counter()
        make_csv(path, args.rows)
        print(
            f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s"
        )

        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
        )
        res = json.loads(out.stdout)
        rate = res["rows"] / res["seconds"]
        print(
            f"load_crm: {res['seconds']:.2f} s for {res['rows']:,} rows -> {rate:,.0f} rows/s; "
            f"peak RSS {res['peak_mb']:,.0f} MB (target < 15 s, < 2,500 MB)"
        )

        slice_path = Path(tmp) / "slice.csv"
        with path.open(encoding="utf-8") as src, slice_path.open("w", encoding="utf-8") as dst:
            for i, line in enumerate(src):
                if i > args.slice:
                    break
                dst.write(line)
        t0 = time.perf_counter()
        n = naive_import(slice_path, args.slice)
        naive_s = time.perf_counter() - t0
        naive_rate = n / naive_s
        t0 = time.perf_counter()
        from sales_rca.crm import load_crm

        load_crm(slice_path)
        ours_slice = time.perf_counter() - t0
        print(
            f"naive per-row loop on {n:,} rows: {naive_s:.2f} s -> {naive_rate:,.0f} rows/s "
            f"(load_crm on the same slice: {ours_slice:.2f} s)"
        )
        print(f"ratio load_crm (1M) / naive rows per second: {rate / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
