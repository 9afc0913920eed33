"""``cashsim validate``: prints the ledger summary, writes rejections, exits non-zero only on fatal errors. The output
is French (the params' default locale) with French number formats; the CSV keeps its English machine columns."""

from __future__ import annotations

import importlib.util
import re
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
    assert "Société Test\u00a0: grand livre au 30 avr. 2026" in out
    assert re.search(r"\n  clients +4 +aucune famille de clients renseignée\n", out)
    assert re.search(r"\n  factures +6 ", out)
    assert re.search(r"\n  lignes lues / rejetées +30 / 19   toutes les lignes sont comptées\n", out)
    assert "créances ouvertes" in out and "650,00\u00a0€" in out  # F009 less the open credit note
    assert "       1  numéro en double" in out and "       1  valeur non admise" in out
    assert "Les 3 premières des 19 lignes rejetées" in out
    assert re.search(r"factures\.csv +4 +Date facture +31/02/2026 +date illisible +attendu\u00a0: jj/mm/aaaa", out)
    assert "rows read" not in out and "duplicate id" not in out


def test_validate_writes_every_rejection(company, tmp_path, capsys):
    out_csv = tmp_path / "out" / "rejets.csv"
    assert main(["validate", str(company), "--rejections", str(out_csv), "--as-of", "2026-02-28"]) == 0
    rej = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
    assert len(rej) == 19 and list(rej.columns) == ["table", "file", "row", "column", "header", "value", "reason",
                                                    "detail"]
    assert "duplicate id" in set(rej["reason"])   # machine values: the English vocabulary, whatever the locale
    missing = rej[rej["reason"] == "missing value"].set_index("row")      # a detail names the file's column too
    assert missing.loc["9", ["column", "header"]].tolist() == ["invoice_id", "N° facture"]
    assert missing.loc["9", "detail"] == "N° facture is required in the invoices table"
    assert "les 19 lignes rejetées sont écrites dans" in capsys.readouterr().out


MESSY = ROOT / "tests" / "data" / "messy"


def test_rejected_rows_and_notes_name_the_columns_as_the_users_file_does(tmp_path, capsys):
    """The messy company maps its French headers (``Date règlement`` -> payment_date): validate's rejected rows and
    notes, and the report's rejections view, name each column by the file's own header, the standard's "the column
    as the user sees it"; the CSV keeps cashsim's name in ``column`` and adds the file's in ``header``."""
    from types import SimpleNamespace

    from cashsim.params import load_params
    from cashsim.report import rejections_view
    from cashsim.sources import ledger_from_params

    out_csv = tmp_path / "rejets.csv"
    assert main(["validate", str(MESSY / "params.yml"), "--rejections", str(out_csv), "--show", "20"]) == 0
    out = capsys.readouterr().out
    rejected, notes = out.split("Lignes rejetées\n")[1].split("\nNotes\n")
    assert re.search(r"factures\.csv +1417 +N° facture +FA2504-0011 +numéro en double", rejected)
    assert re.search(r"reglements\.csv +1400 +Date règlement +31/02/2026 +date illisible", rejected)
    assert re.search(r"reglements\.csv +1401 +Montant +12 5OO,00 +montant illisible", rejected)
    assert re.search(r"factures\.csv +22 +Mode de règlement +Compensation +virement", notes)
    assert re.search(r"clients\.csv +30 +Type client +Autre +entreprise", notes)  # the type used, in French
    for key in ("invoice_id", "payment_date", "amount", "payment_method", "dispute_type", "customer_type"):
        assert key not in rejected and key not in notes, key
    rej = pd.read_csv(out_csv, dtype=str, keep_default_na=False)
    assert rej[["row", "column", "header"]].values.tolist() == [
        ["1417", "invoice_id", "N° facture"], ["1400", "payment_date", "Date règlement"],
        ["1401", "amount", "Montant"], ["1402", "amount", "Montant"]]
    params = load_params(MESSY / "params.yml")
    ledger = ledger_from_params(params)
    files = {"invoices": "factures.csv", "payments": "reglements.csv", "customers": "clients.csv"}
    for table in (ledger.rejections, ledger.notes):       # every header is one of its file's, as written there
        for name, rows in table.groupby("table"):
            heads = pd.read_csv(MESSY / files[name], sep=";", encoding="cp1252", nrows=0).columns
            assert set(rows["header"]) <= set(heads), name
    html = rejections_view(SimpleNamespace(ledger=ledger, params=params)).to_html()
    assert "Date règlement" in html and "N° facture" in html and "payment_date" not in html


