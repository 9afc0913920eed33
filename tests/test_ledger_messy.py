"""The messy company of tests/data/messy (make_messy_company.py): a Sage-like cp1252 export read end to end, with
only its deliberately bad rows rejected, every replaced label noted, and balances that agree to the cent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cashsim.cli import main
from cashsim.ledger import OPEN_STATUSES, Reason
from cashsim.ledger.notes import NoteReason
from cashsim.params import load_params
from cashsim.sources import ledger_from_params

MESSY = Path(__file__).resolve().parent / "data" / "messy"
AS_OF = pd.Timestamp("2026-10-31")


@pytest.fixture(scope="module")
def messy():
    params = load_params(MESSY / "params.yml")
    return params, ledger_from_params(params)


def _file_amounts(name: str, column: str) -> pd.Series:
    """Amounts of an export, read apart from cashsim (unreadable -> NaN), indexed by spreadsheet row."""
    raw = pd.read_csv(MESSY / name, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    text = raw[column].str.replace(" ", "", regex=False).str.replace(",", ".", regex=False)
    return pd.Series(pd.to_numeric(text, errors="coerce").to_numpy(), index=raw.index + 2)


def test_only_the_deliberately_bad_rows_are_rejected(messy):
    _, led = messy
    assert led.rejections[["table", "row", "column", "value", "reason"]].values.tolist() == [
        ["invoices", 1417, "invoice_id", "FA2504-0011", Reason.DUPLICATE_ID],   # a duplicated invoice number
        ["payments", 1400, "payment_date", "31/02/2026", Reason.BAD_DATE],      # an impossible date
        ["payments", 1401, "amount", "12 5OO,00", Reason.BAD_NUMBER],           # an amount typed with letters
        ["payments", 1402, "amount", "999 999,00", Reason.OVERPAYMENT],         # more than its invoice
    ]
    acc = led.accounting()
    assert acc.loc[["invoices", "payments", "customers"], ["rows_read", "rows_used", "rows_rejected"]].values.tolist() \
        == [[1416, 1415, 1], [1401, 1398, 3], [40, 40, 0]]
    assert acc["balanced"].all()


def test_labels_are_recognised_and_the_others_noted(messy):
    _, led = messy
    labels = led.notes[led.notes["reason"] == NoteReason.LABEL_UNKNOWN]
    assert labels[["table", "row", "column", "value", "used"]].values.tolist() == [
        ["invoices", 7, "dispute_type", "à qualifier", "other"],
        ["invoices", 22, "payment_method", "Compensation", "transfer"],
        ["invoices", 23, "payment_method", "Compensation", "transfer"],
        ["customers", 30, "customer_type", "Autre", "company"],
    ]
    raw = pd.read_csv(MESSY / "factures.csv", sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    inv = led.invoices.set_index("invoice_id")
    method = raw.drop_duplicates("N° facture").set_index("N° facture")["Mode de règlement"]
    read = inv["payment_method"].reindex(method.index)
    assert set(read[method == "Virement bancaire"]) == {"transfer"} and set(read[method == "LCR"]) == {"direct_debit"}
    assert set(read[method == "Chèque"]) == {"cheque"} and set(read[method == "Prélèvement"]) == {"direct_debit"}
    dispute = raw.drop_duplicates("N° facture").set_index("N° facture")["Type litige"]
    assert set(inv["dispute_type"].reindex(dispute.index)[dispute == "facturation"]) == {"other"}
    cust = led.customers.set_index("customer_id")
    assert cust["customer_type"].value_counts().to_dict() == {"company": 30, "public_body": 7, "individual": 3}
    assert cust.loc["CL034", "customer_type"] == "public_body" and cust.loc["CL031", "customer_type"] == "individual"
    assert set(cust["owner"]) == {"Sophie (recouvrement)", "Karim (commercial)", ""}
    book = led.open_book(AS_OF)
    assert (book["customer_type"] == book["customer_id"].map(cust["customer_type"])).all()
    assert (book["owner"] == book["customer_id"].map(cust["owner"])).all()


def test_credit_notes_and_cash_on_account_are_allocated(messy):
    _, led = messy
    cash = led.credits[(led.credits["kind"] == "cash") & (led.credits["row"].between(1394, 1399))]
    assert cash["customer_id"].tolist() == ["CL002", "CL008", "CL015", "CL021", "CL030", "CL035"]
    st = led.status(AS_OF).set_index("invoice_id")
    assert st.loc["FA2610-0844", ["credited", "paid_to_date"]].tolist() == [464.96, 0.0]  # AV26-005 applies to it
    assert st.loc["FA2610-0844", "outstanding"] == pytest.approx(2324.78 - 464.96, abs=1e-9)
    notes = st.loc[st.index.str.startswith("AV26")]
    assert (notes["status"] == "paid").sum() == 5 and notes.loc["AV26-003", "outstanding"] == -186.07
    assert led.customer_credits[["customer_id", "amount", "rows"]].values.tolist() == [
        ["CL024", 186.07, "invoices row 1413"]]  # AV26-003: its invoice was paid, CL024 has nothing open
    used = led.allocations.groupby(["table", "row"])["amount"].sum()
    left = led.credits.set_index(["table", "row"])["amount"] - used.reindex(
        pd.MultiIndex.from_frame(led.credits[["table", "row"]])).fillna(0.0).to_numpy()
    assert left.round(2).to_dict() == {k: (186.07 if k == ("invoices", 1413) else 0.0) for k in left.index}


def test_rejections_balances_and_the_forecast_book_agree_to_the_cent(messy):
    from cashsim.pipeline import prepare

    params, led = messy
    paid = _file_amounts("reglements.csv", "Montant")
    rejected = led.rejections.groupby("table")["row"].apply(list).to_dict()
    cash_used = paid.drop(rejected["payments"]).sum()
    cash_left = led.customer_credits["cash"].sum()
    assert cash_used == pytest.approx(led.payments["amount"].sum() + cash_left, abs=0.005)
    invoiced = _file_amounts("factures.csv", "Montant TTC").drop(rejected["invoices"]).sum()
    assert invoiced == pytest.approx(led.invoices["amount"].sum(), abs=0.005)
    credit_notes = -led.invoices.loc[led.invoices["amount"] < 0, "amount"].sum()
    assert credit_notes == pytest.approx(led.allocations.loc[led.allocations["kind"] == "credit", "amount"].sum()
                                         + led.customer_credits["credit_notes"].sum(), abs=0.005)

    s = led.summary(AS_OF)
    st = led.status(AS_OF)
    book = led.open_book(AS_OF)
    assert s["open_amount"] == pytest.approx(book["outstanding"].sum(), abs=0.005)
    assert s["overdue_amount"] == pytest.approx(st.loc[st["status"] == "overdue", "outstanding"].sum(), abs=0.005)
    assert (st.loc[~st["status"].isin(OPEN_STATUSES), "outstanding"].abs() < 0.005).all()  # nothing settled owes
    # the books' net receivable = the open book less the cash no invoice has taken
    assert invoiced - cash_used == pytest.approx(s["open_amount"] - s["cash_on_account"], abs=0.005)
    forecast = prepare(params, ledger=led).book.invoices
    to_collect = forecast.loc[~forecast["is_future"].to_numpy(bool), "amount"].sum()
    assert to_collect == pytest.approx(book.loc[book["outstanding"] > 0, "outstanding"].sum(), abs=0.005)
    assert to_collect == pytest.approx(s["open_amount"] + led.customer_credits["credit_notes"].sum(), abs=0.005)
    assert np.isclose(s["customer_credit"], 186.07)


def test_validate_prints_notes_and_credit(capsys):
    assert main(["--locale", "en_GB", "validate", str(MESSY / "params.yml"), "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "rows read / rejected          2,857 / 4   every row accounted for" in out
    assert "unallocated credit" in out and "Notes by reason" in out
    assert "       4  label not recognised: fallback used" in out
    assert "First 2 of 10 notes" in out   # 9, and CL017's missing client group
    assert "       1  no client group: modelled apart, with any other customer without one" in out


def test_the_reports_rejections_view_gives_details_in_the_readers_words(messy):
    from types import SimpleNamespace

    from cashsim.report.ledger_views import rejections_view

    params, led = messy
    shown = rejections_view(SimpleNamespace(ledger=led, params=params)).data
    details = set(shown["détail"]) - {""}
    assert "cumul 1\u202f013\u202f769,55 > montant 13\u202f770,55 + tolérance 68,85" in details
    assert "première occurrence ligne 12" in details
    assert not any("expected" in d or "cumulative" in d for d in details)
    assert led.rejections["detail"].str.startswith("cumulative").any()  # the table itself stays English


def test_credits_left_at_a_date_is_what_the_ledger_known_then_leaves(messy):
    """``Ledger.credits_left(d)`` (every credit, the allocations dated <= d: what validate's notes say is left) gives
    each credit known at d the remainder ``known_at(d)`` gives it, and the summary's cash on account sums them."""
    _, led = messy
    key = ["table", "file", "row"]
    for day in ("2026-10-17", "2026-10-20", "2026-10-31"):
        known = led.known_at(day).credits_left().set_index(key)["left"]
        at = led.credits_left(day).set_index(key)["left"]
        assert len(at) == len(led.credits) and 0 < len(known) <= len(at)
        pd.testing.assert_series_equal(at.loc[known.index], known, check_exact=True)
        cash = led.known_at(day).credits_left().query("kind == 'cash' and left > 0")["left"].sum()
        assert round(led.summary(day)["cash_on_account"], 2) == round(cash, 2)
    assert (led.credits_left("2026-10-17")["left"] > led.credits_left()["left"]).any()   # allocated after that day
