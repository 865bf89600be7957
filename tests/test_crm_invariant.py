"""Property: whatever is done to an export, no row is lost: rows_in == accepted + quarantined."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_rca.crm import CrmImportError, load_crm

HEADER = ["Opportunity ID", "Stage", "Amount", "Close Date", "Loss Reason Detail"]
ids = st.one_of(st.sampled_from(["A1", "A2", "A3", "", "  "]), st.text(max_size=6))
stages = st.sampled_from(["Closed Won", "Closed Lost", "Prospecting", "", "closedwon", "Won"])
amounts = st.one_of(
    st.sampled_from(["$1,000.00", "12.500,00 €", "(300)", "TBD", "", "1.2M"]),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
)
dates = st.sampled_from(["2025-01-31", "1/2/2025", "31.12.2024", "45000", "soon", ""])
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
row = st.tuples(ids, stages, amounts, dates, texts).map(list)
mangle = st.sampled_from(["none", "extra_field", "short", "blank"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(row, mangle), min_size=1, max_size=25),
    delimiter=st.sampled_from(",;\t|"),
)
def test_no_row_is_ever_lost(tmp_path, rows, delimiter):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(HEADER)
    for values, how in rows:
        if how == "extra_field":
            values = [*values, "surplus"]
        elif how == "short":
            values = values[:2]
        elif how == "blank":
            values = [""] * len(values)
        writer.writerow(values)
    path = tmp_path / "mangled.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    try:
        crm = load_crm(path)
    except CrmImportError as err:
        # Only whole-file problems may stop an import, and they say so in one line.
        assert "\n" not in str(err)
        return
    r = crm.report
    assert r.rows_in == r.rows_accepted + r.rows_quarantined
    assert len(crm.opportunities) == r.rows_accepted
    assert len(crm.quarantine) == r.rows_quarantined
    assert crm.opportunities["opportunity_id"].is_unique
