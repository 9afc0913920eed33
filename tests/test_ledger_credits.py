"""cashsim.ledger credit notes and cash on account: allocated oldest due first, hand-checked to the cent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cashsim.ledger import Reason, allocate_oldest_due_first, payment_tolerance, read_ledger
from cashsim.ledger.notes import NoteReason

# A: a payment on account covering F1 and F2 and part of F3, then F3's remainder paid.
# B: a credit note naming no invoice, taken by G1 (not cash), then G1's remainder paid.
# C: a credit note when nothing is open: H1 takes part of it at its issue, the rest is C's credit balance.
# D: cash on account of a customer with no invoice: its credit balance.
# E: K1 partly paid, then closed by a credit note naming it.
INVOICES = [
    ("F1", "A", "2026-01-05", "2026-02-04", 1000.0, ""),
    ("F2", "A", "2026-01-20", "2026-02-19", 500.0, ""),
    ("F3", "A", "2026-02-01", "2026-03-03", 800.0, ""),
    ("G1", "B", "2026-01-10", "2026-02-09", 600.0, ""),
    ("AV-B", "B", "2026-02-15", "2026-02-15", -250.0, ""),
    ("AV-C", "C", "2026-01-15", "2026-01-15", -300.0, ""),
    ("H1", "C", "2026-02-01", "2026-03-03", 200.0, ""),
    ("K1", "E", "2026-01-10", "2026-02-09", 1000.0, ""),
    ("AV-E", "E", "2026-02-20", "2026-02-20", -300.0, "K1"),
]
PAYMENTS = [  # invoice_id, customer_id, date, amount
    ("", "A", "2026-02-10", 1800.0),
    ("F3", "", "2026-03-10", 500.0),
    ("G1", "B", "2026-03-01", 350.0),
    ("", "D", "2026-02-01", 150.0),
    ("K1", "", "2026-02-05", 700.0),
]


def ledger(invoices=INVOICES, payments=PAYMENTS, customers="ABCDE"):
    inv = pd.DataFrame(invoices, columns=["invoice_id", "customer_id", "issue_date", "due_date", "amount",
                                          "applies_to"])
    pay = pd.DataFrame(payments, columns=["invoice_id", "customer_id", "payment_date", "amount"])
    return read_ledger(inv, pay, customers=pd.DataFrame({"customer_id": list(customers)}))


@pytest.fixture(scope="module")
def led():
    return ledger()


def test_every_row_used_and_the_allocations_hand_checked(led):
    assert led.rejections.empty and led.notes.empty and led.accounting()["balanced"].all()
    assert led.accounting().loc["payments", ["rows_read", "rows_used"]].tolist() == [5, 5]
    got = led.allocations[["row", "kind", "invoice_id", "date", "amount", "rule"]].assign(
        date=led.allocations["date"].dt.strftime("%Y-%m-%d")).values.tolist()
    assert sorted(got) == sorted([
        [2, "cash", "F1", "2026-02-10", 1000.0, "oldest_due_first"],   # payments row 2: F1 due first
        [2, "cash", "F2", "2026-02-10", 500.0, "oldest_due_first"],
        [2, "cash", "F3", "2026-02-10", 300.0, "oldest_due_first"],   # part of the third
        [6, "credit", "G1", "2026-02-15", 250.0, "oldest_due_first"],  # invoices row 6: AV-B
        [7, "credit", "H1", "2026-02-01", 200.0, "oldest_due_first"],  # AV-C waits for H1's issue
        [10, "credit", "K1", "2026-02-20", 300.0, "applies_to"],
    ])
    pay = led.payments.assign(payment_date=led.payments["payment_date"].dt.strftime("%Y-%m-%d"))
    assert sorted(pay[["invoice_id", "customer_id", "payment_date", "amount"]].values.tolist()) == sorted([
        ["F1", "A", "2026-02-10", 1000.0], ["F2", "A", "2026-02-10", 500.0], ["F3", "A", "2026-02-10", 300.0],
        ["F3", "A", "2026-03-10", 500.0], ["G1", "B", "2026-03-01", 350.0], ["K1", "E", "2026-02-05", 700.0]])
    credits = led.customer_credits.set_index("customer_id")
    assert credits[["amount", "cash", "credit_notes"]].to_dict("index") == {
        "C": {"amount": 100.0, "cash": 0.0, "credit_notes": 100.0},
        "D": {"amount": 150.0, "cash": 150.0, "credit_notes": 0.0}}
    assert credits.loc["C", "rows"] == "invoices row 7" and credits.loc["D", "rows"] == "payments row 5"


def test_status_credits_are_not_cash(led):
    st = led.status("2026-03-31").set_index("invoice_id")
    assert (st.loc[["F1", "F2", "F3", "G1", "H1", "K1"], "status"] == "paid").all()
    assert st.loc[["F1", "F2", "F3"], "days_late"].tolist() == [6.0, -9.0, 7.0]  # cash on account is cash
    assert st.loc["G1", ["paid_to_date", "credited", "outstanding"]].tolist() == [350.0, 250.0, 0.0]
    assert st.loc["G1", "settled_by"] == "payment" and st.loc["G1", "days_late"] == 20.0
    k1 = st.loc["K1"]  # closed by its credit note: no payment that day, no days late
    assert (k1["paid_to_date"], k1["credited"], k1["outstanding"]) == (700.0, 300.0, 0.0)
    assert k1["settled_by"] == "credit" and k1["paid_date"] == pd.Timestamp("2026-02-20")
    assert np.isnan(k1["days_late"]) and np.isnan(st.loc["H1", "days_late"])
    assert st.loc["AV-E", "status"] == "paid" and st.loc["AV-E", "credited"] == -300.0
    av_c = st.loc["AV-C"]  # what H1 could not take stays an open credit note, netting C's balance
    assert (av_c["status"], av_c["credited"], av_c["outstanding"]) == ("open_not_due", -200.0, -100.0)
    collected = led.payments["amount"].sum()
    assert collected == 3350.0 and collected + led.customer_credits["cash"].sum() == sum(p[3] for p in PAYMENTS)
    assert led.open_book("2026-03-31")["outstanding"].sum() == -100.0


def test_no_look_ahead_and_balances_at_a_date(led):
    mid = led.status("2026-02-12").set_index("invoice_id")
    assert mid.loc["F3", ["status", "paid_to_date", "outstanding"]].tolist() == ["open_not_due", 300.0, 500.0]
    assert mid.loc["G1", "outstanding"] == 600.0 and "AV-B" not in mid.index
    early = led.known_at("2026-01-20")
    assert early.customer_credits.set_index("customer_id")["amount"].to_dict() == {"C": 300.0}
    assert led.summary("2026-02-12")["cash_on_account"] == 150.0  # D's, nothing for it to settle
    cut = ledger([r for r in INVOICES if r[2] <= "2026-02-12"], [p for p in PAYMENTS if p[2] <= "2026-02-12"])
    pd.testing.assert_frame_equal(led.status("2026-02-12"), cut.status("2026-02-12"))


def test_a_lettered_payment_after_an_allocation_brings_its_excess_on_account():
    invoices = [("F1", "A", "2026-01-05", "2026-02-04", 1000.0, ""), ("F2", "A", "2026-01-20", "2026-02-19", 500.0, ""),
                ("AV1", "A", "2026-02-01", "2026-02-01", -400.0, "")]
    payments = [("F1", "A", "2026-02-10", 1000.0)]  # the customer paid F1 in full anyway
    led = ledger(invoices, payments)
    st = led.status("2026-02-28").set_index("invoice_id")
    assert st.loc["F1", ["paid_to_date", "credited", "status"]].tolist() == [600.0, 400.0, "paid"]
    assert st.loc["F2", ["paid_to_date", "outstanding", "status"]].tolist() == [400.0, 100.0, "overdue"]
    assert led.notes[["table", "row", "column", "used", "reason"]].values.tolist() == [
        ["payments", 2, "invoice_id", "600.00 to its invoice, 400.00 on account", str(NoteReason.MORE_THAN_OWED)]]
    assert led.payments["amount"].sum() == 1000.0 and led.accounting()["balanced"].all()


def test_credit_note_checks_and_on_account_checks():
    invoices = INVOICES + [
        ("AV-X", "A", "2026-02-20", "2026-02-20", -10.0, "F999"),   # row 11 unknown invoice
        ("AV-Y", "A", "2026-02-20", "2026-02-20", -10.0, "G1"),     # row 12 another customer's
        ("AV-Z", "A", "2026-02-20", "2026-02-20", -10.0, "AV-B"),   # row 13 a credit note
        ("AV-W", "A", "2026-01-01", "2026-01-01", -10.0, "F3"),     # row 14 before its invoice
        ("F4", "A", "2026-02-20", "2026-03-20", 10.0, "F1"),        # row 15 applies_to ignored
        ("F1", "A", "2026-02-20", "2026-03-20", 10.0, ""),          # row 16 duplicate
    ]
    payments = PAYMENTS + [("", "Z", "2026-02-01", 10.0),            # row 7 unknown customer
                           ("", "A", "2026-02-01", -10.0),           # row 8 refund on no invoice
                           ("F1", "B", "2026-02-01", 10.0),          # row 9 F1 is A's
                           ("", "", "2026-02-01", 10.0)]             # row 10 neither invoice nor customer
    led = ledger(invoices, payments)
    assert led.rejections[["table", "row", "column", "reason"]].values.tolist() == [
        ["invoices", 11, "applies_to", Reason.UNKNOWN_INVOICE], ["invoices", 12, "applies_to", Reason.OTHER_CUSTOMER],
        ["invoices", 13, "applies_to", Reason.NOT_AN_INVOICE], ["invoices", 14, "applies_to", Reason.BEFORE_ISSUE],
        ["invoices", 16, "invoice_id", Reason.DUPLICATE_ID],
        ["payments", 7, "customer_id", Reason.UNKNOWN_CUSTOMER], ["payments", 8, "amount", Reason.REFUND_ON_ACCOUNT],
        ["payments", 9, "customer_id", Reason.OTHER_CUSTOMER], ["payments", 10, "invoice_id", Reason.MISSING_VALUE]]
    assert led.notes[["table", "row", "column", "value", "reason"]].values.tolist() == [
        ["invoices", 15, "applies_to", "F1", str(NoteReason.APPLIES_TO_IGNORED)]]
    assert pd.isna(led.invoices.set_index("invoice_id").loc["F4", "applies_to"])
    assert led.accounting()["balanced"].all()


def test_without_an_applies_to_column_credit_notes_stay_open_items():
    inv = pd.DataFrame({"invoice_id": ["F1", "AV1"], "customer_id": "C1", "issue_date": ["2026-01-01", "2026-01-10"],
                        "due_date": ["2026-01-31", "2026-01-10"], "amount": [100.0, -40.0]})
    led = read_ledger(inv, pd.DataFrame(columns=["invoice_id", "payment_date", "amount"]))
    assert led.allocations.empty and led.credits.empty and led.customer_credits.empty
    st = led.status("2026-02-15").set_index("invoice_id")
    assert st["outstanding"].tolist() == [100.0, -40.0] and st["credited"].tolist() == [0.0, 0.0]


def test_allocate_oldest_due_first_directly():
    items = pd.DataFrame({"item_id": ["F1", "F2", "F3", "W"], "customer_id": "A",
                          "issue_date": pd.to_datetime(["2026-01-10", "2026-01-01", "2026-03-01", "2026-01-01"]),
                          "due_date": pd.to_datetime(["2026-01-20", "2026-02-28", "2026-03-31", "2026-01-05"]),
                          "amount": [100.0, 200.0, 50.0, 70.0],
                          "closed_from": pd.to_datetime([None, None, None, "2026-01-31"])})  # W written off
    credits = pd.DataFrame({"credit_id": ["x", "y", "z"], "customer_id": "A",
                            "date": pd.to_datetime(["2026-02-01", "2026-02-01", "2026-02-05"]),
                            "amount": [99.5, 260.0, 30.0], "item_id": ["F1", None, None]})
    out = allocate_oldest_due_first(items, credits)
    # x: F1 owes 100, 99.5 is within its tolerance: all to F1, which is settled; y: F2 (W is closed), 60 waits;
    # z waits too; F3 takes 50 of y at its issue (oldest credit first): 10 of y and 30 of z are left.
    assert out.allocations[["credit_id", "item_id", "amount", "rule"]].values.tolist() == [
        ["x", "F1", 99.5, "stated"], ["y", "F2", 200.0, "oldest_due_first"], ["y", "F3", 50.0, "oldest_due_first"]]
    assert out.allocations["date"].dt.strftime("%m-%d").tolist() == ["02-01", "02-01", "03-01"]
    assert out.leftover[["credit_id", "amount"]].values.tolist() == [["y", 10.0], ["z", 30.0]]
    with pytest.raises(ValueError, match="states item 'F9'"):
        allocate_oldest_due_first(items, credits.assign(item_id=["F9", None, None]))


# ---- properties ------------------------------------------------------------------------------------------------

CUSTOMERS = ["C0", "C1", "C2"]


@st.composite
def credit_ledgers(draw):
    """Random ledgers of 1-3 customers: invoices, lettered payments (never overpaying), credit notes naming one of
    their customer's earlier invoices or none, payments on account."""
    day0 = pd.Timestamp("2026-01-01")
    invoices, payments = [], []
    for i in range(draw(st.integers(1, 8))):
        customer = f"C{draw(st.integers(0, 2))}"
        issue = day0 + pd.Timedelta(days=draw(st.integers(0, 90)))
        cents = draw(st.integers(100, 200_000))
        invoices.append((f"F{i}", customer, issue, issue + pd.Timedelta(days=draw(st.sampled_from([0, 30, 45]))),
                         cents / 100, ""))
        for share in draw(st.lists(st.sampled_from([0.2, 0.5, 1.0]), max_size=2, unique=True)):
            if share <= 1.0 - sum(p[3] for p in payments if p[0] == f"F{i}") * 100 / cents:
                payments.append((f"F{i}", "", issue + pd.Timedelta(days=draw(st.integers(0, 120))),
                                 round(share * cents) / 100))
    for k in range(draw(st.integers(0, 3))):
        customer = f"C{draw(st.integers(0, 2))}"
        day = day0 + pd.Timedelta(days=draw(st.integers(0, 150)))
        earlier = [r[0] for r in invoices if r[1] == customer and r[2] <= day and r[0].startswith("F")]
        target = draw(st.sampled_from([""] + earlier))
        invoices.append((f"AV{k}", customer, day, day, -draw(st.integers(100, 100_000)) / 100, target))
    for _ in range(draw(st.integers(0, 3))):
        payments.append(("", f"C{draw(st.integers(0, 2))}", day0 + pd.Timedelta(days=draw(st.integers(0, 150))),
                         draw(st.integers(100, 150_000)) / 100))
    as_ofs = [day0 + pd.Timedelta(days=d) for d in draw(st.lists(st.integers(0, 200), min_size=1, max_size=3))]
    return invoices, payments, as_ofs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credit_ledgers())
