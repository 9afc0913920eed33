"""cashsim.ledger: French exports read right, every row accounted for, and the derived status per docs/design.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cashsim.errors import LedgerError
from cashsim.ledger import (
    INVOICE_COLUMNS,
    INVOICE_LINK_COLUMNS,
    STATUSES,
    NoteReason,
    Reason,
    match_label,
    parse_dates,
    parse_numbers,
    payment_tolerance,
    read_ledger,
)
from cashsim.ledger.labels import (
    CHANNEL_KEYWORDS,
    CUSTOMER_TYPE_KEYWORDS,
    DISPUTE_TYPE_KEYWORDS,
    PAYMENT_METHOD_KEYWORDS,
)

NNBSP, NBSP = "\u202f", "\u00a0"

FR_MAPPING = {
    "invoices": {"invoice_id": "N° facture", "customer_id": "Client", "issue_date": "Date facture",
                 "due_date": "Échéance", "amount": "Montant TTC", "currency": "Devise",
                 "payment_method": "Mode de règlement", "disputed": "Litige"},
    "payments": {"invoice_id": "Facture", "payment_date": "Date règlement", "amount": "Montant"},
}

# A French accounting export with one of each problem. Line numbers (header = 1) are in the comments.
FR_INVOICES = [
    "N° facture;Client;Date facture;Échéance;Montant TTC;Devise;Mode de règlement;Litige",
    f"F001;C1;05/01/2026;04/02/2026;1{NNBSP}234,56;EUR;Virement;non",  # 2 ok
    f"F002;C1;10/01/2026;09/02/2026;2{NBSP}000,00;EUR;Prélèvement;oui",  # 3 ok, disputed, direct debit
    "F003;C2;31/02/2026;30/03/2026;500,00;EUR;Virement;non",  # 4 unparseable date
    "F004;C2;15/02/2026;01/02/2026;300,00;EUR;Chèque;non",  # 5 due before issue
    "F005;C3;01/03/2026;31/03/2026;0,00;EUR;Virement;non",  # 6 zero amount
    "F001;C3;02/03/2026;01/04/2026;99,00;EUR;Virement;non",  # 7 duplicate id
    "F006;C3;03/03/2026;02/04/2026;12,3,4;EUR;Virement;non",  # 8 not a number
    ";C4;04/03/2026;03/04/2026;100,00;EUR;Virement;non",  # 9 missing id
    "F007;C4;05/03/2026;04/04/2026;150,00;USD;Virement;non",  # 10 minority currency
    "",  # 11 empty row
    "F008;C4;06/03/2026;05/04/2026;-150,00;EUR;Virement;non",  # 12 ok, credit note (avoir)
    "F009;C5;07/03/2026;06/04/2026;800,00;EUR;Espèces;non",  # 13 ok, cash: paid at hand-over like a card
    "F010;C5;08/03/2026;07/04/2026;640,00;EUR;Carte;peut-être",  # 14 not a yes/no
    "F011;C5;09/03/2026;08/04/2026;1 000,00;EUR;Virement;non;en trop",  # 15 one field too many
    f"F012;C6;10/03/2026;09/04/2026;1{NNBSP}500,00;EUR;Virement;non",  # 16 ok
    "F013;C6;11/03/2026;10/04/2026;200,00;EUR;LCR;non",  # 17 ok
]
FR_PAYMENTS = [
    "Facture;Date règlement;Montant",
    f"F001;04/02/2026;1{NNBSP}234,56",  # 2 ok, on the due date
    "F002;15/02/2026;1 000,00",  # 3 ok, partial
    "F002;20/02/2026;1 000,00",  # 4 ok, completes F002
    "F999;01/03/2026;50,00",  # 5 unknown invoice
    "F003;01/04/2026;500,00",  # 6 its invoice was rejected
    "F012;01/03/2026;100,00",  # 7 before the invoice was issued
    "F012;15/04/2026;1 500,00",  # 8 ok
    "F012;16/04/2026;20,00",  # 9 overpayment beyond tolerance
    "F013;12/04/2026;abc",  # 10 not a number
    "F013;32/04/2026;200,00",  # 11 unparseable date
    "F013;13/04/2026;0,00",  # 12 zero amount
    "F008;20/03/2026;150,00",  # 13 positive payment on a credit note
    ";14/04/2026;10,00",  # 14 missing invoice id
    "F013;14/04/2026;200,00",  # 15 ok
]
EXPECTED_REJECTIONS = [
    ("invoices", 4, "issue_date", "31/02/2026", Reason.BAD_DATE),
    ("invoices", 5, "due_date", "01/02/2026", Reason.DUE_BEFORE_ISSUE),
    ("invoices", 6, "amount", "0,00", Reason.ZERO_AMOUNT),
    ("invoices", 7, "invoice_id", "F001", Reason.DUPLICATE_ID),
    ("invoices", 8, "amount", "12,3,4", Reason.BAD_NUMBER),
    ("invoices", 9, "invoice_id", "", Reason.MISSING_VALUE),
    ("invoices", 10, "currency", "USD", Reason.MINORITY_CURRENCY),
    ("invoices", 11, "", "", Reason.EMPTY_ROW),
    ("invoices", 14, "disputed", "peut-être", Reason.BAD_VALUE),
    ("invoices", 15, "", "", Reason.BAD_LINE),
    ("payments", 5, "invoice_id", "F999", Reason.UNKNOWN_INVOICE),
    ("payments", 6, "invoice_id", "F003", Reason.REJECTED_INVOICE),
    ("payments", 7, "payment_date", "01/03/2026", Reason.BEFORE_ISSUE),
    ("payments", 9, "amount", "20,00", Reason.OVERPAYMENT),
    ("payments", 10, "amount", "abc", Reason.BAD_NUMBER),
    ("payments", 11, "payment_date", "32/04/2026", Reason.BAD_DATE),
    ("payments", 12, "amount", "0,00", Reason.ZERO_AMOUNT),
    ("payments", 13, "amount", "150,00", Reason.OPPOSITE_SIGN),
    ("payments", 14, "invoice_id", "", Reason.MISSING_VALUE),
]


def write_lines(path, lines, encoding="utf-8-sig", newline="\r\n"):
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


@pytest.fixture
def french_files(tmp_path):
    return (write_lines(tmp_path / "factures.csv", FR_INVOICES), write_lines(tmp_path / "reglements.csv",
                                                                                 FR_PAYMENTS))


def small(invoices: list[dict], payments: list[dict] | None = None, **tables):
    """A ledger from a few records; invoices default to a 30-day term issued 2026-01-01."""
    inv = pd.DataFrame([{"customer_id": "C1", "issue_date": "2026-01-01", "due_date": "2026-01-31", **r}
                        for r in invoices])
    pay = pd.DataFrame(payments or [], columns=["invoice_id", "payment_date", "amount"])
    return read_ledger(inv, pay, **tables)


# ---- the corrupted French export -------------------------------------------------------------------------------

def test_corrupted_french_export_every_row_accounted_for(french_files):
    inv_path, pay_path = french_files
    led = read_ledger(inv_path, pay_path, mapping=FR_MAPPING)
    got = [tuple(r) for r in led.rejections[["table", "row", "column", "value", "reason"]].itertuples(index=False)]
    assert got == [(t, r, c, v, str(reason)) for t, r, c, v, reason in EXPECTED_REJECTIONS]
    assert set(led.rejections["file"]) == {str(inv_path), str(pay_path)}

    acc = led.accounting()
    assert acc.loc["invoices", ["rows_read", "rows_used", "rows_rejected"]].tolist() == [16, 6, 10]
    assert acc.loc["payments", ["rows_read", "rows_used", "rows_rejected"]].tolist() == [14, 5, 9]
    assert acc["balanced"].all()
    assert led.source_rows == {"invoices": 16, "payments": 14}
    assert len(led.invoices) == 6 and len(led.payments) == 5
    assert sorted(led.invoices["invoice_id"]) == ["F001", "F002", "F008", "F009", "F012", "F013"]
    assert led.notes.empty  # every label was recognised


def test_corrupted_french_export_values_and_status(french_files):
    led = read_ledger(*french_files, mapping=FR_MAPPING)
    inv = led.invoices.set_index("invoice_id")
    assert list(led.invoices.columns) == [*INVOICE_COLUMNS, *INVOICE_LINK_COLUMNS]
    assert inv.loc["F001", "amount"] == 1234.56 and inv.loc["F002", "amount"] == 2000.0
    assert inv.loc["F008", "amount"] == -150.0
    assert inv.loc["F001", "issue_date"] == pd.Timestamp("2026-01-05")  # day first
    assert inv.loc["F002", "payment_method"] == "direct_debit" and bool(inv.loc["F002", "disputed"])
    assert inv.loc["F013", "payment_method"] == "direct_debit"  # LCR
    assert inv.loc["F009", "payment_method"] == "card"  # Espèces
    assert (inv["currency"] == "EUR").all() and (inv["segment"] == "all").all()
    st = led.status("2026-04-30").set_index("invoice_id")
    assert st.loc["F001", "status"] == "paid" and st.loc["F001", "days_late"] == 0
    assert st.loc["F002", "paid_date"] == pd.Timestamp("2026-02-20") and st.loc["F002", "days_late"] == 11
    assert st.loc["F002", "paid_to_date"] == 2000.0
    assert st.loc["F012", "days_late"] == 6 and st.loc["F013", "days_late"] == 4
    assert st.loc["F008", "status"] == "open_not_due" and st.loc["F008", "outstanding"] == -150.0
    assert np.isnan(st.loc["F008", "days_overdue"])
    detail = led.rejections.set_index(["table", "row"])["detail"]
    assert detail[("invoices", 7)] == "first at row 2"
    assert detail[("payments", 6)] == "invoices row 4: unparseable date"
    assert detail[("payments", 9)].startswith("cumulative 1,520.00 > amount 1,500.00 + tolerance 7.50")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_encodings(tmp_path, encoding):
    lines = [line.replace(NNBSP, NBSP) if encoding in ("cp1252", "latin-1") else line for line in FR_INVOICES]
    inv = write_lines(tmp_path / "f.csv", lines, encoding=encoding, newline="\n")
    pay = write_lines(tmp_path / "p.csv", [FR_PAYMENTS[0]], encoding=encoding)
    led = read_ledger(inv, pay, mapping=FR_MAPPING)
    assert sorted(led.invoices["invoice_id"]) == ["F001", "F002", "F008", "F009", "F012", "F013"]
    assert led.invoices.set_index("invoice_id").loc["F001", "amount"] == 1234.56
    assert led.invoices.set_index("invoice_id").loc["F009", "payment_method"] == "card"  # 'Espèces' read right
    assert (led.rejections["reason"] == Reason.BAD_VALUE).sum() == 1  # 'peut-être' read right


def test_comma_and_tab_separated_english_files(tmp_path):
    header = ["invoice_id", "customer_id", "issue_date", "due_date", "amount"]
    rows = [["A1", "C1", "2026-01-05", "2026-02-04", '"1,234.50"'], ["A2", "C2", "2026-01-06", "2026-02-05", "99.9"]]
    for sep, name in ((",", "en.csv"), ("\t", "en.txt")):
        path = write_lines(tmp_path / name, [sep.join(header)] + [sep.join(r).replace('"', "") if sep == "\t"
                                                                  else sep.join(r) for r in rows])
        pay = write_lines(tmp_path / f"pay_{name}", ["invoice_id,payment_date,amount", "A1,2026-02-01,1234.5"])
        led = read_ledger(path, pay)
        assert led.invoices["amount"].tolist() == [1234.5, 99.9], name
        assert led.status("2026-02-28")["status"].tolist() == ["paid", "overdue"]


def test_excel_workbook_with_typed_and_text_cells(tmp_path):
    inv = pd.DataFrame({"Numéro": [611365, 611366], "Client": ["C1", "C2"],
                        "Date": [pd.Timestamp("2026-01-05"), "06/01/2026"],
                        "Echeance": [pd.Timestamp("2026-02-04"), pd.Timestamp("2026-02-05")],
                        "TTC": [1234.56, "2 000,00"], "Groupe": ["PME", None]})
    path = tmp_path / "factures.xlsx"
    inv.to_excel(path, index=False)
    pay = pd.DataFrame({"invoice_id": ["611365"], "payment_date": ["2026-02-10"], "amount": [1234.56]})
    led = read_ledger(path, pay, mapping={"invoices": {"invoice_id": "Numéro", "customer_id": "Client",
                                                       "issue_date": "Date", "due_date": "Echeance",
                                                       "amount": "TTC", "segment": "Groupe"}})
    assert led.invoices["invoice_id"].tolist() == ["611365", "611366"]
    assert led.invoices["issue_date"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-06")]
    assert led.invoices["amount"].tolist() == [1234.56, 2000.0]
    assert led.invoices["segment"].tolist() == ["PME", "all"]
    assert led.status("2026-03-01")["days_late"].tolist()[0] == 6


def _us_typo_files(tmp_path):
    """409 invoices and their payments, dated dd/03/2025 (days 1-12, valid both ways) but for one 03/13/2025."""
    ids = [f"F{i:03d}" for i in range(1, 410)]
    inv = write_lines(tmp_path / "factures.csv", ["invoice_id;customer_id;issue_date;due_date;amount"]
                      + [f"{i};C1;2025-02-01;2025-03-03;100,00" for i in ids])
    dates = [f"{1 + k % 12:02d}/03/2025" for k in range(409)]
    dates[200] = "03/13/2025"  # file line 202: a US-style date
    pay = write_lines(tmp_path / "reglements.csv", ["invoice_id;payment_date;amount"]
                      + [f"{i};{d};100,00" for i, d in zip(ids, dates, strict=True)])
    return inv, pay, ids, dates


def test_one_us_style_date_is_rejected_not_followed_by_its_column(tmp_path):
    inv, pay, ids, dates = _us_typo_files(tmp_path)
    led = read_ledger(inv, pay)
    assert len(led.payments) == 408
    expected = {i: pd.Timestamp(2025, 3, int(d[:2])) for i, d in zip(ids, dates, strict=True) if d != "03/13/2025"}
    assert led.payments.set_index("invoice_id")["payment_date"].to_dict() == expected
    rej = led.rejections
    assert rej[["table", "file", "row", "column", "value", "reason"]].values.tolist() == [
        ["payments", str(pay), 202, "payment_date", "03/13/2025", str(Reason.DATE_ORDER)]]
    assert rej["detail"][0] == ("valid only as mm/dd/yyyy; the column is read dd/mm/yyyy: 408 of its dates are valid "
                                "so, 1 only as mm/dd/yyyy; if the file is mm/dd/yyyy, set "
                                "data.mapping.payments.date_order: mdy")
    acc = led.accounting()
    assert acc.loc["payments", ["rows_read", "rows_used", "rows_rejected"]].tolist() == [409, 408, 1]
    assert acc["balanced"].all()


def test_date_order_set_in_the_mapping(tmp_path):
    inv = write_lines(tmp_path / "f.csv", ["invoice_id;customer_id;issue_date;due_date;amount",
                                           "A1;C1;01/01/2026;31/01/2026;10", "A2;C1;01/01/2026;31/01/2026;10",
                                           "A3;C1;01/01/2026;31/01/2026;10"])
    pay = write_lines(tmp_path / "p.csv", ["invoice_id;payment_date;amount", "A1;02/01/2026;10",
                                           "A2;02/15/2026;10", "A3;15/02/2026;10"])
    by_votes = read_ledger(inv, pay)  # 2 dates valid day-first, 1 valid only month-first: day first
    assert by_votes.payments["payment_date"].tolist() == [pd.Timestamp("2026-01-02"), pd.Timestamp("2026-02-15")]
    assert by_votes.rejections[["row", "reason"]].values.tolist() == [[3, str(Reason.DATE_ORDER)]]
    led = read_ledger(inv, pay, mapping={"payments": {"date_order": " MDY"}})
    assert led.payments["payment_date"].tolist() == [pd.Timestamp("2026-02-01"), pd.Timestamp("2026-02-15")]
    assert led.invoices["issue_date"].tolist() == [pd.Timestamp("2026-01-01")] * 3  # invoices: still by votes
    assert led.rejections[["row", "column", "value", "reason", "detail"]].values.tolist() == [
        [4, "payment_date", "15/02/2026", str(Reason.DATE_ORDER),
         "valid only as dd/mm/yyyy; data.mapping.payments.date_order is mdy (mm/dd/yyyy)"]]
    assert led.accounting()["balanced"].all()


@pytest.mark.parametrize("mapping, message", [
    ({"payments": {"date_order": "ymd"}}, r"mapping\.payments\.date_order: 'ymd' is not a date order; use dmy "
                                          r"\(dd/mm/yyyy\) or mdy \(mm/dd/yyyy\)"),
    ({"customers": {"date_order": "dmy"}}, r"mapping\.customers\.date_order: the customers table has no date"),
])
def test_bad_date_order(french_files, mapping, message):
    with pytest.raises(LedgerError, match=message):
        read_ledger(*french_files, mapping=mapping)


def _workbook(path, header, rows, id_format=None):
    """Write an .xlsx with openpyxl; numeric cells of the id columns get ``id_format`` (e.g. '00000')."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for j, name in enumerate(header, start=1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
            if id_format and name.endswith("_id") and isinstance(cell.value, int | float):
                cell.number_format = id_format
    book.save(path)
    return path


