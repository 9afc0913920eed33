"""cashsim.adapters.fec: the French FEC read into a ledger without losing a line, and written back.

Hand-made fixtures in tests/data/fec (see the line comments of each case below):
* cases.txt — tab, UTF-8 with BOM, CR+LF: one transfer for three invoices (C001), a partial payment and a credit
  note under a partial lettering code (C002), cash on account on a one-account-per-customer 411BRON, an overpayment
  refunded and a refunded credit note (C004), a transfer to 416 then a write-off (C005), and purchases lines;
* malformed.txt — '|', Windows-1252, LF: a bad date, a bad amount, a zero amount, a line with one field too many,
  a bad PieceDate, and an unreadable line on a purchases account (ignored, not rejected);
* montant_sens.txt — '|', ISO-8859-15, Montant + Sens columns and an extra trailing column;
* years/ — two fiscal years (2025 tab/cp1252/CR+LF, 2026 '|'/UTF-8/LF) with AN lines and lettering across years;
* company/ + params.yml — two FEC years of 8 demo customers with their terms and segments (written by write_fec).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cashsim
from cashsim.adapters.fec import CASH_ON_ACCOUNT, FecLedger, customer_type, journal_roles, read_fec, write_fec
from cashsim.adapters.fec.customers import customer_ids
from cashsim.errors import LedgerError, ParamsError
from cashsim.params import load_params, parse_params
from cashsim.sources import ledger_from_params

DATA = Path(__file__).parent / "data" / "fec"
YEARS = [DATA / "years" / "123456789FEC20251231.txt", DATA / "years" / "123456789FEC20261231.txt"]
D = pd.Timestamp


@pytest.fixture(scope="module")
def cases() -> FecLedger:
    return read_fec(DATA / "cases.txt")


def _payments(led, invoice_id):
    pay = led.payments[led.payments["invoice_id"] == invoice_id]
    return list(zip(pay["payment_date"].dt.strftime("%Y-%m-%d"), pay["amount"], strict=True))


def _invoice(led, invoice_id):
    return led.status(led.latest_date).set_index("invoice_id").loc[invoice_id]


def test_one_payment_settles_three_invoices_at_the_bank_date(cases):
    # C001: F001 1200, F002 2400, F003 600 and one transfer of 4200 on 15/03, all lettered AA (DateLet 31/03)
    for inv, amount in (("F001", 1200.0), ("F002", 2400.0), ("F003", 600.0)):
        assert _payments(cases, inv) == [("2026-03-15", amount)]
        assert _invoice(cases, inv)["paid_date"] == D("2026-03-15")   # the bank line's date, not DateLet
    group = cases.lettering.set_index("group").loc["C001|AA"]
    assert group["complete"] and group["balance"] == 0 and group["lines"] == 4 and not group["partial_code"]


def test_partial_payment_and_credit_note_leave_the_invoice_partly_open(cases):
    # C002: F010 1000, credit note AV010 200 and a cheque of 500, partially lettered "ab"
    f010 = _invoice(cases, "F010")
    assert (f010["gross_amount"], f010["credit_netted"], f010["amount"]) == (1000.0, 200.0, 800.0)
    assert f010["paid_to_date"] == 500.0 and f010["outstanding"] == 300.0 and f010["status"] == "overdue"
    assert "AV010" not in set(cases.invoices["invoice_id"])  # netted into F010, not a cash payment
    alloc = cases.fec_allocations.merge(cases.fec_lines[["row"]], left_on="line", right_index=True)
    note = alloc[alloc["row"] == 16]
    assert note[["allocation", "invoice_id", "amount"]].values.tolist() == [
        ["credit netted into the invoice", "F010", 200.0]]
    group = cases.lettering.set_index("group").loc["C002|ab"]
    assert not group["complete"] and group["balance"] == 300.0 and group["partial_code"]


def test_unlettered_cash_goes_to_the_oldest_due_invoices_and_the_rest_stays_a_credit(cases):
    # 411BRON (no auxiliary account): F020 3000 (15/01), F021 1500 (15/02); unlettered 3600 on 01/03, 1000 on 20/03
    assert cases.customers.set_index("customer_id").loc["411BRON", "customer_name"] == "COMMUNE DE BRON"
    assert _payments(cases, "F020") == [("2026-03-01", 3000.0)]
    assert _payments(cases, "F021") == [("2026-03-01", 600.0), ("2026-03-20", 900.0)]
    credit = cases.customer_credits
    assert credit[["customer_id", "row", "date", "amount", "reason"]].values.tolist() == [
        ["411BRON", 29, D("2026-03-20"), 100.0, CASH_ON_ACCOUNT]]
    rec = cases.reconciliation()
    assert rec.loc["411BRON", "fec_balance"] == -100.0 and (rec["difference"] == 0).all()


def test_refunds_cancel_an_overpayment_and_pay_back_a_credit_note(cases):
    # C004: F030 500 paid 600 then 100 refunded (AC); credit note AV031 150 refunded (AD)
    assert _payments(cases, "F030") == [("2026-02-25", 500.0)]
    refund = cases.fec_allocations[cases.fec_allocations["allocation"] == "refund of a payment"]
    assert refund["amount"].tolist() == [-100.0]
    av031 = _invoice(cases, "AV031")
    assert av031["amount"] == -150.0 and av031["status"] == "paid" and _payments(cases, "AV031") == [
        ("2026-03-18", -150.0)]
    assert cases.lettering.set_index("group").loc[["C004|AC", "C004|AD"], "complete"].all()


def test_transfer_to_doubtful_then_write_off(cases):
    # C005: F040 800, moved 411 -> 416 by an OD (a transfer), then written off against 654
    kinds = cases.fec_lines[cases.fec_lines["customer_id"] == "C005"]["kind"].tolist()
    assert kinds == ["invoice", "transfer", "transfer", "write_off"]
    f040 = _invoice(cases, "F040")
    assert f040["status"] == "written_off" and f040["write_off_date"] == D("2026-06-01") and f040["outstanding"] == 0


def test_every_customer_line_is_used_and_other_accounts_are_counted(cases):
    assert isinstance(cases, FecLedger) and cases.rejections.empty
    acc = cases.accounting()
    assert acc.loc["fec"].tolist() == [20, 20, 0, True] and acc["balanced"].all()
    assert "invoices" not in acc.index  # derived from the FEC, nothing rejected there
    counts = cases.fec_accounts.set_index("account_class")["lines"].to_dict()
    assert counts == {"411/416 customers": 20, "class 4": 11, "class 5": 7, "class 6": 2, "class 7": 10}
    info = cases.fec_files.iloc[0]
    assert (info["encoding"], info["separator"], info["amounts"]) == ("utf-8", "\t", "Debit/Credit")
    assert set(cases.invoices["terms"].dropna()) == {"30j fin de mois"}
    known = cases.known_at("2026-02-15")
    assert isinstance(known, FecLedger) and len(known.customer_credits) == 1


def test_malformed_lines_are_rejected_with_file_row_and_column():
    led = read_fec(DATA / "malformed.txt")
    rej = led.rejections
    assert rej[["row", "column", "value", "reason"]].values.tolist() == [
        [4, "EcritureDate", "20261345", "unparseable date"],
        [5, "Debit", "5OO,00", "not a number"],
        [6, "Debit", "0,00", "zero amount"],
        [7, "", "", "wrong number of fields"],
        [8, "PieceDate", "2026-13-01", "unparseable date"],
    ]
    assert (rej["table"] == "fec").all() and rej["file"].str.endswith("malformed.txt").all()
    assert led.accounting().loc["fec"].tolist() == [7, 2, 5, True]  # line 10 (a purchase) is not a customer line
    info = led.fec_files.iloc[0]
    assert (info["encoding"], info["separator"]) == ("cp1252", "|")
    assert led.customers["customer_name"].tolist() == ["Cœur de Bœuf – Société Générale"]
    assert _payments(led, "F100") == [("2026-02-01", 1000.0)]  # "1000.00": a decimal point is read too


def test_montant_sens_layout_with_an_extra_column():
    led = read_fec(DATA / "montant_sens.txt")
    info = led.fec_files.iloc[0]
    assert (info["encoding"], info["amounts"]) == ("iso-8859-15", "Montant/Sens")
    assert led.invoices["amount"].tolist() == [240.0] and _payments(led, "F200") == [("2026-04-10", 240.0)]
    assert led.rejections[["row", "column", "value"]].values.tolist() == [[7, "Sens", "X"]]
    assert led.customers[["customer_name", "customer_type"]].values.tolist() == [["M. BERNARD Hervé", "individual"]]


def test_two_years_skip_the_opening_lines_the_earlier_year_details():
    both = read_fec(YEARS)
    assert both.fec_files["opening_covered_by"].tolist() == ["", str(YEARS[0])]
    skipped = both.fec_lines[both.fec_lines["kind"] == "opening_skipped"]
    assert len(skipped) == 2 and skipped["note"].eq("opening balance already read in 123456789FEC20251231.txt").all()
    assert _payments(both, "F100") == [("2026-01-20", 1000.0)]
    assert _payments(both, "F101") == [("2025-12-20", 500.0), ("2026-02-05", 1500.0)]
    # the 2025 file's own AN line (2024 was not given) is an invoice dated by the AN entry (no PieceDate)
    f050 = _invoice(both, "F050")
    assert f050["issue_date"] == D("2025-01-01") and f050["fec_kind"] == "opening_debit" and f050["status"] == "paid"
    let = both.lettering.set_index("group")
    assert let.loc[["C010|AA", "C010|AB"], "complete"].all() and "," in let.loc["C010|AA", "files"]
    assert both.accounting().loc["fec"].tolist() == [10, 10, 0, True]
    assert both.fec_files["encoding"].tolist() == ["cp1252", "utf-8"]
    assert both.customers.set_index("customer_id").loc["C011", "customer_type"] == "public_body"

    alone = read_fec(YEARS[1])  # 2026 only: its AN lines are the open items, dated by their PieceDate
    f101 = _invoice(alone, "F101")
    assert f101["amount"] == 1500.0 and f101["issue_date"] == D("2025-12-01") and f101["status"] == "paid"
    for led in (both, alone, read_fec(YEARS[::-1])):
        book = led.open_book("2026-03-31")
        assert book[["invoice_id", "outstanding"]].values.tolist() == [["F102", 700.0]]


def test_terms_table_and_default_terms(cases):
    table = pd.DataFrame({"customer": ["C001"], "terms": ["fin de mois le 10"]})
    led = read_fec(DATA / "cases.txt", terms="45j net", terms_table=table)
    inv = led.invoices.set_index("invoice_id")
    assert inv.loc["F001", "due_date"] == D("2026-02-10") and inv.loc["F001", "terms"] == "fin de mois le 10"
    assert inv.loc["F020", "due_date"] == D("2026-03-01") and inv.loc["F020", "terms"] == "45j net"
    assert inv.loc["AV031", "due_date"] == inv.loc["AV031", "issue_date"]  # credit notes are due when issued
    with pytest.raises(ParamsError, match=r"payment terms 'sous huitaine' \(terms\) not understood; accepted forms"):
        read_fec(DATA / "cases.txt", terms="sous huitaine")
    bad = pd.DataFrame({"customer": ["C001", "C002"], "terms": ["30j net", "net 30 days"]})
    with pytest.raises(ParamsError, match=r"row 3, customer C002"):
        read_fec(DATA / "cases.txt", terms_table=bad)


def test_journal_roles_and_overrides():
    lines = pd.DataFrame({"journal": ["VE", "VT", "BQ1", "BNP", "AN", "RAN", "OD", "HA", "X1", "X2", "VIR"],
                          "journal_lib": ["", "", "", "", "", "", "", "Achats", "Ventes export", "Report à nouveau",
                                          ""]})
    assert journal_roles(lines).tolist() == ["sales", "sales", "bank", "bank", "opening", "opening", "other", "other",
                                             "sales", "opening", "bank"]
    assert journal_roles(lines, {"bank": ["OD"], "other": ["VT"]}).tolist()[1] == "other"
    with pytest.raises(ParamsError, match="unknown role 'ventes'"):
        journal_roles(lines, {"ventes": ["VE"]})


@pytest.mark.parametrize(("name", "kind"), [
    ("MAIRIE DE LYON", "public_body"), ("Commune de Bron", "public_body"), ("Ville d'Annecy", "public_body"),
    ("Conseil départemental du Rhône", "public_body"), ("Communauté d'agglomération du Grand Annecy", "public_body"),
    ("CHU de Nantes", "public_body"), ("Lycée Jean Moulin", "public_body"), ("Trésor Public", "public_body"),
    ("Office HLM de Nîmes", "public_body"), ("Centre Hospitalier de Vienne", "public_body"),
    ("M. Dupont Jean", "individual"), ("MME MARTIN", "individual"), ("Monsieur et Madame Petit", "individual"),
    ("SARL Dupont", "company"), ("Ecole de conduite Martin SARL", "company"), ("Garage Durand", "company"),
    ("Mairie Services SAS", "company"), ("M6 Publicité", "company"),
])
def test_customer_type_rules(name, kind):
    assert customer_type(name) == kind


def test_customer_ids_from_auxiliary_or_account():
    lines = pd.DataFrame({"account": ["411000", "411DUPONT", "416DUPONT", "416MARTIN", "416000"],
                          "aux": ["C1", "", "", "", "C1"]})
    assert customer_ids(lines).tolist() == ["C1", "411DUPONT", "411DUPONT", "416MARTIN", "C1"]


def test_unreadable_inputs_are_errors(tmp_path):
    (tmp_path / "x.txt").write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    with pytest.raises(LedgerError, match="not a FEC file: the first line lacks JournalCode"):
        read_fec(tmp_path / "x.txt")
    with pytest.raises(LedgerError, match="hold entries of the same dates"):
        read_fec([DATA / "cases.txt", DATA / "montant_sens.txt"])
    with pytest.raises(ParamsError, match="invoices cannot be mapped for a FEC source"):
        read_fec(DATA / "cases.txt", mapping={"invoices": {"amount": "Montant"}})


def _terms_of(ledger) -> pd.DataFrame:
    """Per customer, the most common days from issue to due as 'Nj net' (reproduces most of the demo's due dates)."""
    inv = ledger.invoices[ledger.invoices["amount"] > 0]
    days = (inv["due_date"] - inv["issue_date"]).dt.days.groupby(inv["customer_id"]).agg(lambda s: s.mode().iloc[0])
    return pd.DataFrame({"customer": days.index, "terms": [f"{d}j net" for d in days]})


def test_demo_round_trip_gives_the_same_open_book(demo, tmp_path):
    as_of = demo.as_of
    led = demo.ledger
    files = write_fec(led, tmp_path, as_of=as_of, year_end="12-31", siren="552100554")
    assert [f.name for f in files] == [f"552100554FEC{y}1231.txt" for y in (2023, 2024, 2025, 2026)]
    terms = _terms_of(led)
    before = led.open_book(as_of)
    credited = set(before.loc[before["amount"] < 0, "customer_id"])  # open credit notes are netted when read
    reads = {}
    for read in (files, files[-1:]):
        back = reads[len(read)] = read_fec(read, terms_table=terms)
        assert back.rejections.empty and back.accounting()["balanced"].all()
        assert (back.reconciliation()["difference"] == 0).all()
        after = back.open_book(as_of)
        by_customer = before.groupby("customer_id")["outstanding"].sum().sub(
            after.groupby("customer_id")["outstanding"].sum(), fill_value=0)
        assert by_customer.abs().max() < 0.005
        a = before[~before["customer_id"].isin(credited)].set_index("invoice_id")
        b = after[~after["customer_id"].isin(credited)].set_index("invoice_id")
        assert sorted(a.index) == sorted(b.index)
        assert np.allclose(a["outstanding"], b.loc[a.index, "outstanding"], atol=0.005)
        gap = (a["due_date"] - a["issue_date"]).dt.days
        mode = a["customer_id"].map(terms.set_index("customer")["terms"].str.removesuffix("j net").astype(int))
        same_terms = gap == mode
        assert same_terms.mean() > 0.5
        assert (a.loc[same_terms, "due_date"] == b.loc[a.index[same_terms], "due_date"]).all()
    assert back.fec_lines["kind"].value_counts()["opening_debit"] > 0
    full = reads[len(files)]
    assert (full.fec_lines["kind"] == "opening_skipped").sum() > 0 and full.lettering["complete"].mean() > 0.99
    types = full.customers.set_index("customer_id")["customer_type"]
    segments = led.customers.set_index("customer_id")["segment"]
    assert ((types == "public_body") == (segments.reindex(types.index) == "public")).all()


def test_write_variants_read_back(tmp_path):
    led = ledger_from_params(load_params(DATA / "params.yml"))
    as_of = led.latest_date
    target = tmp_path / "one.txt"
    write_fec(led, target, sep="|", amounts="montant_sens", encoding="cp1252", line_end="\n", merge_payments=False)
    back = read_fec(target, terms_table=DATA / "company" / "terms.csv")
    assert back.fec_files.iloc[0][["separator", "amounts"]].tolist() == ["|", "Montant/Sens"]
    a, b = led.open_book(as_of).set_index("invoice_id"), back.open_book(as_of).set_index("invoice_id")
    assert sorted(a.index) == sorted(b.index) and np.allclose(a["outstanding"], b.loc[a.index, "outstanding"])
    assert (a["due_date"] == b.loc[a.index, "due_date"]).all()


def test_params_fec_source():
    params = load_params(DATA / "params.yml")
    assert params.data.source == "fec" and len(params.data.fec) == 2 and params.data.terms == "30j fin de mois"
    led = ledger_from_params(params)
    assert isinstance(led, FecLedger) and set(led.customers["segment"]) == {"key_accounts", "sme", "micro", "public"}
    assert led.accounting()["balanced"].all()
    one = parse_params({"data": {"source": "fec", "fec": "a.txt"}})
    assert one.data.fec == [Path("a.txt")]
    for data, message in (
        ({"source": "fec"}, "give data.fec"),
        ({"source": "fec", "fec": ["a.txt"], "terms": "sous huitaine"}, "payment terms 'sous huitaine' not under"),
        ({"source": "fec", "fec": ["a.txt"], "mapping": {"payments": {}}}, "unknown table(s) ['payments']"),
        ({"source": "fec", "fec": ["a.txt"], "invoices": "i.csv"}, "invoices and payments come from the FEC"),
        ({"source": "fec", "fec": ["a.txt"], "journals": {"ventes": ["VE"]}}, "unknown role(s) ['ventes']"),
        ({"source": "fec", "fec": ["a.txt"], "term": "45j net"}, "did you mean 'terms'"),
    ):
        with pytest.raises(ParamsError, match=re.escape(message)):
            parse_params({"data": data})


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(cashsim.__file__).parents[1])}
    return subprocess.run([sys.executable, "-m", "cashsim.cli", *args], capture_output=True, text=True, env=env,
                          cwd=DATA.parent.parent.parent, timeout=600)


