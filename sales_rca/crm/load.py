"""``load_crm``: from an export file (and optional stage history) to :class:`CrmData`.

Steps: read the file (:mod:`.read`), recognise the vendor and map columns (:mod:`.vendors`),
parse values and type the unmapped ``extra_*`` columns (:mod:`.values`), quarantine rows that
cannot be used (exact repeats and reused ids apart), read the stage history (:mod:`.history`) and
derive the stage each lost deal died in. Invariant, per file:
``rows_in == rows_accepted + rows_quarantined``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sales_rca.crm import history as history_mod
from sales_rca.crm.data import (
    DATE_COLUMNS,
    OPPORTUNITY_COLUMNS,
    OUTCOMES,
    QUARANTINE_COLUMNS,
    TEXT_COLUMNS,
    CrmData,
    ImportReport,
)
from sales_rca.crm.read import RawTable, header_excerpt, read_table, table_warnings
from sales_rca.crm.values import (
    closed_outcome_from_stage,
    outcome_from_text,
    parse_amounts,
    parse_dates,
    parse_flags,
    parse_text,
    type_column,
)
from sales_rca.crm.vendors import (
    Mapping,
    Vendor,
    detect_vendor,
    header_score,
    load_mapping,
    map_columns,
    normalise,
    resolve_user_columns,
    vendors,
)
from sales_rca.display import number, share
from sales_rca.errors import CrmImportError

# Reasons a row is quarantined, as the data check shows them.
REASON_MISSING_ID = "missing opportunity id"
REASON_EXACT_REPEAT = "exact repeat of an earlier row"
REASON_CONFLICTING_ID = "duplicate opportunity id with different content"
REASON_NO_STAGE = "missing stage and outcome"
REASON_BAD_OUTCOME = "outcome not recognised and no stage"
REASON_OVERLONG = "more fields than the header"


def load_crm(
    path: str | Path,
    history: str | Path | None = None,
    mapping: str | Path | dict[str, Any] | Mapping | None = None,
    source: str = "auto",
) -> CrmData:
    """Import a CRM opportunities export into canonical tables.

    Args:
        path: CSV (any common delimiter and encoding), XLSX, or Salesforce's HTML ``.xls``.
        history: optional stage-history export (Salesforce OpportunityHistory or field history,
            or any file with opportunity id, stage and date columns).
        mapping: optional YAML file (or dict) mapping canonical names to source columns, with
            ``won_stages``, ``lost_stages``, ``stages``, ``dayfirst`` options.
        source: ``auto`` to detect the vendor from the headers, or one of
            ``salesforce``, ``hubspot``, ``pipedrive``, ``dynamics``, ``zoho``, ``generic``.
    Returns:
        :class:`CrmData` with ``opportunities``, ``stage_events``, ``quarantine`` and ``report``.
    Raises:
        CrmImportError: the file cannot be used (the message says what was expected and found).

    Example:
        >>> from sales_rca import demo_path
        >>> crm = load_crm(demo_path("salesforce_opportunities.csv"),
        ...                history=demo_path("salesforce_opportunity_history.csv"))
        >>> crm.report.source
        'salesforce'
    """
    path = Path(path)
    user = load_mapping(mapping)
    raw = read_table(path, sheet=user.sheet, is_header=header_score)
    headers = list(raw.frame.columns)
    if raw.frame.empty and raw.overlong.empty:
        raise CrmImportError(
            f"{path.name}: expected data rows under the header, found a header only "
            f"({len(headers)} columns: {header_excerpt(headers)})."
        )
    vendor = _choose_vendor(source if source != "auto" else (user.source or "auto"), headers, path)
    columns = map_columns(
        headers,
        vendor,
        vendors()["generic"],
        resolve_user_columns(user.columns, headers, path.name),
    )
    if not {"stage", "outcome", "is_won"} & columns.keys():
        raise CrmImportError(
            f"{path.name}: expected a stage or outcome column (such as Stage, Deal Stage, Status or "
            f"Won/Lost), found columns: {header_excerpt(headers)}; name it in a mapping file "
            '(stage: "Your Column").'
        )
    report = ImportReport(
        source=vendor.name,
        path=str(path),
        encoding=raw.encoding,
        delimiter=raw.delimiter,
        sheet=raw.sheet,
        header_row=raw.header_row,
        footer_lines_removed=raw.footer_lines_removed,
        blank_rows_skipped=raw.blank_rows_skipped,
        mapping=dict(columns),
    )
    report.warnings.extend(table_warnings(raw))
    # HubSpot-style "Date entered <stage>" columns are a stage history inside the export.
    stage_dates = {} if history is not None else history_mod.stage_date_columns(headers)
    opps, quarantine, accepted = _build_opportunities(
        raw, columns, user, report, consumed=set(stage_dates)
    )
    events = history_mod.empty_events()
    if stage_dates:
        events, report.history = history_mod.events_from_stage_dates(
            raw.frame[accepted].reset_index(drop=True),
            stage_dates,
            opportunity_ids=opps["opportunity_id"],
            created=opps.set_index("opportunity_id")["created_date"],
            dayfirst=user.dayfirst,
            dayfirst_default=report.decimal == ",",
        )
    if history is not None:
        events, hist_quarantine, report.history = history_mod.load_history(
            history,
            user,
            opportunity_ids=opps["opportunity_id"],
            created=opps.set_index("opportunity_id")["created_date"],
            dayfirst_default=report.decimal == ",",
        )
        report.warnings.extend(f"history: {w}" for w in report.history.get("warnings", []))
        quarantine = (
            pd.concat([quarantine, hist_quarantine], ignore_index=True)
            if len(hist_quarantine)
            else quarantine
        )
    _derive_loss_stage(opps, events, user, report)
    report.outcomes = {
        k: int(v) for k, v in opps["outcome"].value_counts().reindex(OUTCOMES, fill_value=0).items()
    }
    report.amount_missing = int(opps["amount"].isna().sum())
    report.stages = list(user.stages)
    return CrmData(
        opportunities=opps,
        stage_events=events,
        quarantine=quarantine,
        report=report,
        stages=list(user.stages),
        won_stages=list(user.won_stages),
        lost_stages=list(user.lost_stages),
        buyer_jobs=dict(user.buyer_jobs),
    )


def _choose_vendor(source: str, headers: list[str], path: Path) -> Vendor:
    known = vendors()
    if source == "auto":
        return detect_vendor(headers)
    if source not in known:
        raise CrmImportError(
            f"{path.name}: expected --source to be auto or one of {', '.join(known)}, found {source!r}."
        )
    return known[source]


def _snake(header: str) -> str:
    return normalise(header).replace(" ", "_") or "column"


def _build_opportunities(
    raw: RawTable,
    columns: dict[str, str],
    user: Mapping,
    report: ImportReport,
    consumed: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Canonical opportunities, their quarantine, and which raw rows were accepted."""
    frame = raw.frame
    n = len(frame)
    out: dict[str, Any] = {}
    reasons = pd.Series(None, index=frame.index, dtype=object)

    # Identity.
    if "opportunity_id" in columns:
        ids = parse_text(frame[columns["opportunity_id"]])
        reasons[ids.isna().to_numpy()] = REASON_MISSING_ID
    else:
        ids = pd.Series("R" + raw.source_rows.astype(str), index=frame.index, dtype="string")
        report.ids_generated = True
        report.notes.append(
            "No opportunity id column: ids were made from row numbers (R2 is the first data row)."
        )
    out["opportunity_id"] = ids

    # Stage and outcome.
    stage = (
        parse_text(frame[columns["stage"]])
        if "stage" in columns
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    out["stage"] = stage
    outcome = pd.Series(None, index=frame.index, dtype=object)
    if "outcome" in columns:
        outcome_raw = parse_text(frame[columns["outcome"]])
        outcome = outcome_from_text(outcome_raw.fillna("")).where(outcome_raw.notna(), None)
        unknown = outcome_raw.notna() & outcome.isna() & stage.notna()
        if unknown.any():
            examples = ", ".join(repr(v) for v in outcome_raw[unknown].unique()[:3])
            report.warnings.append(
                f"{int(unknown.sum())} rows have an outcome value not recognised as won/lost/open "
                f"(e.g. {examples}); their outcome comes from the stage."
            )
    if "is_won" in columns:
        won_flag = parse_flags(frame[columns["is_won"]])
        closed_flag = parse_flags(frame[columns["is_closed"]]) if "is_closed" in columns else None
        from_flags = pd.Series(None, index=frame.index, dtype=object)
        if closed_flag is not None:
            from_flags[(closed_flag == True).to_numpy() & (won_flag == True).to_numpy()] = "won"  # noqa: E712
            from_flags[(closed_flag == True).to_numpy() & (won_flag == False).to_numpy()] = "lost"  # noqa: E712
            from_flags[(closed_flag == False).to_numpy()] = "open"  # noqa: E712
        else:
            from_flags[(won_flag == True).to_numpy()] = "won"  # noqa: E712
        outcome = outcome.where(outcome.notna(), from_flags)
    stage_outcome = closed_outcome_from_stage(stage.fillna(""), user.won_stages, user.lost_stages)
    outcome = outcome.where(outcome.notna(), stage_outcome)
    outcome = outcome.where(outcome.notna() | stage.isna(), "open")
    no_stage = outcome.isna() & stage.isna()
    if "outcome" in columns:
        bad_outcome = no_stage & parse_text(frame[columns["outcome"]]).notna()
        reasons[(bad_outcome & reasons.isna()).to_numpy()] = REASON_BAD_OUTCOME
    reasons[(no_stage & reasons.isna()).to_numpy()] = REASON_NO_STAGE
    out["outcome"] = outcome

    # Repeated rows and repeated ids, among otherwise usable rows.
    _mark_duplicates(frame, ids, reasons, report, rows_in=n + len(raw.overlong))

    # Amounts.
    decimal_hint = user.decimal or ("," if raw.delimiter == "semicolon" else None)
    if "amount" in columns:
        amounts = parse_amounts(frame[columns["amount"]], decimal_hint=decimal_hint)
        out["amount"] = amounts.values
        report.decimal = amounts.decimal
        if amounts.unparseable:
            report.warnings.append(
                f"amount ({columns['amount']}): {amounts.unparseable} values could not be read as "
                f"numbers (e.g. {', '.join(map(repr, amounts.examples))}); left empty."
            )
        if ambiguity := amounts.ambiguity():
            report.warnings.append(f"amount ({columns['amount']}): {ambiguity}")
    else:
        out["amount"] = pd.Series(np.nan, index=frame.index, dtype=float)
        report.notes.append("No amount column: value figures cannot be computed.")

    # Dates.
    default_dayfirst = report.decimal == "," or raw.delimiter == "semicolon"
    for col in DATE_COLUMNS:
        if col not in columns:
            out[col] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            continue
        parsed = parse_dates(
            frame[columns[col]], dayfirst=user.dayfirst, default_dayfirst=default_dayfirst
        )
        out[col] = parsed.values
        report.date_formats[col] = {
            "column": columns[col],
            "format": parsed.format,
            "dayfirst": parsed.dayfirst,
            "decided_by": parsed.decided_by,
        }
        if parsed.decided_by == "default":
            order = "day-first" if parsed.dayfirst else "month-first"
            report.warnings.append(
                f"{col} ({columns[col]}): every date is ambiguous (day and month both 12 or less); "
                f"read as {order}. Set `dayfirst:` in a mapping file if that is wrong."
            )
        if parsed.unparseable:
            report.warnings.append(
                f"{col} ({columns[col]}): {parsed.unparseable} values could not be read as dates "
                f"(e.g. {', '.join(map(repr, parsed.examples))}); left empty."
            )

    # Plain text columns.
    for col in TEXT_COLUMNS:
        if col in ("opportunity_id", "stage"):
            continue
        out[col] = (
            parse_text(frame[columns[col]])
            if col in columns
            else pd.Series(pd.NA, index=frame.index, dtype="string")
        )

    opps = pd.DataFrame({c: out[c] for c in OPPORTUNITY_COLUMNS}, index=frame.index)
    # Everything else is kept for driver analysis, as numbers, dates or text.
    mapped = set(columns.values()) | set(consumed)
    extras = _extra_columns(
        frame,
        [h for h in frame.columns if h not in mapped],
        taken=set(opps.columns),
        report=report,
        decimal_hint=report.decimal if "amount" in columns else decimal_hint,
        dayfirst=user.dayfirst,
        default_dayfirst=_file_dayfirst(report, default_dayfirst),
    )
    if extras:
        opps = pd.concat([opps, pd.DataFrame(extras, index=frame.index)], axis=1)
    report.extra_columns = list(extras)

    quarantined = reasons.notna().to_numpy()
    quarantine = _quarantine_rows(raw, reasons, quarantined)
    opps = opps[~quarantined].reset_index(drop=True)
    opps["outcome"] = pd.Categorical(opps["outcome"], categories=list(OUTCOMES))

    report.rows_in = n + len(raw.overlong)
    report.rows_accepted = len(opps)
    report.rows_quarantined = len(quarantine)
    report.quarantine_reasons = {k: int(v) for k, v in quarantine["reason"].value_counts().items()}
    return opps, quarantine, ~quarantined


def _mark_duplicates(
    frame: pd.DataFrame, ids: pd.Series, reasons: pd.Series, report: ImportReport, rows_in: int
) -> None:
    """Quarantine repeated rows among otherwise usable ones, and count them in the report.

    A row identical in every column to an earlier one is an exact repeat; a repeated id with
    other content conflicts (the first occurrence is kept). Without an id column (ids made from
    row numbers) identical rows may be separate identical deals: they are kept and counted.
    """
    usable = reasons.isna().to_numpy()
    if report.ids_generated:
        kept = int(frame[usable].duplicated(keep="first").sum())
        report.duplicates.update(exact_rows=kept, exact_rows_kept=kept)
        if kept:
            report.warnings.append(
                f"{number(kept)} rows repeat an earlier row exactly ({share(kept / rows_in, 1)}); "
                "with no opportunity id column they cannot be told apart from separate identical "
                "deals, so they are kept. Map an id column (or remove the repeats) if they are "
                "copies of one deal."
            )
        return
    if not ids.duplicated().any():  # the usual case, decided in one pass
        return
    candidates = usable & ids.notna().to_numpy()
    repeated = ids[candidates].duplicated(keep="first")
    if not repeated.any():
        return
    # Only rows sharing an id can repeat each other exactly: compare those rows alone.
    shared = ids[candidates].duplicated(keep=False).to_numpy()
    exact = frame[candidates][shared].duplicated(keep="first")
    exact = exact.reindex(repeated.index, fill_value=False)
    conflicting = repeated & ~exact
    reasons[exact[exact].index] = REASON_EXACT_REPEAT
    reasons[conflicting[conflicting].index] = REASON_CONFLICTING_ID
    report.duplicates.update(
        exact_rows=int(exact.sum()),
        conflicting_rows=int(conflicting.sum()),
        conflicting_ids=int(ids[conflicting[conflicting].index].nunique()),
    )


def _file_dayfirst(report: ImportReport, default: bool) -> bool:
    """Day-first as the file's own date columns decided it (data, mapping), else ``default``."""
    for decided in report.date_formats.values():
        if (
            decided["decided_by"] in ("data", "mapping", "format")
            and decided["dayfirst"] is not None
        ):
            return bool(decided["dayfirst"])
    return default


def _extra_columns(
    frame: pd.DataFrame,
    headers: list[str],
    *,
    taken: set[str],
    report: ImportReport,
    decimal_hint: str | None,
    dayfirst: bool | None,
    default_dayfirst: bool,
) -> dict[str, pd.Series]:
    """``extra_<snake name>`` columns typed by :func:`type_column`; what did not fit is reported."""
    extras: dict[str, pd.Series] = {}
    for header in headers:
        name = f"extra_{_snake(header)}"
        while name in extras or name in taken:
            name += "_"
        typed = type_column(
            frame[header],
            name=header,
            decimal_hint=decimal_hint,
            dayfirst=dayfirst,
            default_dayfirst=default_dayfirst,
        )
        extras[name] = typed.values
        report.extra_types[name] = typed.kind
        label = f"{name} ({header})"
        if typed.unparseable:
            kind = "numbers" if typed.kind == "number" else "dates"
            report.warnings.append(
                f"{label}: read as {kind}, but {number(typed.unparseable)} values are not "
                f"{kind} (e.g. {', '.join(map(repr, typed.examples))}); left empty here, the "
                "file still holds them."
            )
        if typed.ambiguity:
            report.warnings.append(f"{label}: {typed.ambiguity}")
        if typed.percent:
            report.notes.append(
                f"{label}: {number(typed.percent)} percentages read as fractions (35% -> 0.35)."
            )
        if typed.dates is not None and typed.dates.decided_by == "default":
            order = "day-first" if typed.dates.dayfirst else "month-first"
            report.warnings.append(
                f"{label}: every date is ambiguous (day and month both 12 or less); read as "
                f"{order} like the file's other dates. Set `dayfirst:` in a mapping file if "
                "that is wrong."
            )
    return extras


def _quarantine_rows(raw: RawTable, reasons: pd.Series, mask: np.ndarray) -> pd.DataFrame:
    rejected = raw.frame[mask].astype(str)
    q = pd.DataFrame(
        {
            "table": "opportunities",
            "source_row": raw.source_rows[mask].to_numpy(),
            "reason": reasons[mask].to_numpy(),
        }
    )
    q = pd.concat([q, rejected.reset_index(drop=True)], axis=1)
    if not raw.overlong.empty:
        over = pd.DataFrame(
            {
                "table": "opportunities",
                "source_row": raw.overlong["source_row"].to_numpy(),
                "reason": REASON_OVERLONG,
                "raw_line": raw.overlong["raw"].to_numpy(),
            }
        )
        q = pd.concat([q, over], ignore_index=True).sort_values("source_row", kind="stable")
    q = q.reset_index(drop=True)
    if q.empty:
        q = pd.DataFrame(columns=[*QUARANTINE_COLUMNS, *raw.frame.columns])
    return q


def _derive_loss_stage(
    opps: pd.DataFrame, events: pd.DataFrame, user: Mapping, report: ImportReport
) -> None:
    lost = opps["outcome"] == "lost"
    sources = []
    if not events.empty:
        closed = closed_outcome_from_stage(
            events["stage"].astype(str), user.won_stages, user.lost_stages
        )
        open_events = events[closed.isna().to_numpy()]
        last_open = open_events.groupby("opportunity_id", sort=False)["stage"].last()
        from_history = opps["opportunity_id"].map(last_open).astype("string")
        opps.loc[lost, "loss_stage"] = from_history[lost].fillna(opps.loc[lost, "loss_stage"])
        sources.append("stage history")
    if "loss_stage" in report.mapping:
        sources.append(f"column {report.mapping['loss_stage']}")
    # A CRM that keeps a lost deal in the stage it died in (Pipedrive, Dynamics): use it.
    stage_is_open = (
        closed_outcome_from_stage(
            opps["stage"].fillna("").astype(str), user.won_stages, user.lost_stages
        ).isna()
        & opps["stage"].notna()
    )
    fill = lost & opps["loss_stage"].isna() & stage_is_open
    if fill.any():
        opps.loc[fill, "loss_stage"] = opps.loc[fill, "stage"]
        sources.append("current stage of lost deals")
    opps["loss_stage"] = opps["loss_stage"].astype("string")
    report.loss_stage_from = ", ".join(sources) if sources else None
    if lost.any() and opps.loc[lost, "loss_stage"].isna().all():
        report.notes.append(
            "No stage history and no loss-stage column: where lost deals died cannot be computed."
        )