def test_excel_zero_padded_ids_are_read_as_displayed(tmp_path):
    header = ["invoice_id", "customer_id", "issue_date", "due_date", "amount"]
    inv = _workbook(tmp_path / "factures.xlsx", header,
                    [[123, 42, "05/01/2026", "04/02/2026", 100.0], [4567, 42, "06/01/2026", "05/02/2026", 200.0],
                     [89.0, 7, "07/01/2026", "06/02/2026", 300.0]], id_format="00000")
    pay_numbers = _workbook(tmp_path / "reglements.xlsx", ["invoice_id", "payment_date", "amount"],
                            [[123, "10/02/2026", 100.0], [4567, "11/02/2026", 200.0], [89, "12/02/2026", 300.0]],
                            id_format="00000")
    pay_text = _workbook(tmp_path / "reglements_texte.xlsx", ["invoice_id", "payment_date", "amount"],
                         [["00123", "10/02/2026", 100.0], ["04567", "11/02/2026", 200.0],
                          ["00089", "12/02/2026", 300.0]])
    pay_csv = write_lines(tmp_path / "reglements.csv", ["invoice_id;payment_date;amount", "00123;10/02/2026;100",
                                                        "04567;11/02/2026;200", "00089;12/02/2026;300"])
    for pay in (pay_numbers, pay_text, pay_csv):
        led = read_ledger(inv, pay)
        assert led.invoices["invoice_id"].tolist() == ["00123", "04567", "00089"], pay.name
        assert led.invoices["customer_id"].tolist() == ["00042", "00042", "00007"]
        assert led.payments["invoice_id"].tolist() == ["00123", "04567", "00089"], pay.name
        assert led.rejections.empty, pay.name
        assert (led.status("2026-03-01")["status"] == "paid").all()


