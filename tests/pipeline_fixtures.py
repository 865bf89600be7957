"""Small hand-made CRM data for the pipeline x-ray tests (every number in them is counted by hand)."""

from __future__ import annotations

import pandas as pd

from sales_rca.crm.data import OPPORTUNITY_COLUMNS, CrmData, ImportReport

OFFICIAL = ["Qualify", "Needs Analysis", "Proposal", "Negotiation"]
Q, N, P, NEG = OFFICIAL


def make_crm(
    opportunities: list[dict],
    events: list[tuple[str, str, str]] | None = None,
    *,
    stages: list[str] | None = None,
    won_stages: list[str] | None = None,
    lost_stages: list[str] | None = None,
) -> CrmData:
    """A CrmData in canonical form from a few dicts and ``(opportunity_id, stage, entered_at)``."""
    opps = pd.DataFrame(opportunities)
    for col in OPPORTUNITY_COLUMNS:
        if col not in opps:
            opps[col] = None
    extras = [c for c in opps.columns if c not in OPPORTUNITY_COLUMNS]
    opps = opps[[*OPPORTUNITY_COLUMNS, *extras]]
    opps["opportunity_id"] = opps["opportunity_id"].astype(str)
    opps["outcome"] = pd.Categorical(opps["outcome"], categories=["won", "lost", "open"])
    opps["amount"] = pd.to_numeric(opps["amount"]).astype(float)
    for col in ("created_date", "close_date"):
        opps[col] = pd.to_datetime(opps[col], format="ISO8601").astype("datetime64[ns]")
    ev = pd.DataFrame(events or [], columns=["opportunity_id", "stage", "entered_at"])
    ev["opportunity_id"] = ev["opportunity_id"].astype(object)
    ev["stage"] = ev["stage"].astype(object)
    ev["entered_at"] = pd.to_datetime(ev["entered_at"], format="ISO8601").astype("datetime64[ns]")
    return CrmData(
        opportunities=opps,
        stage_events=ev,
        quarantine=pd.DataFrame(columns=["table", "source_row", "reason"]),
        report=ImportReport(source="test", path="<memory>"),
        stages=list(stages or []),
        won_stages=list(won_stages or ["Closed Won"]),
        lost_stages=list(lost_stages or ["Closed Lost"]),
    )


def story_crm(**kwargs) -> CrmData:
    """Eight deals through Qualify → Needs Analysis → Proposal → Negotiation; x-ray as of 25 Jan.

    | deal | outcome | amount | path (day of January)                         | segment |
    |------|---------|-------:|-----------------------------------------------|---------|
    | W1   | won     |    100 | Q 1, N 3, P 8, Neg 10, Closed Won 20            | SMB     |
    | W2   | won     |    200 | Q 1, N 5, Neg 15 (skips Proposal), closed 25     | ENT     |
    | L1   | lost    |     50 | Q 2, closed 6 (lost in its first stage)          | SMB     |
    | L2   | lost    |    300 | Q 1, N 2, P 6, N 9 (backward), Closed Lost 19    | ENT     |
    | L3   | lost    |     70 | Q 1, N 2, closed 11                              | ENT     |
    | O1   | open    |    400 | Q 3, N 4, P 10                                   | SMB     |
    | O2   | open    |    500 | Q and N both at 5 Jan 09:00 (tied timestamps)    | ENT     |
    | O3   | open    |    600 | Q 24                                             | SMB     |
    """
    day = "2024-01-{:02d}".format
    rows = [
        ("W1", "won", 100, 1, 20, "SMB", "Alice"),
        ("W2", "won", 200, 1, 25, "ENT", "Bob"),
        ("L1", "lost", 50, 2, 6, "SMB", "Alice"),
        ("L2", "lost", 300, 1, 19, "ENT", "Bob"),
        ("L3", "lost", 70, 1, 11, "ENT", "Bob"),
        ("O1", "open", 400, 3, None, "SMB", "Alice"),
        ("O2", "open", 500, 5, None, "ENT", "Bob"),
        ("O3", "open", 600, 24, None, "SMB", "Alice"),
    ]
    opps = [
        {
            "opportunity_id": oid,
            "stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome),
            "outcome": outcome,
            "amount": amount,
            "created_date": day(created),
            "close_date": day(close) if close else None,
            "segment": segment,
            "owner": owner,
            "account": f"Acct {oid}",
        }
        for oid, outcome, amount, created, close, segment, owner in rows
    ]
    current = {"O1": P, "O2": N, "O3": Q}
    for o in opps:
        if o["outcome"] == "open":
            o["stage"] = current[o["opportunity_id"]]
    events = [
        ("W1", Q, day(1)), ("W1", N, day(3)), ("W1", P, day(8)), ("W1", NEG, day(10)),
        ("W1", "Closed Won", day(20)),
        ("W2", Q, day(1)), ("W2", N, day(5)), ("W2", NEG, day(15)),
        ("L1", Q, day(2)),
        ("L2", Q, day(1)), ("L2", N, day(2)), ("L2", P, day(6)), ("L2", N, day(9)),
        ("L2", "Closed Lost", day(19)),
        ("L3", Q, day(1)), ("L3", N, day(2)),
        ("O1", Q, day(3)), ("O1", N, day(4)), ("O1", P, day(10)),
        ("O2", Q, "2024-01-05 09:00"), ("O2", N, "2024-01-05 09:00"),
        ("O3", Q, day(24)),
    ]  # fmt: skip
    kwargs.setdefault("stages", OFFICIAL)
    return make_crm(opps, events, **kwargs)
