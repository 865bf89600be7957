"""What every workshop view shares: the settings, the session store, the data and its analyses.

The settings come from environment variables set by ``sales-rca workshop`` (a Voila kernel inherits
the server's environment), so the notebooks stay two lines long. The session store is the only
place edits live: views write to it first and redraw from ``session.state()``.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sales_rca.errors import SalesRcaError

log = logging.getLogger("sales_rca.ui")
if not log.handlers:
    # Kernel stderr ends up in the Voila server's log, never in the room.
    _handler = logging.StreamHandler(sys.__stderr__)
    _handler.setFormatter(logging.Formatter("[sales-rca %(levelname)s] %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)

ENV_PREFIX = "SALES_RCA_"


@dataclass
class Settings:
    """Where the workshop reads and writes (``sales-rca workshop`` sets these as ``SALES_RCA_*``)."""

    data: Path | None = None
    history: Path | None = None
    mapping: Path | None = None
    session: Path = Path("out/workshop/session.sqlite")
    title: str = "Sales root-cause workshop"
    agenda: str = "full"
    join_code: str | None = None
    join_url: str | None = None
    upload_dir: Path = Path("out/workshop/uploads")
    #: The only folder the app lists exports from (``--data-dir``, default the folder of --data).
    data_dir: Path | None = None
    summary_dir: Path = Path("out/workshop")
    #: The folder ``sales-rca workshop`` was started in: relative paths (typed in the app too) start
    #: there, not in the kernel's folder (the installed notebooks' folder, which is never written).
    workdir: Path | None = None
    #: The consultant's anonymised portfolio benchmark (``--benchmark``), for the plays step.
    benchmark: Path | None = None
    #: A newer export for the 90-day review (``--review``) and its stage history.
    review: Path | None = None
    review_history: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def exports(self) -> list[Path]:
        """The exports the facilitator may pick: files of :attr:`data_dir` (one level of folders
        too) and the uploads, by name; nothing else on the disk is listed or read."""
        found: list[Path] = []
        for folder in (self.data_dir, self.upload_dir):
            if folder is None or not folder.is_dir():
                continue
            for candidate in sorted((*folder.glob("*"), *folder.glob("*/*"))):
                if candidate.is_file() and candidate.suffix.lower() in EXPORT_SUFFIXES:
                    found.append(candidate)
        return list(dict.fromkeys(found))

    def resolve(self, path: str | Path) -> Path:
        """``path`` relative to :attr:`workdir` (when set), e.g. an export path typed in the app."""
        path = Path(path).expanduser()
        if path.is_absolute() or self.workdir is None:
            return path
        return self.workdir / path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        workdir = env.get(ENV_PREFIX + "WORKDIR", "").strip()
        where = cls(workdir=Path(workdir) if workdir else None)

        def path(name: str) -> Path | None:
            value = env.get(ENV_PREFIX + name, "").strip()
            return where.resolve(value) if value else None

        session = path("SESSION") or where.resolve("out/workshop/session.sqlite")
        return cls(
            data=path("DATA"),
            history=path("HISTORY"),
            mapping=path("MAPPING"),
            session=session,
            title=env.get(ENV_PREFIX + "TITLE", "").strip() or "Sales root-cause workshop",
            agenda=env.get(ENV_PREFIX + "AGENDA", "full").strip() or "full",
            join_code=env.get(ENV_PREFIX + "JOIN_CODE", "").strip() or None,
            join_url=env.get(ENV_PREFIX + "JOIN_URL", "").strip() or None,
            upload_dir=path("UPLOAD_DIR") or session.parent / "uploads",
            data_dir=path("DATA_DIR") or (data.parent if (data := path("DATA")) else None),
            summary_dir=path("SUMMARY_DIR") or session.parent,
            workdir=where.workdir,
            benchmark=path("BENCHMARK"),
            review=path("REVIEW"),
            review_history=path("REVIEW_HISTORY"),
        )


#: What the data step lists as exports.
EXPORT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xls")


def friendly(exc: BaseException) -> str:
    """The sentence the room sees for an error: ours verbatim, anything else without internals."""
    if isinstance(exc, SalesRcaError):
        return str(exc)
    return (
        "Something went wrong while doing that; nothing you entered was lost. "
        "The details are in the server log."
    )


def report_error(exc: BaseException, show: Callable[[str], None]) -> None:
    """Log the full details for the facilitator's terminal and show one friendly line."""
    if not isinstance(exc, SalesRcaError):
        log.error("".join(traceback.format_exception(exc)))
    else:
        log.warning(str(exc))
    show(friendly(exc))


def guarded(show: Callable[[str], None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a widget callback so an exception becomes a friendly panel, never a traceback."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                report_error(exc, show)
                return None

        return inner

    return wrap