def test_excel_ids_with_a_prefix_format_and_unknown_ones_still_rejected(tmp_path):
    inv = _workbook(tmp_path / "f.xlsx", ["invoice_id", "customer_id", "issue_date", "due_date", "amount"],
                    [[5, "C1", "05/01/2026", "04/02/2026", 10.0], [6, "C1", "05/01/2026", "04/02/2026", 10.0]],
                    id_format='"FA"000')
    pay = _workbook(tmp_path / "p.xlsx", ["invoice_id", "payment_date", "amount"],
                    [["FA005", "10/02/2026", 10.0], [6, "10/02/2026", 10.0]])  # 6 without its format: '6'
    led = read_ledger(inv, pay)
    assert led.invoices["invoice_id"].tolist() == ["FA005", "FA006"]
    assert led.payments["invoice_id"].tolist() == ["FA005"]
    assert led.rejections[["row", "value", "reason"]].values.tolist() == [[3, "6", str(Reason.UNKNOWN_INVOICE)]]


# ---- fatal errors ----------------------------------------------------------------------------------------------

def test_mapping_to_a_column_not_in_the_file_names_file_and_column(french_files):
    inv, pay = french_files
    bad = {"invoices": {**FR_MAPPING["invoices"], "amount": "Montant HT"}, "payments": FR_MAPPING["payments"]}
    with pytest.raises(LedgerError, match=r"factures\.csv.*mapping\.invoices\.amount.*'Montant HT'.*Montant TTC"):
        read_ledger(inv, pay, mapping=bad)


