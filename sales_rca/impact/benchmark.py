"""Learning from other clients: the consultant's anonymised portfolio benchmark.

``sales-rca batch`` writes ``benchmark.json`` next to its index: one entry per client, built from
that client's ``results.json`` and holding only

- numbers (win rate, cycle days, conversion and median days per stage, win rate per segment,
  metric changes),
- words from a **shared vocabulary**: stage and segment names are mapped to the vocabulary's names
  (the default pipelines of the supported CRMs, common segment names, and what the clients file
  adds under ``vocabulary:``); a name the vocabulary does not know is left out, never copied,
- ids sales-rca itself defines (fishbone categories, plays of the packaged playbook, metrics),
- a random token per client (unlinkable to its name or folder).

No client, rep, account or deal name, and no text the team typed, can reach the file. Several
files merge into one (:func:`merge`); the summary and the workshop read it (:func:`load_benchmark`)
for sentences like "your conversion at Discovery is in the bottom quarter of 12 teams; the top
quarter convert 86%" and "worked at 3 of 4 clients that tried it (+4 to +9 points)".
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sales_rca.errors import SalesRcaError

BENCHMARK_FORMAT = "sales-rca-benchmark"
BENCHMARK_VERSION = 1
BENCHMARK_FILE = "benchmark.json"
#: Fewer teams than this and no quarter is named.
MIN_TEAMS = 4
#: Segment names every portfolio shares (compared case- and punctuation-blind).
DEFAULT_SEGMENTS = ("SMB", "Mid-Market", "Enterprise", "Commercial", "Strategic", "Public Sector")
_VERDICTS = ("moved beyond noise", "not yet distinguishable from noise", "moved the wrong way")
_METRICS = ("conversion", "win_rate", "median_days", "lost_here")


class BenchmarkError(SalesRcaError):
    """A benchmark file cannot be read."""


def _key(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


@dataclass(frozen=True)
class Vocabulary:
    """Shared names of stages and segments, and the local names each stands for."""

    stages: Mapping[str, str]  # normalised local name -> shared name
    segments: Mapping[str, str]

    @classmethod
    def default(
        cls,
        stages: Mapping[str, Sequence[str]] | None = None,
        segments: Mapping[str, Sequence[str]] | None = None,
    ) -> Vocabulary:
        """The packaged vocabulary (CRM default stages, :data:`DEFAULT_SEGMENTS`) plus
        ``{shared name: [local names]}`` from a clients file."""
        from sales_rca.pipeline.stages import default_pipelines

        stage_map: dict[str, str] = {}
        for names in default_pipelines().values():
            for name in names:
                stage_map.setdefault(_key(name), name)
        segment_map = {_key(s): s for s in DEFAULT_SEGMENTS}
        for target, extra in ((stage_map, stages), (segment_map, segments)):
            for shared, local in (extra or {}).items():
                target[_key(shared)] = shared
                for name in local:
                    target[_key(name)] = shared
        return cls(stage_map, segment_map)

    def public(self) -> dict[str, dict[str, str]]:
        """The mappings a benchmark file carries: public names (the CRMs' default stage names,
        :data:`DEFAULT_SEGMENTS`) mapped to another shared name, so a client's own names never
        travel and the summary of another batch maps its stages the same way."""
        known = Vocabulary.default()
        return {
            "stages": {
                k: v for k, v in self.stages.items() if k in known.stages and v != known.stages[k]
            },
            "segments": {
                k: v
                for k, v in self.segments.items()
                if k in known.segments and v != known.segments[k]
            },
        }

    def merged(self, public: Mapping[str, Mapping[str, str]]) -> Vocabulary:
        """This vocabulary with a benchmark file's public mappings on top."""
        return Vocabulary(
            {**self.stages, **dict(public.get("stages") or {})},
            {**self.segments, **dict(public.get("segments") or {})},
        )

    def stage(self, name: object) -> str | None:
        return self.stages.get(_key(name))

    def segment(self, name: object) -> str | None:
        return self.segments.get(_key(name))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def client_entry(
    results: Mapping[str, Any], vocabulary: Vocabulary, play_ids: Iterable[str]
) -> dict[str, Any]:
    """The anonymised benchmark entry of one client's ``results.json``."""
    from sales_rca.rootcause import CATEGORY_IDS

    plays = set(play_ids)
    stages: dict[str, dict[str, float | None]] = {}
    for row in results.get("stages") or []:
        shared = vocabulary.stage(row.get("stage"))
        if shared is not None and shared not in stages:
            stages[shared] = {"conversion": _number(row.get("conversion")), "median_days": None}
    segments: dict[str, float] = {}
    for m in results.get("metrics") or []:
        key, value = str(m.get("key", "")), _number(m.get("value"))
        if value is None:
            continue
        metric, _, scope = key.partition(":")
        if metric == "median_days":
            shared = vocabulary.stage(scope)
            if shared in stages and stages[shared]["median_days"] is None:
                stages[shared]["median_days"] = value
        elif metric == "win_rate" and scope.startswith("segment="):
            shared = vocabulary.segment(scope.removeprefix("segment="))
            if shared is not None:
                segments.setdefault(shared, value)
    categories = [
        str(c["id"]) for c in results.get("top_categories") or [] if c.get("id") in CATEGORY_IDS
    ]
    moved = []
    for r in results.get("review") or []:
        if r.get("play_id") not in plays or r.get("metric") not in _METRICS:
            continue
        if r.get("verdict") not in _VERDICTS:
            continue
        stage = vocabulary.stage(r["stage"]) if r.get("stage") else None
        if r.get("stage") and stage is None:
            continue  # a stage outside the vocabulary: its name must not travel
        moved.append(
            {
                "play": str(r["play_id"]),
                "metric": str(r["metric"]),
                "stage": stage,
                "unit": "share" if r["metric"] in ("conversion", "win_rate") else None,
                "change": _number(r.get("change")),
                "verdict": str(r["verdict"]),
                "done": r.get("status") == "done",
            }
        )
    deals = results.get("deals") or {}
    return {
        "team": secrets.token_hex(8),
        "closed_deals": int(_number(deals.get("won")) or 0) + int(_number(deals.get("lost")) or 0),
        "win_rate": _number(results.get("win_rate")),
        "cycle_days": _number(results.get("cycle_days")),
        "stages": stages,
        "segments": segments,
        "categories": categories,
        "plays": moved,
    }


