"""cashsim.export: no cell cashsim writes for a spreadsheet can run as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd

from cashsim.cli import main
from cashsim.export import FORMULA_STARTS, neutralise, write_csv, write_xlsx
from cashsim.ledger import read_ledger

EVIL = ['=HYPERLINK("http://x","y")', "=1+1", "@A1", "-1+2x", "+cmd", "\tx", "\rx"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_cells(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return [cell for row in csv.reader(f) for cell in row]


def _xlsx_cells(path) -> list:
    book = openpyxl.load_workbook(path)
    return [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]


def _assert_safe(cells, evil) -> None:
    """No text cell starts a formula, and each evil text is there, behind a quote."""
    risky = [c for c in cells if isinstance(c, str) and c.startswith(FORMULA_STARTS) and not _is_number(c)]
    assert risky == []
    for text in evil:
        assert "'" + text in cells, text


def _company(tmp_path):
    """A ledger whose customer ids and amounts are formulas: the amounts are rejected, the ids kept."""
    with open(tmp_path / "invoices.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["invoice_id", "customer_id", "issue_date", "due_date", "amount"])
        for i, text in enumerate(EVIL):
            w.writerow([f"F{i}", f"C{i}", "2026-01-05", "2026-02-04", text])           # rejected: not a number
            w.writerow([f"G{i}", text, "2026-01-05", "2026-02-04", "-100.50" if i else "100"])  # kept
    with open(tmp_path / "payments.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["invoice_id", "payment_date", "amount"], ["@SUM(A1)", "2026-02-01", "5"]])
    params = tmp_path / "p.yml"
    params.write_text("as_of: 2026-03-31\ndata: {source: files, invoices: invoices.csv, payments: payments.csv}\n")
    return params


def test_rejections_csv_and_workbook_neutralise_formulas(tmp_path, capsys):
    params = _company(tmp_path)
    out = tmp_path / "out" / "rejets.csv"
    assert main(["validate", str(params), "--rejections", str(out)]) == 0
    assert "lignes rejetées sont écrites dans" in capsys.readouterr().out     # French, the default locale
    # the ledger strips the blanks around a value, so the tab and carriage-return cases arrive as plain "x"
    arrived = [t for t in EVIL if not t[0].isspace()] + ["@SUM(A1)"]
    _assert_safe(_csv_cells(out), arrived)
    assert pd.read_csv(out)["row"].dtype.kind == "i"                       # numbers stay numbers

    ledger = read_ledger(tmp_path / "invoices.csv", tmp_path / "payments.csv")
    book = write_xlsx({"invoices": ledger.invoices, "rejections": ledger.rejections}, tmp_path / "ledger.xlsx")
    cells = _xlsx_cells(book)
    _assert_safe(cells, arrived)
    assert -100.5 in cells                                                  # a negative amount stays a number


def test_every_text_cell_and_header_is_neutralised_numbers_untouched(tmp_path):
    frame = pd.DataFrame({"customer": EVIL, "amount": [-1.5, 2, -3, 4, 5, 6, -7],
                          "=label": pd.Series(EVIL[::-1], dtype="string"),
                          "kind": pd.Categorical(["=x", "ok"] * 3 + ["ok"])})
    _assert_safe(_csv_cells(write_csv(frame, tmp_path / "a" / "t.csv")), EVIL + ["=label", "=x"])
    cells = _xlsx_cells(write_xlsx({"calls": frame, "again": frame}, tmp_path / "t.xlsx"))
    _assert_safe(cells, [t.replace("\r", "\n") for t in EVIL] + ["=label", "=x"])  # XML reads a CR back as LF
    assert [c for c in cells if isinstance(c, float | int)].count(-7) == 2
    assert neutralise(frame)["amount"].tolist() == frame["amount"].tolist()
    assert frame["customer"].tolist() == EVIL                               # the caller's frame is left alone


def test_xlsx_writes_a_tables_notes_below_it(tmp_path):
    """attrs["notes"] of a table: one sentence a row in column A after a blank row, formula-safe; none otherwise."""
    from openpyxl import load_workbook

    table = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    table.attrs["notes"] = ["First sentence.", "=not a formula"]
    path = write_xlsx({"t": table, "u": pd.DataFrame({"a": [3]})}, tmp_path / "n.xlsx")
    book = load_workbook(path, read_only=True)
    rows = list(book["t"].iter_rows(values_only=True))
    assert [r[0] for r in rows] == ["a", 1, 2, None, "First sentence.", "'=not a formula"]
    assert len(list(book["u"].iter_rows(values_only=True))) == 2