def test_missing_required_column_names_file_and_column(tmp_path):
    inv = write_lines(tmp_path / "f.csv", ["invoice_id;customer_id;issue_date;amount", "F1;C1;01/01/2026;10"])
    pay = write_lines(tmp_path / "p.csv", ["invoice_id;payment_date;amount"])
    with pytest.raises(LedgerError, match=r"f\.csv: missing required invoices column 'due_date'.*data\.mapping"):
        read_ledger(inv, pay)


@pytest.mark.parametrize("mapping, message", [
    ({"invoices": {"amout": "x"}}, r"mapping\.invoices\.amout.*did you mean 'amount'"),
    ({"invoice": {}}, r"unknown table.*did you mean 'invoices'"),
])
def test_bad_mapping_keys(french_files, mapping, message):
    with pytest.raises(LedgerError, match=message):
        read_ledger(*french_files, mapping=mapping)


def test_unreadable_inputs(tmp_path, french_files):
    inv, pay = french_files
    with pytest.raises(LedgerError, match=r"nowhere\.csv: invoices file not found"):
        read_ledger(tmp_path / "nowhere.csv", pay)
    (tmp_path / "f.pdf").write_bytes(b"%PDF")
    with pytest.raises(LedgerError, match=r"f\.pdf: cannot read '\.pdf' files"):
        read_ledger(tmp_path / "f.pdf", pay)
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(LedgerError, match=r"broken\.xlsx: cannot read the Excel workbook"):
        read_ledger(tmp_path / "broken.xlsx", pay)
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(LedgerError, match=r"empty\.csv: the file is empty"):
        read_ledger(tmp_path / "empty.csv", pay)


# ---- cell parsers ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cells, expected", [
    (["05/01/2026", "31/12/2025"], ["2026-01-05", "2025-12-31"]),  # day first
    (["05/01/2026", "06/02/2026"], ["2026-01-05", "2026-02-06"]),  # ambiguous: still day first
    (["1/15/2013", "2/1/2013", "3/20/2013"], ["2013-01-15", "2013-02-01", "2013-03-20"]),  # most month first (IBM)
    (["2026-02-03", "20260203", "02/13/2026", "1/25/2026"], ["2026-02-03", "2026-02-03", "2026-02-13", "2026-01-25"]),
    (["2026-01-05", "2026-01-06T00:00:00"], ["2026-01-05", "2026-01-06"]),
    (["20260105", "05.01.26"], ["2026-01-05", "2026-01-05"]),
    (["05-01-2026 14:30", "05/01/2026"], ["2026-01-05", "2026-01-05"]),
])
def test_parse_dates(cells, expected):
    got, bad = parse_dates(pd.Series(cells, dtype="str"))
    assert got.tolist() == [pd.Timestamp(e) for e in expected] and not bad.any()


def test_parse_dates_flags_unreadable_not_empty():
    got, bad = parse_dates(pd.Series(["31/02/2026", "", None, "demain", "13/13/2026"], dtype="str"))
    assert got.isna().all() and bad.tolist() == [True, False, False, True, True]


def test_parse_dates_day_first_wins_ties_and_an_order_can_be_forced():
    cells = pd.Series(["1/15/2013", "2/1/2013", "31/02/2013", "2013-01-15"], dtype="str")
    got, bad = parse_dates(cells)  # 1 vote month-first only, 1 day-first (2/1 is valid both ways): day first
    assert got.tolist()[1:] == [pd.Timestamp("2013-01-02"), pd.NaT, pd.Timestamp("2013-01-15")]
    assert bad.tolist() == [True, False, True, False]
    got, bad = parse_dates(cells, order="mdy")
    assert got.tolist()[:2] == [pd.Timestamp("2013-01-15"), pd.Timestamp("2013-02-01")]
    assert bad.tolist() == [False, False, True, False]
    with pytest.raises(LedgerError, match="date order 'ymd'"):
        parse_dates(cells, order="ymd")


