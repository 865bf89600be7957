"""The two extra demo clients of the example clients file (``sales-rca demo --clients``).

``sales-rca demo --out DIR --clients`` writes them into ``DIR/clients``, byte for byte the packaged
ones (``sales_rca/resources/demo/clients``):

- ``hubspot_deals.xlsx``: a HubSpot deals export with its "Date entered <stage>" columns, seed 11, 400 deals;
- ``european_opportunities.csv`` + ``european_mapping.yaml``: a European CSV (``;`` separated,
  decimal comma, ``d.m.Y`` dates, custom German headers and stage names) with a loss-stage column
  and the mapping file that tells sales-rca how to read it, seed 23, 500 deals.

Both start from :func:`sales_rca.demo.generate`, so they tell the same story as the Salesforce demo.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pandas as pd
import yaml

from sales_rca.demo import STAGES, DemoData, generate

HUBSPOT_STAGES = {
    "Prospecting": "Appointment Scheduled",
    "Qualification": "Qualified To Buy",
    "Needs Analysis": "Presentation Scheduled",
    "Value Proposition": "Decision Maker Bought-In",
    "Id. Decision Makers": "Decision Maker Bought-In",
    "Perception Analysis": "Decision Maker Bought-In",
    "Proposal/Price Quote": "Contract Sent",
    "Negotiation/Review": "Contract Sent",
    "Closed Won": "Closed Won",
    "Closed Lost": "Closed Lost",
}
GERMAN_STAGES = {
    "Prospecting": "Erstkontakt",
    "Qualification": "Qualifizierung",
    "Needs Analysis": "Bedarfsanalyse",
    "Value Proposition": "Nutzenargumentation",
    "Id. Decision Makers": "Entscheider identifiziert",
    "Perception Analysis": "Einwandbehandlung",
    "Proposal/Price Quote": "Angebot",
    "Negotiation/Review": "Verhandlung",
    "Closed Won": "Gewonnen",
    "Closed Lost": "Verloren",
}
#: A fixed timestamp inside the xlsx zip, so the file's bytes do not depend on the day it was made.
_ZIP_TIME = (2026, 9, 30, 0, 0, 0)


def _amount(text: pd.Series) -> pd.Series:
    """``"USD 48,500.00"`` -> 48500.0; anything else (``TBD``) stays as typed."""
    cleaned = text.str.replace("USD ", "", regex=False).str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    return numbers.astype(object).where(numbers.notna(), text)


def _us_date(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, format="%m/%d/%Y", errors="coerce")


def _date_entered(demo: DemoData, stages: dict[str, str]) -> pd.DataFrame:
    """HubSpot's 'Date entered "<stage> (Sales Pipeline)"' properties: when each deal first
    entered each HubSpot stage (several Salesforce stages map to one HubSpot stage)."""
    h = demo.history
    entered = pd.to_datetime(h["Edit Date"], format="%m/%d/%Y %I:%M %p")
    first = (
        pd.DataFrame({"id": h["Opportunity ID"], "stage": h["To Stage"].map(stages), "at": entered})
        .dropna(subset=["stage"])
        .groupby(["id", "stage"], sort=False)["at"]
        .min()
        .unstack()
    )
    order = list(dict.fromkeys(stages.values()))
    first = first.reindex(columns=order)
    first.columns = [f'Date entered "{s} (Sales Pipeline)"' for s in order]
    return first.reindex(demo.opportunities["Opportunity ID"]).reset_index(drop=True)


def hubspot_deals(seed: int = 11, n: int = 400) -> pd.DataFrame:
    """A HubSpot "Deals" export: HubSpot's column names, stage names and numeric amounts, with the
    "Date entered <stage>" properties that give sales-rca the stage history."""
    demo = generate(n, seed=seed)
    o = demo.opportunities
    created = _us_date(o["Created Date"])
    deals = pd.DataFrame(
        {
            "Record ID": [f"{9_100_000_000 + i}" for i in range(len(o))],
            "Deal Name": o["Opportunity Name"],
            "Pipeline": "Sales Pipeline",
            "Deal Stage": o["Stage"].map(HUBSPOT_STAGES),
            "Amount": _amount(o["Amount"]),
            "Close Date": _us_date(o["Close Date"]),
            "Create Date": created + pd.to_timedelta(9, unit="h"),
            "Deal owner": o["Opportunity Owner"],
            "HubSpot Team": o["Owner Manager"],
            "Deal Type": o["Type"].replace({"New Business": "newbusiness"}),
            "Associated Company": o["Account Name"],
            "Original Source Type": o["Lead Source"],
            "Segment": o["Segment"],
            "Region": o["Region"],
            "Closed Lost Reason": o["Loss Reason"],
            "Closed Lost Notes": o["Loss Reason Detail"],
            "Manager Coaching": o["Manager Coaching"],
            "Buying Group Size": o["Buying Group Size"],
        }
    )
    return pd.concat([deals, _date_entered(demo, HUBSPOT_STAGES)], axis=1)


def european_opportunities(seed: int = 23, n: int = 500) -> pd.DataFrame:
    """A European CRM's CSV export: German headers and stages, with the stage a lost deal died in."""
    demo = generate(n, seed=seed)
    o = demo.opportunities
    loss_stage = o["Opportunity ID"].map(demo.truth.set_index("opportunity_id")["loss_stage"])
    amount = _amount(o["Amount"])

    def euro(value: object) -> str:
        if not isinstance(value, float):
            return str(value)
        whole, cents = f"{value:,.2f}".split(".")
        return f"{whole.replace(',', '.')},{cents}"

    def d_m_y(text: pd.Series) -> pd.Series:
        return _us_date(text).dt.strftime("%d.%m.%Y").fillna("")

    return pd.DataFrame(
        {
            "Vorgangsnummer": o["Opportunity ID"].str.replace("0065g", "VG-", regex=False),
            "Kunde": o["Account Name"],
            "Phase": o["Stage"].map(GERMAN_STAGES),
            "Betrag (EUR)": amount.map(euro),
            "Angelegt am": d_m_y(o["Created Date"]),
            "Abschluss am": d_m_y(o["Close Date"]),
            "Vertriebler": o["Opportunity Owner"],
            "Teamleiter": o["Owner Manager"],
            "Coaching": o["Manager Coaching"],
            "Segment": o["Segment"],
            "Region": o["Region"],
            "Produkt": o["Product"],
            "Wettbewerber": o["Primary Competitor"],
            "Verloren in Phase": loss_stage.map(GERMAN_STAGES).fillna(""),
            "Verlustgrund": o["Loss Reason"],
            "Verlustgrund Details": o["Loss Reason Detail"],
        }
    )