def benchmark_document(
    teams: Iterable[Mapping[str, Any]], vocabulary: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, Any]:
    return {
        "format": BENCHMARK_FORMAT,
        "version": BENCHMARK_VERSION,
        "vocabulary": dict(vocabulary or {"stages": {}, "segments": {}}),
        "teams": list(teams),
    }


def write_benchmark(
    path: str | Path,
    results: Iterable[Mapping[str, Any]],
    vocabulary: Vocabulary,
    play_ids: Iterable[str] | None = None,
) -> Path:
    """Write the benchmark of several clients' results to ``path``."""
    if play_ids is None:
        from sales_rca.rootcause import load_playbook

        play_ids = [p.id for p in load_playbook()]
    ids = list(play_ids)
    doc = benchmark_document(
        (client_entry(r, vocabulary, ids) for r in results), vocabulary.public()
    )
    path = Path(path)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), "utf-8")
    return path


@dataclass
class Benchmark:
    """Teams of one or several benchmark files (see :func:`load_benchmark`)."""

    teams: list[dict[str, Any]] = field(default_factory=list)
    #: Public name -> shared name mappings of the files (see :meth:`Vocabulary.public`).
    vocabulary: dict[str, dict[str, str]] = field(default_factory=dict)

    def stage_position(self, stage: str, conversion: float) -> str:
        """``"in the bottom quarter of 12 teams; the top quarter convert 86%"`` (plain text), or
        ``""`` when fewer than :data:`MIN_TEAMS` teams know that stage."""
        rates = [
            float(v)
            for t in self.teams
            if (v := (t.get("stages", {}).get(stage) or {}).get("conversion")) is not None
        ]
        if len(rates) < MIN_TEAMS:
            return ""
        q1, q3 = np.quantile(rates, [0.25, 0.75])
        where = (
            "in the bottom quarter"
            if conversion <= q1
            else "in the top quarter"
            if conversion >= q3
            else "in the middle half"
        )
        return f"{where} of {len(rates)} teams; the top quarter convert {q3:.0%} or more"

    def play_record(self, play: str, metric: str | None = None) -> str:
        """``"worked at 3 of 4 clients that tried it (+4 to +9 points)"``, or ``""`` when no
        client reviewed the play."""
        tried = [
            p for t in self.teams for p in t.get("plays", [])
            if p.get("play") == play and (metric is None or p.get("metric") == metric)
        ]  # fmt: skip
        if not tried:
            return ""
        worked = [p for p in tried if p.get("verdict") == _VERDICTS[0]]
        text = f"worked at {len(worked)} of {len(tried)} clients that tried it"
        changes = [float(p["change"]) for p in worked if p.get("change") is not None]
        if changes:
            share = all(p.get("unit") == "share" for p in worked)
            scale, unit = (100, " points") if share else (1, "")
            lo, hi = min(changes) * scale, max(changes) * scale
            span = f"{lo:+.0f}{unit}" if lo == hi else f"{lo:+.0f} to {hi:+.0f}{unit}"
            text += f" ({span})"
        return text

    def worked_count(self, play: str) -> int:
        """How many clients' reviews say the play moved its metric beyond noise."""
        return sum(
            1
            for t in self.teams
            for p in t.get("plays", [])
            if p.get("play") == play and p.get("verdict") == _VERDICTS[0]
        )