def test_parse_dates_typed_cells_and_implausible_years():
    import datetime as dt

    typed = pd.Series(pd.to_datetime(["2999-01-01 00:00", "2026-01-01 13:00"]))
    got, bad = parse_dates(typed)
    assert got.isna().tolist() == [True, False] and bad.tolist() == [True, False]
    assert got[1] == pd.Timestamp("2026-01-01") and str(got.dtype) == "datetime64[ns]"
    mixed = pd.Series([dt.datetime(2026, 1, 2, 9, 30), "05/01/2026", dt.date(2026, 1, 3), None, "01/01/1500"],
                      dtype=object)  # as openpyxl gives them
    got, bad = parse_dates(mixed)
    assert got.tolist()[:3] == [pd.Timestamp("2026-01-02"), pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-03")]
    assert bad.tolist() == [False, False, False, False, True]
    paris = pd.Series(pd.to_datetime(["2026-01-01 23:30"]).tz_localize("Europe/Paris"))
    assert parse_dates(paris)[0].tolist() == [pd.Timestamp("2026-01-01")]


@pytest.mark.parametrize("cells, expected", [
    ([f"1{NNBSP}234,56", f"2{NBSP}000", "-3,5"], [1234.56, 2000.0, -3.5]),
    (["1.234,56", "12,50", "1.000.000"], [1234.56, 12.5, 1_000_000.0]),
    (["1,234.56", "12.50", "1,000,000"], [1234.56, 12.5, 1_000_000.0]),
    (["(12,50)", "12,50-", "1 234,56 €", "EUR 10"], [-12.5, -12.5, 1234.56, 10.0]),
    (["1'234.50", "7"], [1234.5, 7.0]),
])
def test_parse_numbers(cells, expected):
    got, bad = parse_numbers(pd.Series(cells, dtype="str"))
    assert got.tolist() == pytest.approx(expected) and not bad.any()


def test_parse_numbers_flags_contradictions_and_garbage():
    got, bad = parse_numbers(pd.Series(["1 234,56", "12,50", "12.50", "n/a", "", "1e999"], dtype="str"))
    assert got.tolist()[:2] == [1234.56, 12.5]
    assert bad.tolist() == [False, False, True, True, False, True]


# ---- labels ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("keywords, labels, expected", [
    (PAYMENT_METHOD_KEYWORDS, ["Virement bancaire", "VIR SEPA", "virement 30j", "Wire transfer"], "transfer"),
    (PAYMENT_METHOD_KEYWORDS, ["Prélèvement SEPA", "PRLV", "LCR", "LCR directe", "Traite", "Effet de commerce",
                               "Billet à ordre"], "direct_debit"),
    (PAYMENT_METHOD_KEYWORDS, ["Chèque", "CHQ", "chèque bancaire"], "cheque"),
    (PAYMENT_METHOD_KEYWORDS, ["CB", "Carte bancaire", "Espèces", "cash"], "card"),
    (DISPUTE_TYPE_KEYWORDS, ["prix", "Tarif", "litige sur le prix", "Erreur de prix", "remise non appliquée"],
     "price"),
    (DISPUTE_TYPE_KEYWORDS, ["technique", "Qualité", "produit défectueux", "non conforme"], "technical"),
    (DISPUTE_TYPE_KEYWORDS, ["livraison", "Quantité", "colis manquant", "retard de livraison"], "delivery"),
    (DISPUTE_TYPE_KEYWORDS, ["facturation", "Administratif", "erreur de facturation", "doublon", "Autre"], "other"),
    (CHANNEL_KEYWORDS, ["courriel", "E-mail", "relance mail"], "email"),
    (CHANNEL_KEYWORDS, ["Lettre recommandée AR", "Mise en demeure", "LRAR", "huissier"], "formal_notice"),
    (CHANNEL_KEYWORDS, ["courrier", "lettre simple"], "letter"),
    (CUSTOMER_TYPE_KEYWORDS, ["entreprise", "Société", "SAS", "SARL", "Professionnel"], "company"),
    (CUSTOMER_TYPE_KEYWORDS, ["organisme public", "Collectivité", "administration", "Public", "État", "Mairie",
                              "Centre hospitalier"], "public_body"),
    (CUSTOMER_TYPE_KEYWORDS, ["particulier", "Personne physique", "client final"], "individual"),
])
def test_labels_match_by_keyword(keywords, labels, expected):
    assert [match_label(text, keywords) for text in labels] == [expected] * len(labels)


def test_unknown_labels_keep_their_row_with_a_note():
    led = small([{"invoice_id": "F1", "amount": 10.0, "payment_method": "Compensation", "dispute_type": "?",
                  "customer_type": "ONG", "owner": "Léa"},
                 {"invoice_id": "F2", "amount": 10.0, "payment_method": "Bitcoin", "issue_date": "bad"},
                 {"invoice_id": "F3", "amount": 10.0, "customer_id": "C2"}],
                dunning=pd.DataFrame({"invoice_id": ["F1"], "action_date": ["2026-02-05"], "channel": ["pigeon"]}),
                customers=pd.DataFrame({"customer_id": ["C2"], "customer_type": ["Collectivité"],
                                        "owner": ["Marc"]}))
    assert led.rejections[["row", "reason"]].values.tolist() == [[3, Reason.BAD_DATE]]  # F2: no note, a rejection
    assert led.notes[["table", "row", "column", "value", "used", "reason"]].values.tolist() == [
        ["invoices", 2, "payment_method", "Compensation", "transfer", NoteReason.LABEL_UNKNOWN],
        ["invoices", 2, "dispute_type", "?", "other", NoteReason.LABEL_UNKNOWN],
        ["invoices", 2, "customer_type", "ONG", "company", NoteReason.LABEL_UNKNOWN],
        ["dunning", 2, "channel", "pigeon", "other", NoteReason.LABEL_UNKNOWN]]
    inv = led.invoices.set_index("invoice_id")
    assert inv.loc["F1", ["payment_method", "dispute_type", "disputed", "owner"]].tolist() == [
        "transfer", "other", True, "Léa"]
    assert inv.loc["F3", ["customer_type", "owner"]].tolist() == ["public_body", "Marc"]  # from the customers
    cust = led.customers.set_index("customer_id")
    assert cust.loc["C1", ["customer_type", "owner"]].tolist() == ["company", "Léa"]
    ob = led.open_book("2026-02-15").set_index("invoice_id")
    assert ob.loc["F3", "customer_type"] == "public_body" and ob.loc["F1", "owner"] == "Léa"
    assert led.summary("2026-02-15")["notes_by_reason"] == {str(NoteReason.LABEL_UNKNOWN): 4}