EUROPEAN_MAPPING = {
    "opportunity_id": "Vorgangsnummer",
    "account": "Kunde",
    "stage": "Phase",
    "amount": "Betrag (EUR)",
    "created_date": "Angelegt am",
    "close_date": "Abschluss am",
    "owner": "Vertriebler",
    "manager": "Teamleiter",
    "segment": "Segment",
    "region": "Region",
    "product": "Produkt",
    "competitor": "Wettbewerber",
    "loss_stage": "Verloren in Phase",
    "loss_reason": "Verlustgrund",
    "loss_detail": "Verlustgrund Details",
    "stages": [GERMAN_STAGES[s] for s in STAGES],
    "won_stages": ["Gewonnen"],
    "lost_stages": ["Verloren"],
    "dayfirst": True,
    "decimal": ",",
}


def _fix_zip_times(path: Path) -> None:
    """Rewrite an xlsx with fixed member timestamps and core-properties dates (reproducible bytes)."""
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                for tag in ("dcterms:created", "dcterms:modified"):
                    start = text.find(f"<{tag}")
                    if start >= 0:
                        open_end = text.index(">", start) + 1
                        close = text.index(f"</{tag}>", open_end)
                        text = text[:open_end] + "2026-09-30T00:00:00Z" + text[close:]
                data = text.encode("utf-8")
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)


def write_clients(folder: str | Path) -> list[Path]:
    """Write the two extra demo clients' files into ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    xlsx = folder / "hubspot_deals.xlsx"
    deals = hubspot_deals()
    with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
        writer.book.properties.created = dt.datetime(2026, 9, 30)
        deals.to_excel(writer, sheet_name="Deals", index=False)
    _fix_zip_times(xlsx)
    csv = folder / "european_opportunities.csv"
    european_opportunities().to_csv(
        csv, sep=";", index=False, encoding="utf-8", lineterminator="\n"
    )
    mapping = folder / "european_mapping.yaml"
    mapping.write_text(
        "# How sales-rca reads european_opportunities.csv (canonical name: source column).\n"
        + yaml.safe_dump(EUROPEAN_MAPPING, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return [xlsx, csv, mapping]