def test_credits_conserve_money_look_nothing_ahead_and_wait_only_when_nothing_is_open(case):
    invoices, payments, as_ofs = case
    led = ledger(invoices, payments, CUSTOMERS)
    assert led.rejections.empty and led.accounting()["balanced"].all()
    cash_in = sum(p[3] for p in payments)
    assert led.payments["amount"].sum() + led.customer_credits["cash"].sum() == pytest.approx(cash_in, abs=1e-6)
    notes = -sum(r[4] for r in invoices if r[4] < 0)
    given = led.allocations.loc[led.allocations["kind"] == "credit", "amount"].sum()
    assert given + led.customer_credits["credit_notes"].sum() == pytest.approx(notes, abs=1e-6)
    for as_of in as_ofs:
        st_ = led.status(as_of)
        positive = st_[st_["amount"] > 0]
        tol = payment_tolerance(positive["amount"])
        assert (positive["paid_to_date"] + positive["credited"] <= positive["amount"] + tol + 1e-9).all()
        cut = ledger([r for r in invoices if r[2] <= as_of], [p for p in payments if p[2] <= as_of], CUSTOMERS)
        pd.testing.assert_frame_equal(st_, cut.status(as_of), check_dtype=False)
        in_credit = led.known_at(as_of).customer_credits["customer_id"]
        still_open = positive[positive["status"].isin(["open_not_due", "overdue"])]
        assert not still_open["customer_id"].isin(in_credit).any(), "a credit waits while an invoice is open"