def test_validate_names_the_customer_without_a_client_group(capsys):
    """The messy company's CL017 has no group in clients.csv (others have one): validate's notes name it and say
    what the tool does with it (a group of its own), in French; the count is in the notes by reason."""
    assert main(["validate", str(MESSY / "params.yml")]) == 0
    out = capsys.readouterr().out
    by_reason, notes = out.split("Notes par motif")[1].split("\nNotes\n")
    said = "sans famille de clients\u00a0: modélisé à part, avec tout autre client sans famille"
    assert f"       1  {said}" in by_reason
    assert re.search(r"clients\.csv +18 +Groupe +CL017 Robin Menuiseries SARL dans le groupe des clients sans "
                     rf"famille +{said}\n", notes)
    assert "segment all" not in out and "no client group" not in out
    # the customer without a group is no client group of its own: 4 client groups (not 5 segments), 1 without
    assert re.search(r"\n  clients +40 +dans 4 familles de clients, dont 1 client sans famille de clients\n", out)
    assert "segment" not in out.split("\n")[1]


def test_validate_says_where_a_rest_put_on_account_went(capsys):
    """The messy company's payments rows 182, 973, 977 brought more than their invoice still owed: the notes put the
    rest on account, and the allocation gave it later to the customer's next invoices, so the cash on account at
    as_of is 0. The notes say so (invoice, date); the credit note's rest no invoice took is still on account."""
    assert main(["validate", str(MESSY / "params.yml")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\(1 client[\u00a0\u202f]; règlements non lettrés 0,00\u00a0€\)", out)
    notes = out.split("\nNotes\n")[1]
    assert "affectation ultérieure" in notes.split("\n")[0]
    assert re.search(r"reglements\.csv +182 .*350,00 en règlement non lettré .*"
                     r"puis\u00a0: 350,00 sur FA2610-0180 le 25 oct\. 2026\n", notes)
    assert re.search(r"reglements\.csv +977 .*puis\u00a0: 665,43 sur FA2610-0974 le 26 oct\. 2026\n", notes)
    assert re.search(r"factures\.csv +1413 .*puis\u00a0: 186,07 toujours non affecté\n", notes)
    assert re.search(r"crédit non affecté +186,07\u00a0€", out)


def test_fatal_errors_exit_2_with_the_message(company, tmp_path, capsys):
    text = company.read_text(encoding="utf-8").replace('amount: "Montant TTC"', 'amount: "Montant HT"')
    company.write_text(text, encoding="utf-8")
    assert main(["validate", str(company)]) == 2
    err = capsys.readouterr().err
    assert "cashsim validate\u00a0: erreur\u00a0:" in err and "factures.csv" in err and "'Montant HT'" in err
    assert "absente du fichier" in err

    typo = tmp_path / "typo.yml"
    typo.write_text("data:\n  sorce: demo\n", encoding="utf-8")
    assert main(["validate", str(typo)]) == 2
    said = "data.sorce\u00a0: clé inconnue\u202f; vouliez-vous dire «\u00a0source\u00a0»\u202f?"
    assert said in capsys.readouterr().err
    assert main(["--locale", "en_GB", "validate", str(typo)]) == 2
    assert "data.sorce: unknown key; did you mean 'source'?" in capsys.readouterr().err


def test_bad_as_of_is_fatal(company, capsys):
    assert main(["validate", str(company), "--as-of", "someday"]) == 2
    assert "as_of 'someday' n’est pas une date" in capsys.readouterr().err


def test_validate_demo(capsys):
    assert main(["validate", str(ROOT / "params" / "demo.yml"), "--show", "0"]) == 0
    out = capsys.readouterr().out
    assert "Atelier Démo SAS\u00a0: grand livre au 31 oct. 2026" in out and "toutes les lignes sont comptées" in out


def test_validate_says_a_rest_dated_after_as_of_is_not_counted_then(capsys):
    """At --as-of 2026-10-20 the payment of reglements.csv row 182 (350,00 more than owed) is not known yet: the
    summary's cash on account leaves it out, and its note says so instead of "still on account"."""
    assert main(["validate", str(MESSY / "params.yml"), "--as-of", "2026-10-20"]) == 0
    notes = capsys.readouterr().out.split("\nNotes\n")[1]
    line = next(x for x in notes.splitlines() if re.search(r"reglements\.csv +182 ", x))
    assert "350,00 postérieurs au 20 oct. 2026, non comptés à cette date" in line
    assert "toujours non affecté" not in line
