"""The canonical tables every analysis reads: :class:`CrmData` and its :class:`ImportReport`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

#: Canonical opportunity columns, in order. Any other input column is kept as ``extra_<name>``.
OPPORTUNITY_COLUMNS: tuple[str, ...] = (
    "opportunity_id",
    "stage",
    "outcome",
    "amount",
    "created_date",
    "close_date",
    "loss_stage",
    "loss_reason",
    "loss_detail",
    "account",
    "owner",
    "manager",
    "segment",
    "region",
    "product",
    "source",
    "deal_type",
    "competitor",
)
DATE_COLUMNS: tuple[str, ...] = ("created_date", "close_date")
TEXT_COLUMNS: tuple[str, ...] = tuple(
    c for c in OPPORTUNITY_COLUMNS if c not in ("outcome", "amount", *DATE_COLUMNS)
)
OUTCOMES: tuple[str, ...] = ("won", "lost", "open")
STAGE_EVENT_COLUMNS: tuple[str, ...] = ("opportunity_id", "stage", "entered_at")
QUARANTINE_COLUMNS: tuple[str, ...] = ("table", "source_row", "reason")


@dataclass
class ImportReport:
    """What the import did, in numbers a data check can show (``to_dict()`` is JSON-ready)."""

    source: str
    path: str
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    #: Repeated rows: ``exact_rows`` identical in every column to an earlier row (quarantined,
    #: or all kept, ``exact_rows_kept``, when the file has no id column); ``conflicting_rows``
    #: reuse an earlier row's id with other content (quarantined), over ``conflicting_ids`` ids.
    duplicates: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("exact_rows", "exact_rows_kept", "conflicting_rows", "conflicting_ids"), 0
        )
    )
    mapping: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    amount_missing: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int = 1
    footer_lines_removed: int = 0
    blank_rows_skipped: int = 0
    ids_generated: bool = False
    decimal: str | None = None
    date_formats: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    #: How each extra column was read: ``number`` (float64), ``date`` (datetime64) or ``text``.
    extra_types: dict[str, str] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)
    loss_stage_from: str | None = None
    history: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CrmData:
    """A CRM export in canonical form.

    - ``opportunities``: one row per opportunity, columns :data:`OPPORTUNITY_COLUMNS` then ``extra_*``.
      ``outcome`` is a category of won / lost / open; dates are ``datetime64[ns]``; ``amount`` float.
      Each ``extra_*`` column is ``float64`` when it holds numbers (percentages as fractions,
      35% -> 0.35), ``datetime64[ns]`` when it holds dates, else ``string`` (codes such as ZIP or
      account numbers stay text); ``report.extra_types`` says which.
    - ``stage_events``: ``opportunity_id, stage, entered_at``, one row per entry into a stage,
      ordered by opportunity then time (empty when no history was given).
    - ``quarantine``: ``table, source_row, reason`` then the raw values of every rejected row.
    - ``report``: an :class:`ImportReport`.
    - ``stages``: the official stage order when known (from the mapping), else empty.
    """

    opportunities: pd.DataFrame
    stage_events: pd.DataFrame
    quarantine: pd.DataFrame
    report: ImportReport
    stages: list[str] = field(default_factory=list)
    won_stages: list[str] = field(default_factory=list)
    lost_stages: list[str] = field(default_factory=list)
    #: The mapping file's ``buyer_jobs:`` (stage -> job, exit criterion, verified by), if any.
    buyer_jobs: dict[str, Any] = field(default_factory=dict)

    @property
    def has_history(self) -> bool:
        return not self.stage_events.empty