def test_allocation_counts_in_cents_and_rounds_an_odd_amount_on_its_first_allocation():
    """Integer cents: three credits of 0.10 settle an item of 0.30 exactly (the fourth is left over, not 0.1 minus a
    float's dust), and an item owing 100.004 is rounded to the cent the first time something is given to it."""
    items = pd.DataFrame({"item_id": ["A", "B"], "customer_id": ["C1", "C2"],
                          "issue_date": pd.to_datetime(["2026-01-01", "2026-01-01"]),
                          "due_date": pd.to_datetime(["2026-01-31", "2026-01-31"]), "amount": [0.3, 100.004]})
    credits = pd.DataFrame({"credit_id": ["p1", "p2", "p3", "p4", "q1", "q2", "q3"],
                            "customer_id": ["C1"] * 4 + ["C2"] * 3,
                            "date": pd.to_datetime(["2026-02-01"] * 7),
                            "amount": [0.1, 0.1, 0.1, 0.1, 60.0, 40.0, 0.01]})
    for exact in (True, False):
        out = allocate_oldest_due_first(items, credits, exact=exact)
        assert out.allocations[["credit_id", "item_id", "amount"]].values.tolist() == [
            ["p1", "A", 0.1], ["p2", "A", 0.1], ["p3", "A", 0.1], ["q1", "B", 60.0], ["q2", "B", 40.0]]
        assert out.leftover[["credit_id", "amount"]].values.tolist() == [["p4", 0.1], ["q3", 0.01]]


def test_allocation_needs_dates():
    items = pd.DataFrame({"item_id": ["A"], "customer_id": "C1", "issue_date": pd.to_datetime(["2026-01-01"]),
                          "due_date": pd.to_datetime([None]), "amount": [10.0]})
    credits = pd.DataFrame({"credit_id": ["p"], "customer_id": "C1", "date": pd.to_datetime(["2026-02-01"]),
                            "amount": [5.0]})
    with pytest.raises(ValueError, match="NaT"):
        allocate_oldest_due_first(items, credits)