def test_a_customer_without_a_client_group_is_noted_by_name_when_others_have_one():
    """Segment "all" for a customer with no group while others have one: a note naming it, on its customers-file row
    (its segment cell empty), else on its first invoice; a ledger where no customer has a group says nothing."""
    from cashsim.ledger import wording

    led = small([{"invoice_id": "F1", "amount": 10.0, "customer_id": "C1"},
                 {"invoice_id": "F2", "amount": 10.0, "customer_id": "C2"},
                 {"invoice_id": "F3", "amount": 10.0, "customer_id": "C3", "issue_date": "2026-01-02"},
                 {"invoice_id": "F4", "amount": 10.0, "customer_id": "C3"},
                 {"invoice_id": "F5", "amount": 10.0, "customer_id": "1234"}],
                customers=pd.DataFrame({"customer_id": ["C1", "C2", "1234"], "segment": ["PME", None, "PME"],
                                        "customer_name": ["Un", "Deux", None]}))
    notes = led.notes.loc[led.notes["reason"] == NoteReason.NO_CLIENT_GROUP]
    assert notes[["table", "row", "column", "value", "used"]].values.tolist() == [
        ["invoices", 4, "segment", "", "C3 in segment all, the customers without a client group"],
        ["customers", 3, "segment", "", "C2 Deux in segment all, the customers without a client group"]]
    assert set(led.customers.set_index("customer_id").loc[["C2", "C3"], "segment"]) == {"all"}
    assert wording.translate(notes["used"].iloc[1], "fr_FR") == "C2 Deux dans le groupe des clients sans famille"
    alone = small([{"invoice_id": "F1", "amount": 10.0, "customer_id": "1234"}])   # no client group at all
    assert alone.notes.empty and set(alone.customers["segment"]) == {"all"}
    numeric = small([{"invoice_id": "F1", "amount": 10.0, "customer_id": "1234"},
                     {"invoice_id": "F2", "amount": 10.0, "customer_id": "C1", "segment": "PME"}])
    assert wording.translate(numeric.notes["used"].iloc[0], "fr_FR").startswith("1234 dans")  # an id, no figure


# ---- semantics ------------------------------------------------------------------------------------------------

def test_partial_payments_pay_in_full_on_the_crossing_date():
    led = small([{"invoice_id": "F1", "amount": 1000.0}],
                [{"invoice_id": "F1", "payment_date": "2026-01-20", "amount": 400.0},
                 {"invoice_id": "F1", "payment_date": "2026-02-10", "amount": 596.0}])  # 4 short, tol 5
    before = led.status("2026-02-09").iloc[0]
    assert before["status"] == "overdue" and before["paid_to_date"] == 400 and before["outstanding"] == 600
    assert before["days_overdue"] == 9 and np.isnan(before["days_late"]) and pd.isna(before["paid_date"])
    after = led.status("2026-02-10").iloc[0]
    assert after["status"] == "paid" and after["paid_date"] == pd.Timestamp("2026-02-10")
    assert after["days_late"] == 10 and after["outstanding"] == pytest.approx(4.0)
    assert led.open_book("2026-02-10").empty


def test_short_payment_beyond_tolerance_stays_open():
    led = small([{"invoice_id": "F1", "amount": 1000.0}],
                [{"invoice_id": "F1", "payment_date": "2026-01-20", "amount": 994.0}])
    assert led.status("2026-01-25").iloc[0]["status"] == "open_not_due"
    assert led.open_book("2026-03-01")["outstanding"].tolist() == [pytest.approx(6.0)]


def test_overpayment_within_tolerance_is_kept_beyond_is_rejected_with_later_payments():
    led = small([{"invoice_id": "F1", "amount": 1000.0}, {"invoice_id": "F2", "amount": 100.0}],
                [{"invoice_id": "F1", "payment_date": "2026-01-20", "amount": 1004.0},
                 {"invoice_id": "F2", "payment_date": "2026-01-10", "amount": 60.0},
                 {"invoice_id": "F2", "payment_date": "2026-01-12", "amount": 60.0},
                 {"invoice_id": "F2", "payment_date": "2026-01-15", "amount": 30.0}])
    st = led.status("2026-02-28").set_index("invoice_id")
    assert st.loc["F1", "status"] == "paid" and st.loc["F1", "outstanding"] == pytest.approx(-4.0)
    assert st.loc["F2", "paid_to_date"] == 60 and st.loc["F2", "status"] == "overdue"
    rej = led.rejections
    assert rej["row"].tolist() == [4, 5] and (rej["reason"] == Reason.OVERPAYMENT).all()


def test_payments_are_taken_in_date_order_not_file_order():
    led = small([{"invoice_id": "F1", "amount": 100.0}],
                [{"invoice_id": "F1", "payment_date": "2026-01-20", "amount": 50.0},
                 {"invoice_id": "F1", "payment_date": "2026-01-10", "amount": 50.0}])
    assert led.status("2026-01-31").iloc[0]["paid_date"] == pd.Timestamp("2026-01-20")
    assert led.rejections.empty


def test_credit_notes_are_never_late_and_net_the_open_book():
    led = small([{"invoice_id": "A1", "amount": -200.0}, {"invoice_id": "A2", "amount": -50.0},
                 {"invoice_id": "F1", "amount": 500.0}],
                [{"invoice_id": "A2", "payment_date": "2026-03-01", "amount": -50.0}])
    st = led.status("2026-06-30").set_index("invoice_id")
    assert st.loc["A1", "status"] == "open_not_due" and np.isnan(st.loc["A1", "days_overdue"])
    assert st.loc["A2", "status"] == "paid" and np.isnan(st.loc["A2", "days_late"])
    assert st.loc["F1", "status"] == "overdue"
    book = led.open_book("2026-06-30")
    assert book.groupby("customer_id")["outstanding"].sum().tolist() == [300.0]


def test_write_offs_zero_the_outstanding_and_recoveries_still_count():
    led = small([{"invoice_id": "F1", "amount": 1000.0, "write_off_date": "2026-06-30"},
                 {"invoice_id": "F2", "amount": 1000.0, "write_off_date": "2026-06-30"}],
                [{"invoice_id": "F1", "payment_date": "2026-03-01", "amount": 300.0},
                 {"invoice_id": "F2", "payment_date": "2026-09-01", "amount": 1000.0}])
    may, july, october = (led.status(d).set_index("invoice_id") for d in ("2026-05-31", "2026-07-31", "2026-10-01"))
    assert may.loc["F1", "status"] == "overdue" and pd.isna(may.loc["F1", "write_off_date"])  # not known yet
    assert july.loc["F1", "status"] == "written_off" and july.loc["F1", "outstanding"] == 0
    assert july.loc["F1", "paid_to_date"] == 300  # loss = 700
    assert october.loc["F2", "status"] == "paid" and october.loc["F2", "days_late"] == 213
    assert led.open_book("2026-07-31").empty


