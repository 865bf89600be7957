"""The exercise timer, kept in the session so a refresh, a second tab and the room screen show the
same countdown.

The timer is a small record in the session's settings (``timer``): which step it times, its full
length, the seconds left when it was last started or paused, and since when it runs (wall-clock
seconds, ``None`` when paused). Everything else is computed from it, by the facilitator's app and
by the room screen's page alike.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

SETTING = "timer"


@dataclass(frozen=True)
class TimerState:
    step: str
    total: float
    left: float
    #: Wall-clock time (``time.time()``) it was started at; ``None`` while paused.
    since: float | None = None

    @property
    def running(self) -> bool:
        return self.since is not None

    def remaining(self, now: float | None = None) -> float:
        """Seconds left (negative once the time is up)."""
        if self.since is None:
            return self.left
        return self.left - ((time.time() if now is None else now) - self.since)

    def start(self, now: float | None = None) -> TimerState:
        return self if self.running else replace(self, since=time.time() if now is None else now)

    def pause(self, now: float | None = None) -> TimerState:
        if not self.running:
            return self
        return replace(self, left=self.remaining(now), since=None)

    def reset(self, total: float | None = None) -> TimerState:
        total = self.total if total is None else float(total)
        return replace(self, total=total, left=total, since=None)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def public(self, now: float | None = None) -> dict[str, Any]:
        """What a page needs to draw it: seconds left now, whether it runs, the full length."""
        return {
            "step": self.step,
            "total": self.total,
            "remaining": round(self.remaining(now), 1),
            "running": self.running,
        }


def clock(seconds: float) -> str:
    """``mm:ss`` (``-mm:ss`` once the time is up)."""
    left = round(seconds)
    m, s = divmod(abs(left), 60)
    return f"{'-' if left < 0 else ''}{m:02d}:{s:02d}"


def timer_from(settings: dict[str, Any], step: str, total: float) -> TimerState:
    """The timer kept in ``settings`` when it times ``step``; else a fresh, paused one."""
    raw = settings.get(SETTING)
    if raw:
        try:
            data = json.loads(raw)
            kept = TimerState(
                step=str(data["step"]),
                total=float(data["total"]),
                left=float(data["left"]),
                since=None if data.get("since") is None else float(data["since"]),
            )
        except (ValueError, KeyError, TypeError):
            kept = None
        if kept is not None and kept.step == step:
            return kept
    return TimerState(step=step, total=float(total), left=float(total))