def test_cli_validate_and_forecast_on_a_fec_params_file():
    done = _cli("validate", str(DATA / "params.yml"))
    assert done.returncode == 0, done.stderr
    assert "Société FEC\u00a0: grand livre au 30 oct. 2026" in done.stdout   # French, the params' locale
    assert "toutes les lignes sont comptées" in done.stdout
    done = _cli("forecast", "--params", str(DATA / "params.yml"), "--paths", "50", "--locale", "en_GB")
    assert done.returncode == 0, done.stderr
    assert "Collections forecast as of 30 Oct 2026 (50 paths" in done.stdout


def test_known_at_keeps_the_fec_audit(cases):
    cut = cases.known_at("2026-01-31")
    assert isinstance(cut, FecLedger) and cut.fec_lines is cases.fec_lines
    assert replace(cut, invoices=cut.invoices).accounting().loc["fec", "balanced"]


def test_unlettered_cash_is_allocated_as_the_ledger_allocates_cash_on_account():
    """One allocation: a customer's unlettered payment goes where read_ledger sends the same cash on account
    (ledger.allocate_oldest_due_first): to the invoice issued by its date, not to a later invoice due sooner
    (the FEC's own allocation gave it to F2, issued 5 days after the cash, by looking ahead)."""
    from cashsim.adapters.fec.settle import settle
    from cashsim.ledger import read_ledger

    invoices = pd.DataFrame({"invoice_id": ["F1", "F2", "F3"], "customer_id": "C1",
                             "issue_date": [D("2026-01-02"), D("2026-01-20"), D("2026-02-10")],
                             "due_date": [D("2026-03-03"), D("2026-01-31"), D("2026-03-12")],
                             "amount": [1000.0, 400.0, 300.0]})
    cash = pd.DataFrame({"invoice_id": None, "customer_id": "C1", "payment_date": [D("2026-01-15"), D("2026-02-01")],
                         "amount": [1200.0, 450.0]})
    lines = pd.concat([
        invoices.assign(kind="invoice", date=invoices["issue_date"]),
        cash.assign(kind="payment", invoice_id=["P1", "P2"], date=cash["payment_date"], issue_date=cash["payment_date"],
                    due_date=cash["payment_date"], amount=-cash["amount"])], ignore_index=True)
    lines = lines.assign(letter="", file="fec.txt")
    fec = settle(lines).payments
    ledger = read_ledger(invoices, cash).payments
    as_list = [(r.invoice_id, r.payment_date.strftime("%Y-%m-%d"), r.amount)
               for r in fec.sort_values(["payment_date", "invoice_id"]).itertuples()]
    assert as_list == [("F1", "2026-01-15", 1000.0), ("F2", "2026-01-20", 200.0), ("F2", "2026-02-01", 200.0),
                       ("F3", "2026-02-10", 250.0)]
    assert as_list == [(r.invoice_id, r.payment_date.strftime("%Y-%m-%d"), r.amount)
                       for r in ledger.sort_values(["payment_date", "invoice_id"]).itertuples()]