def test_due_today_is_not_yet_overdue_and_ages_count_calendar_days():
    led = small([{"invoice_id": "F1", "amount": 10.0}])
    on_due, next_day = led.status("2026-01-31").iloc[0], led.status("2026-02-01").iloc[0]
    assert on_due["status"] == "open_not_due" and on_due["days_overdue"] == 0 and on_due["age_days"] == 30
    assert next_day["status"] == "overdue" and next_day["days_overdue"] == 1
    assert led.status("2025-12-31").empty  # not issued yet


def test_known_at_hides_the_future():
    led = small([{"invoice_id": "F1", "amount": 100.0, "disputed": "oui", "dispute_opened": "2026-02-10",
                  "dispute_resolved": "2026-03-01", "dispute_type": "Livraison"},
                 {"invoice_id": "F2", "amount": 100.0, "issue_date": "2026-03-01", "due_date": "2026-03-31"}],
                [{"invoice_id": "F1", "payment_date": "2026-03-05", "amount": 100.0}],
                promises=pd.DataFrame({"invoice_id": ["F1"], "made_date": ["2026-02-15"],
                                       "promised_date": ["2026-03-05"], "amount": [100]}),
                dunning=pd.DataFrame({"invoice_id": ["F1", "F1"], "action_date": ["2026-02-05", "2026-02-20"],
                                      "channel": ["courriel", "téléphone"]}))
    early = led.known_at("2026-02-01")
    assert early.invoices["invoice_id"].tolist() == ["F1"]
    f1 = early.invoices.iloc[0]
    assert not f1["disputed"] and pd.isna(f1["dispute_type"]) and pd.isna(f1["dispute_opened"])
    assert early.payments.empty and early.promises.empty and early.dunning.empty
    mid = led.known_at("2026-02-20").invoices.iloc[0]
    assert mid["disputed"] and mid["dispute_type"] == "delivery" and pd.isna(mid["dispute_resolved"])
    assert led.dunning["level"].tolist() == [1, 2] and led.dunning["channel"].tolist() == ["email", "phone"]
    assert len(led.known_at("2026-02-20").dunning) == 2 and len(led.known_at("2026-02-20").promises) == 1
    full = led.known_at("2026-12-31")
    assert len(full.invoices) == 2 and full.invoices.iloc[0]["dispute_resolved"] == pd.Timestamp("2026-03-01")


def test_undated_dispute_flag_is_known_only_on_invoices_closed_by_as_of():
    """A flag without an opening date may have been raised after as_of: unknown on an invoice still open then,
    kept on one paid by as_of (history) and everywhere at the extraction date (the ledger's latest date)."""
    led = small([{"invoice_id": "F1", "amount": 100.0, "disputed": "oui"},
                 {"invoice_id": "F2", "amount": 100.0, "disputed": "oui"},
                 {"invoice_id": "F3", "amount": 100.0, "disputed": "oui", "dispute_opened": "2026-01-20"}],
                [{"invoice_id": "F1", "payment_date": "2026-02-10", "amount": 100.0},
                 {"invoice_id": "F2", "payment_date": "2026-04-30", "amount": 60.0}])
    march = led.known_at("2026-03-31").invoices.set_index("invoice_id")
    assert march.loc["F1", "disputed"] and not march.loc["F2", "disputed"] and march.loc["F3", "disputed"]
    assert pd.isna(march.loc["F2", "dispute_type"])
    assert not led.status("2026-03-31").set_index("invoice_id").loc["F2", "disputed"]
    assert led.known_at("2026-04-30").invoices["disputed"].all()          # the extraction date: all known
    again = led.known_at("2026-03-31")
    pd.testing.assert_frame_equal(again.known_at("2026-03-31").invoices, again.invoices)


def test_status_as_of_a_date_equals_status_of_the_data_cut_at_that_date():
    inv = [{"invoice_id": f"F{i}", "amount": 100.0 + i, "issue_date": f"2026-01-{i + 1:02d}",
            "due_date": f"2026-02-{i + 1:02d}"} for i in range(20)]
    pay = [{"invoice_id": f"F{i}", "payment_date": f"2026-02-{(3 * i) % 28 + 1:02d}", "amount": 100.0 + i}
           for i in range(20) if i % 3]
    led = small(inv, pay)
    as_of = "2026-02-14"
    cut = small([r for r in inv if r["issue_date"] <= as_of], [p for p in pay if p["payment_date"] <= as_of])
    pd.testing.assert_frame_equal(led.status(as_of), cut.status(as_of))


def test_status_is_computed_once_per_day_and_each_caller_gets_its_own_copy(monkeypatch):
    inv = [{"invoice_id": f"F{i}", "amount": 100.0 + i, "issue_date": f"2026-01-{i + 1:02d}",
            "due_date": f"2026-02-{i + 1:02d}"} for i in range(6)]
    led = small(inv, [{"invoice_id": "F1", "payment_date": "2026-02-03", "amount": 101.0}])
    computed = []
    real = type(led)._status
    monkeypatch.setattr(type(led), "_status", lambda self, day: computed.append(day) or real(self, day))
    first = led.status("2026-02-14")
    first.loc[0, "outstanding"] = -1.0                       # a caller scribbling on its table...
    again = led.status(pd.Timestamp("2026-02-14 18:30"))       # ...the same day, computed once
    assert len(computed) == 1 and again.loc[0, "outstanding"] == 100.0
    pd.testing.assert_frame_equal(again, real(led, pd.Timestamp("2026-02-14")))
    for day in ["2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04", "2026-02-14"]:  # the oldest day goes
        led.status(day)
    assert len(computed) == 6


