"""Session store speed: one change on a session holding 10,000 events, and opening it.

Prints the median and p99 time of one change (target: p99 under 20 ms) and the time to open the
session and read its state (target: under 200 ms), plus the cold open that replays every event.
Run: ``.venv/bin/python benchmarks/bench_session.py [--events 10000] [--changes 500]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sales_rca.errors import ModelError
from sales_rca.findings import Finding
from sales_rca.session import Session

OPEN_SCRIPT = """
import sys, time
t0 = time.perf_counter()
from sales_rca.session import Session
t1 = time.perf_counter()
s = Session.open(sys.argv[1])
state = s.state()
t2 = time.perf_counter()
print(f"{t1 - t0} {t2 - t1} {len(state.whys)}")
"""


def build(path: Path, events: int, seed: int = 7) -> Session:
    """A realistic session: participants, problems with findings, whys, evidence, causes, votes."""
    rng = random.Random(seed)
    s = Session.create(path, "Benchmark workshop", dots_per_person=5)
    people = [s.join(f"Person {i}") for i in range(12)]
    problems = [
        s.add_problem(
            f"Problem {i}: deals die at stage {i}",
            finding=Finding(
                f"lost_here:S{i}", f"{30 + i}% lost at S{i}", "lost_here", 0.3, "share"
            ),
        )
        for i in range(5)
    ]
    nodes = list(problems)
    whys: list[str] = []
    causes: list[str] = []
    categories = ["buyer", "price", "competition", "offer", "process", "people", "coaching"]
    while s.event_count < events:
        roll = rng.random()
        if roll < 0.45 or not whys:
            w = s.add_why(rng.choice(nodes), f"Because reason {len(whys)} «quoted» 🚀")
            whys.append(w)
            nodes.append(w)
        elif roll < 0.60:
            s.add_note(rng.choice(whys), "Seen in the CRM: <b>27</b> deals")
        elif roll < 0.72:
            s.update_why(
                rng.choice(whys), status=rng.choice(["hypothesis", "supported", "rejected"])
            )
        elif roll < 0.82 or not causes:
            causes.append(s.add_cause(f"Cause {len(causes)}", rng.choice(categories)))
        elif roll < 0.95:
            person, cause = rng.choice(people), rng.choice(causes)
            try:
                s.vote(cause, 1, participant=person)
            except ModelError:  # out of dots: take this cause's dots back instead
                s.vote(cause, 0, participant=person)
        else:
            s.override_code(f"OPP-{rng.randint(1, 5000)}", ["no_decision"])
    return s


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.session"
        t0 = time.perf_counter()
        s = build(path, args.events)
        print(f"built {s.event_count:,} events in {time.perf_counter() - t0:.1f} s")
        state = s.state()
        print(
            f"state: {len(state.whys):,} whys, {len(state.causes):,} causes, "
            f"{len(state.code_overrides):,} overrides"
        )
        rng = random.Random(1)
        whys = [w.id for w in state.whys]
        times: list[float] = []
        for i in range(args.changes):
            t = time.perf_counter()
            if i % 2:
                s.add_why(rng.choice(whys), f"Extra why {i}")
            else:
                s.update_why(rng.choice(whys), text=f"Reworded {i}")
            times.append((time.perf_counter() - t) * 1000)
        med, p99 = statistics.median(times), percentile(times, 0.99)
        verdict = "OK" if p99 < 20 else "OVER TARGET"
        print(f"one change: median {med:.2f} ms, p99 {p99:.2f} ms (target p99 < 20 ms: {verdict})")
        t = time.perf_counter()
        s.state()
        print(f"state() after a change by this handle: {(time.perf_counter() - t) * 1000:.2f} ms")
        s.close()

        opens = []
        for _ in range(5):
            t = time.perf_counter()
            with Session.open(path) as o:
                o.state()
            opens.append((time.perf_counter() - t) * 1000)
        med_open = statistics.median(opens)
        verdict = "OK" if med_open < 200 else "OVER TARGET"
        print(
            f"open + state(), same process: median {med_open:.1f} ms (target < 200 ms: {verdict})"
        )
        out = subprocess.run(
            [sys.executable, "-c", OPEN_SCRIPT, str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        print(
            f"open + state(), fresh process: {float(out[1]) * 1000:.1f} ms "
            f"(+ {float(out[0]) * 1000:.0f} ms importing sales_rca.session)"
        )

        import sqlite3

        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM snapshot")
        t = time.perf_counter()
        with Session.open(path) as o:
            o.state()
        print(
            f"cold open replaying all {args.events + args.changes:,} events (no snapshot): "
            f"{(time.perf_counter() - t) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
