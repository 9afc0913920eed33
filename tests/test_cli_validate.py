"""``cashsim validate``: prints the ledger summary, writes rejections, exits non-zero only on fatal errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from cashsim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _ledger_cases():
    """The corrupted French export of tests/test_ledger.py (loaded by path: tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("ledger_cases", Path(__file__).with_name("test_ledger.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _ledger_cases()
FR_INVOICES, FR_MAPPING, FR_PAYMENTS, write_lines = (CASES.FR_INVOICES, CASES.FR_MAPPING, CASES.FR_PAYMENTS,
                                                     CASES.write_lines)


@pytest.fixture
def company(tmp_path):
    """A company folder: data/ with a corrupted French export, params/ with a file pointing to it."""
    data, params = tmp_path / "data", tmp_path / "params"
    data.mkdir(), params.mkdir()
    write_lines(data / "factures.csv", FR_INVOICES)
    write_lines(data / "reglements.csv", FR_PAYMENTS)
    mapping = "\n".join(f"    {table}:\n" + "\n".join(f"      {ours}: \"{theirs}\"" for ours, theirs in cols.items())
                        for table, cols in FR_MAPPING.items())
    path = params / "societe.yml"
    path.write_text(f"company: Société Test\nas_of: 2026-04-30\ndata:\n  source: files\n"
                    f"  invoices: ../data/factures.csv\n  payments: ../data/reglements.csv\n  mapping:\n{mapping}\n",
                    encoding="utf-8")
    return path


def test_validate_prints_the_summary_and_first_rejections(company, capsys, monkeypatch):
    monkeypatch.chdir(company.parent.parent.parent)  # paths resolve against the params file, not the cwd
    assert main(["validate", str(company), "--show", "3"]) == 0
    out = capsys.readouterr().out
    assert "Ledger of Société Test, as of 30 avr. 2026" in out
    assert "customers                     4" in out and "invoices                      6" in out
    assert "rows read / rejected         30 / 19   every row accounted for" in out
    assert "open amount" in out and "650,00\u00a0€" in out  # F009 less the open credit note, French formatting
    assert "       1  duplicate id" in out and "       1  value not allowed" in out
    assert "First 3 of 19 rejected rows" in out and "factures.csv    4 issue_date 31/02/2026" in out


def test_validate_writes_every_rejection(company, tmp_path, capsys):
    out_csv = tmp_path / "out" / "rejets.csv"
    assert main(["validate", str(company), "--rejections", str(out_csv), "--as-of", "2026-02-28"]) == 0
    rej = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
    assert len(rej) == 19 and list(rej.columns) == ["table", "file", "row", "column", "value", "reason", "detail"]
    assert "all 19 rejected rows written to" in capsys.readouterr().out


def test_fatal_errors_exit_2_with_the_message(company, tmp_path, capsys):
    text = company.read_text(encoding="utf-8").replace('amount: "Montant TTC"', 'amount: "Montant HT"')
    company.write_text(text, encoding="utf-8")
    assert main(["validate", str(company)]) == 2
    err = capsys.readouterr().err
    assert "cashsim validate: error:" in err and "factures.csv" in err and "'Montant HT'" in err

    typo = tmp_path / "typo.yml"
    typo.write_text("data:\n  sorce: demo\n", encoding="utf-8")
    assert main(["validate", str(typo)]) == 2
    assert "data.sorce: unknown key; did you mean 'source'?" in capsys.readouterr().err


def test_bad_as_of_is_fatal(company, capsys):
    assert main(["validate", str(company), "--as-of", "someday"]) == 2
    assert "as_of 'someday' is not a date" in capsys.readouterr().err


def test_validate_demo(capsys):
    assert main(["validate", str(ROOT / "params" / "demo.yml"), "--show", "0"]) == 0
    out = capsys.readouterr().out
    assert "Ledger of Atelier Démo SAS, as of 31 oct. 2026" in out and "every row accounted for" in out