def test_events_link_to_invoices_and_customers_fill_segments():
    customers = pd.DataFrame({"customer_id": ["C1", "C1", "C9"], "segment": ["grands comptes", "pme", "pme"],
                              "credit_limit": ["10 000", "5", "-3"]})
    led = small([{"invoice_id": "F1", "amount": 10.0}, {"invoice_id": "F2", "amount": 10.0, "customer_id": "C2"}],
                promises=pd.DataFrame({"invoice_id": ["F1", "F7", "F1"], "made_date": ["2026-02-01"] * 3,
                                       "promised_date": ["2026-02-10", "2026-02-10", "2026-01-30"]}),
                dunning=pd.DataFrame({"invoice_id": ["F1", "F1"], "action_date": ["2025-12-01", "2026-02-01"],
                                      "level": ["2", "zéro"]}),
                customers=customers)
    assert led.invoices["segment"].tolist() == ["grands comptes", "all"]
    assert led.customers.set_index("customer_id")["credit_limit"].to_dict() == pytest.approx(
        {"C1": 10000.0, "C2": np.nan}, nan_ok=True)
    reasons = led.rejections[["table", "row", "reason"]].values.tolist()
    assert reasons == [["promises", 3, Reason.UNKNOWN_INVOICE], ["promises", 4, Reason.PROMISED_BEFORE_MADE],
                       ["dunning", 2, Reason.BEFORE_ISSUE], ["dunning", 3, Reason.BAD_NUMBER],
                       ["customers", 3, Reason.DUPLICATE_ID], ["customers", 4, Reason.BAD_VALUE]]
    assert led.accounting()["balanced"].all()
    assert led.accounting().loc["customers", "rows_used"] == 1


def test_summary_headlines():
    led = small([{"invoice_id": "F1", "amount": 100.0}, {"invoice_id": "F2", "amount": 50.0, "customer_id": "C2",
                                                         "due_date": "2026-03-31"},
                 {"invoice_id": "F3", "amount": 0}],
                [{"invoice_id": "F1", "payment_date": "2026-01-10", "amount": 40.0}])
    s = led.summary("2026-02-15")
    assert (s["customers"], s["invoices"], s["payments"]) == (2, 2, 1)
    assert (s["open_amount"], s["overdue_amount"], s["overdue_invoices"]) == (110.0, 60.0, 1)
    assert s["first_date"] == pd.Timestamp("2026-01-01") and s["last_date"] == pd.Timestamp("2026-01-10")
    assert s["rejections_by_reason"] == {"zero amount": 1} and s["balanced"]
    assert led.summary()["as_of"] == pd.Timestamp("2026-01-10")  # default: the latest date in the ledger


def test_company_columns_are_kept_after_ours():
    led = small([{"invoice_id": "F1", "amount": 10.0, "Commercial": "Dupont", "status": "soldée"}])
    assert list(led.invoices.columns) == [*INVOICE_COLUMNS, *INVOICE_LINK_COLUMNS, "Commercial", "status_source"]
    st_ = led.status("2026-02-15")
    assert st_.loc[0, "status"] == "overdue" and st_.loc[0, "status_source"] == "soldée"
    assert repr(led) == ("Ledger(1 invoices, 0 payments, 0 promises, 0 dunning actions, 1 customers, "
                         "0 rejected rows)")


def test_payment_tolerance_formula():
    assert payment_tolerance(np.array([0.5, 2.0, 100.0, -10_000.0])).tolist() == [0.01, 0.01, 0.5, 50.0]


# ---- properties ------------------------------------------------------------------------------------------------

@st.composite
def ledgers(draw):
    """Random small ledgers: invoices and credit notes, partial payments (some overpaying), write-offs."""
    n = draw(st.integers(1, 12))
    invoices, payments = [], []
    for i in range(n):
        cents = draw(st.integers(1, 500_000)) * draw(st.sampled_from([1, 1, 1, -1]))
        issue = pd.Timestamp("2026-01-01") + pd.Timedelta(days=draw(st.integers(0, 60)))
        due = issue + pd.Timedelta(days=draw(st.sampled_from([0, 30, 45, 60])))
        wo = issue + pd.Timedelta(days=draw(st.integers(30, 200))) if draw(st.booleans()) else None
        invoices.append({"invoice_id": f"F{i}", "customer_id": f"C{i % 3}", "issue_date": issue,
                         "due_date": due, "amount": cents / 100, "write_off_date": wo})
        for share in draw(st.lists(st.sampled_from([0.1, 0.25, 0.5, 0.999, 1.0, 1.2]), max_size=3)):
            day = issue + pd.Timedelta(days=draw(st.integers(0, 150)))
            payments.append({"invoice_id": f"F{i}", "payment_date": day, "amount": round(share * cents) / 100})
    as_ofs = sorted(draw(st.lists(st.integers(-5, 260), min_size=2, max_size=5)))
    return (pd.DataFrame(invoices), pd.DataFrame(payments, columns=["invoice_id", "payment_date", "amount"]),
            [pd.Timestamp("2026-01-01") + pd.Timedelta(days=d) for d in as_ofs])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_money_is_conserved_and_status_is_monotone(case):
    inv, pay, as_ofs = case
    led = read_ledger(inv, pay)
    acc = led.accounting()
    assert acc["balanced"].all()
    rank = {s: i for i, s in enumerate(STATUSES)}
    previous = None
    for as_of in as_ofs:
        st_ = led.status(as_of).set_index("invoice_id")
        known_pay = led.payments[led.payments["payment_date"] <= as_of].groupby("invoice_id")["amount"].sum()
        assert np.allclose(st_["paid_to_date"], known_pay.reindex(st_.index).fillna(0.0))
        live = st_[st_["status"] != "written_off"]
        assert np.allclose(live["paid_to_date"] + live["outstanding"], live["amount"])  # conservation
        tol = payment_tolerance(st_["amount"])
        assert (np.abs(st_["paid_to_date"]) <= np.abs(st_["amount"]) + tol + 1e-9).all()  # overpayments rejected
        paid = st_["status"] == "paid"
        assert (np.abs(st_["paid_to_date"])[paid] >= np.abs(st_["amount"])[paid] - tol[paid] - 1e-9).all()
        assert (st_.loc[st_["status"] == "written_off", "outstanding"] == 0).all()
        assert (st_.loc[st_["amount"] < 0, "status"] != "overdue").all()  # credit notes are never overdue
        now = st_["status"].map(rank).astype(int)
        if previous is not None:
            common = previous.index
            assert (now.loc[common] >= previous).all(), "a status moved backwards in time"
        previous = now
