"""The command line speaks the reader's language: French by default (the params' ``report.locale``, fr_FR), English
with ``--locale en_GB`` or a params file saying en_GB; numbers, amounts, percentages and dates in the same locale
(French: ``1 234,56`` with a narrow no-break space, ``82 %``, ``31 oct. 2026``). Runs the real commands on the demo
and on the messy company of tests/data/messy (cp1252 export with rejected rows and notes)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cashsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "params" / "demo.yml")
MESSY = ROOT / "tests" / "data" / "messy"
NNBSP, NBSP = "\u202f", "\u00a0"

#: A French figure with thousands: ``1 234`` / ``1 234,56`` (narrow no-break space), never ``1,234`` or ``1 234.5``.
FRENCH_THOUSANDS = re.compile(r"\d\u202f\d{3}(?:,\d+)?")
ENGLISH_THOUSANDS = re.compile(r"\d,\d{3}\b")
#: Words of the English output that a French reader must never see (machine column names such as ``amount`` or
#: ``invoice_id`` are identifiers the params file maps, not words).
ENGLISH_WORDS = ("the", "and", "of", "rows", "every", "expected", "cumulative", "written", "forecast", "Ledger",
                 "customers", "invoices", "payments", "reason", "detail", "notes", "Cheapest", "against", "error",
                 "Weekly", "target", "month", "paths", "goals", "MET", "MISSED", "model")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _no_english(text: str) -> None:
    found = [w for w in ENGLISH_WORDS if re.search(rf"(?<![\w/.-]){w}(?![\w/.-])", text)]
    assert not found, (found, text)
    assert not ENGLISH_THOUSANDS.search(text), ENGLISH_THOUSANDS.search(text)


def test_validate_the_messy_company_in_french(capsys):
    code, out, _ = _run(capsys, "validate", str(MESSY / "params.yml"))
    assert code == 0
    for words in ("Menuiserie Vauclair SARL\u00a0: grand livre au 31 oct. 2026", "créances ouvertes",
                  "lignes lues / rejetées", "toutes les lignes sont comptées", "Rejets par motif",
                  "numéro en double", "Lignes rejetées", "fichier", "motif", "détail",
                  "première occurrence ligne 12",                      # a detail, translated
                  "cumul 1\u202f013\u202f769,55 > montant 13\u202f770,55 + tolérance 68,85",  # its figures in French
                  "attendu\u00a0: jj/mm/aaaa ou aaaa-mm-jj", "Notes par motif", "en règlement non lettré",
                  "entreprise"):                                        # the customer type used, in French
        assert words in out, words
    assert not re.search(r"\b(company|public_body|individual)\b", out)
    # a credit note's surplus (factures.csv rows 1412-1413) is credit, not a payment: "crédit non affecté", as the
    # summary line of the unallocated credit says; a payment's surplus stays "en règlement non lettré"
    notes = [line for line in out.splitlines() if line.lstrip().startswith("factures.csv") and "Facture d" in line]
    assert len(notes) == 2 and all("en crédit non affecté" in n and "en règlement" not in n for n in notes), notes
    assert f"544{NNBSP}028,76{NBSP}€" in out and f"1{NNBSP}415" in out and FRENCH_THOUSANDS.search(out)
    _no_english(out)


def test_validate_in_english_with_the_locale_option(capsys):
    code, out, _ = _run(capsys, "validate", str(MESSY / "params.yml"), "--locale", "en_GB")
    assert code == 0
    for words in ("Ledger of Menuiserie Vauclair SARL, as of 31 Oct 2026", "every row accounted for", "1,415",
                  "€544,028.76", "duplicate id", "first at row 12",
                  "cumulative 1,013,769.55 > amount 13,770.55 + tolerance 68.85", "on account"):
        assert words in out, words
    assert "grand livre" not in out and "toutes les lignes" not in out


def test_the_rejections_csv_keeps_english_machine_values(capsys, tmp_path):
    out_csv = tmp_path / "rejets.csv"
    assert _run(capsys, "validate", str(MESSY / "params.yml"), "--rejections", str(out_csv))[0] == 0
    text = out_csv.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "table,file,row,column,header,value,reason,detail"   # header: the file's name
    assert ",payment_date,Date règlement,31/02/2026,unparseable date," in text          # of cashsim's column
    assert "duplicate id" in text and "cumulative 1,013,769.55 > amount 13,770.55" in text


def test_forecast_targets_and_levers_in_french(capsys):
    messy = str(MESSY / "params.yml")
    code, out, _ = _run(capsys, "forecast", "--params", messy, "--paths", "60")
    assert code == 0 and "Prévision d’encaissements au 31 oct. 2026 (60 trajectoires" in out
    assert "novembre 2026" in out and "moyenne" in out and FRENCH_THOUSANDS.search(out)
    _no_english(out)

    code, out, _ = _run(capsys, "targets", "--params", messy, "--paths", "60")
    assert code == 0 and "Objectif d’encaissement lissé (fenêtres de 3 mois), au 31 oct. 2026" in out
    assert "semaine du" in out and "P(sous le minimum)" in out and f"{NBSP}%" in out and FRENCH_THOUSANDS.search(out)
    _no_english(out)

    code, out, _ = _run(capsys, "levers", "--params", messy, "--paths", "60", "--plan-paths", "40")
    assert code == 0
    for words in ("Leviers de recouvrement face à la référence", "scénario", "P(objectif atteint)",
                  "risque relationnel", "Plan le moins cher", "probabilité exigée", "décembre 2026",
                  "encaissement supplémentaire du mois", "coût à date", "coût par euro à date",
                  "manque attendu avec le plan"):
        assert words in out, words
    header = out.split("\n")[1]    # the month's cost no more sits beside the cost per euro to date
    assert re.search(r" coût (?!à date|par euro à date)", header) is None, header
    _no_english(out)


def test_forecast_and_levers_in_english(capsys):
    messy = str(MESSY / "params.yml")
    code, out, _ = _run(capsys, "--locale", "en_GB", "forecast", "--params", messy, "--paths", "60")
    assert code == 0 and "Collections forecast as of 31 Oct 2026 (60 paths" in out and "November 2026" in out
    assert ENGLISH_THOUSANDS.search(out) and not FRENCH_THOUSANDS.search(out)
    code, out, _ = _run(capsys, "--locale", "en_GB", "levers", "--params", messy, "--paths", "60", "--no-plan")
    assert code == 0 and "Collection levers against the baseline" in out and "relationship risk" in out


def test_the_forecast_numbers_do_not_depend_on_the_language(capsys, tmp_path):
    messy = str(MESSY / "params.yml")
    fr, en = tmp_path / "fr.json", tmp_path / "en.json"
    assert _run(capsys, "forecast", "--params", messy, "--paths", "60", "--json", str(fr))[0] == 0
    assert _run(capsys, "forecast", "--params", messy, "--paths", "60", "--json", str(en), "--locale", "en_GB")[0] == 0
    assert fr.read_bytes() == en.read_bytes() and list(json.loads(fr.read_text())) == ["as_of", "months", "weeks"]


def test_backtest_in_french(capsys):
    code, out, _ = _run(capsys, "backtest", "--params", str(MESSY / "params.yml"), "--paths", "30",
                        "--max-origins", "1")
    assert code == 0
    for words in ("backtest\u00a0: 1 origines", "modèle par horizon", "mois 1", "groupé", "objectifs\u00a0:",
                  "médiane du client", "meilleure référence"):
        assert words in out, words
    assert "[ATTEINT]" in out or "[MANQUÉ]" in out
    assert re.search(r"\d,\d\u00a0%", out)       # a share with its French decimal comma and no-break space
    _no_english(out)


def test_the_params_locale_decides_and_the_option_overrides_it(capsys, tmp_path):
    company = tmp_path / "company"
    shutil.copytree(MESSY, company)
    params = company / "params.yml"
    params.write_text(params.read_text(encoding="utf-8").replace("locale: fr_FR", "locale: en_GB"), encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(params), "--show", "0")
    assert code == 0 and "every row accounted for" in out and "1,415" in out
    code, out, _ = _run(capsys, "--locale", "fr_FR", "validate", str(params), "--show", "0")
    assert code == 0 and "toutes les lignes sont comptées" in out and f"1{NNBSP}415" in out


@pytest.mark.parametrize("argv, says", [
    (["validate", "missing.yml"],
     "missing.yml\u00a0: lecture du fichier de paramètres impossible (fichier ou dossier introuvable)"),
    (["validate", DEMO, "--bogus"], "arguments non reconnus\u00a0: --bogus (voir cashsim validate --help)"),
    (["levers"], "arguments obligatoires manquants\u00a0: --params"),
    (["forecast", "--params", DEMO, "--months", "0"], "--months doit valoir au moins 1, reçu 0"),
    (["forecast", "--params", DEMO, "--paths", "100000000"], f"--paths 100{NNBSP}000{NNBSP}000\u00a0: autant de "),
    (["report", "--params", DEMO, "--month", "2026-13"], "donnez le mois du rapport sous la forme AAAA-MM"),
    (["forecast", "--invoices", "x.csv"], "donnez --invoices FICHIER et --payments FICHIER"),
    (["--locale", "xx", "validate", DEMO], "--locale 'xx'\u00a0: langue inconnue de Babel"),
])
def test_errors_in_french(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "\u00a0: erreur\u00a0: " in lines[0] and says in lines[0], err
    assert "error" not in err and "Traceback" not in err


def test_a_bad_params_value_in_french(capsys, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("simulation: {n_paths: 0}\nhorizon_months: x\n", encoding="utf-8")
    code, _, err = _run(capsys, "validate", str(bad))
    assert code == 2 and f"{bad}\u00a0: paramètres invalides" in err
    assert "simulation.n_paths\u00a0: la valeur doit être supérieure ou égale à 1 (reçu 0)" in err
    assert "horizon_months\u00a0: un nombre entier est attendu (reçu 'x')" in err and "Input should" not in err
    code, _, err = _run(capsys, "--locale", "en_GB", "validate", str(bad))
    assert code == 2 and "simulation.n_paths: Input should be greater than or equal to 1 (got 0)" in err


def test_a_missing_ledger_column_in_french(capsys, tmp_path):
    company = tmp_path / "company"
    shutil.copytree(MESSY, company)
    params = company / "params.yml"
    params.write_text(params.read_text(encoding="utf-8").replace('amount: "Montant TTC"', 'amount: "Montant HT"'),
                      encoding="utf-8")
    code, _, err = _run(capsys, "validate", str(params))
    assert code == 2 and "mapping.invoices.amount désigne la colonne 'Montant HT', absente du fichier" in err


def test_help_is_french_and_documents_the_locale(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage\u00a0: cashsim" in out and "--locale CODE" in out and "afficher cette aide et quitter" in out
    assert "en_GB (anglais)" in " ".join(out.split()) and "show this help" not in out


def test_help_in_english(capsys):
    assert main(["--locale", "en_GB", "validate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: cashsim validate" in out and "show this help message and exit" in out
    assert "rejected rows and notes to print" in out


def test_the_real_entry_point_with_progress_in_french(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    res = subprocess.run([sys.executable, "-m", "cashsim.cli", "--progress", "forecast", "--params",
                          str(MESSY / "params.yml"), "--paths", "40"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "cashsim: ajustement du comportement des payeurs au 31 oct. 2026" in res.stderr
    assert "Prévision d’encaissements" in res.stdout and FRENCH_THOUSANDS.search(res.stdout)


def test_a_terminal_that_cannot_write_french_typography_gets_replacements(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "PYTHONIOENCODING": "ascii"}
    res = subprocess.run([sys.executable, "-m", "cashsim.cli", "validate", str(MESSY / "params.yml"), "--show", "1"],
                         capture_output=True, env=env, cwd=tmp_path, timeout=300)
    assert res.returncode == 0 and b"Traceback" not in res.stderr, res.stderr
    assert b"grand livre au 31 oct. 2026" in res.stdout and b"1?415" in res.stdout