def _read(path: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise BenchmarkError(f"expected a benchmark file at {path}, found nothing") from None
    except (OSError, ValueError) as exc:
        raise BenchmarkError(
            f"{path}: expected benchmark JSON, found unreadable text ({exc})"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != BENCHMARK_FORMAT:
        raise BenchmarkError(
            f"{path}: expected a sales-rca benchmark (format {BENCHMARK_FORMAT!r}), found another file"
        )
    teams = doc.get("teams")
    if not isinstance(teams, list) or not all(isinstance(t, dict) for t in teams):
        raise BenchmarkError(f"{path}: expected a list of teams, found {type(teams).__name__}")
    words = doc.get("vocabulary") or {}
    vocabulary = {
        kind: {str(k): str(v) for k, v in (words.get(kind) or {}).items()}
        for kind in ("stages", "segments")
        if isinstance(words, dict)
    }
    return teams, vocabulary


def load_benchmark(paths: str | Path | Iterable[str | Path]) -> Benchmark:
    """One or several benchmark files as one :class:`Benchmark` (a team in two files counts once)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    seen: dict[str, dict[str, Any]] = {}
    words: dict[str, dict[str, str]] = {"stages": {}, "segments": {}}
    for path in paths:
        teams, vocabulary = _read(Path(path))
        for team in teams:
            seen.setdefault(str(team.get("team")), team)
        for kind, mapping in vocabulary.items():
            for k, v in mapping.items():
                words[kind].setdefault(k, v)
    return Benchmark(list(seen.values()), words)


def merge(paths: Iterable[str | Path], out: str | Path) -> Path:
    """Merge benchmark files into ``out`` (each team once)."""
    bench = load_benchmark(list(paths))
    out = Path(out)
    out.write_text(
        json.dumps(benchmark_document(bench.teams), indent=1, ensure_ascii=False), "utf-8"
    )
    return out


@dataclass(frozen=True)
class Comparison:
    """What the benchmark says about one team, as plain sentences."""

    teams: int
    stages: list[str]
    plays: list[str]


def compare(
    bench: Benchmark,
    stage_rows: Iterable[Mapping[str, Any]],
    plays: Iterable[Any],
    vocabulary: Vocabulary | None = None,
) -> Comparison:
    """The team's conversion per stage against the other teams, and the plays that worked at
    other clients, those that worked most often first.

    Args:
        bench: the loaded benchmark.
        stage_rows: ``{"stage", "conversion"}`` per stage (the x-ray's stage table rows).
        plays: the playbook (``id``, ``title``, ``indicator.metric``).
        vocabulary: maps the team's stage names to the shared ones (default
            :meth:`Vocabulary.default` with the benchmark files' public mappings on top).
    """
    words = vocabulary or Vocabulary.default().merged(bench.vocabulary)
    stage_lines = []
    for row in stage_rows:
        shared, rate = words.stage(row.get("stage")), _number(row.get("conversion"))
        if shared is None or rate is None:
            continue
        where = bench.stage_position(shared, rate)
        if where:
            stage_lines.append(f"Conversion at {row['stage']}: {rate:.0%}, {where}.")
    ranked = sorted(plays, key=lambda p: -bench.worked_count(p.id))
    play_lines = [
        f"{p.title}: {record}."
        for p in ranked
        if (record := bench.play_record(p.id, getattr(p.indicator, "metric", None)))
    ]
    return Comparison(len(bench.teams), stage_lines, play_lines)
